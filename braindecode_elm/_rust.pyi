"""Type stubs of the native extension ``braindecode_elm._rust`` (``src/lib.rs``)."""

import numpy as np
import numpy.typing as npt

__version__: str

def simd_level() -> str:
    """SIMD set detected at run time: avx512, avx2, sse2, neon or scalar."""

def roundtrip(
    x: npt.NDArray[np.float32] | npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float32] | npt.NDArray[np.float64], float]:
    """Return ``x`` itself (no copy) and its sum; C-contiguous float arrays only."""
