"""ELMFeatures and the MOABB evaluations (offline, small subsets of real data)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.dsp import TCP_PAIRS
from braindecode_elm.evaluation import ELMFeatures
from braindecode_elm.evaluation.features import to_volts

ELECTRODES = sorted({e for pair in TCP_PAIRS for e in pair})


def _epochs(n=4, sfreq=250.0, seconds=5.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, len(ELECTRODES), int(sfreq * seconds))) * 1e-5


def test_elm_features_shapes_units_and_windows():
    import torch

    from braindecode_elm.dsp import ELM_CLIP, ELM_SCALE, preprocess
    from braindecode_elm.models import ELMEncoder

    X = _epochs()
    torch.manual_seed(0)
    enc = ELMEncoder(n_filters=8).eval()
    f = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, units="V").fit(X)
    Z = f.transform(X)
    assert Z.shape == (4, 256)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-6)
    # the same epoch by hand: engine -> tower -> L2 normalisation
    y, _ = preprocess(X[0], ELECTRODES, 250.0, scale=ELM_SCALE, clip=ELM_CLIP)
    with torch.no_grad():
        e = enc(torch.from_numpy(y[None]).float()).numpy()[0]
    np.testing.assert_allclose(Z[0], e / np.linalg.norm(e), atol=1e-5)
    # microvolts are detected (with a warning) and give the same features
    with pytest.warns(UserWarning, match="microvolts"):
        Zu = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0).fit_transform(X * 1e6)
    np.testing.assert_allclose(Zu, Z, atol=1e-5)
    Zx = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, units="uV").fit_transform(
        X * 1e6
    )
    np.testing.assert_allclose(Zx, Z, atol=1e-5)
    # 10 s epochs: two 5 s windows whose embeddings are averaged
    X10 = _epochs(2, seconds=10.0)
    f10 = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, units="V")
    Z10 = f10.fit_transform(X10)
    halves = [f.transform(X10[:, :, :1250]), f.transform(X10[:, :, 1250:])]
    m = halves[0] + halves[1]
    assert Z10.shape == (2, 256)
    # filtering the whole 10 s differs slightly at the cut, so compare loosely
    cos = np.sum(Z10 * m / np.linalg.norm(m, axis=1, keepdims=True), axis=1)
    assert (cos > 0.95).all()
    feats = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, output="features")
    assert feats.fit_transform(X).shape == (4, 24)


def test_elm_features_errors():
    X = _epochs(2)
    with pytest.raises(ValueError, match="electrodes of the TCP montage"):
        ELMFeatures(ch_names=ELECTRODES[1:], sfreq=250.0).fit_transform(X[:, 1:])
    with pytest.raises(ValueError, match="ch_names"):
        ELMFeatures().fit_transform(X)
    with pytest.raises(ValueError, match="n_epochs, n_channels, n_times"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).fit_transform(X[0])
    with pytest.raises(ValueError, match="channels but ch_names"):
        ELMFeatures(ch_names=ELECTRODES[:-1], sfreq=250.0).fit_transform(X)
    with pytest.raises(ValueError, match="units"):
        to_volts(X, "kV")
    with pytest.raises(TypeError, match="ELM bundle"):
        ELMFeatures(model=3, ch_names=ELECTRODES, sfreq=250.0).fit(X)
    # Outside user: a negative tolerance called clean data a unit mistake,
    # complex input lost its imaginary part with a ComplexWarning, and all-zero
    # input embedded as a normal-looking vector.
    for bad in (-1, 1.5, float("nan"), "1%", True):
        with pytest.raises(ValueError, match="max_clip_fraction must be a fraction"):
            ELMFeatures(ch_names=ELECTRODES, sfreq=250.0, max_clip_fraction=bad).fit(X)
    with pytest.raises(ValueError, match="X is complex"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).fit(X + 1j * X)
    zeros = np.zeros_like(X)
    with pytest.raises(ValueError, match="every channel is flat"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).fit_transform(zeros)
    with pytest.warns(UserWarning, match="every channel is flat"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0, on_clip="warn").fit_transform(
            zeros
        )
    # A list of Epochs of different lengths failed inside numpy; a Braindecode
    # dataset was called an array without ch_names.
    import mne

    info = mne.create_info(ELECTRODES, 250.0, "eeg")
    short = mne.EpochsArray(X[:, :, :1000], info, verbose="error")
    long = mne.EpochsArray(X, info, verbose="error")
    with pytest.raises(ValueError, match="mne.Epochs of different lengths"):
        ELMFeatures().fit_transform([short, long])
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import create_fixed_length_windows

    raw = mne.io.RawArray(X[0], info, verbose="error")
    windows = create_fixed_length_windows(
        BaseConcatDataset([RawDataset(raw, pd.Series({"subject": 1}))]),
        window_size_samples=500, window_stride_samples=500, on_last_window="drop",
    )  # fmt: skip
    with pytest.raises(TypeError, match="got a BaseConcatDataset: stack"):
        ELMFeatures().fit(windows)
    one_flat = X.copy()
    one_flat[:, 0] = 0.0  # one flat channel among real ones: still embedded
    assert ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).fit_transform(
        one_flat
    ).shape == (2, 256)


def test_elm_features_accepts_mne_epochs():
    import mne

    X = _epochs(3)
    info = mne.create_info(ELECTRODES + ["ECG"], 250.0, ["eeg"] * 17 + ["ecg"])
    data = np.concatenate([X, X[:, :1] * 50], axis=1)
    epochs = mne.EpochsArray(data, info, verbose="error")
    f = ELMFeatures(units="uV")  # ignored for Epochs: MNE data are volts
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = f.fit_transform(epochs)
    Za = ELMFeatures(ch_names=ELECTRODES, sfreq=250.0, units="V").fit_transform(X)
    np.testing.assert_allclose(Z, Za, atol=1e-6)


@pytest.mark.slow
@pytest.mark.realdata
def test_moabb_cross_subject_eegmat(eegmat_dir, tmp_path):
    """Leave-one-subject-out on 4 eegmat subjects: ELM vs CSP/TS/ShallowFBCSPNet."""
    import torch

    from braindecode_elm.data.moabb_datasets import EEGMATMOABB
    from braindecode_elm.evaluation.moabb_eval import (
        WindowParadigm,
        run_moabb_comparison,
    )

    torch.set_num_threads(1)
    ds = EEGMATMOABB(eegmat_dir, download=False)
    par = WindowParadigm(["rest", "arithmetic"], tmin=0.0, tmax=5.0)
    res = run_moabb_comparison(
        ds,
        par,
        subjects=[1, 2, 3, 4],
        n_epochs=1,
        pipelines=["ELM+LR", "CSP+LDA", "TS+LR", "ShallowFBCSPNet"],
        out_dir=tmp_path,
    )
    assert set(res["pipeline"]) == {"ELM+LR", "CSP+LDA", "TS+LR", "ShallowFBCSPNet"}
    assert set(res["subject"].astype(int)) == {1, 2, 3, 4}
    assert res["score"].between(0, 1).all()
    assert (res["samples"] > 0).all()
    assert (tmp_path / "results.csv").exists() and (tmp_path / "results.png").exists()
    # every pipeline saw the same folds: one row per (pipeline, test subject)
    assert res.groupby("pipeline").size().eq(4).all()
    # the caller's dataset is not restricted behind its back
    assert ds.subject_list == list(range(1, 37))
    with pytest.raises(ValueError, match=r"subjects \[40\] are not in"):
        run_moabb_comparison(ds, par, subjects=[1, 40], pipelines=["TS+LR"])


@pytest.mark.slow
def test_moabb_phenotype_paradigm(tmp_path):
    from eval_helpers import build_small_cache

    from braindecode_elm.evaluation.moabb_eval import (
        CorpusPhenotypeDataset,
        RecordingPhenotype,
        run_moabb_comparison,
    )

    _, labels, raw = build_small_cache(tmp_path, n_subjects=8, seed=3)
    ds = CorpusPhenotypeDataset(raw, raw / "ground_truth.csv", window_s=20)
    assert ds.event_id == {"abnormal": 1, "normal": 2}
    assert len(ds.subject_list) == 8
    par = RecordingPhenotype(window_s=20)
    res = run_moabb_comparison(
        ds, par, pipelines=["ELM+LR", "TS+LR"], n_splits=2, out_dir=tmp_path / "o"
    )
    assert set(res["pipeline"]) == {"ELM+LR", "TS+LR"}
    assert len(res) == 2 * 2  # GroupKFold: one score per fold and pipeline
    assert res["score"].between(0, 1).all()
    with pytest.raises(ValueError, match="lacks the paradigm's events"):
        from braindecode_elm.evaluation.moabb_eval import WindowParadigm

        run_moabb_comparison(ds, WindowParadigm(["rest"]), pipelines=["TS+LR"])


def _moabb_arrays_and_epochs(dataset, paradigm, subject=1):
    X, y, _ = paradigm.get_data(dataset, [subject])
    epochs, _, _ = paradigm.get_data(dataset, [subject], return_epochs=True)
    return X, y, epochs


@pytest.mark.realdata
@pytest.mark.parametrize("which", ["eegmat", "eegbci"])
def test_moabb_arrays_units_match_volts(which, eegmat_dir, eegbci_dir):
    """MOABB hands pipelines microvolts: the ELM features must equal those of volts."""
    from braindecode_elm.data.moabb_datasets import EEGBCIMOABB, EEGMATMOABB
    from braindecode_elm.evaluation.features import units_from_unit_factor
    from braindecode_elm.evaluation.moabb_eval import (
        BraindecodeClassifier,
        WindowParadigm,
        moabb_pipelines,
    )

    if which == "eegmat":
        ds = EEGMATMOABB(eegmat_dir, download=False)
        par = WindowParadigm(["rest", "arithmetic"], tmin=0.0, tmax=5.0)
    else:
        ds = EEGBCIMOABB(eegbci_dir, download=False)
        par = WindowParadigm(["left_hand", "right_hand"], tmin=0.0, tmax=3.0)
    X, y, epochs = _moabb_arrays_and_epochs(ds, par)
    volts = epochs.get_data()
    assert ds.unit_factor == 1e6 and units_from_unit_factor(ds.unit_factor) == "uV"
    np.testing.assert_allclose(X, volts * 1e6, rtol=1e-12)

    f = ELMFeatures.for_moabb(ds, par)
    assert f.units == "uV" and f.ch_names == list(epochs.ch_names)
    Z = f.fit_transform(X)
    assert f.clip_fraction_ < 0.01
    Zv = ELMFeatures(ch_names=f.ch_names, sfreq=f.sfreq, units="V").fit_transform(volts)
    Ze = ELMFeatures().fit_transform(epochs)
    # identical up to float32 rounding of the tower (x * 1e6 / 1e6 is not always x)
    np.testing.assert_allclose(Z, Zv, rtol=0, atol=1e-6)
    np.testing.assert_allclose(Z, Ze, rtol=0, atol=1e-6)
    assert np.abs(Z).max() > 1e-3  # real features, not zeros

    # the pipelines run_moabb_comparison builds read the same unit
    pipes = moabb_pipelines(
        f.ch_names, f.sfreq, ["ELM+LR", "ShallowFBCSPNet"], units="uV"
    )
    elm = pipes["ELM+LR"].steps[0][1]
    np.testing.assert_allclose(elm.fit_transform(X), Z, rtol=0, atol=1e-9)
    assert elm.clip_fraction_ < 0.01
    net = pipes["ShallowFBCSPNet"]
    xs = net._x(X)
    assert net.clip_fraction_ < 0.01
    np.testing.assert_allclose(xs, (volts * 1e5).astype(np.float32), rtol=1e-6)

    # the old mistake (microvolts read as volts) is caught, naming the unit
    with pytest.raises(ValueError, match="unit mistake.*units='uV'"):
        ELMFeatures(ch_names=f.ch_names, sfreq=f.sfreq, units="V").fit_transform(X)
    with pytest.raises(ValueError, match="unit mistake"):
        BraindecodeClassifier(units="V")._x(X)
    with pytest.warns(UserWarning, match="unit mistake"):
        g = ELMFeatures(ch_names=f.ch_names, sfreq=f.sfreq, units="V", on_clip="warn")
        g.fit_transform(X[:2])
    assert g.clip_fraction_ > 0.5


def test_elm_features_sklearn_contracts():
    """NotFittedError, n_features_in_, feature names, 3-D tags, bad input at fit."""
    from sklearn.exceptions import NotFittedError

    X = _epochs(3)
    f = ELMFeatures(ch_names=ELECTRODES, sfreq=250.0, units="V")
    with pytest.raises(NotFittedError):
        f.transform(X)
    with pytest.raises(NotFittedError):
        f.get_feature_names_out()
    f.fit(X)
    assert f.n_features_in_ == len(ELECTRODES)
    names = f.get_feature_names_out()
    assert len(names) == 256 and names[0] == "elm_embedding0"
    assert len(f.transform(X)) == 3
    tags = f.__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    assert not tags.input_tags.allow_nan and tags.requires_fit
    g = ELMFeatures(ch_names=ELECTRODES, sfreq=250.0, units="V", output="features")
    assert len(g.fit(X).get_feature_names_out()) == 96
    with pytest.raises(ValueError, match="no data"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).fit(X[:0])
    bad = X.copy()
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values in 1 of 3 epochs"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).fit(bad)
    with pytest.raises(ValueError, match="channels but ch_names lists 17"):
        f.transform(np.concatenate([X, X[:, :1]], axis=1))
    import mne

    def epochs(names):
        info = mne.create_info(names, 250.0, "eeg")
        return mne.EpochsArray(X[:, : len(names)], info, verbose="error")

    fe = ELMFeatures().fit(epochs(ELECTRODES))
    with pytest.raises(
        ValueError, match="16 channels, but ELMFeatures was fitted with 17"
    ):
        fe.transform(epochs(ELECTRODES[:16]))
    with pytest.raises(ValueError, match="on_clip"):
        ELMFeatures(
            ch_names=ELECTRODES, sfreq=250.0, units="V", on_clip="x"
        ).fit_transform(X)
    with pytest.raises(ValueError, match="numeric units"):
        to_volts(X, -1.0)
    np.testing.assert_allclose(to_volts(X * 1e6, 1e-6)[0], X, rtol=1e-12)


def test_summarize_moabb_results_over_seeds():
    import pandas as pd

    from braindecode_elm.evaluation.moabb_eval import (
        moabb_summary_table,
        summarize_moabb_results,
    )

    rows = []
    for seed, base in enumerate([0.6, 0.7, 0.8]):
        for d in (-0.05, 0.05):
            rows.append(("eegmat", "TS+LR", seed, base + d, 1.0))
            rows.append(("eegmat", "ELM+LR", seed, 0.5 + d, 2.0))
    df = pd.DataFrame(rows, columns=["comparison", "pipeline", "seed", "score", "time"])
    summary = summarize_moabb_results(df)
    assert list(summary["pipeline"]) == ["TS+LR", "ELM+LR"]
    ts = summary.iloc[0]
    assert ts.score_mean == pytest.approx(0.7)
    assert ts.score_sd == pytest.approx(0.1)  # sd over the three per-seed means
    assert (ts.n_seeds, ts.n_folds) == (3, 2)
    table = moabb_summary_table(summary)
    assert "0.700 +- 0.100" in table and "0.500 +- 0.000" in table
    assert table.splitlines()[0].startswith("=======")


def test_real_data_comparisons_names_the_comparisons(tmp_path):
    """An unknown comparison is refused before any data is read, naming it."""
    from braindecode_elm.evaluation.moabb_runner import run_real_data_comparisons

    for bad, named in ((("eegmat", "bci"), "['bci']"), ((), "[]")):
        with pytest.raises(ValueError, match="among 'eegmat' and 'eegbci'") as e:
            run_real_data_comparisons(
                tmp_path, data_path=tmp_path / "nothing", comparisons=bad
            )
        assert named in str(e.value)
