"""Faults and absurd input to the engine (issue 16): impossible sizes give a
MemoryError naming the size instead of aborting the interpreter, threads are
capped, aliasing and overflow are refused, and a failed file output leaves
nothing behind. Abort-prone cases run in a subprocess with a timeout."""

from __future__ import annotations

import os
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


def _ram_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _child(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (an abort there fails the test, it
    does not take pytest down); 60 s timeout (a hang fails too)."""
    prelude = (
        f"import numpy as np\nfrom braindecode_elm import _rust, dsp\nN = {NAMES21!r}\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_raises_in_child(call: str, exc: str, *needles: str) -> None:
    proc = _child(
        f"""
        try:
            {call}
        except {exc} as e:
            print("RAISED", e)
        else:
            print("NO ERROR")
        """
    )
    assert proc.returncode == 0, f"rc={proc.returncode}: {proc.stderr[-2000:]}"
    assert "RAISED" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    for needle in needles:
        assert needle in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("call", "needles"),
    [
        # 1e7 samples x 99999: an 8 TB output.
        ("dsp.resample_poly(np.zeros((1, 10**7)), 99999, 1)", ("8.0 TB", "output")),
        ("_rust.firwin_kaiser(10**12, 0.5, 5.0)", ("8.0 TB", "firwin_kaiser")),
    ],
)
def test_impossible_allocations_raise_memory_error(call, needles):
    _assert_raises_in_child(call, "MemoryError", *needles)


@pytest.mark.skipif(
    not 0 < _ram_bytes() < 64e9, reason="needs a machine with < 64 GB of RAM"
)
@pytest.mark.parametrize(
    ("call", "needle"),
    [
        # The red-team cases verbatim: 80 GB and 74 GB outputs.
        ("dsp.resample_poly(np.zeros((1, 100000)), 99999, 1)", "80.0 GB"),
        (
            "dsp.preprocess(np.zeros((21, 256 * 3600), np.float32), N, 256.0,"
            " out_sfreq=256000)",
            "73.7 GB",
        ),
    ],
)
def test_issue16_oom_cases_raise_memory_error(call, needle):
    _assert_raises_in_child(call, "MemoryError", needle, "this machine has")


def test_n_threads_capped_and_validated():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((21, 256 * 30)) * 1e-5
    # A million threads used to spawn thousands of OS threads: now capped at the
    # usable cores, so it must give exactly what asking for those cores gives.
    # (Against n_threads=1 it may differ in the last bit: the channels are then
    # split into other SIMD blocks.)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    capped, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64, n_threads=cores)
    many, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64, n_threads=10**6)
    np.testing.assert_array_equal(capped, many)
    # Beyond a C integer too: capped the same, not an OverflowError.
    huge, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64, n_threads=2**70)
    np.testing.assert_array_equal(capped, huge)
    one, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64)
    np.testing.assert_allclose(many, one, rtol=0, atol=1e-12 * np.abs(one).max())
    batch = dsp.preprocess_batch([x, x], [NAMES21] * 2, [256.0] * 2, n_threads=10**6)
    np.testing.assert_allclose(batch[0][0], one.astype(np.float32), rtol=1e-6)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_threads must be a positive integer"):
            dsp.preprocess(x, NAMES21, 256.0, n_threads=bad)
    recipe = dsp.Recipe(l_freq=1.0, h_freq=40.0, montage=None)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="n_threads must be a positive integer"):
            _rust.preprocess(x, recipe, 256.0, None, 1, 1, False, bad)


def test_float32_overflow_is_an_error():
    x = np.random.default_rng(1).standard_normal((21, 256 * 20)) * 1e40
    with pytest.raises(ValueError, match="float32's range"):
        dsp.preprocess(x, NAMES21, 256.0, dtype=np.float32)
    y, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64)
    assert np.isfinite(y).all() and np.abs(y).max() > 1e38


@pytest.mark.parametrize(
    ("l_freq", "h_freq"), [(1e-9, 49.0), (10.0, 10.0000001), (20.0, 20.0)]
)
def test_absurd_bands_raise_value_error(l_freq, h_freq):
    x = np.random.default_rng(2).standard_normal((21, 2560))
    with pytest.raises(ValueError, match="never settles|unstable|l_freq"):
        dsp.preprocess(x, NAMES21, 256.0, l_freq=l_freq, h_freq=h_freq)
    with pytest.raises(ValueError, match="never settles|unstable|l_freq"):
        dsp.preprocess_chunked(x, NAMES21, 256.0, l_freq=l_freq, h_freq=h_freq)


def test_preprocess_chunked_out_aliasing_input_is_refused():
    n = 256 * 60
    x = np.random.default_rng(3).standard_normal((21, n)).astype(np.float32)
    n_out = n * 100 // 256
    with pytest.raises(ValueError, match="shares memory with the input"):
        dsp.preprocess_chunked(x, NAMES21, 256.0, out=x[:20, :n_out], block_seconds=20)


# Short overlaps keep it fast; their accuracy warning is beside the point here.
@pytest.mark.filterwarnings("ignore:preprocess_chunked. overlap_seconds")
def test_preprocess_chunked_path_is_atomic(tmp_path):
    n = 256 * 90
    x = np.random.default_rng(4).standard_normal((21, n)) * 1e-5
    want, _ = dsp.preprocess_chunked(
        x, NAMES21, 256.0, block_seconds=30, overlap_seconds=5
    )
    path = tmp_path / "out.npy"
    got, _ = dsp.preprocess_chunked(
        x, NAMES21, 256.0, block_seconds=30, overlap_seconds=5, out=path
    )
    np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.load(path), want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]

    # A reader failing on its second block: no full-size file with zero
    # columns, no temporary left behind, an earlier file untouched.
    calls = []

    def read(start: int, stop: int) -> np.ndarray:
        calls.append(start)
        if len(calls) == 2:
            raise OSError("disk went away")
        return x[:, start:stop]

    bad = tmp_path / "bad.npy"
    with pytest.raises(OSError, match="disk went away"):
        dsp.preprocess_chunked(
            read,
            NAMES21,
            256.0,
            n_times=n,
            block_seconds=30,
            overlap_seconds=5,
            out=bad,
        )
    assert not bad.exists()
    with pytest.raises(OSError, match="disk went away"):
        calls.clear()
        dsp.preprocess_chunked(
            read,
            NAMES21,
            256.0,
            n_times=n,
            block_seconds=30,
            overlap_seconds=5,
            out=path,
        )
    np.testing.assert_array_equal(np.load(path), want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]

    # The output file may not be the file the input is mapped from.
    src = tmp_path / "src.npy"
    np.save(src, x)
    mm = np.load(src, mmap_mode="r")
    with pytest.raises(ValueError, match="is the file the input x is mapped from"):
        dsp.preprocess_chunked(mm, NAMES21, 256.0, out=src)
