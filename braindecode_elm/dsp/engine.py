"""The public numerical API of the engine: filter design, zero-phase filtering,
polyphase resampling and the fused preprocessing path.

Each function validates its arguments here (clear messages), then runs the Rust
kernel of :mod:`braindecode_elm._rust`. When the extension lacks a kernel (an
old build) the SciPy reference of :mod:`braindecode_elm.dsp._reference` is used,
so the API always works; :func:`backend` says which one runs.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _rust
from . import _reference as ref
from ._checks import as_signal, check_band, check_factor, check_finite
from .montage import resolve_pairs
from .recipe import (
    _FILTER_PADTYPES,
    _RESAMPLE_PADTYPES,
    ELM_CLIP,
    ELM_SCALE,
    UNSET,
    Recipe,
    as_recipe,
)

__all__ = [
    "ELM_CLIP",
    "ELM_SCALE",
    "backend",
    "butter_bandpass_sos",
    "odd_padlen",
    "preprocess",
    "preprocess_batch",
    "preprocess_counted",
    "resample_poly",
    "sosfiltfilt",
]

_MAX_SECTIONS = 8


_RECIPE_ENTRIES = ("preprocess", "preprocess_batch")


def _native(name: str) -> Any:
    # An extension built before the fused entries took the recipe as one object
    # has another signature: use the SciPy reference until it is rebuilt.
    if name in _RECIPE_ENTRIES and not getattr(_rust, "TAKES_RECIPE", False):
        return None
    return getattr(_rust, name, None)


def backend() -> str:
    """``"rust"`` when the fused native kernel is available, else ``"scipy"``."""
    return "rust" if _native("preprocess") is not None else "scipy"


def butter_bandpass_sos(
    order: int, l_freq: float, h_freq: float, sfreq: float
) -> np.ndarray:
    """Butterworth band-pass as second-order sections, exactly as SciPy designs it.

    Equal (within 1e-12 relative) to ``scipy.signal.butter(order, [l_freq,
    h_freq], btype="bandpass", output="sos", fs=sfreq)``: analog prototype,
    band-pass transform, bilinear transform with pre-warping, and SciPy's
    ``zpk2sos`` pairing and section order (the poles closest to the unit circle
    last, the gain in the first section).

    Parameters
    ----------
    order : int
        Order of the low-pass prototype; the band-pass has ``order`` sections.
    l_freq, h_freq : float
        Band edges in Hz, ``0 < l_freq < h_freq < sfreq / 2``.
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    sos : np.ndarray, shape (order, 6)
        Rows ``[b0, b1, b2, a0, a1, a2]`` (float64).
    """
    check_band(order, l_freq, h_freq, sfreq)
    fn = _native("butter_bandpass_sos")
    if fn is None:
        return ref.butter_bandpass_sos(int(order), l_freq, h_freq, sfreq)
    return fn(int(order), float(l_freq), float(h_freq), float(sfreq))


def _as_sos(sos: npt.ArrayLike) -> np.ndarray:
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    if sos.ndim != 2 or sos.shape[1] != 6 or sos.shape[0] == 0:
        raise ValueError(f"sos must have shape (n_sections, 6), got {sos.shape}")
    if not np.isfinite(sos).all():
        raise ValueError("sos contains NaN or Inf")
    if np.any(sos[:, 3] == 0):
        raise ValueError("sos has a section with a0 == 0")
    return sos


def _native_sos_ok(sos: np.ndarray) -> bool:
    # The fused kernel factors b0 out of every section and unrolls up to 8 of them.
    return 1 <= sos.shape[0] <= _MAX_SECTIONS and bool(np.all(sos[:, 0] != 0))


def odd_padlen(sos: npt.ArrayLike) -> int:
    """SciPy's ``sosfiltfilt`` default padding: ``3 * ntaps`` samples.

    ``ntaps = 2 * n_sections + 1 - min(#(b2 == 0), #(a2 == 0))``.
    """
    sos = np.asarray(sos)
    n = sos.shape[0]
    ntaps = 2 * n + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * ntaps


def sosfiltfilt(
    sos: npt.ArrayLike, x: npt.ArrayLike, padtype: str = "odd"
) -> np.ndarray:
    """Zero-phase (forward-backward) filtering with second-order sections.

    The state and coefficients are float64 whatever the I/O dtype.

    Parameters
    ----------
    sos : array-like, shape (n_sections, 6)
        Filter, e.g. from :func:`butter_bandpass_sos`.
    x : np.ndarray, shape (n_channels, n_times) or (n_times,)
        float32 or float64 signal, filtered along the last axis.
    padtype : {"odd", "mne"}
        ``"odd"`` equals ``scipy.signal.sosfiltfilt(sos, x, axis=-1)`` (odd
        extension of :func:`odd_padlen` samples, ``sosfilt_zi`` initial
        conditions). ``"mne"`` equals ``mne.filter.filter_data(..., method="iir",
        iir_params=dict(..., output="sos"))``: ``reflect_limited`` extension of
        MNE's estimated ringing length, then no further padding.

    Returns
    -------
    y : np.ndarray
        Same shape and dtype as ``x``.
    """
    if padtype not in _FILTER_PADTYPES:
        raise ValueError(f"padtype must be one of {_FILTER_PADTYPES}, got {padtype!r}")
    sos = _as_sos(sos)
    x, squeeze = as_signal(x)
    n = x.shape[1]
    if padtype == "odd" and n <= odd_padlen(sos):
        raise ValueError(
            f"signal too short: {n} samples, but zero-phase filtering pads "
            f"{odd_padlen(sos)} samples at each end and needs more than that"
        )
    fn = _native("sosfiltfilt")
    if fn is None or not _native_sos_ok(sos):
        check_finite(x)
        y = ref.sosfiltfilt(sos, x, padtype=padtype).astype(x.dtype, copy=False)
    else:
        y = fn(sos, x, padtype)
    return y[0] if squeeze else y


def resample_poly(
    x: npt.ArrayLike, up: int, down: int, padtype: str = "constant"
) -> np.ndarray:
    """Polyphase resampling by ``up / down`` along the last axis.

    ``padtype="constant"`` equals ``scipy.signal.resample_poly(x, up, down,
    axis=-1)`` (zero padding); ``"reflect"`` equals SciPy's ``padtype="reflect"``,
    which is what MNE's ``raw.resample(sfreq, method="polyphase")`` uses. The
    factors are reduced by their gcd; the anti-aliasing filter is
    ``firwin(20 * max(up, down) + 1, 1 / max(up, down), window=("kaiser", 5.0))
    * up`` and only the kept outputs are computed.

    Parameters
    ----------
    x : np.ndarray, shape (n_channels, n_times) or (n_times,)
        float32 or float64 signal.
    up, down : int
        Positive resampling factors.
    padtype : {"constant", "reflect"}
        Signal extension beyond both ends.

    Returns
    -------
    y : np.ndarray
        ``ceil(n_times * up / down)`` samples per channel, dtype of ``x``.
    """
    up = check_factor(up, "up")
    down = check_factor(down, "down")
    if padtype not in _RESAMPLE_PADTYPES:
        raise ValueError(
            f"padtype must be one of {_RESAMPLE_PADTYPES}, got {padtype!r}"
        )
    x, squeeze = as_signal(x)
    fn = _native("resample_poly")
    if fn is None:
        check_finite(x)
        y = ref.resample_poly(x, up, down, padtype=padtype).astype(x.dtype, copy=False)
    else:
        y = fn(x, up, down, padtype)
    return y[0] if squeeze else y


def _plan(
    ch_names: Sequence[str],
    n_channels: int,
    sfreq: float,
    recipe: Recipe,
    *,
    check_band: bool = True,
) -> tuple[np.ndarray | None, list[str], int, int]:
    """Montage index, output names and resampling factors of one recording.

    The recipe's options were validated when it was built; the band against
    ``sfreq`` is checked here only when ``check_band`` (the native path leaves
    it to the plan the extension builds, so it is checked once).
    """
    if len(ch_names) != n_channels:
        raise ValueError(
            f"x has {n_channels} channels but {len(ch_names)} names were given"
        )
    if recipe.method != "engine":
        raise ValueError(
            f"recipe {recipe.name!r} runs MNE's chain (method='mne'); use "
            "braindecode_elm.dsp.preprocess_raw for it"
        )
    if check_band:
        recipe.check_rate(sfreq)
    if recipe.montage is None:
        index, names = None, [str(c) for c in ch_names]
    elif isinstance(recipe.montage, str):
        index, names = resolve_pairs(ch_names, None)
    else:
        index, names = resolve_pairs(ch_names, recipe.montage)
    up, down, _ = recipe.factors(sfreq)
    return index, names, up, down


def _design(recipe: Recipe, sfreq: float) -> np.ndarray:
    """The recipe's band-pass at ``sfreq`` (band already checked by ``_plan``)."""
    fn = _native("butter_bandpass_sos")
    if fn is None:
        return ref.butter_bandpass_sos(
            recipe.order, recipe.l_freq, recipe.h_freq, sfreq
        )
    return fn(recipe.order, recipe.l_freq, recipe.h_freq, float(sfreq))


def _check_dtype(dtype: npt.DTypeLike) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _check_threads(n_threads: int) -> None:
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, numbers.Real)
        or int(n_threads) != n_threads
        or n_threads < 1
    ):
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")


