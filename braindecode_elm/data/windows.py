"""ELM windowing: aligned, non-overlapping crops, and Braindecode windows.

ELM (Gijsen & Ritter, 2025) cuts each preprocessed recording (100 Hz, TCP) into
non-overlapping crops of 5 s or 60 s, after dropping the first 10 s and using at
most 45 min per recording; recordings under 1 min (and, for pretraining, over
2.5 h) are left out. The length rules are parameters: non-pretraining uses
(e.g. the 62-s EEGMAT files) may lower them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..dsp.recipe import ELM_CROP_S

__all__ = [
    "ELM_CROP_SECONDS",
    "ELM_DROP_FIRST_S",
    "ELM_MAX_MINUTES",
    "ELM_MIN_DURATION_S",
    "ELM_MAX_DURATION_S",
    "crop_bounds",
    "crop_view",
    "create_probe_windows",
]

#: Crop lengths of the two ELM variants (seconds).
ELM_CROP_SECONDS: tuple[float, ...] = (ELM_CROP_S, 60.0)
#: Seconds dropped at the start of each recording.
ELM_DROP_FIRST_S = 10.0
#: At most this many minutes of each recording are used.
ELM_MAX_MINUTES = 45.0
#: Recordings shorter than this are skipped (seconds).
ELM_MIN_DURATION_S = 60.0
#: Recordings longer than this are skipped for pretraining (2.5 h).
ELM_MAX_DURATION_S = 2.5 * 3600.0


def crop_bounds(
    n_times: int,
    sfreq: float,
    seconds: float = ELM_CROP_S,
    *,
    drop_first_s: float = ELM_DROP_FIRST_S,
    max_minutes: float | None = ELM_MAX_MINUTES,
    start_s: float = 0.0,
) -> tuple[int, int, int]:
    """Where the aligned crops of a recording lie.

    Parameters
    ----------
    n_times : int
        Samples in the (preprocessed) recording.
    sfreq : float
        Its sampling rate.
    seconds : float
        Crop length; ``seconds * sfreq`` must be an integer.
    drop_first_s : float
        Seconds dropped from the start of the *original* recording.
    max_minutes : float | None
        Cap on the span used after the dropped part (None: no cap).
    start_s : float
        Time of the first stored sample in the original recording (e.g. 10 when
        the preprocessing already dropped 10 s); only the rest is dropped here.

    Returns
    -------
    start : int
        First sample of the first crop.
    n_crops : int
        Number of whole crops (0 when the recording is too short).
    length : int
        Samples per crop.
    """
    length = seconds * sfreq
    if abs(length - round(length)) > 1e-6 or round(length) <= 0:
        raise ValueError(
            f"crop of {seconds} s at {sfreq} Hz is not a positive whole number of "
            "samples"
        )
    length = int(round(length))
    start = int(round(max(0.0, drop_first_s - start_s) * sfreq))
    stop = n_times
    if max_minutes is not None:
        stop = min(stop, start + int(round(max_minutes * 60.0 * sfreq)))
    n_crops = max(0, (stop - start) // length)
    return start, n_crops, length


def crop_view(
    data: np.ndarray,
    sfreq: float,
    seconds: float = ELM_CROP_S,
    *,
    drop_first_s: float = ELM_DROP_FIRST_S,
    max_minutes: float | None = ELM_MAX_MINUTES,
    start_s: float = 0.0,
) -> np.ndarray:
    """Aligned non-overlapping crops of ``data`` as a zero-copy view.

    Parameters
    ----------
    data : numpy.ndarray, shape (n_channels, n_times)
        A recording (e.g. a memory-mapped cache array).
    sfreq, seconds, drop_first_s, max_minutes, start_s
        See :func:`crop_bounds`.

    Returns
    -------
    numpy.ndarray, shape (n_crops, n_channels, seconds * sfreq)
        Read-only view sharing memory with ``data`` (no copy, nothing is read
        from disk until the crops are used).
    """
    if data.ndim != 2:
        raise ValueError(f"data must be (n_channels, n_times), got {data.shape}")
    start, n_crops, length = crop_bounds(
        data.shape[1],
        sfreq,
        seconds,
        drop_first_s=drop_first_s,
        max_minutes=max_minutes,
        start_s=start_s,
    )
    base = data[:, start:]
    s_ch, s_t = base.strides
    return as_strided(
        base,
        shape=(n_crops, data.shape[0], length),
        strides=(length * s_t, s_ch, s_t),
        writeable=False,
    )


def create_probe_windows(
    concat_ds: Any,
    window_seconds: float = ELM_CROP_S,
    *,
    recipe: str | None = "elm",
    drop_first_s: float = 0.0,
    max_minutes: float | None = None,
    stride_seconds: float | None = None,
    n_jobs: int = 1,
    target_name: str | None = None,
) -> Any:
    """Standard Braindecode windows for linear probing and fine-tuning.

    Runs the ELM preprocessing (:func:`braindecode_elm.dsp.preprocess_raw`) on
    every recording, then :func:`braindecode.preprocessing.create_fixed_length_windows`
    with each window's target read from its recording's description: the
    column each dataset names as its ``target_name`` (:class:`EEGMAT` and
    :class:`EEGBCI` do), or the column ``target_name`` given here.

    Parameters
    ----------
    concat_ds : braindecode.datasets.BaseConcatDataset
        Raw recordings (e.g. :class:`EEGMAT`, :class:`TUHReports`); the input is
        preprocessed in place (use a copy to keep it).
    window_seconds : float
        Window length in seconds.
    recipe : {"elm", "default", "elm_official"} | None
        Preprocessing recipe; None uses the data as they are (already at
        100 Hz).
    drop_first_s : float
        Seconds skipped at the start of each recording (ELM pretraining uses
        10; probing the short EEGMAT files uses 0).
    max_minutes : float | None
        Use at most this span per recording.
    stride_seconds : float | None
        Window stride (default: ``window_seconds``, i.e. non-overlapping).
    n_jobs : int
        Parallel jobs for preprocessing and windowing.
    target_name : str | None
        Description column holding each recording's target (overrides the
        datasets' own ``target_name``).

    Returns
    -------
    braindecode.datasets.BaseConcatDataset
        Windows datasets, one per recording, description rows kept.

    Raises
    ------
    ValueError
        When a recording has no target: Braindecode would give every window
        the target -1 (a MOABB dataset read by ``braindecode.datasets.
        MOABBDataset`` has its classes in events: use
        ``create_windows_from_events`` for it).
    """
    from braindecode.preprocessing import (
        create_fixed_length_windows,
        preprocess,
    )

    from ..dsp import elm_preprocessor

    if target_name is not None:
        for ds in concat_ds.datasets:
            if target_name not in ds.description:
                raise KeyError(
                    f"target_name={target_name!r} is not a description column of "
                    f"recording {ds.description.get('recording_id', '?')} (columns "
                    f"{list(ds.description.index)})"
                )
            ds.target_name = target_name
    untargeted = [d for d in concat_ds.datasets if getattr(d, "target_name", 0) is None]
    if untargeted:
        cols = list(untargeted[0].description.index)
        raise ValueError(
            f"{len(untargeted)} of {len(concat_ds.datasets)} recordings have no "
            f"target, and every window would get -1: pass target_name= naming the "
            f"description column with the label (columns {cols}); for a dataset "
            "whose classes are events (braindecode's MOABBDataset), use "
            "braindecode.preprocessing.create_windows_from_events"
        )
    if recipe is not None:
        preprocess(concat_ds, [elm_preprocessor(recipe)], n_jobs=n_jobs)
    sfreqs = {float(ds.raw.info["sfreq"]) for ds in concat_ds.datasets}
    if len(sfreqs) != 1:
        raise ValueError(f"recordings have several sampling rates {sorted(sfreqs)}")
    sfreq = sfreqs.pop()
    size = int(round(window_seconds * sfreq))
    stride = int(round((stride_seconds or window_seconds) * sfreq))
    if drop_first_s > 0 or max_minutes is not None:
        # Crop each recording (braindecode deprecates the offset arguments).
        for ds in concat_ds.datasets:
            end = ds.raw.times[-1]
            if max_minutes is not None:
                end = min(end, drop_first_s + max_minutes * 60.0)
            if drop_first_s >= end:
                raise ValueError(
                    f"recording {ds.description.get('recording_id', '?')} is "
                    f"{ds.raw.times[-1]:.1f} s long; cannot drop {drop_first_s} s"
                )
            ds.raw.crop(tmin=drop_first_s, tmax=end, include_tmax=False)
    return create_fixed_length_windows(
        concat_ds,
        window_size_samples=size,
        window_stride_samples=stride,
        on_last_window="drop",
        n_jobs=n_jobs,
    )
