"""preprocess_raw recipes and the Braindecode preprocessing step."""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest

from braindecode_elm import dsp
from braindecode_elm.dsp import _reference as ref

ELECTRODES = "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 FZ CZ PZ".split()


def _raw(sfreq=256.0, seconds=30.0, seed=0, prefix="EEG ", suffix="-REF"):
    rng = np.random.default_rng(seed)
    names = [f"{prefix}{e}{suffix}" for e in ELECTRODES] + ["ECG EKG"]
    n = int(sfreq * seconds)
    data = rng.standard_normal((len(names), n)) * 20e-6 + 5e-6
    info = mne.create_info(names, sfreq, ["eeg"] * 19 + ["ecg"])
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_meas_date(1_600_000_000)
    ann = mne.Annotations(
        onset=[1.0, 12.5],
        duration=[0.5, 2.0],
        description=["spike", "seiz"],
        orig_time=raw.info["meas_date"],
    )
    raw.set_annotations(ann)
    return raw


@pytest.mark.parametrize("sfreq", [256.0, 250.0, 500.0])
def test_preprocess_raw_elm_recipe(sfreq):
    raw = _raw(sfreq)
    out = dsp.preprocess_raw(raw)
    assert out.info["sfreq"] == 100.0
    assert out.ch_names == [f"{a}-{b}" for a, b in dsp.TCP_PAIRS]
    assert out.n_times == int(np.ceil(raw.n_times * 100.0 / sfreq))
    # Annotations kept with unchanged times.
    np.testing.assert_allclose(out.annotations.onset, raw.annotations.onset)
    assert list(out.annotations.description) == ["spike", "seiz"]
    assert out.info["meas_date"] == raw.info["meas_date"]
    # ELM units (x1e5, clipped at +-80), equal to the SciPy chain.
    want, _ = ref.preprocess(
        raw.get_data(), raw.ch_names, sfreq, scale=dsp.ELM_SCALE, clip=dsp.ELM_CLIP
    )
    got = out.get_data()
    rms = np.sqrt(np.mean((raw.get_data() * dsp.ELM_SCALE) ** 2))
    assert np.max(np.abs(got - want)) <= 1e-10 * rms
    assert 0.5 < got.std() < 10  # ~20 uV -> ~2 ELM units


def test_preprocess_raw_default_recipe_is_volts_and_input_untouched():
    raw = _raw(250.0)
    before = raw.get_data().copy()
    out = dsp.preprocess_raw(raw, recipe="default")
    np.testing.assert_array_equal(raw.get_data(), before)
    assert 1e-6 < out.get_data().std() < 1e-4
    out2 = dsp.preprocess_raw(raw, recipe="default", out_sfreq=125.0, l_freq=1.0)
    assert out2.info["sfreq"] == 125.0


def test_elm_official_recipe_matches_mne_steps():
    raw = _raw(256.0, seconds=40.0)
    out = dsp.preprocess_raw(raw, recipe="elm_official")
    assert out.info["sfreq"] == 100.0
    assert out.ch_names[0] == "FP1-F7" and len(out.ch_names) == 20
    assert out.times[-1] == pytest.approx(30.0, abs=0.02)  # first 10 s dropped
    # Re-run the paper's steps by hand.
    work = raw.copy().filter(0.1, 49.0, picks="all", verbose="error").crop(tmin=10.0)
    y, names = dsp.tcp_montage(work.get_data(), work.ch_names)
    y = np.clip(y * 1e5, -80, 80)
    manual = mne.io.RawArray(y, mne.create_info(names, 256.0, "eeg"), verbose="error")
    manual.resample(100.0, verbose="error")
    np.testing.assert_allclose(out.get_data(), manual.get_data(), rtol=0, atol=1e-9)
    # Annotations after the crop keep their absolute times.
    assert out.annotations.onset[list(out.annotations.description).index("seiz")] == (
        pytest.approx(12.5)
    )


def test_braindecode_preprocessor_step():
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import Preprocessor, preprocess

    raws = [_raw(256.0, seed=1), _raw(500.0, seed=2, prefix="", suffix="")]
    ds = BaseConcatDataset(
        [RawDataset(r, description={"subject": i}) for i, r in enumerate(raws)]
    )
    preprocess(ds, [dsp.elm_preprocessor()], n_jobs=1)
    for d in ds.datasets:
        assert d.raw.info["sfreq"] == 100.0
        assert d.raw.ch_names == [f"{a}-{b}" for a, b in dsp.TCP_PAIRS]
        np.testing.assert_allclose(d.raw.annotations.onset, [1.0, 12.5])
    # The plain Preprocessor spelling works too.
    ds2 = BaseConcatDataset([RawDataset(_raw(256.0, seed=1), description={"s": 0})])
    preprocess(ds2, [Preprocessor(dsp.preprocess_raw, apply_on_array=False)])
    np.testing.assert_array_equal(
        ds2.datasets[0].raw.get_data(), ds.datasets[0].raw.get_data()
    )


