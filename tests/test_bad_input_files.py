"""Bad files (issue 16): repeated electrodes, broken bundles, EDF writing.

* A TCP electrode present twice is refused by one rule on every path
  (``dsp.preprocess``, ``dsp.preprocess_raw``, ``build_cache`` from a folder,
  from an MNE-read dataset, from preloaded raws, and ``elm preprocess``), and
  the manifest records why; a repeated channel the montage does not use is
  ignored on every path.
* Bundles with NaN weights, a non-finite temperature or a config asking for a
  huge layer are refused at load, before anything is allocated.
* ``write_edf`` never writes ``nan``/``inf`` or a cut-short number into the
  header, and never truncates two labels into one.
"""

from __future__ import annotations

import json
import shutil

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from braindecode_elm import dsp
from braindecode_elm.cli import main
from braindecode_elm.data import (
    SKIP_REASONS,
    TUHReports,
    build_cache,
    make_synthetic_tuh,
    open_cache,
    write_edf,
)
from braindecode_elm.data.edf import read_edf_data, read_edf_header

NAMES21 = [
    f"EEG {n}-REF"
    for n in "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
]
MONTAGE = sorted({e for p in dsp.TCP_PAIRS for e in p})


# -- repeated electrodes: one rule everywhere ---------------------------------


def test_rule_is_in_the_skip_reasons():
    assert "duplicate_electrodes" in SKIP_REASONS


@pytest.mark.parametrize(
    "names,expected",
    [
        (NAMES21 + ["EEG FP1-REF"], ["FP1"]),
        (NAMES21 + ["Fp1"], ["FP1"]),  # another spelling of the same electrode
        (NAMES21 + ["EEG T7-REF"], ["T3"]),  # new name of an old one
        (NAMES21 + ["EEG A1-REF"], []),  # not in the montage: ignored
        (NAMES21, []),
    ],
)
def test_duplicate_electrodes(names, expected):
    assert dsp.duplicate_electrodes(names) == expected


def test_mne_running_numbers_are_seen_as_repeats():
    # MNE renames a repeated "EEG FP1-REF" to "EEG FP1-REF-0", "EEG FP1-REF-1".
    names = [n for n in NAMES21 if n != "EEG FP1-REF"]
    names += ["EEG FP1-REF-0", "EEG FP1-REF-1"]
    assert dsp.duplicate_electrodes(names) == ["FP1"]
    with pytest.raises(ValueError, match=r"\['FP1'\] appear more than once"):
        dsp.resolve_pairs(names)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_repeat_of_a_montage_electrode_is_refused(data):
    names = data.draw(st.permutations(NAMES21))
    which = data.draw(st.sampled_from(MONTAGE))
    spelling = data.draw(st.sampled_from(["{}", "EEG {}-REF", "EEG {}-LE", "eeg {}"]))
    at = data.draw(st.integers(0, len(names)))
    names = list(names)
    names.insert(at, spelling.format(which.capitalize()))
    assert dsp.duplicate_electrodes(names) == [which]
    with pytest.raises(ValueError, match="appear more than once"):
        dsp.resolve_pairs(names)


def _signals(n_ch: int, seconds: float = 70.0, sfreq: float = 250.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_ch, int(seconds * sfreq))) * 20e-6


def test_dsp_preprocess_refuses_a_repeat_and_ignores_other_repeats():
    x = _signals(22, seconds=20)
    with pytest.raises(ValueError, match=r"\['FP1'\] appear more than once"):
        dsp.preprocess(x, NAMES21 + ["EEG FP1-REF"], 250.0)
    # A repeated A1 (not in the montage) changes nothing.
    ref, _ = dsp.preprocess(x[:21], NAMES21, 250.0)
    y, _ = dsp.preprocess(x, NAMES21 + ["EEG A1-REF"], 250.0)
    np.testing.assert_array_equal(y, ref)


def test_dsp_preprocess_raw_refuses_an_mne_renamed_repeat(tmp_path):
    path = write_edf(tmp_path / "dup.edf", _signals(22, 20), NAMES21 + ["EEG FP1-REF"],
                     250.0)  # fmt: skip
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    assert "EEG FP1-REF-1" in raw.ch_names  # MNE's renaming
    with pytest.raises(ValueError, match=r"\['FP1'\] appear more than once"):
        dsp.preprocess_raw(raw)


