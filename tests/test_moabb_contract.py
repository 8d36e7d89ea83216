"""MOABB's own contracts on our datasets, paradigms and benchmark pipeline files.

The dataset table mirrors what MOABB's ``moabb/tests/test_datasets.py`` checks on
every dataset it ships (names, summary table, metadata, subject/session
selection, registry, valid subject/session/run names); the rest is the user's
path: paradigm filtering and ``moabb.benchmark`` on the shared data, offline.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

moabb = pytest.importorskip("moabb")

from moabb.datasets.base import (  # noqa: E402
    check_run_names,
    check_session_names,
    check_subject_names,
    is_abbrev,
    is_camel_kebab_case,
)
from moabb.datasets.metadata.schema import DatasetMetadata  # noqa: E402
from moabb.paradigms import (  # noqa: E402
    P300,
    SSVEP,
    LeftRightImagery,
    MotorImagery,
    RestingStateToP300Adapter,
)

from braindecode_elm.data.moabb_datasets import EEGBCIMOABB, EEGMATMOABB  # noqa: E402
from braindecode_elm.evaluation.moabb_paradigms import (  # noqa: E402
    ELM_ELECTRODES,
    ELMMotorImagery,
    ELMRestingState,
    pipelines_dir,
)

DATASETS = {
    # class: (n subjects, paradigm, EEG channels, sampling rate)
    EEGMATMOABB: (36, "rstate", 19, 500.0),
    EEGBCIMOABB: (109, "imagery", 64, 160.0),
}


def _summary(doc: str) -> dict[str, str]:
    """The rows of MOABB's ``.. admonition:: Dataset summary`` table."""
    block = doc.split(".. admonition:: Dataset summary", 1)[1].split("\n\n")[1]
    rows = re.findall(r"\*\*(.+?)\*\*\s+(.+)", block)
    return {k: v.strip() for k, v in rows}


@pytest.mark.parametrize("cls", list(DATASETS), ids=lambda c: c.__name__)
def test_dataset_check_table(cls):
    """The checks MOABB runs on each of its datasets, on ours."""
    n_subjects, paradigm, n_chan, sfreq = DATASETS[cls]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # MOABB: constructing logs/warns nothing
        ds = cls()
    # code: Camel-KebabCase, the class name an abbreviation of it
    assert is_camel_kebab_case(ds.code)
    assert is_abbrev(cls.__name__.replace("_", "-"), ds.code)
    assert repr(ds) == ds.code
    assert ds.paradigm == paradigm
    # subjects: all listed by default, MOABB 1.7 selection parameters
    assert ds.all_subjects == list(range(1, n_subjects + 1))
    assert ds.subject_list == ds.all_subjects
    params = inspect.signature(cls.__init__).parameters
    assert "subjects" in params and "sessions" in params
    # docstring: MOABB's summary table, agreeing with the object
    table = _summary(cls.__doc__)
    assert int(table["#Subj"]) == n_subjects
    assert int(table["#Chan"]) == n_chan
    assert int(table["#Classes"]) == len(ds.event_id)
    assert int(table["#Sessions"]) == ds.n_sessions
    assert table["Freq"] == f"{sfreq:g} Hz"
    assert table["Trials length"] == f"{ds.interval[1] - ds.interval[0]:g} s"
    # METADATA where MOABB reads it (class attribute) and the metadata property
    md = cls.METADATA
    assert isinstance(md, DatasetMetadata) and ds.metadata is md
    assert md.experiment.paradigm == ds.paradigm
    assert md.experiment.events == ds.event_id
    assert md.participants.n_subjects == len(ds.all_subjects)
    assert md.acquisition.sampling_rate == sfreq
    assert md.acquisition.channel_types["eeg"] == n_chan
    assert md.documentation.doi == ds.doi and md.documentation.license
    # MOABB's metaclass turned METADATA into docstring sections
    assert ".. admonition:: Experimental Protocol" in cls.__doc__
    # registered where MOABB's dataset search looks
    from moabb.datasets import utils as mutils

    mutils._init_dataset()
    assert cls in mutils.dataset_list
    assert mutils.dataset_dict[cls.__name__] is cls


