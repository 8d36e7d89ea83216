"""SIMD level choice: ``ELM_SIMD``, :func:`dsp.force_simd`, and SciPy parity at
every level this CPU runs (levels it lacks must fall back, never crash)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import warnings

import numpy as np
import pytest

from braindecode_elm import _rust, dsp
from braindecode_elm.dsp import _reference as ref

NAMES21 = [
    f"EEG {n}-REF"
    for n in "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
]
LEVELS = dsp.kernel_simd_levels()

# Child process: 95 s of a 21-channel 256 Hz recording through the fused path
# at the level ELM_SIMD asks for, against the SciPy chain; prints JSON.
_CHILD = r"""
import json, warnings
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from braindecode_elm import _rust, dsp
from braindecode_elm.dsp import _reference as ref
names = __NAMES__
sfreq = 256.0
n = int(95 * sfreq)
rng = np.random.default_rng(3)
t = np.arange(n)
x = (rng.standard_normal((21, n)) + 2.0 + 0.5 * np.sin(2 * np.pi * t / 997.0)) * 1e-5
got, _ = dsp.preprocess(x, names, sfreq, scale=dsp.ELM_SCALE, dtype=np.float64)
want, _ = ref.preprocess(x, names, sfreq, scale=dsp.ELM_SCALE)
rms = float(np.sqrt(np.mean(want**2)))
print(json.dumps({
    "level": _rust.simd_level(),
    "err": float(np.max(np.abs(got - want)) / rms),
    "warnings": [str(w.message) for w in caught],
}))
""".replace("__NAMES__", repr(NAMES21))


def _run_child(elm_simd: str) -> dict:
    env = {**os.environ, "ELM_SIMD": elm_simd}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("level", ["scalar", "avx2"])
def test_elm_simd_env_matches_scipy_95s_21ch(level):
    if level not in LEVELS:
        pytest.skip(f"this CPU has no {level} kernel (it runs {LEVELS})")
    out = _run_child(level)
    assert out["level"] == level
    assert out["warnings"] == []
    # Issue 12's acceptance bound: within 1e-9 of SciPy's RMS.
    assert out["err"] <= 1e-9, out


def test_elm_simd_unsupported_or_unknown_falls_back_with_warning():
    best = dsp.cpu_simd_level()
    out = _run_child("avx9000")
    assert out["level"] == best and out["err"] <= 1e-9
    assert any("avx9000" in w and "scalar, avx2, avx512" in w for w in out["warnings"])
    if "avx512" not in LEVELS:
        out = _run_child("avx512")
        assert out["level"] == best and out["err"] <= 1e-9
        assert any("does not support avx512" in w for w in out["warnings"]), out


def test_force_simd_every_level_matches_scipy():
    sfreq = 250.0
    n = int(sfreq * 40) + 7
    rng = np.random.default_rng(8)
    x = rng.standard_normal((21, n)) * 1e-5
    want, _ = ref.preprocess(x, NAMES21, sfreq, scale=dsp.ELM_SCALE)
    rms = float(np.sqrt(np.mean(want**2)))
    before = dsp.simd_level()
    for level in LEVELS:
        with dsp.force_simd(level) as used:
            assert used == level == dsp.simd_level() == _rust.simd_level()
            for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
                got, _ = dsp.preprocess(
                    x.astype(dtype), NAMES21, sfreq, scale=dsp.ELM_SCALE, dtype=dtype
                )
                err = np.max(np.abs(got.astype(np.float64) - want)) / rms
                assert err <= tol, (level, dtype, err)
        assert dsp.simd_level() == before


def test_force_simd_rejects_unknown_and_warns_on_unsupported():
    before = dsp.simd_level()
    with pytest.raises(ValueError, match='unknown SIMD level "sse4"'):
        with dsp.force_simd("sse4"):
            pass
    assert dsp.simd_level() == before
    if "avx512" in LEVELS:
        pytest.skip("this CPU supports every level: nothing to fall back from")
    with pytest.warns(RuntimeWarning, match="does not support the avx512"):
        with dsp.force_simd("avx512") as used:
            assert used == dsp.cpu_simd_level()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dsp.force_simd("auto") as used:
            assert used == before


def test_other_architectures_base_level_is_named():
    # ``neon`` on x86-64 (``sse2`` on aarch64) runs this build's own portable
    # kernels: said once, in the environment variable and in force_simd alike.
    own = "neon" if platform.machine().lower() in {"aarch64", "arm64"} else "sse2"
    other = "sse2" if own == "neon" else "neon"
    out = _run_child(other)
    assert out["level"] == own and out["err"] <= 1e-9
    assert any(f"{other} is the" in w and own in w for w in out["warnings"]), out
    before = dsp.simd_level()
    with pytest.warns(RuntimeWarning, match=f"{other} is the .* base level"):
        with dsp.force_simd(other) as used:
            assert used == own
    assert dsp.simd_level() == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dsp.force_simd(own) as used:
            assert used == own


def test_level_names():
    assert LEVELS[0] == "scalar"
    assert dsp.cpu_simd_level() in {"avx512", "avx2", "sse2", "neon", "scalar"}
    assert set(LEVELS) <= {"scalar", "avx2", "avx512"}


def test_elm_simd_env_is_honoured_in_this_process():
    # scripts/test_simd_levels.py reruns the dsp files with ELM_SIMD forced:
    # prove that those runs really use the forced kernel.
    req = os.environ.get("ELM_SIMD", "").strip().lower()
    if req not in LEVELS:
        pytest.skip(f"ELM_SIMD={req!r} does not name one of this CPU's kernels")
    assert dsp.simd_level() == req


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_released_output_memory_is_rewritten_in_full(dtype):
    # A freed output of 8 MB or more is reused for the next one of its dtype:
    # every value must be written again (the NaNs put into the old array must
    # not survive), at whatever level this process runs.
    rng = np.random.default_rng(5)
    sfreq = 256.0
    x = rng.standard_normal((21, int(sfreq * 1200))) * 1e-5
    first, _ = dsp.preprocess(x, NAMES21, sfreq, dtype=dtype)
    assert first.dtype == dtype and first.nbytes >= 8 << 20
    want = first.copy()
    address = first.ctypes.data
    first[:] = np.nan
    del first
    again, _ = dsp.preprocess(x, NAMES21, sfreq, dtype=dtype)
    assert again.ctypes.data == address
    np.testing.assert_array_equal(again, want)
    view = again[3]
    del again
    # A live view keeps the memory: the next output gets its own.
    other, _ = dsp.preprocess(x, NAMES21, sfreq, dtype=dtype)
    assert other.ctypes.data != address
    np.testing.assert_array_equal(view, want[3])
    np.testing.assert_array_equal(other, want)