@pytest.fixture(scope="module")
def dup_corpus(tmp_path_factory):
    """A synthetic TUH corpus: recording 1 has FP1 twice (different signals),
    recording 2 has A1 twice, recording 3 is clean."""
    root = tmp_path_factory.mktemp("dup")
    make_synthetic_tuh(
        root, 3, seed=2, duration_s=(64, 66), sessions_per_subject=(1, 1),
        progress=False,
    )  # fmt: skip
    edfs = sorted(root.rglob("*.edf"))
    for path, extra in zip(edfs[:2], ["EEG FP1-REF", "EEG A1-REF"]):
        header = read_edf_header(path)
        labels = [x for x in header.labels if x != "EDF Annotations"]
        data = read_edf_data(header, list(range(len(labels))))
        copy = data[labels.index("EEG F7-REF")]  # a different signal
        sfreq = float(header.sfreqs[0])
        write_edf(path, np.vstack([data, copy]), labels + [extra], sfreq)
    return root, [p.stem for p in edfs]


def _check_cache(out, ids):
    corpus = open_cache(out)
    skipped = corpus.skipped.set_index("recording_id")
    assert sorted(corpus.ids) == sorted(ids[1:]), corpus.ids
    assert skipped.loc[ids[0], "reason"] == "duplicate_electrodes"
    assert "['FP1'] appear more than once" in skipped.loc[ids[0], "detail"]
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rows if r["recording_id"] == ids[0]] == [
        "duplicate_electrodes"
    ]


def test_build_cache_from_a_folder(dup_corpus, tmp_path):
    root, ids = dup_corpus
    build_cache(root, tmp_path / "c", progress=False)
    _check_cache(tmp_path / "c", ids)


def test_build_cache_from_mne_read_recordings(dup_corpus, tmp_path):
    root, ids = dup_corpus
    ds = TUHReports(root)
    # MNE renamed the repeated FP1; the rule sees through it.
    assert any(c.endswith("-1") for c in ds.datasets[0].raw.ch_names)
    build_cache(ds, tmp_path / "c", progress=False)
    _check_cache(tmp_path / "c", ids)


def test_build_cache_from_preloaded_raws(dup_corpus, tmp_path):
    from braindecode.datasets import BaseConcatDataset, RawDataset

    root, ids = dup_corpus
    parts = []
    for path in sorted(root.rglob("*.edf")):
        raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
        desc = pd.Series({"recording_id": path.stem, "subject": path.stem[:8],
                          "report": "Normal EEG."})  # fmt: skip
        parts.append(RawDataset(raw, desc))
    build_cache(BaseConcatDataset(parts), tmp_path / "c", progress=False)
    _check_cache(tmp_path / "c", ids)