@pytest.mark.realdata
@pytest.mark.parametrize("cls", list(DATASETS), ids=lambda c: c.__name__)
def test_dataset_loads_with_valid_names(cls, shared_data):
    """Subject 1 from disk: MOABB's name checks, channel count, event names."""
    _, _, n_chan, sfreq = DATASETS[cls]
    ds = cls(subjects=[1])
    data = ds.get_data()
    check_subject_names(data)
    check_session_names(data)
    check_run_names(data)
    assert list(data) == [1] and list(data[1]) == ["0"]
    runs = data[1]["0"]
    assert len(runs) == (2 if cls is EEGMATMOABB else 6)
    for raw in runs.values():
        assert (
            len(raw.ch_names) == n_chan == cls.METADATA.acquisition.channel_types["eeg"]
        )
        assert raw.info["sfreq"] == sfreq
        labels = set(raw.annotations.description) - {"BAD boundary", "EDGE boundary"}
        assert labels and labels <= set(ds.event_id)


def test_subject_and_session_selection():
    m = EEGMATMOABB(subjects=[5, 2])
    assert m.subject_list == [5, 2] and m.all_subjects == list(range(1, 37))
    m.all_subjects.append(99)  # a copy, as in MOABB
    assert 99 not in m.all_subjects
    e = EEGBCIMOABB(subjects=[1, 7], sessions=[0])
    assert e.subject_list == [1, 7] and len(e.all_subjects) == 109
    assert e._selected_sessions == [0]
    for cls, bad in ((EEGMATMOABB, [0]), (EEGMATMOABB, [37]), (EEGBCIMOABB, [110])):
        with pytest.raises(ValueError, match=rf"Invalid subjects: \{bad}"):
            cls(subjects=bad)
    # a subject outside the selection is refused at load time too
    with pytest.raises(ValueError, match="Invalid subject 3"):
        EEGMATMOABB(subjects=[1]).get_data([3])
    with pytest.raises(ValueError, match="invalid subject 0; EEGMAT subjects are 1-36"):
        EEGMATMOABB().data_path(0)
    with pytest.raises(ValueError, match="invalid subject 200; EEGBCI subjects"):
        EEGBCIMOABB().data_path(200)
    with pytest.raises(ValueError, match="imagined=True and/or executed=True"):
        EEGBCIMOABB(imagined=False)


@pytest.mark.realdata
def test_session_selection_loads(shared_data):
    assert list(EEGMATMOABB(subjects=[2], sessions=[0]).get_data()[2]) == ["0"]
    assert EEGMATMOABB(subjects=[2], sessions=["1"]).get_data()[2] == {}