def test_braindecode_step_options_are_checked_when_built():
    """elm_preprocessor(bogus=1) was accepted and failed inside braindecode's
    loop; a pair of one electrode made a channel of zeros."""
    with pytest.raises(TypeError, match=r"\['bogus'\] are not recipe fields"):
        dsp.elm_preprocessor(bogus=1)
    with pytest.raises(ValueError, match="l_freq"):
        dsp.elm_preprocessor(l_freq=-1.0)
    with pytest.raises(ValueError, match="n_threads"):
        dsp.elm_preprocessor(n_threads=0)
    with pytest.raises(TypeError, match="dtype"):
        dsp.elm_preprocessor(dtype="int8")
    with pytest.raises(TypeError, match="not options of the 'elm_official'"):
        dsp.elm_preprocessor("elm_official", bogus=1)
    assert dsp.elm_preprocessor(l_freq=0.5, n_threads=1) is not None
    with pytest.raises(ValueError, match="subtracts an electrode from itself"):
        dsp.resolve_pairs(["Fp1", "F7"], [("FP1", "Fp1")])


@pytest.mark.realdata
def test_braindecode_step_on_eegmat(eegmat_dir):
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import preprocess

    raws = [
        mne.io.read_raw_edf(eegmat_dir / f"Subject00_{k}.edf", verbose="error")
        for k in (1, 2)
    ]
    for r in raws:
        r.set_annotations(
            mne.Annotations([2.0], [1.0], ["mark"], orig_time=r.info["meas_date"])
        )
    lengths = [r.n_times for r in raws]
    ds = BaseConcatDataset(
        [
            RawDataset(r, description={"subject": 0, "run": k})
            for k, r in enumerate(raws)
        ]
    )
    preprocess(ds, [dsp.elm_preprocessor(recipe="elm")], n_jobs=1)
    for d, n in zip(ds.datasets, lengths):
        raw = d.raw
        assert raw.info["sfreq"] == 100.0
        assert raw.ch_names == [f"{a}-{b}" for a, b in dsp.TCP_PAIRS]
        assert raw.n_times == int(np.ceil(n / 5))  # 500 Hz -> 100 Hz
        np.testing.assert_allclose(raw.annotations.onset, [2.0])
        x = raw.get_data()
        assert np.isfinite(x).all() and np.abs(x).max() <= 80 * 1.3
        assert 0.1 < x.std() < 20  # tens of uV in ELM units


def _event_times(raw) -> dict[str, list[float]]:
    """Seconds of each annotation's event on the recording's own timeline."""
    events, ids = mne.events_from_annotations(raw, verbose="error")
    names = {v: k for k, v in ids.items()}
    out: dict[str, list[float]] = {}
    for sample, _, code in events:
        out.setdefault(names[code], []).append(sample / raw.info["sfreq"])
    return out


@pytest.mark.parametrize("recipe", ["elm", "elm_official"])
@pytest.mark.parametrize("meas_date", [True, False])
@pytest.mark.parametrize("crop", [0.0, 10.3])
def test_events_keep_their_times(recipe, meas_date, crop):
    # Without meas_date, a cropped Raw (or the official recipe's own 10 s crop)
    # used to shift every event by first_time: windows cut from the wrong data.
    raw = _raw(250.0, seconds=60.0)
    raw.set_annotations(None)
    if not meas_date:
        raw.set_meas_date(None)
    raw.set_annotations(
        mne.Annotations([20.0, 30.0, 40.0], [1.0, 1.0, 1.0], ["a", "b", "a"],
                        orig_time=raw.info["meas_date"])
    )  # fmt: skip
    if crop:
        raw.crop(tmin=crop)
    before = _event_times(raw)
    assert before == {"a": [20.0, 40.0], "b": [30.0]}
    out = dsp.preprocess_raw(raw, recipe=recipe)
    after = _event_times(out)
    if recipe == "elm_official":
        # it drops the first 10 s of the data: what MNE's own crop leaves
        before = _event_times(raw.copy().crop(tmin=10.0))
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_allclose(after[k], before[k], atol=0.01)  # one sample


def test_bad_montage_channels_are_named():
    raw = _raw(250.0)
    raw.info["bads"] = ["EEG FZ-REF", "ECG EKG"]  # not in the TCP montage
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        dsp.preprocess_raw(raw)
    raw.info["bads"] = ["EEG FP1-REF"]
    for recipe in ("elm", "elm_official"):
        with pytest.warns(UserWarning, match=r"\['EEG FP1-REF'\].*interpolate_bads"):
            dsp.preprocess_raw(raw, recipe=recipe)