def test_elm_preprocess(dup_corpus, tmp_path, capsys):
    root, ids = dup_corpus
    assert main(["preprocess", str(root), str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "duplicate_electrodes" in out and "appears more than once" in out
    _check_cache(tmp_path / "c", ids)


# -- bundles -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from braindecode_elm.models import ELM, ELMEncoder, TextProjection

    root = tmp_path_factory.mktemp("bundle")
    torch.manual_seed(0)
    model = ELM(ELMEncoder(n_filters=4), None, TextProjection(384, hidden=16),
                text_model="minilm")  # fmt: skip
    model.save_pretrained(root / "ok")
    return root


def _broken(bundle, tmp_path, edit_config=None, edit_state=None):
    dst = tmp_path / "broken"
    shutil.copytree(bundle / "ok", dst)
    if edit_config is not None:
        cfg = json.loads((dst / "config.json").read_text())
        edit_config(cfg)
        (dst / "config.json").write_text(json.dumps(cfg))
    if edit_state is not None:
        state = load_file(dst / "model.safetensors")
        edit_state(state)
        save_file(state, dst / "model.safetensors")
    return dst


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize(
    "key", ["text_projection.net.0.weight", "eeg_encoder.bn1.running_var"]
)
def test_bundle_with_non_finite_weights_is_refused(bundle, tmp_path, key, value):
    from braindecode_elm.models import ELM

    def edit(state):
        state[key].view(-1)[0] = value

    path = _broken(bundle, tmp_path, edit_state=edit)
    with pytest.raises(ValueError, match="NaN or Inf") as err:
        ELM.from_pretrained(path)
    assert key in str(err.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0, None])
def test_bundle_with_bad_temperature_is_refused(bundle, tmp_path, value):
    from braindecode_elm.models import ELM

    path = _broken(bundle, tmp_path, edit_config=lambda c: c.update(temperature=value))
    with pytest.raises(ValueError, match="temperature|config"):
        ELM.from_pretrained(path)


@pytest.mark.parametrize(
    "section,key", [("text_projection", "hidden"), ("text_projection", "in_dim")]
)
def test_huge_config_is_refused_before_allocating(bundle, tmp_path, section, key):
    from braindecode_elm.models import ELM

    def edit(cfg):
        cfg[section][key] = 10**12  # terabytes if allocated

    path = _broken(bundle, tmp_path, edit_config=edit)
    with pytest.raises(ValueError, match="do not match its config") as err:
        ELM.from_pretrained(path)
    assert "1000000000000" in str(err.value)


def test_huge_eeg_tower_is_refused_before_allocating(bundle, tmp_path):
    from braindecode_elm.models import ELM

    path = _broken(
        bundle, tmp_path, edit_config=lambda c: c["eeg_encoder"]["kwargs"].update(
            n_filters=10**7)
    )  # fmt: skip
    with pytest.raises(ValueError, match="do not match its config"):
        ELM.from_pretrained(path)


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '{"format_version": 1}'])
def test_unreadable_config_is_a_value_error(bundle, tmp_path, text):
    from braindecode_elm.models import ELM

    path = _broken(bundle, tmp_path)
    (path / "config.json").write_text(text)
    with pytest.raises(ValueError, match="config"):
        ELM.from_pretrained(path)


def test_garbage_weights_file_is_a_value_error(bundle, tmp_path):
    from braindecode_elm.models import ELM

    path = _broken(bundle, tmp_path)
    (path / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="safetensors"):
        ELM.from_pretrained(path)


def test_good_bundle_still_loads(bundle):
    from braindecode_elm.models import ELM

    model = ELM.from_pretrained(bundle / "ok")
    assert model.temperature == pytest.approx(0.3)
    assert all(torch.isfinite(v).all() for v in model.weights().values())


_SETS = {"ra": {"rest": ["at rest"], "arithmetic": ["doing arithmetic"]}}


def _with_offsets(offsets):
    def edit(cfg):
        cfg["prompt_sets"] = _SETS
        cfg["prompt_offsets"] = offsets

    return edit


_BAD_OFFSETS = [
    # (offsets, words the error must hold)
    ({"other": {"rest": 0.1, "arithmetic": 0.2}}, ["'other'", "['ra']"]),
    ({"ra": {"rest": 0.1}}, ["prompt_offsets['ra']", "missing ['arithmetic']"]),
    (
        {"ra": {"rest": 0.1, "arithmetic": 0.2, "sleep": 0.0}},
        ["prompt_offsets['ra']", "not in the set ['sleep']"],
    ),
    ({"ra": {"rest": float("nan"), "arithmetic": 0.2}}, ["['rest'] = nan"]),
    ({"ra": {"rest": 0.1, "arithmetic": float("inf")}}, ["['arithmetic'] = inf"]),
    ({"ra": {"rest": "0.1", "arithmetic": 0.2}}, ["['rest'] = '0.1'"]),
    ({"ra": {"rest": None, "arithmetic": 0.2}}, ["['rest'] = None"]),
    ({"ra": {"rest": True, "arithmetic": 0.2}}, ["['rest'] = True"]),
    ({"ra": [0.1, 0.2]}, ["prompt_offsets['ra'] must be a mapping"]),
    ([0.1, 0.2], ["prompt_offsets must be a mapping"]),
]