def test_missing_subject_is_a_clear_error_not_a_download(tmp_path, monkeypatch):
    """EEGBCI lists 109 subjects; one not on disk names where its files belong."""
    import braindecode_elm.data.moabb_datasets as mod

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(mod, "fetch_eegbci", no_network)
    monkeypatch.setattr(mod, "fetch_eegmat", no_network)
    (tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb").mkdir(parents=True)
    ds = EEGBCIMOABB(tmp_path, subjects=[2])
    with pytest.raises(FileNotFoundError) as err:
        ds.get_data()
    msg = str(err.value)
    assert "EEGBCI subject 2: data not found" in msg
    assert str(tmp_path / "MNE-eegbci-data") in msg
    assert "S002R04.edf" in msg and "download=True" in msg and "ELM_DATA_DIR" in msg
    with pytest.raises(FileNotFoundError, match=r"EEGMAT subject 4: .*Subject03_1"):
        EEGMATMOABB(tmp_path / "nothing", subjects=[4]).get_data()


@pytest.mark.realdata
def test_missing_subject_beside_present_one(eegbci_dir, monkeypatch):
    """Subject 1 is on disk and loads; subject 2 is not and says so."""
    import braindecode_elm.data.moabb_datasets as mod

    monkeypatch.setattr(mod, "fetch_eegbci", None)  # calling it would TypeError
    ds = EEGBCIMOABB(eegbci_dir)
    assert len(ds.data_path(1)) == 6
    with pytest.raises(FileNotFoundError, match="EEGBCI subject 2: data not found"):
        ds.data_path(2)


def test_paradigm_filtering():
    eegmat, eegbci = EEGMATMOABB(), EEGBCIMOABB()
    # rest vs arithmetic is not motor imagery
    for p in (MotorImagery(), MotorImagery(events=["rest", "arithmetic"], n_classes=2),
              LeftRightImagery(), P300(), SSVEP(), ELMMotorImagery()):  # fmt: skip
        assert not p.is_valid(eegmat), type(p).__name__
    assert MotorImagery().is_valid(eegbci) and LeftRightImagery().is_valid(eegbci)
    assert ELMMotorImagery(events=["left_hand", "right_hand"]).is_valid(eegbci)
    assert not ELMMotorImagery(events=["left_hand", "tongue"]).is_valid(eegbci)
    # resting-state paradigms take it (MOABB's adapter and ours), not EEGBCI
    assert RestingStateToP300Adapter(events=["rest", "arithmetic"]).is_valid(eegmat)
    assert not RestingStateToP300Adapter().is_valid(eegbci)
    assert ELMRestingState().is_valid(eegmat) and not ELMRestingState().is_valid(eegbci)
    assert not ELMRestingState(events=["rest", "feet"]).is_valid(eegmat)
    # dataset search: MOABB's MotorImagery finds EEGBCI but never EEGMAT
    mi_codes = [d.code for d in MotorImagery().datasets]
    assert "EEGBCI-MOABB" in mi_codes and "EEGMAT-MOABB" not in mi_codes
    rs = ELMRestingState(events=["rest", "arithmetic"], subjects=[2, 3]).datasets
    assert [d.code for d in rs] == ["EEGMAT-MOABB"]
    assert rs[0].subject_list == [2, 3]
    assert ELMRestingState(events=["rest", "arithmetic"]).scoring == "roc_auc"
    # Pipeline files declare 100 Hz: another rate was embedded as if 100 Hz.
    assert ELMMotorImagery(resample=100).resample == 100
    for rate in (250, None):
        with pytest.raises(ValueError, match=rf"resample={rate}\): ELM paradigms"):
            ELMRestingState(resample=rate)


@pytest.mark.realdata
def test_elm_paradigm_arrays_have_the_elm_electrodes(eegmat_dir, eegbci_dir):
    """Both datasets (T3 vs T7 spellings) give the 17 electrodes in one order."""
    from braindecode_elm.dsp import normalize_ch_name

    for ds, par, n in (
        (EEGMATMOABB(subjects=[1]), ELMRestingState(events=["rest", "arithmetic"]), 24),
        (EEGBCIMOABB(subjects=[1]), ELMMotorImagery(events=["left_hand", "right_hand"],
                                                    tmax=3.0), 45),
    ):  # fmt: skip
        epochs, y, _ = par.get_data(ds, [1], return_epochs=True)
        assert epochs.ch_names == list(ELM_ELECTRODES)
        assert epochs.info["sfreq"] == 100.0
        X, y2, meta = par.get_data(ds, [1])
        assert X.shape[:2] == (n, 17) and len(y2) == n
        np.testing.assert_allclose(X, epochs.get_data() * 1e6)  # microvolts
    assert [normalize_ch_name(c) for c in ELM_ELECTRODES] == list(ELM_ELECTRODES)


@pytest.mark.realdata
@pytest.mark.slow
def test_moabb_benchmark_with_our_pipeline_files(eegmat_dir, tmp_path):
    """``moabb.benchmark`` on the shipped pipeline files, 3 EEGMAT subjects."""
    import os

    files = sorted(os.listdir(pipelines_dir()))
    assert "ELM_LR.py" in files and "TS_LR.yml" in files
    context = tmp_path / "context.yml"
    context.write_text(
        "ELMRestingState:\n  events: [rest, arithmetic]\n  subjects: [1, 2, 3]\n"
    )
    res = moabb.benchmark(
        pipelines=pipelines_dir(),
        evaluations=["CrossSubject"],
        paradigms=["ELMRestingState"],
        contexts=str(context),
        include_datasets=["EEGMAT-MOABB"],
        results=str(tmp_path / "results"),
        output=str(tmp_path / "out"),
        n_jobs=1,
    )
    assert set(res["pipeline"]) == {"ELM+LR", "TS+LR"}
    assert set(res["dataset"]) == {"EEGMAT-MOABB"}
    assert set(res["subject"].astype(int)) == {1, 2, 3}
    assert len(res) == 6  # leave one subject out: 3 folds x 2 pipelines
    assert res["score"].between(0, 1).all()
    # 24 windows per subject (2 runs of 62 s in 5 s windows), 2 left in training
    assert (res["samples"] == 48).all()
    assert (tmp_path / "out" / "ELMRestingState" / "analysis" / "data.csv").is_file()


def test_pipelines_dir_is_usable_when_the_package_is_read_only(monkeypatch):
    """MOABB writes lock files beside pipeline files: a read-only install copies."""
    import os
    from pathlib import Path

    shipped = Path(pipelines_dir())
    assert shipped.name == "pipelines" and (shipped / "ELM_LR.py").is_file()
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    copy = Path(pipelines_dir())
    assert copy != shipped
    for name in ("ELM_LR.py", "TS_LR.yml"):
        assert (copy / name).read_bytes() == (shipped / name).read_bytes()
    from moabb.pipelines.utils import parse_pipelines_from_directory

    names = {c["name"] for c in parse_pipelines_from_directory(str(copy))}
    assert names == {"ELM+LR", "TS+LR"}
    # a model named by ELM_MOABB_MODEL gets its own pipeline name, so its rows
    # and the untrained baseline's stay apart (both were 'ELM+LR')
    monkeypatch.setenv("ELM_MOABB_MODEL", "elm-open-5s")
    names = {c["name"] for c in parse_pipelines_from_directory(str(copy))}
    assert names == {"ELM[elm-open-5s]+LR", "TS+LR"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: EEGBCIMOABB(),
        lambda: EEGBCIMOABB(imagined=False, executed=True),
        lambda: EEGBCIMOABB(executed=True),
        lambda: EEGMATMOABB(),
        lambda: EEGMATMOABB(epoch_seconds=2.5),
        lambda: EEGMATMOABB(epoch_seconds=10),
    ],
)
def test_variant_codes_follow_moabb_rules(make):
    ds = make()
    assert is_camel_kebab_case(ds.code)
    assert is_abbrev(type(ds).__name__, ds.code)


