"""Preprocessing of ``mne.io.Raw`` objects and the Braindecode preprocessing step.

The recipes are the presets of :data:`~braindecode_elm.dsp.RECIPES` (see
:mod:`braindecode_elm.dsp.recipe`):

``"elm"`` (default)
    The Rust engine: TCP montage, zero-phase Butterworth(4) band-pass 0.1-49 Hz at
    the input rate, x :data:`ELM_SCALE` (volts -> units of 10 uV), clip to
    +-:data:`ELM_CLIP`, polyphase resampling to 100 Hz. Clipping happens before
    resampling, the order of the paper's code. Output in ELM units.
``"default"``
    The same filter and resampler without scaling or clipping: output in volts.
``"elm_official"``
    The paper's MNE code, for the official checkpoints: MNE's default FIR
    band-pass 0.1-49 Hz on all channels, drop the first 10 s, TCP montage, x1e5,
    clip +-80, MNE's default FFT resampling to 100 Hz. Output in ELM units.

Any :class:`~braindecode_elm.dsp.Recipe` can be passed instead of a name.
The returned Raw keeps ``meas_date`` and the annotations (same times); a Raw
holding ELM units still claims volts to MNE, so do not rescale it for plotting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import _check_dtype, _check_threads, preprocess
from .montage import bipolar_montage, resolve_pairs, warn_bad_montage_channels
from .recipe import RECIPES, UNSET, Recipe, as_recipe

__all__ = [
    "RECIPES",
    "elm_official",
    "elm_preprocessor",
    "preprocess_raw",
]

#: Seconds the official recipe drops at the start of every recording.
OFFICIAL_DROP_S: float = RECIPES["elm_official"].drop_first_s


def _new_raw(raw: Any, data: np.ndarray, names: list[str], sfreq: float) -> Any:
    import mne

    info = mne.create_info(names, sfreq, ch_types="eeg")
    with info._unlock():
        info["meas_date"] = raw.info["meas_date"]
    first_samp = int(round(raw.first_time * sfreq))
    out = mne.io.RawArray(data, info, first_samp=first_samp, verbose="error")
    _copy_annotations(raw, out)
    return out


def _warn_bads(raw: Any, rec: Recipe) -> None:
    """Warn when channels marked bad in ``raw`` feed ``rec``'s montage."""
    pairs = None if isinstance(rec.montage, str) else rec.montage
    # stacklevel 4: past this helper and the entry point, to its caller.
    warn_bad_montage_channels(raw.ch_names, raw.info.get("bads"), pairs, stacklevel=4)


def _copy_annotations(src: Any, out: Any) -> None:
    """Give ``out`` the annotations of ``src`` at the same times.

    Without ``meas_date`` (``orig_time`` None) a Raw's annotation onsets count
    from the recording's first sample *including* ``first_time`` (what a crop
    leaves), while ``set_annotations`` reads them as counted from ``out``'s
    first sample: passed on as they are, every event of a cropped Raw came out
    ``first_time`` seconds late. With ``meas_date`` the onsets are absolute.
    """
    if not len(src.annotations):
        return
    ann = src.annotations.copy()
    if ann.orig_time is None and src.first_time:
        ann.onset = ann.onset - src.first_time
    out.set_annotations(ann)


def elm_official(
    raw: Any,
    recipe: Recipe | str | None = None,
    *,
    l_freq: float = UNSET,
    h_freq: float = UNSET,
    sfreq: float = UNSET,
) -> Any:
    """The paper's preprocessing with MNE, step for step (for official checkpoints).

    MNE default FIR band-pass ``l_freq``-``h_freq`` on all data channels, drop the
    first :data:`OFFICIAL_DROP_S` seconds, TCP montage, x :data:`ELM_SCALE`, clip
    to +-:data:`ELM_CLIP`, MNE default (FFT) resampling to ``sfreq``.

    Parameters
    ----------
    raw : mne.io.Raw
        Referential recording in volts (not modified).
    recipe : Recipe | str | None
        A recipe with ``method="mne"``; ``None`` is the ``"elm_official"`` preset.
    l_freq, h_freq, sfreq : float
        Band edges and output rate in Hz, replacing the recipe's.

    Returns
    -------
    mne.io.Raw
        20 TCP channels at ``sfreq`` in ELM units.
    """
    import mne

    rec = as_recipe(
        recipe, base="elm_official", l_freq=l_freq, h_freq=h_freq, out_sfreq=sfreq
    )
    if rec.method != "mne":
        raise ValueError(
            f"elm_official runs MNE's chain; recipe {rec.name!r} has "
            f"method={rec.method!r} (use preprocess_raw for it)"
        )
    _warn_bads(raw, rec)
    work = raw.copy().load_data()
    work.filter(rec.l_freq, rec.h_freq, picks="all", verbose="error")
    if work.times[-1] <= rec.drop_first_s:
        raise ValueError(
            f"recording lasts {work.times[-1]:.1f} s; the official recipe drops the "
            f"first {rec.drop_first_s} s and needs more"
        )
    work.crop(tmin=rec.drop_first_s)
    pairs = None if isinstance(rec.montage, str) else rec.montage
    index, names = resolve_pairs(work.ch_names, pairs)
    data = bipolar_montage(work.get_data(), index)
    if rec.scale is not None:
        data *= rec.scale
    if rec.clip is not None:
        np.clip(data, -rec.clip, rec.clip, out=data)
    info = mne.create_info(names, work.info["sfreq"], ch_types="eeg")
    with info._unlock():
        info["meas_date"] = work.info["meas_date"]
    out = mne.io.RawArray(data, info, first_samp=work.first_samp, verbose="error")
    _copy_annotations(work, out)
    out.resample(rec.out_sfreq, verbose="error")
    return out


