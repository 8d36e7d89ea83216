"""Type stubs of the native extension ``braindecode_elm._rust`` (``src/lib.rs``).

Use :mod:`braindecode_elm.dsp` instead of calling these directly: it validates
arguments with friendlier messages and resolves montages and rates. Every
function releases the GIL while computing and raises ``ValueError`` (bad
input), ``TypeError`` (wrong dtype/type), ``OverflowError`` (an integer outside
its Rust type, e.g. a negative order or count) or ``RuntimeError`` (internal
error).
"""

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "TAKES_RECIPE",
    "roundtrip",
    "simd_level",
    "cpu_simd_level",
    "kernel_simd_levels",
    "set_simd_level",
    "butter_bandpass_sos",
    "sosfilt_zi",
    "mne_padlen",
    "firwin_kaiser",
    "sosfiltfilt",
    "resample_poly",
    "preprocess",
    "preprocess_batch",
]

__version__: str
#: ``preprocess``/``preprocess_batch`` take a recipe object (this signature).
TAKES_RECIPE: bool

_F = npt.NDArray[np.float32] | npt.NDArray[np.float64]

def simd_level() -> str:
    """SIMD level the engine uses now: avx512, avx2, sse2, neon or scalar.

    Chosen once per process from ``ELM_SIMD`` (scalar, avx2, avx512 or auto; a
    level the CPU lacks falls back to the widest one below it, with a
    ``RuntimeWarning`` at import) or :func:`set_simd_level`, else the CPU's best.
    """

def cpu_simd_level() -> str:
    """Widest SIMD level this CPU supports (what ``ELM_SIMD=auto`` uses)."""

def kernel_simd_levels() -> list[str]:
    """Levels with their own kernel that this CPU can run, narrowest first."""

def set_simd_level(level: str | None = None) -> str:
    """Force the engine's SIMD level for this process (``None``/"auto": back to
    ``ELM_SIMD`` or the CPU's best); a level the CPU lacks falls back with a
    ``RuntimeWarning``, an unknown name raises ``ValueError``. Returns the level
    now in use."""

def roundtrip(
    x: npt.NDArray[np.float32] | npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float32] | npt.NDArray[np.float64], float]:
    """Return ``x`` itself (no copy) and its sum; C-contiguous float arrays only."""

def butter_bandpass_sos(
    order: int, l_freq: float, h_freq: float, sfreq: float
) -> npt.NDArray[np.float64]:
    """``scipy.signal.butter(order, [l, h], "bandpass", output="sos", fs=sfreq)``."""

def sosfilt_zi(sos: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``scipy.signal.sosfilt_zi(sos)``, shape (n_sections, 2)."""

def mne_padlen(sos: npt.NDArray[np.float64]) -> int:
    """``mne.filter.estimate_ringing_samples(sos)``."""

def firwin_kaiser(numtaps: int, cutoff: float, beta: float) -> npt.NDArray[np.float64]:
    """``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))``."""

def sosfiltfilt(sos: npt.NDArray[np.float64], x: _F, padtype: str = "odd") -> _F:
    """Zero-phase filtering of a 2-D array along its last axis; same dtype out."""

def resample_poly(x: _F, up: int, down: int, padtype: str = "constant") -> _F:
    """Polyphase resampling of a 2-D array along its last axis; same dtype out."""

class _RecipeFields(Protocol):
    """The fields of a ``dsp.Recipe`` the engine reads (by name)."""

    l_freq: float
    h_freq: float
    order: int
    scale: float | None
    clip: float | None
    padtype: str
    resample_padtype: str

_Recipe = _RecipeFields | Mapping[str, Any]

def preprocess(
    x: _F,
    recipe: _Recipe,
    sfreq: float,
    index: npt.NDArray[np.int64] | None,
    up: int,
    down: int,
    out_f32: bool,
    n_threads: int,
    ch_names: list[str] | None = None,
) -> _F:
    """Fused montage (``index`` rows: anode, cathode), band-pass, scale, clip and
    resampling by ``up / down``; float32 output when ``out_f32`` else float64.

    ``recipe`` is a ``dsp.Recipe`` or a dict of its fields (``l_freq``,
    ``h_freq``, ``order``, ``scale``, ``clip``, ``padtype``,
    ``resample_padtype``; a ``method`` other than ``"engine"`` is refused), read
    by name: the band-pass is designed at ``sfreq`` and the band checked there,
    once. A missing field raises ``ValueError``, a mistyped one ``TypeError``."""

def preprocess_batch(
    xs: list[_F],
    recipe: _Recipe,
    sfreqs: list[float],
    indices: list[npt.NDArray[np.int64] | None],
    ups: list[int],
    downs: list[int],
    out_f32: bool,
    n_threads: int,
) -> list[_F]:
    """:func:`preprocess` of many recordings sharing ``recipe`` (one plan each,
    built from its rate, montage and factors) on ``n_threads`` native threads."""