def test_eegmat_epoch_length_is_checked():
    # 0 overflowed deep inside MOABB; -5 and 100 gave datasets without events.
    for bad in (0, -5, 100, 1e-9, 0.004, float("nan"), float("inf"), "5", True):
        with pytest.raises(ValueError, match=r"epoch_seconds must be .* \[0.5, 60\]"):
            EEGMATMOABB(epoch_seconds=bad)
    assert EEGMATMOABB(epoch_seconds=0.5).interval == [0, 0.5]
    assert EEGMATMOABB(epoch_seconds=60).interval == [0, 60]


def test_variants_never_share_cached_results(eegbci_dir, tmp_path):
    # MOABB caches results under the dataset code: with one code, the executed
    # runs were served the imagined runs' score (0.90 for both; 0.62 recomputed).
    from moabb.evaluations import WithinSessionEvaluation
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    paradigm = LeftRightImagery(resample=80.0)
    pipe = {
        "TS+LR": make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression())
    }
    scores = {}
    for name, ds in (
        ("imagined", EEGBCIMOABB(eegbci_dir, subjects=[1])),
        ("executed", EEGBCIMOABB(eegbci_dir, subjects=[1], imagined=False,
                                 executed=True)),
    ):  # fmt: skip
        ev = WithinSessionEvaluation(
            paradigm=paradigm, datasets=[ds], hdf5_path=str(tmp_path),
            overwrite=False, random_state=0, n_jobs=1,
        )  # fmt: skip
        res = ev.process(pipe)  # every dataset stored in hdf5_path so far
        mine = res[res["dataset"] == ds.code]
        assert len(mine) == 1, res
        scores[name] = float(mine["score"].iloc[0])
    # each computed on its own runs, not one read back for the other
    fresh = WithinSessionEvaluation(
        paradigm=paradigm,
        datasets=[EEGBCIMOABB(eegbci_dir, subjects=[1], imagined=False, executed=True)],
        hdf5_path=str(tmp_path / "fresh"), overwrite=True, random_state=0, n_jobs=1,
    ).process(pipe)  # fmt: skip
    assert scores["executed"] == pytest.approx(float(fresh["score"].iloc[0]))
    assert scores["executed"] != pytest.approx(scores["imagined"])