def _native_threads(n_threads: int) -> int:
    """``n_threads`` as the native call takes it (a C ``usize``).

    The engine caps the count at the cores it may use; a huge Python int would
    overflow the conversion before that cap, so it is bounded here first.
    """
    return min(int(n_threads), 1 << 16)


def _check_length(x: np.ndarray, sos: np.ndarray, recipe: Recipe, label: str) -> None:
    """Reject a signal too short for the zero-phase filter's padding.

    ``label`` names the signal in the error ("signal", "xs[3]").
    """
    if recipe.padtype == "odd" and x.shape[1] <= odd_padlen(sos):
        raise ValueError(
            f"{label} too short: {x.shape[1]} samples, but zero-phase filtering "
            f"pads {odd_padlen(sos)} samples at each end and needs more than that"
        )


def _native_recipe(recipe: Recipe) -> bool:
    # The fused kernel unrolls up to 8 sections (a Butterworth band-pass of
    # order n has n of them); higher orders run the SciPy reference.
    return recipe.order <= _MAX_SECTIONS


def preprocess(
    x: npt.ArrayLike,
    ch_names: Sequence[str],
    sfreq: float,
    *,
    recipe: Recipe | str | None = None,
    l_freq: float = UNSET,
    h_freq: float = UNSET,
    out_sfreq: float = UNSET,
    order: int = UNSET,
    montage: str | Sequence[tuple[str, str]] | None = UNSET,
    scale: float | None = UNSET,
    clip: float | None = UNSET,
    dtype: npt.DTypeLike = np.float32,
    n_threads: int = 1,
    padtype: str = UNSET,
    resample_padtype: str = UNSET,
) -> tuple[np.ndarray, list[str]]:
    """Montage, zero-phase band-pass and polyphase resampling in one fused pass.

    The steps of the :class:`~braindecode_elm.dsp.Recipe`, in order: bipolar
    montage (``"tcp"``: the 20 ELM pairs of
    :data:`~braindecode_elm.dsp.TCP_PAIRS`), Butterworth band-pass
    ``l_freq``-``h_freq`` of ``order`` applied forward and backward at the input
    rate (:func:`sosfiltfilt`), multiplication by ``scale``, clipping to
    ``+-clip``, and polyphase resampling to ``out_sfreq`` (:func:`resample_poly`).
    The result equals that chain run with SciPy in float64 (max error below
    1e-10 of the signal RMS at 128-1000 Hz; the rounding grows with the rate,
    to ~1.5e-10 at 2048-4096 Hz). All maths is float64.

    A montage whose channels depend on each other (TCP: 20 channels over 17
    electrodes) is filtered through its independent part on the AVX2 and
    AVX-512 kernels when there is no ``clip``: 16 TCP channels are filtered and
    the other 4 are exact sums of 4 of them (filtering and resampling are
    linear), which saves a fifth of the work; a sum rounds like the channels
    it adds (on EEGMAT within 4e-11 of SciPy's RMS; a derived channel much
    quieter than those, e.g. beside a large artifact that cancels in it, can
    be ~1e-9 of its own RMS away: ``docs/preprocessing.rst``).

    Parameters
    ----------
    x : np.ndarray, shape (n_channels, n_times)
        Referential recording, float32 or float64 (e.g. volts from MNE).
    ch_names : sequence of str
        Names of the rows of ``x`` (TUH, prefixed or plain 10-20 names).
    sfreq : float
        Input sampling rate in Hz.
    recipe : Recipe | str | None
        The options, or a preset name (``"elm"``: ELM units). ``None`` is the
        ``"default"`` preset (no scale, no clip: output in the unit of ``x``).
        The keywords below, when given, replace the recipe's fields.
    l_freq, h_freq : float
        Band edges in Hz (0.1 and 49).
    out_sfreq : float
        Output rate in Hz (100); up/down factors come from
        :func:`~braindecode_elm.dsp.rates.rational_factors`.
    order : int
        Butterworth order (sections of the band-pass; 4).
    montage : "tcp" | sequence of (str, str) | None
        Bipolar pairs, or ``None`` to keep the channels as they are ("tcp").
    scale : float | None
        Multiply after filtering (``ELM_SCALE`` turns volts into ELM units).
    clip : float | None
        Clip to ``+-clip`` after scaling, before resampling (the ELM order).
    dtype : float32 | float64
        Output dtype.
    n_threads : int
        Threads for this recording (channels are split among them; a montage
        filtered through its independent part runs on one thread, so that
        the result never depends on ``n_threads``).
    padtype : {"odd", "mne"}
        Filter edge handling, see :func:`sosfiltfilt` ("odd").
    resample_padtype : {"constant", "reflect"}
        Resampler edge handling, see :func:`resample_poly` ("constant").

    Returns
    -------
    y : np.ndarray, shape (n_out_channels, ceil(n_times * up / down))
        Preprocessed signal in the unit of ``x`` times ``scale``.
    names : list of str
        Output channel names (e.g. ``"FP1-F7"``).
    """
    rec = as_recipe(
        recipe,
        l_freq=l_freq,
        h_freq=h_freq,
        out_sfreq=out_sfreq,
        order=order,
        montage=montage,
        scale=scale,
        clip=clip,
        padtype=padtype,
        resample_padtype=resample_padtype,
    )
    y, names, frac = preprocess_counted(
        x, ch_names, sfreq, rec, dtype=dtype, n_threads=n_threads
    )
    _warn_clipped(frac, rec)
    return y, names


