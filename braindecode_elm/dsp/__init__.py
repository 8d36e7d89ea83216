"""The preprocessing engine: TCP montage, zero-phase band-pass, polyphase resampling.

The numerical work runs in the Rust extension (:mod:`braindecode_elm._rust`);
this package validates arguments, names channels and wraps MNE Raw objects. It
never imports torch, so it is cheap to import on its own.

Units: MNE Raw objects are in volts; ELM tensors are volts x :data:`ELM_SCALE`
(units of 10 uV) clipped to +-:data:`ELM_CLIP`.
"""

from __future__ import annotations

from .engine import (
    ELM_CLIP,
    ELM_SCALE,
    backend,
    butter_bandpass_sos,
    odd_padlen,
    preprocess,
    preprocess_batch,
    preprocess_counted,
    resample_poly,
    sosfiltfilt,
)
from .montage import (
    TCP_ELECTRODES,
    TCP_PAIRS,
    duplicate_electrodes,
    normalize_ch_name,
    resolve_pairs,
    tcp_montage,
)
from .rates import rational_factors
from .raw import elm_official, elm_preprocessor, preprocess_raw
from .recipe import ELM_CROP_S, ELM_SFREQ, RECIPES, Recipe, as_recipe
from .simd import cpu_simd_level, force_simd, kernel_simd_levels, simd_level
from .streaming import preprocess_chunked

__all__ = [
    "ELM_CLIP",
    "ELM_CROP_S",
    "ELM_SCALE",
    "ELM_SFREQ",
    "RECIPES",
    "Recipe",
    "as_recipe",
    "TCP_ELECTRODES",
    "TCP_PAIRS",
    "backend",
    "butter_bandpass_sos",
    "cpu_simd_level",
    "duplicate_electrodes",
    "elm_official",
    "elm_preprocessor",
    "force_simd",
    "kernel_simd_levels",
    "normalize_ch_name",
    "odd_padlen",
    "preprocess",
    "preprocess_batch",
    "preprocess_counted",
    "preprocess_chunked",
    "preprocess_raw",
    "rational_factors",
    "resample_poly",
    "resolve_pairs",
    "simd_level",
    "sosfiltfilt",
    "tcp_montage",
]