@pytest.mark.realdata
def test_two_class_scoring_does_not_depend_on_naming_the_events(eegmat_dir, tmp_path):
    """ELMRestingState() scored EEGMAT with accuracy, events=[rest, arithmetic]
    with ROC AUC, in the same 'score' column (outside user)."""
    from moabb.evaluations import CrossSubjectEvaluation
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import get_scorer
    from sklearn.pipeline import make_pipeline

    pipe = {
        "TS+LR": make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression())
    }
    scores = {}
    for name, par in (
        ("unnamed", ELMRestingState()),
        ("named", ELMRestingState(events=["rest", "arithmetic"])),
    ):
        res = CrossSubjectEvaluation(
            paradigm=par, datasets=[EEGMATMOABB(subjects=[2, 3, 4])],
            hdf5_path=str(tmp_path / name), overwrite=True, random_state=0,
            n_jobs=1,
        ).process(pipe)  # fmt: skip
        scores[name] = sorted(res["score"])
    assert scores["unnamed"] == pytest.approx(scores["named"])
    # the unnamed paradigm's scorer: ROC AUC for two fitted classes
    par = ELMRestingState()
    X, y, _ = par.get_data(EEGMATMOABB(subjects=[2]), [2])
    clf = pipe["TS+LR"].fit(X, y)
    assert par.scoring(clf, X, y) == pytest.approx(get_scorer("roc_auc")(clf, X, y))


def test_towers_of_one_architecture_never_share_cached_results():
    # MOABB keys cached results on repr(pipeline.get_params()): two towers of
    # one architecture printed alike, so the second was served the first's
    # score (outside user: 0.79 for both, 0.73 recomputed). The repr now holds
    # a digest of the weights.
    import torch
    from moabb.analysis.results import get_digest
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from braindecode_elm.evaluation import ELMFeatures
    from braindecode_elm.models import ELM, ELMEncoder, TextProjection
    from braindecode_elm.models.text_encoder import TextEncoder

    def digest(model):
        return get_digest(make_pipeline(ELMFeatures(model), LogisticRegression()))

    towers = []
    for seed in (7, 7, 123):
        torch.manual_seed(seed)
        towers.append(ELMEncoder(n_filters=4))
    assert digest(towers[0]) == digest(towers[1])  # same weights: same key
    assert digest(towers[0]) != digest(towers[2])
    with torch.no_grad():
        next(towers[1].parameters()).view(-1)[0] += 1e-6  # one weight changed
    assert digest(towers[0]) != digest(towers[1])
    text = TextEncoder("minilm")
    torch.manual_seed(0)
    a = ELM(towers[0], text, TextProjection(text.dim, hidden=8))
    b = ELM(towers[0], text, TextProjection(text.dim, hidden=8))
    assert digest(a) != digest(b)  # bundles differing in their projection only
