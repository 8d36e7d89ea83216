"""SciPy/NumPy reference implementation: the parity oracle of the Rust engine.

Every function here is written with SciPy (and MNE for the ``mne`` modes) in the
most direct way, in float64. Tests and ``benchmarks/preprocess.py`` compare the
engine against it; it is also the fallback when the native extension lacks a
kernel. Keep it boring and obviously right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal

from .montage import bipolar_montage, resolve_pairs
from .rates import rational_factors
from .recipe import ELM_SFREQ, Recipe

__all__ = [
    "butter_bandpass_sos",
    "mne_padlen",
    "preprocess",
    "resample_poly",
    "sosfiltfilt",
]


def butter_bandpass_sos(
    order: int, l_freq: float, h_freq: float, sfreq: float
) -> np.ndarray:
    """``scipy.signal.butter(order, [l, h], "bandpass", output="sos", fs=sfreq)``."""
    return signal.butter(
        order, [l_freq, h_freq], btype="bandpass", output="sos", fs=sfreq
    )


def mne_padlen(sos: np.ndarray) -> int:
    """MNE's ringing estimate of ``sos`` (``mne.filter.estimate_ringing_samples``)."""
    from mne.filter import estimate_ringing_samples

    return int(estimate_ringing_samples(np.asarray(sos, dtype=np.float64)))


def _reflect_limited(x: np.ndarray, n_pad: int) -> np.ndarray:
    # mne.cuda._smart_pad(x, (n_pad, n_pad), "reflect_limited") for n_pad < n.
    return np.concatenate(
        [
            2 * x[..., :1] - x[..., n_pad:0:-1],
            x,
            2 * x[..., -1:] - x[..., -2 : -n_pad - 2 : -1],
        ],
        axis=-1,
    )


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, padtype: str = "odd") -> np.ndarray:
    """Zero-phase SOS filtering along the last axis, float64 result.

    ``padtype="odd"`` is ``scipy.signal.sosfiltfilt(sos, x, axis=-1)``;
    ``padtype="mne"`` is what ``mne.filter.filter_data(..., method="iir")`` does
    with SOS coefficients: a ``reflect_limited`` extension of MNE's ringing length
    (capped at ``n_times - 1``), then ``sosfiltfilt(padlen=0)``, then unpad.
    """
    x = np.asarray(x, dtype=np.float64)
    sos = np.asarray(sos, dtype=np.float64)
    if padtype == "odd":
        return signal.sosfiltfilt(sos, x, axis=-1)
    if padtype == "mne":
        padlen = min(mne_padlen(sos), x.shape[-1] - 1)
        ext = _reflect_limited(x, padlen) if padlen > 0 else x
        y = signal.sosfiltfilt(sos, ext, axis=-1, padlen=0)
        return np.ascontiguousarray(y[..., padlen : y.shape[-1] - padlen])
    raise ValueError(f"padtype must be 'odd' or 'mne', got {padtype!r}")


def resample_poly(
    x: np.ndarray, up: int, down: int, padtype: str = "constant"
) -> np.ndarray:
    """``scipy.signal.resample_poly(x, up, down, axis=-1, padtype=padtype)``."""
    x = np.asarray(x, dtype=np.float64)
    return signal.resample_poly(x, up, down, axis=-1, padtype=padtype)


def preprocess(
    x: np.ndarray,
    ch_names: Sequence[str],
    sfreq: float,
    *,
    recipe: Recipe | None = None,
    l_freq: float = 0.1,
    h_freq: float = 49.0,
    out_sfreq: float = ELM_SFREQ,
    order: int = 4,
    pairs: Sequence[tuple[str, str]] | None = None,
    montage: bool = True,
    scale: float | None = None,
    clip: float | None = None,
    padtype: str = "odd",
    resample_padtype: str = "constant",
) -> tuple[np.ndarray, list[str]]:
    """Montage -> band-pass -> (scale, clip) -> resample, all in float64 SciPy.

    ``recipe``, when given, replaces all the other keywords (``pairs`` and
    ``montage`` are the recipe's ``montage`` split in two: which pairs, and
    whether to apply any).
    """
    if recipe is None:
        recipe = Recipe(
            l_freq=l_freq,
            h_freq=h_freq,
            out_sfreq=out_sfreq,
            order=order,
            montage=(pairs if pairs is not None else "tcp") if montage else None,
            scale=scale,
            clip=clip,
            padtype=padtype,
            resample_padtype=resample_padtype,
        )
    x = np.asarray(x, dtype=np.float64)
    if recipe.montage is not None:
        pairs = None if isinstance(recipe.montage, str) else recipe.montage
        index, names = resolve_pairs(ch_names, pairs)
        x = bipolar_montage(x, index)
    else:
        names = list(ch_names)
    sos = butter_bandpass_sos(recipe.order, recipe.l_freq, recipe.h_freq, sfreq)
    y = sosfiltfilt(sos, x, padtype=recipe.padtype)
    if recipe.scale is not None:
        y = y * recipe.scale
    if recipe.clip is not None:
        y = np.clip(y, -recipe.clip, recipe.clip)
    up, down, _ = rational_factors(sfreq, recipe.out_sfreq)
    if up != down:
        y = resample_poly(y, up, down, padtype=recipe.resample_padtype)
    return y, names
