"""Bad input gets a clear error; nothing can abort the interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from braindecode_elm import _rust, dsp

NAMES21 = [
    f"EEG {n}-REF"
    for n in "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
]
SOS = dsp.butter_bandpass_sos(4, 0.1, 49.0, 256.0)


def _x(n_ch=21, n=2000, dtype=np.float64):
    return np.random.default_rng(0).standard_normal((n_ch, n)).astype(dtype) * 1e-5


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonfinite_names_channel_and_sample(bad, dtype):
    x = _x(dtype=dtype)
    x[13, 777] = bad  # EEG T4-REF
    x[13, 900] = bad
    with pytest.raises(
        ValueError, match=r"channel 13 \('EEG T4-REF'\), first bad sample 777"
    ):
        dsp.preprocess(x, NAMES21, 256.0)
    with pytest.raises(ValueError, match="channel 13, first bad sample 777"):
        dsp.sosfiltfilt(SOS, x)
    with pytest.raises(ValueError, match="channel 13, first bad sample 777"):
        dsp.resample_poly(x, 25, 64)


@pytest.mark.parametrize("level", dsp.kernel_simd_levels())
@pytest.mark.parametrize("clip", [None, 80.0])
def test_nonfinite_in_two_channels_names_the_earliest_at_every_level(level, clip):
    # NaN late in an early channel, Inf early in a late one: the earliest bad
    # sample is named, whatever the level's channel blocks, the thread count
    # or the montage basis (it used to depend on which block met one first).
    x = _x(n=8000)
    x[2, 6000] = np.nan  # EEG F3-REF
    x[7, 150] = np.inf  # EEG P4-REF
    with dsp.force_simd(level):
        for n_threads in (1, 2):
            with pytest.raises(
                ValueError, match=r"channel 7 \('EEG P4-REF'\), first bad sample 150"
            ):
                dsp.preprocess(x, NAMES21, 256.0, clip=clip, n_threads=n_threads)
        with pytest.raises(ValueError, match="channel 7, first bad sample 150"):
            dsp.sosfiltfilt(SOS, x)
        with pytest.raises(ValueError, match="channel 7, first bad sample 150"):
            dsp.resample_poly(x, 25, 64)


def test_nonfinite_in_unused_channel_is_ignored():
    x = _x()
    x[16, 5] = np.nan  # A1 is not in the TCP montage
    y, _ = dsp.preprocess(x, NAMES21, 256.0)
    assert np.isfinite(y).all()


def test_missing_electrodes_listed():
    names = [n for n in NAMES21 if "O1" not in n and "CZ" not in n]
    x = _x(n_ch=len(names))
    with pytest.raises(ValueError, match=r"\['CZ', 'O1'\].*available.*'FP1'"):
        dsp.preprocess(x, names, 256.0)
    with pytest.raises(ValueError, match="missing|not in the recording"):
        dsp.tcp_montage(x, names)


def test_duplicate_electrodes_rejected():
    names = list(NAMES21)
    names[16] = "Fp1"  # FP1 twice (in place of the unused A1)
    with pytest.raises(ValueError, match="more than once"):
        dsp.tcp_montage(_x(), names)


def test_too_short():
    with pytest.raises(ValueError, match="too short: 27 samples"):
        dsp.sosfiltfilt(SOS, _x(2, 27))
    with pytest.raises(ValueError, match="too short"):
        dsp.preprocess(_x(21, 20), NAMES21, 256.0)
    with pytest.raises(ValueError, match="too short"):
        _rust.sosfiltfilt(SOS, _x(2, 27), "odd")


@pytest.mark.parametrize(
    "l_freq,h_freq,sfreq,match",
    [
        (49.0, 0.1, 256.0, "l_freq .* must be < h_freq"),
        (10.0, 10.0, 256.0, "must be < h_freq"),
        (0.1, 128.0, 256.0, "Nyquist"),
        (0.1, 200.0, 256.0, "Nyquist"),
        (-1.0, 40.0, 256.0, "l_freq must be > 0"),
        (0.0, 40.0, 256.0, "l_freq must be > 0"),
        (0.1, np.nan, 256.0, "finite"),
        (0.1, 40.0, -256.0, "positive"),
    ],
)
def test_invalid_band(l_freq, h_freq, sfreq, match):
    with pytest.raises(ValueError, match=match):
        dsp.butter_bandpass_sos(4, l_freq, h_freq, sfreq)
    with pytest.raises(ValueError):
        _rust.butter_bandpass_sos(4, l_freq, h_freq, sfreq)


def test_invalid_order_and_sos():
    with pytest.raises(ValueError, match="order"):
        dsp.butter_bandpass_sos(0, 1.0, 40.0, 256.0)
    with pytest.raises(ValueError, match=r"shape \(n_sections, 6\)"):
        dsp.sosfiltfilt(np.ones((2, 5)), _x(2, 100))
    with pytest.raises(ValueError, match="NaN"):
        dsp.sosfiltfilt(np.full((1, 6), np.nan), _x(2, 100))


@pytest.mark.parametrize("up,down", [(0, 5), (2, 0), (-1, 5), (2, -5), (2.5, 5)])
def test_bad_factors(up, down):
    with pytest.raises(ValueError, match="positive integer"):
        dsp.resample_poly(_x(2, 100), up, down)


def test_bad_factors_native():
    with pytest.raises(ValueError, match="positive"):
        _rust.resample_poly(_x(2, 100), 0, 5, "constant")
    with pytest.raises(ValueError, match="padtype"):
        _rust.resample_poly(_x(2, 100), 1, 5, "edge")


def test_wrong_ndim_dtype_and_empty():
    with pytest.raises(ValueError, match="2-D"):
        dsp.sosfiltfilt(SOS, np.zeros((2, 3, 100)))
    with pytest.raises(ValueError, match="2-D"):
        dsp.preprocess(np.zeros(100), ["FP1"], 256.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        dsp.sosfiltfilt(SOS, np.zeros((2, 100), dtype=np.int32))
    with pytest.raises(TypeError, match="float32 or float64"):
        dsp.resample_poly(np.zeros((2, 100), dtype=np.complex128), 1, 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        dsp.preprocess(_x(), NAMES21, 256.0, dtype=np.int16)
    with pytest.raises(ValueError, match="empty"):
        dsp.resample_poly(np.zeros((2, 0)), 1, 2)
    with pytest.raises(ValueError, match="empty"):
        dsp.sosfiltfilt(SOS, np.zeros((0, 100)))
    with pytest.raises(ValueError, match="channels but"):
        dsp.preprocess(_x(), NAMES21[:-1], 256.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        _rust.sosfiltfilt(SOS, np.zeros((2, 100), dtype=np.int64), "odd")
    with pytest.raises(ValueError, match="2-D"):
        _rust.resample_poly(np.zeros(100), 1, 2, "constant")


def test_bad_options():
    with pytest.raises(ValueError, match="padtype"):
        dsp.sosfiltfilt(SOS, _x(2, 100), padtype="even")
    with pytest.raises(ValueError, match="montage"):
        dsp.preprocess(_x(), NAMES21, 256.0, montage="banana")
    with pytest.raises(ValueError, match="clip"):
        dsp.preprocess(_x(), NAMES21, 256.0, clip=-1.0)
    with pytest.raises(ValueError, match="n_threads"):
        dsp.preprocess(_x(), NAMES21, 256.0, n_threads=0)
    # None and strings were "int() argument must be ..." / "must be real number"
    for bad in (None, "2"):
        with pytest.raises(ValueError, match="n_threads must be a positive integer"):
            dsp.preprocess(_x(), NAMES21, 256.0, n_threads=bad)
    # A 0-d array is one number (review: it was refused by the new check).
    y0, _ = dsp.preprocess(_x(), NAMES21, np.array(256.0))
    assert y0.shape == dsp.preprocess(_x(), NAMES21, 256.0)[0].shape
    with pytest.raises(
        TypeError, match=r"sfreq must be a number in Hz.*float\('500'\)"
    ):
        dsp.preprocess(_x(), NAMES21, "500")
    with pytest.raises(ValueError, match="recipe"):
        dsp.preprocess_raw(None, recipe="nope")


def test_no_input_aborts_the_interpreter():
    # Hammer the native functions directly (no Python-side checks) with every
    # kind of bad input in a child process: each call must raise a Python
    # exception, and the child must reach the end and exit normally.
    code = textwrap.dedent(
        """
        import numpy as np
        from braindecode_elm import _rust
        sos = _rust.butter_bandpass_sos(4, 0.1, 49.0, 256.0)
        idx = np.array([[0, 1]], dtype=np.int64)
        good = np.ones((2, 500))
        elm = dict(l_freq=0.1, h_freq=49.0, order=4, scale=1e5, clip=80.0,
                   padtype="odd", resample_padtype="constant")
        plain = dict(elm, scale=None, clip=None)
        bad_inputs = [
            np.zeros((0, 0)), np.zeros((2, 0)), np.zeros((0, 5)), np.zeros(5),
            np.zeros((2, 2, 2)), np.zeros((2, 5), dtype=np.int8), "text", None,
            np.full((2, 500), np.nan), np.full((2, 500), np.inf),
            np.full((2, 500), 1e308), np.ones((2, 1)), np.ones((2, 28))[:, ::2],
        ]
        calls = [
            lambda x: _rust.sosfiltfilt(sos, x, "odd"),
            lambda x: _rust.sosfiltfilt(sos, x, "mne"),
            lambda x: _rust.resample_poly(x, 25, 64, "reflect"),
            lambda x: _rust.resample_poly(x, 3, 1, "constant"),
            lambda x: _rust.preprocess(x, elm, 256.0, idx, 25, 64, True, 2, None),
        ]
        weird_args = [
            lambda: _rust.preprocess(good, plain, 256.0,
                                     np.array([[0, 9]], dtype=np.int64), 25, 64,
                                     False, 1),
            lambda: _rust.preprocess(good, plain, 256.0,
                                     np.array([[-1, 0]], dtype=np.int64), 25, 64,
                                     False, 1),
            lambda: _rust.preprocess(good, plain, 256.0, idx, 0, 64, False, 1),
            lambda: _rust.preprocess(good, dict(plain, clip=-3.0), 256.0, idx, 25,
                                     64, False, 1),
            lambda: _rust.preprocess(good, dict(plain, order=0), 256.0, idx, 25, 64,
                                     False, 1),
            lambda: _rust.preprocess(good, dict(plain, order=9), 256.0, idx, 25, 64,
                                     False, 1),
            lambda: _rust.preprocess(good, dict(plain, order=-1), 256.0, idx, 25,
                                     64, False, 1),
            lambda: _rust.preprocess(good, dict(plain, h_freq=1e300), 256.0, idx,
                                     25, 64, False, 1),
            lambda: _rust.preprocess(good, dict(plain, l_freq="x"), 256.0, idx, 25,
                                     64, False, 1),
            lambda: _rust.preprocess(good, {"order": 4}, 256.0, idx, 25, 64, False,
                                     1),
            lambda: _rust.preprocess(good, None, 256.0, idx, 25, 64, False, 1),
            lambda: _rust.preprocess(good, plain, float("nan"), idx, 25, 64, False,
                                     1),
            lambda: _rust.sosfiltfilt(np.zeros((2, 6)), good, "odd"),
            lambda: _rust.sosfiltfilt(np.full((2, 6), np.inf), good, "odd"),
            lambda: _rust.resample_poly(good, 10**9, 1, "constant"),
            lambda: _rust.butter_bandpass_sos(4, 1.0, 1e300, 256.0),
            lambda: _rust.butter_bandpass_sos(10**6, 1.0, 40.0, 256.0),
            lambda: _rust.firwin_kaiser(0, 0.5, 5.0),
            lambda: _rust.preprocess_batch([good, "x"], plain, [256.0, 256.0],
                                           [idx, idx], [25, 25], [64, 64], False,
                                           2),
            lambda: _rust.preprocess_batch([good, good], dict(plain, h_freq=200.0),
                                           [256.0, 256.0], [idx, idx], [25, 25],
                                           [64, 64], False, 2),
        ]
        n_raised = 0
        for f in calls:
            for x in bad_inputs:
                try:
                    f(x)
                except (ValueError, TypeError, RuntimeError, OverflowError):
                    n_raised += 1
        for f in weird_args:
            try:
                f()
            except (ValueError, TypeError, RuntimeError, OverflowError):
                n_raised += 1
        print("survived", n_raised)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    n = int(out.stdout.split()[-1])
    # 5 calls x 13 bad inputs (a few, e.g. ones((2, 28))[:, ::2] for the
    # resampler, are valid and return) + 20 bad argument sets.
    assert n >= 60


