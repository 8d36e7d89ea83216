"""Block-wise preprocessing (:func:`braindecode_elm.dsp.preprocess_chunked`).

The reference is always :func:`braindecode_elm.dsp.preprocess` of the whole
array; errors are ``max |chunked - whole| / RMS(whole)`` and must stay below the
documented :data:`~braindecode_elm.dsp.streaming.ERROR_BOUND` with the default
(automatic) overlap.
"""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest

from braindecode_elm import dsp
from braindecode_elm.dsp.streaming import (
    DEFAULT_OVERLAP_S,
    ERROR_BOUND,
    auto_overlap_seconds,
)

ELECTRODES = "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
NAMES = [f"EEG {e}-REF" for e in ELECTRODES]


def _recording(sfreq: float, seconds: float, extra: int = 0, seed: int = 0):
    """21 x n volts: white + AR(1) noise, DC offsets and a random-walk drift."""
    rng = np.random.default_rng(seed)
    n = int(round(sfreq * seconds)) + extra
    white = rng.standard_normal((21, n))
    ar = np.cumsum(rng.standard_normal((21, n)), axis=1) * 0.02
    x = (white + ar) * 1e-5 + rng.uniform(-5e-4, 5e-4, (21, 1))
    return x


def _rel_err(got: np.ndarray, want: np.ndarray) -> float:
    want = np.asarray(want, np.float64)
    rms = np.sqrt(np.mean(want**2))
    return float(np.abs(np.asarray(got, np.float64) - want).max() / rms)


