"""Argument checks shared by the Python face of the engine (clear messages)."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "as_signal",
    "check_band",
    "check_band_edges",
    "check_finite",
    "check_factor",
]


def as_signal(x: object, name: str = "x") -> tuple[np.ndarray, bool]:
    """Return ``x`` as a C-contiguous 2-D float32/float64 array and whether it was 1-D.

    Raises ``TypeError`` for a non-float dtype and ``ValueError`` for a wrong
    number of dimensions or an empty array. A non-contiguous array is copied.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
        if x.dtype.kind in "iub":
            x = x.astype(np.float64)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{name} must have dtype float32 or float64, got {x.dtype}; convert it "
            f"with {name}.astype(np.float64)"
        )
    squeeze = x.ndim == 1
    if squeeze:
        x = x[np.newaxis, :]
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D (n_times,) or 2-D (n_channels, n_times), got "
            f"shape {x.shape}"
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return np.ascontiguousarray(x), squeeze


def check_finite(x: np.ndarray, name: str = "x") -> None:
    """Raise ``ValueError`` naming the first channel and sample that is NaN/Inf."""
    bad = ~np.isfinite(x)
    if bad.any():
        ch, t = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} contains NaN or Inf: channel {ch}, first bad sample {t} "
            f"(value {x[ch, t]}); interpolate or drop it before preprocessing"
        )


def check_band_edges(order: int, l_freq: float, h_freq: float) -> None:
    """Validate the order and edges of a band-pass (no sampling rate needed)."""
    if isinstance(order, bool) or int(order) != order or not 1 <= order <= 32:
        raise ValueError(f"order must be an integer from 1 to 32, got {order!r}")
    for nm, v in (("l_freq", l_freq), ("h_freq", h_freq)):
        if not isinstance(v, int | float | np.number) or not math.isfinite(v):
            raise ValueError(f"{nm} must be a finite number, got {v!r}")
    if l_freq <= 0:
        raise ValueError(f"l_freq must be > 0 Hz, got {l_freq}")
    if l_freq >= h_freq:
        raise ValueError(f"invalid band: l_freq ({l_freq}) must be < h_freq ({h_freq})")


def check_band(order: int, l_freq: float, h_freq: float, sfreq: float) -> None:
    """Validate a band-pass design request at the sampling rate ``sfreq``."""
    check_band_edges(order, l_freq, h_freq)
    if not isinstance(sfreq, int | float | np.number) or not math.isfinite(sfreq):
        raise ValueError(f"sfreq must be a finite number, got {sfreq!r}")
    if sfreq <= 0:
        raise ValueError(f"sfreq must be positive, got {sfreq}")
    if h_freq >= sfreq / 2:
        raise ValueError(
            f"invalid band: h_freq ({h_freq} Hz) must be below the Nyquist "
            f"frequency ({sfreq / 2} Hz at sfreq={sfreq})"
        )


def check_factor(value: object, name: str) -> int:
    """Validate an up/down resampling factor (a positive integer)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer (>= 1), got {value}")
    return int(value)