def test_native_preprocess_reads_the_recipe_by_name():
    # The extension takes the recipe as one object (a Recipe or a dict of its
    # fields) and designs the filter itself: same numbers as dsp.preprocess.
    x = _x(21, 256 * 20)
    rec = dsp.RECIPES["elm"]
    want, names = dsp.preprocess(x, NAMES21, 256.0, recipe=rec, dtype=np.float64)
    index = np.array(
        [
            [NAMES21.index(f"EEG {a}-REF"), NAMES21.index(f"EEG {c}-REF")]
            for a, c in dsp.TCP_PAIRS
        ],
        dtype=np.int64,
    )
    assert names == [f"{a}-{c}" for a, c in dsp.TCP_PAIRS]
    for recipe in (rec, rec.to_dict()):
        got = _rust.preprocess(x, recipe, 256.0, index, 25, 64, False, 1)
        np.testing.assert_array_equal(got, want)
    fields = rec.to_dict()
    del fields["h_freq"]
    with pytest.raises(ValueError, match="recipe has no field 'h_freq'"):
        _rust.preprocess(x, fields, 256.0, index, 25, 64, False, 1)
    with pytest.raises(TypeError, match="recipe field 'order' must be an int, got str"):
        _rust.preprocess(
            x, dict(rec.to_dict(), order="4"), 256.0, index, 25, 64, False, 1
        )
    with pytest.raises(TypeError, match="recipe field 'scale' must be a float or None"):
        _rust.preprocess(
            x, dict(rec.to_dict(), scale="big"), 256.0, index, 25, 64, False, 1
        )
    with pytest.raises(ValueError, match="method 'mne' is not the engine's"):
        _rust.preprocess(x, dsp.RECIPES["elm_official"], 256.0, index, 25, 64, False, 1)
    with pytest.raises(ValueError, match="padtype must be 'odd' or 'mne'"):
        _rust.preprocess(
            x, dict(rec.to_dict(), padtype="even"), 256.0, index, 25, 64, False, 1
        )
    # The band is checked against the recording's rate inside the plan.
    with pytest.raises(ValueError, match="recording 1: invalid band: h_freq .*Nyquist"):
        _rust.preprocess_batch(
            [x, x], rec, [256.0, 90.0], [index, index], [25, 10], [64, 9], False, 1
        )