class _Reader:
    """A reader callable that records the requested ranges."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, stop: int) -> np.ndarray:
        self.calls.append((start, stop))
        return self.x[:, start:stop]


def test_auto_overlap_is_the_default_and_scales_with_the_band():
    for sfreq in (128.0, 250.0, 256.0, 500.0, 1000.0):
        assert auto_overlap_seconds(sfreq) == pytest.approx(DEFAULT_OVERLAP_S)
    # Half the cut-off: the slowest pole decays half as fast.
    assert auto_overlap_seconds(256.0, l_freq=0.05) == pytest.approx(180.0, rel=0.01)
    assert auto_overlap_seconds(256.0, l_freq=1.0) == pytest.approx(9.2, rel=0.02)


# 7 min 13 s + an odd number of samples: 3-5 blocks, a short last block.
@pytest.mark.parametrize("sfreq", [256.0, 250.0, 500.0])
@pytest.mark.parametrize("block_seconds", [100.0, 123.456])
def test_chunked_matches_whole_within_bound(sfreq, block_seconds):
    x = _recording(sfreq, 433.0, extra=37, seed=int(sfreq))
    whole, names = dsp.preprocess(x, NAMES, sfreq, dtype=np.float64)
    reader = _Reader(x)
    y, got_names = dsp.preprocess_chunked(
        reader,
        NAMES,
        sfreq,
        n_times=x.shape[1],
        block_seconds=block_seconds,
        dtype=np.float64,
    )
    assert got_names == names
    assert y.shape == whole.shape
    assert _rel_err(y, whole) <= ERROR_BOUND
    # Really block-wise: several reads, each at most block + 2 overlaps long,
    # all starting on the output grid (multiples of down), covering everything.
    up, down, _ = dsp.rational_factors(sfreq, 100.0)
    ov = int(np.ceil(DEFAULT_OVERLAP_S * sfreq / down)) * down
    block = round(block_seconds * sfreq / down) * down
    assert len(reader.calls) >= 3
    assert all(a % down == 0 for a, _ in reader.calls)
    assert all(b - a <= block + 2 * ov for a, b in reader.calls)
    assert reader.calls[0][0] == 0 and reader.calls[-1][1] == x.shape[1]


def test_short_overlap_is_measurably_worse():
    # The comparison above is sensitive: 10 s of overlap is far off the bound.
    x = _recording(256.0, 300.0)
    whole, _ = dsp.preprocess(x, NAMES, 256.0, dtype=np.float64)
    # ... and says so (an outside user's 5 s overlap gave errors of order 1).
    with pytest.warns(UserWarning, match="below the automatic 90 s"):
        y, _ = dsp.preprocess_chunked(
            x, NAMES, 256.0, block_seconds=60.0, overlap_seconds=10.0, dtype=np.float64
        )
    assert _rel_err(y, whole) > 1e-3
    # One block: no edges, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=400, overlap_seconds=10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shorter_than_one_block_is_exactly_preprocess(dtype):
    x = _recording(250.0, 61.0, extra=3)
    whole, names = dsp.preprocess(x, NAMES, 250.0, dtype=dtype)
    y, got_names = dsp.preprocess_chunked(x, NAMES, 250.0, dtype=dtype)
    assert got_names == names and y.dtype == whole.dtype
    np.testing.assert_array_equal(y, whole)


def test_inexact_rate_warns_once_and_stays_on_grid():
    # 173.61 Hz -> 100 Hz uses up/down = 72/125: blocks align to 125 samples.
    sfreq = 173.61
    x = _recording(sfreq, 300.0, extra=11)
    with pytest.warns(UserWarning, match="not a small rational ratio"):
        whole, _ = dsp.preprocess(x, NAMES, sfreq, dtype=np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y, _ = dsp.preprocess_chunked(
            x, NAMES, sfreq, block_seconds=95.0, dtype=np.float64
        )
    rate_warnings = [w for w in caught if "rational ratio" in str(w.message)]
    assert len(rate_warnings) == 1
    assert _rel_err(y, whole) <= ERROR_BOUND


def test_float32_and_scale_clip_options():
    x = _recording(256.0, 300.0, extra=5)
    kw = dict(scale=dsp.ELM_SCALE, clip=1.0)  # clips a good part of the samples
    whole64, _ = dsp.preprocess(x, NAMES, 256.0, dtype=np.float64, **kw)
    unclipped, _ = dsp.preprocess(x, NAMES, 256.0, dtype=np.float64, scale=1e5)
    assert np.abs(unclipped - whole64).max() > 1.0
    y, _ = dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=90.0, **kw)
    assert y.dtype == np.float32
    whole32, _ = dsp.preprocess(x, NAMES, 256.0, **kw)
    # Float32: at most one rounding step of the largest value on top of the bound.
    rms = np.sqrt(np.mean(whole64**2))
    ulp = float(np.spacing(np.float32(np.abs(whole64).max())))
    diff = np.abs(y.astype(np.float64) - whole32).max()
    assert diff <= ERROR_BOUND * rms + ulp
    assert _rel_err(y, whole64) <= ERROR_BOUND + 2 * ulp / rms
    # Other edge handling: MNE-style filter padding and reflect resampling.
    kw = dict(padtype="mne", resample_padtype="reflect", dtype=np.float64)
    whole, _ = dsp.preprocess(x, NAMES, 256.0, **kw)
    y, _ = dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=90.0, **kw)
    assert _rel_err(y, whole) <= ERROR_BOUND


def test_memmap_input_and_npy_output(tmp_path):
    x = _recording(256.0, 400.0, extra=1).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    whole, names = dsp.preprocess(x, NAMES, 256.0, dtype=np.float64)
    y, got_names = dsp.preprocess_chunked(
        xm,
        NAMES,
        256.0,
        block_seconds=100.0,
        out=tmp_path / "y.npy",
        dtype=np.float64,
    )
    assert isinstance(y, np.memmap) and got_names == names
    on_disk = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(on_disk, y)
    assert _rel_err(on_disk, whole) <= ERROR_BOUND
    # A preallocated array is filled in place and returned.
    out = np.zeros_like(whole)
    y2, _ = dsp.preprocess_chunked(
        xm, NAMES, 256.0, block_seconds=100.0, out=out, dtype=np.float64
    )
    assert y2 is out
    np.testing.assert_array_equal(out, on_disk)


def test_mne_raw_without_preload(tmp_path):
    sfreq = 256.0
    x = _recording(sfreq, 330.0, extra=7)
    info = mne.create_info(NAMES, sfreq, "eeg")
    mne.io.RawArray(x, info, verbose="error").save(
        tmp_path / "rec_raw.fif", verbose="error"
    )
    raw = mne.io.read_raw_fif(tmp_path / "rec_raw.fif", preload=False, verbose="error")
    whole, names = dsp.preprocess(raw.get_data(), raw.ch_names, sfreq, dtype=np.float64)
    y, got_names = dsp.preprocess_chunked(raw, block_seconds=100.0, dtype=np.float64)
    assert not raw.preload
    assert got_names == names
    assert _rel_err(y, whole) <= ERROR_BOUND


@pytest.mark.filterwarnings("ignore:preprocess_chunked. overlap_seconds")
def test_tiny_last_block_is_merged():
    # Without merging, the last block would hold 5 samples, too few to filter.
    sfreq = 250.0
    x = _recording(sfreq, 40.0, extra=5)
    reader = _Reader(x)
    y, _ = dsp.preprocess_chunked(
        reader, NAMES, sfreq, n_times=x.shape[1], block_seconds=20.0,
        overlap_seconds=0.0,
    )  # fmt: skip
    assert reader.calls == [(0, 5000), (5000, 10005)]
    assert y.shape == (20, int(np.ceil(x.shape[1] * 2 / 5)))


def test_errors_say_what_is_wrong():
    x = _recording(256.0, 30.0)
    with pytest.raises(ValueError, match=r"block_seconds \(10\) is shorter than"):
        dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=10, overlap_seconds=20)
    with pytest.raises(ValueError, match="automatic overlap"):
        dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=10)
    for bad in (0, -5.0, float("nan"), "600"):
        with pytest.raises(ValueError, match="block_seconds must be a positive"):
            dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=bad)
    with pytest.raises(ValueError, match="overlap_seconds must be a finite number"):
        dsp.preprocess_chunked(x, NAMES, 256.0, overlap_seconds=-1.0)
    with pytest.raises(ValueError, match="ch_names and sfreq are required"):
        dsp.preprocess_chunked(x)
    with pytest.raises(ValueError, match="n_times is required"):
        dsp.preprocess_chunked(_Reader(x), NAMES, 256.0)

    def bad_reader(start: int, stop: int) -> np.ndarray:
        return x[:20, start:stop]  # one channel short

    with pytest.raises(ValueError, match=r"returned shape \(20, \d+\).*expected \(21"):
        dsp.preprocess_chunked(bad_reader, NAMES, 256.0, n_times=x.shape[1])
    with pytest.raises(ValueError, match=r"out has shape \(20, 10\)"):
        dsp.preprocess_chunked(x, NAMES, 256.0, out=np.zeros((20, 10), np.float32))
    with pytest.raises(ValueError, match="dtype float64"):
        dsp.preprocess_chunked(
            x, NAMES, 256.0, out=np.zeros((20, 3000), np.float32), dtype=np.float64
        )
    with pytest.raises(TypeError, match="out must be None, a numpy array or a file"):
        dsp.preprocess_chunked(x, NAMES, 256.0, out=42)
    with pytest.raises(ValueError, match="n_times=5 but x has 7680 samples"):
        dsp.preprocess_chunked(x, NAMES, 256.0, n_times=5)
    # The options are checked as preprocess checks them.
    with pytest.raises(ValueError, match="x has 21 channels but 2 names"):
        dsp.preprocess_chunked(x, NAMES[:2], 256.0)
    with pytest.raises(ValueError, match="padtype must be one of"):
        dsp.preprocess_chunked(x, NAMES, 256.0, padtype="zero")


def test_a_bad_sample_is_named_in_recording_time(tmp_path):
    """A NaN at sample 200000 of a long recording was reported at the sample
    index inside its block (69440), pointing the user to the wrong place; a
    missing output folder was named by the internal temporary file (outside
    user)."""
    x = _recording(256.0, 1000.0)
    x[3, 200000] = np.nan
    with pytest.raises(ValueError, match=r"channel 3 .*first bad sample 200000\b"):
        dsp.preprocess_chunked(x, NAMES, 256.0, block_seconds=300)
    x[3, 200000] = 0.0
    missing = tmp_path / "nodir" / "y.npy"
    with pytest.raises(FileNotFoundError, match=r"out=.*y\.npy.*does not exist"):
        dsp.preprocess_chunked(x, NAMES, 256.0, out=missing)
    assert not (tmp_path / "nodir").exists()
