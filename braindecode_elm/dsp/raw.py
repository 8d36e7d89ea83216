"""Preprocessing of ``mne.io.Raw`` objects and the Braindecode preprocessing step.

Three recipes:

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

The returned Raw keeps ``meas_date`` and the annotations (same times); a Raw
holding ELM units still claims volts to MNE, so do not rescale it for plotting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import ELM_CLIP, ELM_SCALE, preprocess
from .montage import bipolar_montage, resolve_pairs

__all__ = [
    "RECIPES",
    "elm_official",
    "elm_preprocessor",
    "preprocess_raw",
]

#: Recipe name -> (scale, clip, unit description).
RECIPES: dict[str, dict[str, Any]] = {
    "elm": {"scale": ELM_SCALE, "clip": ELM_CLIP, "unit": "volts x 1e5 (ELM units)"},
    "default": {"scale": None, "clip": None, "unit": "volts"},
    "elm_official": {
        "scale": ELM_SCALE,
        "clip": ELM_CLIP,
        "unit": "volts x 1e5 (ELM units)",
    },
}

#: Seconds the official recipe drops at the start of every recording.
OFFICIAL_DROP_S = 10.0


def _new_raw(raw: Any, data: np.ndarray, names: list[str], sfreq: float) -> Any:
    import mne

    info = mne.create_info(names, sfreq, ch_types="eeg")
    with info._unlock():
        info["meas_date"] = raw.info["meas_date"]
    first_samp = int(round(raw.first_time * sfreq))
    out = mne.io.RawArray(data, info, first_samp=first_samp, verbose="error")
    if len(raw.annotations):
        out.set_annotations(raw.annotations.copy())
    return out


def elm_official(
    raw: Any, *, l_freq: float = 0.1, h_freq: float = 49.0, sfreq: float = 100.0
) -> Any:
    """The paper's preprocessing with MNE, step for step (for official checkpoints).

    MNE default FIR band-pass ``l_freq``-``h_freq`` on all data channels, drop the
    first :data:`OFFICIAL_DROP_S` seconds, TCP montage, x :data:`ELM_SCALE`, clip
    to +-:data:`ELM_CLIP`, MNE default (FFT) resampling to ``sfreq``.

    Parameters
    ----------
    raw : mne.io.Raw
        Referential recording in volts (not modified).
    l_freq, h_freq, sfreq : float
        Band edges and output rate in Hz.

    Returns
    -------
    mne.io.Raw
        20 TCP channels at ``sfreq`` in ELM units.
    """
    import mne

    work = raw.copy().load_data()
    work.filter(l_freq, h_freq, picks="all", verbose="error")
    if work.times[-1] <= OFFICIAL_DROP_S:
        raise ValueError(
            f"recording lasts {work.times[-1]:.1f} s; the official recipe drops the "
            f"first {OFFICIAL_DROP_S} s and needs more"
        )
    work.crop(tmin=OFFICIAL_DROP_S)
    index, names = resolve_pairs(work.ch_names)
    data = bipolar_montage(work.get_data(), index) * ELM_SCALE
    np.clip(data, -ELM_CLIP, ELM_CLIP, out=data)
    info = mne.create_info(names, work.info["sfreq"], ch_types="eeg")
    with info._unlock():
        info["meas_date"] = work.info["meas_date"]
    out = mne.io.RawArray(data, info, first_samp=work.first_samp, verbose="error")
    if len(work.annotations):
        out.set_annotations(work.annotations.copy())
    out.resample(sfreq, verbose="error")
    return out


def preprocess_raw(raw: Any, recipe: str = "elm", **kwargs: Any) -> Any:
    """Turn a referential Raw into the 20-channel TCP Raw at 100 Hz.

    Usable as a Braindecode step:
    ``Preprocessor(preprocess_raw, apply_on_array=False, recipe="elm")`` (or
    :func:`elm_preprocessor`). Returns a new Raw; the input is not modified.

    Parameters
    ----------
    raw : mne.io.Raw
        Referential EEG in volts with 10-20 electrode names (TUH ``EEG FP1-REF``,
        ``EEG Fp1``, ``Fp1``, ``T7`` ... are all understood).
    recipe : {"elm", "default", "elm_official"}
        See the module documentation: ``"elm"`` and ``"elm_official"`` output ELM
        units (volts x 1e5, clipped to +-80), ``"default"`` outputs volts.
    **kwargs
        For ``"elm"``/``"default"``: overrides of :func:`preprocess` arguments
        (``l_freq``, ``h_freq``, ``out_sfreq``, ``montage``, ``n_threads`` ...).
        For ``"elm_official"``: ``l_freq``, ``h_freq``, ``sfreq``.

    Returns
    -------
    mne.io.Raw
        New Raw with the montage channel names (``"FP1-F7"`` ...), the new
        sampling rate, and the input's ``meas_date`` and annotations.
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {recipe!r}")
    if recipe == "elm_official":
        return elm_official(raw, **kwargs)
    params: dict[str, Any] = {
        "scale": RECIPES[recipe]["scale"],
        "clip": RECIPES[recipe]["clip"],
        "dtype": np.float64,
    }
    params.update(kwargs)
    data = raw.get_data()
    sfreq = float(raw.info["sfreq"])
    y, names = preprocess(data, raw.ch_names, sfreq, **params)
    out_sfreq = float(params.get("out_sfreq", 100.0))
    return _new_raw(raw, y.astype(np.float64, copy=False), names, out_sfreq)


def elm_preprocessor(recipe: str = "elm", **kwargs: Any) -> Any:
    """A Braindecode ``Preprocessor`` running :func:`preprocess_raw`.

    Use it in ``braindecode.preprocessing.preprocess(concat_ds,
    [elm_preprocessor()], n_jobs=...)``. Braindecode (and torch) are imported
    only when this is called.

    Parameters
    ----------
    recipe : {"elm", "default", "elm_official"}
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
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {recipe!r}")
    return Preprocessor(preprocess_raw, apply_on_array=False, recipe=recipe, **kwargs)