def preprocess_counted(
    x: npt.ArrayLike,
    ch_names: Sequence[str],
    sfreq: float,
    recipe: Recipe | str,
    *,
    dtype: npt.DTypeLike = np.float32,
    n_threads: int = 1,
) -> tuple[np.ndarray, list[str], float | None]:
    """:func:`preprocess` with its clip count returned instead of warned about.

    For callers that report the clip themselves (the cache names the recording
    in its note): the output is counted once, not once for the warning and once
    more for the note.

    Parameters
    ----------
    x, ch_names, sfreq, dtype, n_threads
        As :func:`preprocess`.
    recipe : Recipe | str
        The whole recipe (no field overrides: build them with
        :meth:`Recipe.replace`).

    Returns
    -------
    y, names
        As :func:`preprocess`.
    clip_fraction : float | None
        :func:`clip_fraction` of ``y``; None when the recipe has no clip.
    """
    rec = as_recipe(recipe)
    if np.ndim(x) != 2:
        raise ValueError(
            f"x must be 2-D (n_channels, n_times), got shape {np.shape(x)}"
        )
    x, _ = as_signal(x)
    out_dtype = _check_dtype(dtype)
    _check_threads(n_threads)
    fn = _native("preprocess")
    if fn is None or not _native_recipe(rec):
        index, names, up, down = _plan(ch_names, x.shape[0], sfreq, rec)
        _check_length(x, _design(rec, sfreq), rec, "signal")
        check_finite(x)
        y, _ = ref.preprocess(x, ch_names, sfreq, recipe=rec)
        y = y.astype(out_dtype, copy=False)
        return y, names, _clip_share(y, rec)
    # The extension builds the recording's plan from the recipe (filter design,
    # band and length checks) and runs it without the GIL.
    index, names, up, down = _plan(ch_names, x.shape[0], sfreq, rec, check_band=False)
    y = fn(
        x,
        rec,
        float(sfreq),
        index,
        up,
        down,
        out_dtype == np.float32,
        _native_threads(n_threads),
        [str(c) for c in ch_names],
    )
    return y, names, _clip_share(y, rec)