@pytest.mark.parametrize("offsets,words", _BAD_OFFSETS)
def test_bundle_with_bad_prompt_offsets_is_refused(bundle, tmp_path, offsets, words):
    """Offsets of an unknown set, with other classes or non-finite values are
    refused on load (naming the file, set and class) and on construction."""
    from braindecode_elm.models import ELM, ELMEncoder, TextProjection

    path = _broken(bundle, tmp_path, edit_config=_with_offsets(offsets))
    with pytest.raises(ValueError) as err:
        ELM.from_pretrained(path)
    msg = str(err.value)
    assert str(path / "config.json") in msg
    for word in [*words, "calibrate_bundle"]:
        assert word in msg, (word, msg)
    with pytest.raises(ValueError) as err:
        ELM(ELMEncoder(n_filters=4), None, TextProjection(384, hidden=16),
            prompt_sets=_SETS, prompt_offsets=offsets)  # fmt: skip
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_bad_prompt_offsets_set_later_are_refused(bundle, tmp_path):
    """``set_prompt_offsets`` checks at once; a dict edited by hand is checked
    when the bundle is saved, so no bad offsets reach a config file."""
    from braindecode_elm.models import ELM

    model = ELM.from_pretrained(bundle / "ok")
    model.prompt_sets = dict(_SETS)
    with pytest.raises(ValueError, match="'other'.*not one of the bundle's"):
        model.set_prompt_offsets("other", {"rest": 0.0, "arithmetic": 0.0})
    with pytest.raises(ValueError, match="missing \\['rest'\\]"):
        model.set_prompt_offsets("ra", {"arithmetic": 0.0})
    assert model.prompt_offsets == {}
    model.prompt_offsets["ra"] = {"rest": float("nan"), "arithmetic": 0.0}
    with pytest.raises(ValueError, match="\\['rest'\\] = nan is not a finite"):
        model.save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m" / "config.json").exists()


def test_calibration_windows_and_labels_are_checked():
    """calibrate_offsets names a class without windows, labels that are not
    classes, and a count mismatch; zero-shot offsets must fit the classes."""
    from braindecode_elm.evaluation import EmbeddedCorpus, calibrate_offsets, zero_shot
    from braindecode_elm.evaluation.zeroshot import zero_shot_from_embeddings

    class Text:
        temperature = 1.0

        def embed_text(self, texts):
            return np.array([[1.0, 0.0] if "rest" in t else [0.0, 1.0] for t in texts])

    classes = {"rest": ["at rest"], "arithmetic": ["doing arithmetic"]}
    emb = np.eye(2)[[0, 0, 1]]
    with pytest.raises(ValueError, match=r"\['arithmetic'\] have no calibration"):
        calibrate_offsets(Text(), emb, ["rest", "rest", "rest"], classes)
    with pytest.raises(ValueError, match=r"labels \['sleep'\] are not classes"):
        calibrate_offsets(Text(), emb, ["rest", "sleep", "arithmetic"], classes)
    with pytest.raises(ValueError, match="2 labels for 3 calibration windows"):
        calibrate_offsets(Text(), emb, ["rest", "arithmetic"], classes)
    with pytest.raises(ValueError, match="at least two classes"):
        calibrate_offsets(Text(), emb, ["rest"] * 3, {"rest": ["at rest"]})
    with pytest.raises(ValueError, match=r"must be \(n_windows, d\)"):
        calibrate_offsets(Text(), emb[0], ["rest"], classes)
    corpus = EmbeddedCorpus(["a"], emb, ["a"] * 3)
    with pytest.raises(ValueError, match="offsets are for classes"):
        zero_shot(Text(), corpus, classes, offsets={"rest": 0.1, "task": 0.0})
    with pytest.raises(ValueError, match="finite"):
        zero_shot(Text(), corpus, classes, offsets={"rest": 0.1, "arithmetic": np.nan})
    with pytest.raises(ValueError, match="3 values for 2 classes"):
        zero_shot_from_embeddings(emb, np.eye(2), offsets=[0.0, 0.1, 0.2])


# -- write_edf -------------------------------------------------------------------