def preprocess_raw(raw: Any, recipe: Recipe | str = "elm", **kwargs: Any) -> Any:
    """Turn a referential Raw into the 20-channel TCP Raw at 100 Hz.

    Usable as a Braindecode step:
    ``Preprocessor(preprocess_raw, apply_on_array=False, recipe="elm")`` (or
    :func:`elm_preprocessor`). Returns a new Raw; the input is not modified.

    Parameters
    ----------
    raw : mne.io.Raw
        Referential EEG in volts with 10-20 electrode names (TUH ``EEG FP1-REF``,
        ``EEG Fp1``, ``Fp1``, ``T7`` ... are all understood).
    recipe : Recipe | {"elm", "default", "elm_official"}
        See the module documentation: ``"elm"`` and ``"elm_official"`` output ELM
        units (volts x 1e5, clipped to +-80), ``"default"`` outputs volts.
    **kwargs
        For engine recipes: recipe fields to replace (``l_freq``, ``h_freq``,
        ``out_sfreq``, ``montage`` ...) and the engine's ``n_threads`` and
        ``dtype``. For ``"elm_official"``: ``l_freq``, ``h_freq``, ``sfreq``.

    Returns
    -------
    mne.io.Raw
        New Raw with the montage channel names (``"FP1-F7"`` ...), the new
        sampling rate, and the input's ``meas_date`` and annotations.
    """
    rec = as_recipe(recipe)
    if rec.method == "mne":
        return elm_official(raw, rec, **kwargs)
    dtype = kwargs.pop("dtype", np.float64)
    n_threads = kwargs.pop("n_threads", 1)
    rec = rec.replace(**kwargs)
    _warn_bads(raw, rec)
    data = raw.get_data()
    sfreq = float(raw.info["sfreq"])
    y, names = preprocess(
        data, raw.ch_names, sfreq, recipe=rec, dtype=dtype, n_threads=n_threads
    )
    return _new_raw(raw, y.astype(np.float64, copy=False), names, rec.out_sfreq)


def elm_preprocessor(recipe: Recipe | str = "elm", **kwargs: Any) -> Any:
    """A Braindecode ``Preprocessor`` running :func:`preprocess_raw`.

    Use it in ``braindecode.preprocessing.preprocess(concat_ds,
    [elm_preprocessor()], n_jobs=...)``. Braindecode (and torch) are imported
    only when this is called.

    Parameters
    ----------
    recipe : Recipe | {"elm", "default", "elm_official"}
        Recipe passed to :func:`preprocess_raw`.
    **kwargs
        Further arguments of :func:`preprocess_raw`.

    Returns
    -------
    braindecode.preprocessing.Preprocessor
        ``Preprocessor(preprocess_raw, apply_on_array=False, recipe=recipe, ...)``.
    """
    try:
        from braindecode.preprocessing import Preprocessor
    except ImportError as e:  # pragma: no cover - braindecode is a dependency
        raise ImportError(
            "elm_preprocessor needs braindecode: pip install braindecode-elm"
        ) from e
    # A bad name or keyword fails here, not inside braindecode's loop.
    rec = as_recipe(recipe)
    if rec.method == "mne":
        import inspect

        known = set(inspect.signature(elm_official).parameters) - {"raw", "recipe"}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(
                f"elm_preprocessor: {unknown} are not options of the "
                f"{rec.name!r} recipe (it takes {sorted(known)})"
            )
    else:
        fields = {k: v for k, v in kwargs.items() if k not in ("dtype", "n_threads")}
        rec.replace(**fields)  # unknown fields and bad values are named here
        if "dtype" in kwargs:
            _check_dtype(kwargs["dtype"])
        if "n_threads" in kwargs:
            _check_threads(kwargs["n_threads"])
    return Preprocessor(preprocess_raw, apply_on_array=False, recipe=recipe, **kwargs)