def preprocess_batch(
    xs: Sequence[npt.ArrayLike],
    ch_names: Sequence[Sequence[str]],
    sfreqs: Sequence[float],
    *,
    recipe: Recipe | str | None = None,
    n_threads: int = 1,
    dtype: npt.DTypeLike = np.float32,
    **kwargs: Any,
) -> list[tuple[np.ndarray, list[str]]]:
    """:func:`preprocess` over many recordings, ``n_threads`` at a time.

    Parameters
    ----------
    xs : sequence of np.ndarray
        Recordings, each (n_channels, n_times).
    ch_names : sequence of sequence of str
        Channel names of each recording.
    sfreqs : sequence of float
        Sampling rate of each recording.
    recipe : Recipe | str | None
        As in :func:`preprocess`, shared by all recordings.
    n_threads : int
        Recordings processed in parallel (a native rayon pool; the GIL is
        released for the whole batch).
    dtype : float32 | float64
        Output dtype.
    **kwargs
        Recipe fields replacing the recipe's (``l_freq``, ``scale``, ``clip``...).

    Returns
    -------
    list of (np.ndarray, list of str)
        One :func:`preprocess` result per recording, in input order.
    """
    if not (len(xs) == len(ch_names) == len(sfreqs)):
        raise ValueError(
            f"xs, ch_names and sfreqs must have the same length, got {len(xs)}, "
            f"{len(ch_names)} and {len(sfreqs)}"
        )
    _check_threads(n_threads)
    fields = set(Recipe.__dataclass_fields__) - {"name"}
    unknown = sorted(set(kwargs) - fields)
    if unknown:
        raise TypeError(f"unexpected arguments: {unknown}")
    rec = as_recipe(recipe, **kwargs)
    out_dtype = _check_dtype(dtype)
    native = _native("preprocess_batch")
    if native is None or len(xs) == 0 or not _native_recipe(rec):
        return [
            preprocess(x, c, s, recipe=rec, dtype=out_dtype, n_threads=1)
            for x, c, s in zip(xs, ch_names, sfreqs)
        ]
    arrays, rates, indices, ups, downs, all_names = [], [], [], [], [], []
    for i, (x, names_in, sfreq) in enumerate(zip(xs, ch_names, sfreqs)):
        x, _ = as_signal(x, f"xs[{i}]")
        index, names, up, down = _plan(
            names_in, x.shape[0], sfreq, rec, check_band=False
        )
        arrays.append(x)
        rates.append(float(sfreq))
        indices.append(index)
        ups.append(up)
        downs.append(down)
        all_names.append(names)
    ys = native(
        arrays,
        rec,
        rates,
        indices,
        ups,
        downs,
        out_dtype == np.float32,
        _native_threads(n_threads),
    )
    return list(zip(ys, all_names))