def _ok_data(n_ch=2):
    return _signals(n_ch, seconds=2, sfreq=100.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_write_edf_refuses_non_finite_samples(tmp_path, bad):
    x = _ok_data()
    x[1, 7] = bad
    with pytest.raises(ValueError, match=r"channels \['B'\] hold NaN or Inf"):
        write_edf(tmp_path / "x.edf", x, ["A", "B"], 100.0)
    assert not (tmp_path / "x.edf").exists()


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0, -5.0])
def test_write_edf_refuses_a_bad_phys_range(tmp_path, bad):
    with pytest.raises(ValueError, match="phys_range"):
        write_edf(tmp_path / "x.edf", _ok_data(), ["A", "B"], 100.0, phys_range=bad)


@pytest.mark.parametrize(
    "kw", [{"sfreq": np.nan}, {"sfreq": -100.0}, {"record_duration": np.inf}]
)
def test_write_edf_refuses_non_finite_rates(tmp_path, kw):
    args = {"sfreq": 100.0, **kw}
    with pytest.raises(ValueError, match="finite number > 0"):
        write_edf(tmp_path / "x.edf", _ok_data(), ["A", "B"], args.pop("sfreq"),
                  **args)  # fmt: skip


def test_write_edf_refuses_amplitudes_the_header_cannot_hold(tmp_path):
    # Tens of volts: a peak of -2e7 uV or so takes 9 characters, over the 8.
    with pytest.raises(ValueError, match="does not fit"):
        write_edf(tmp_path / "x.edf", _ok_data() * 1e6, ["A", "B"], 100.0)


def test_write_edf_refuses_a_range_that_does_not_fit_the_header(tmp_path):
    # 123456789.5 would have been cut to "12345678" (another number).
    with pytest.raises(ValueError, match="does not fit"):
        write_edf(tmp_path / "x.edf", _ok_data(), ["A", "B"], 100.0,
                  phys_range=123456789.5)  # fmt: skip


@pytest.mark.parametrize(
    "names",
    [
        ["EEG LONGNAME-A-REF-1", "EEG LONGNAME-A-REF-2"],  # same first 16
        ["Fé", "Fè"],  # both become "F?" in ASCII
    ],
)
def test_write_edf_refuses_labels_truncated_into_duplicates(tmp_path, names):
    with pytest.raises(ValueError, match="same 16-character"):
        write_edf(tmp_path / "x.edf", _ok_data(), names, 100.0)


def test_write_edf_keeps_deliberate_repeats_and_long_unique_labels(tmp_path):
    names = ["EEG FP1-REF", "EEG FP1-REF", "A-VERY-LONG-LABEL-1"]
    path = write_edf(tmp_path / "x.edf", _ok_data(3), names, 100.0)
    assert read_edf_header(path).labels == ["EEG FP1-REF", "EEG FP1-REF",
                                            "A-VERY-LONG-LABE"]  # fmt: skip


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    scale=st.floats(1e-7, 1e-2),  # volts: 0.1 uV to 10 mV
    sfreq=st.sampled_from([100.0, 128.0, 250.0, 256.0]),
    seed=st.integers(0, 2**16),
)
def test_written_header_fields_are_finite_numbers(tmp_path, scale, sfreq, seed):
    x = np.random.default_rng(seed).standard_normal((2, int(sfreq * 2))) * scale
    path = write_edf(tmp_path / "h.edf", x, ["A", "B"], sfreq)
    h = read_edf_header(path)
    for arr in (h.phys_min, h.phys_max, h.dig_min, h.dig_max, h.sfreqs):
        assert np.isfinite(arr).all()
    assert (h.phys_max >= np.abs(x).max(axis=1) * 1e6).all()  # uV, not cut
    back = read_edf_data(h)
    assert np.abs(back - x).max() <= 2 * h.phys_max.max() * 1e-6 / 32767


def test_non_string_channel_names_get_the_clear_type_error():
    with pytest.raises(TypeError, match="channel name must be a str, got int"):
        dsp.duplicate_electrodes([1] * 21)
    with pytest.raises(TypeError, match="channel name must be a str"):
        dsp.preprocess(_signals(21, 20), [1] * 21, 250.0)
