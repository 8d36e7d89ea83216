"""Foundation smoke tests: the stack imports and the native module works."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest

import braindecode_elm
from braindecode_elm import _rust


def test_import_stack():
    for name in ("braindecode", "moabb", "mne", "torch", "torchaudio", "transformers"):
        mod = importlib.import_module(name)
        assert isinstance(mod.__version__, str) and mod.__version__


def test_mne_pin_respected():
    import mne

    major, minor = (int(v) for v in mne.__version__.split(".")[:2])
    assert (major, minor) < (1, 14), "mne>=1.14 breaks braindecode and MOABB"


def test_native_version_and_simd():
    assert _rust.__version__ == braindecode_elm.__version__
    assert _rust.__version__.count(".") == 2
    assert _rust.simd_level() in {"scalar", "sse2", "neon", "avx2", "avx512"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_roundtrip_zero_copy(dtype):
    x = np.arange(24, dtype=dtype).reshape(4, 6)
    y, total = _rust.roundtrip(x)
    assert y is x
    assert np.shares_memory(x, y)
    assert total == pytest.approx(float(np.arange(24).sum()))


def test_roundtrip_rejects_non_contiguous_and_bad_dtype():
    x = np.zeros((4, 6))
    with pytest.raises(TypeError, match="C-contiguous"):
        _rust.roundtrip(x[:, ::2])
    with pytest.raises(TypeError, match="float32 or float64"):
        _rust.roundtrip(np.zeros(3, dtype=np.int64))


def test_package_import_is_torch_free():
    # The DSP engine must be usable without paying for torch at import time.
    code = "import sys, braindecode_elm.dsp; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