#: Share of output samples at the clip above which :func:`preprocess` warns.
CLIP_WARN_FRACTION = 0.01


def clip_fraction(y: np.ndarray, clip: float) -> float:
    """Fraction of the output samples at the clip (within 1 % of ``+-clip``)."""
    # The clip comes before the resampling, whose ringing moves clipped
    # stretches a little off the level.
    return float(np.count_nonzero(np.abs(y) >= 0.99 * clip)) / max(y.size, 1)


def _clip_share(y: np.ndarray, rec: Any) -> float | None:
    """:func:`clip_fraction` of ``y`` under ``rec``'s clip; None without one."""
    clip = getattr(rec, "clip", None)
    return clip_fraction(y, clip) if clip else None


def _warn_clipped(frac: float | None, rec: Any) -> None:
    """Warn when much of the output sits at the clip: a unit mistake.

    Scalp EEG in ELM units rarely reaches +-80 (800 uV). Microvolts given as
    volts put most samples there (an outside user saw 58.8 % from an EDF read
    in microvolts), which the model then reads as a different signal.
    """
    clip = getattr(rec, "clip", None)
    if frac is not None and frac > CLIP_WARN_FRACTION:
        # No figure in the text: Python shows a warning once per call site only
        # when its text repeats (a corpus of such files said it per file).
        warnings.warn(
            f"preprocess: over {100 * CLIP_WARN_FRACTION:g} % of the output samples "
            f"are at the clip +-{clip:g}: the input is almost surely not in volts "
            "(microvolts? "
            "multiply by 1e-6; MNE Raw/Epochs data are volts, MOABB arrays "
            "microvolts by default)",
            UserWarning,
            stacklevel=3,
        )
