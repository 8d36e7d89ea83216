"""TUH EEG corpora with their reports as a Braindecode dataset.

The indexing itself (path parsing by name, report search and decoding, age and
gender) lives in :mod:`braindecode_elm.data.tuh_index`, which needs neither MNE
nor torch; this module wraps it into a ``BaseConcatDataset`` of lazy MNE Raws.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from .._braindecode import BaseConcatDataset, RawDataset
from .tuh_index import (
    SKIP_COLUMNS,
    find_report,
    index_tuh,
    parse_age_gender,
    parse_tuh_path,
)

__all__ = [
    "bids_events",
    "TUHReports",
    "SKIP_COLUMNS",
    "find_report",
    "index_tuh",
    "parse_age_gender",
    "parse_tuh_path",
]


def _load_raw(path: str, preload: bool) -> tuple[Any, str | None]:
    """(raw, None), or (None, error) when MNE cannot read what our check passed.

    A BIDS recording's ``*_events.tsv`` becomes annotations of its Raw (see
    :func:`bids_events`), as MNE-BIDS reads them.
    """
    import mne

    try:
        raw = mne.io.read_raw_edf(path, preload=preload, verbose="error")
    except Exception as exc:  # MNE raises many types for broken files
        return None, f"{path}: MNE cannot read it ({type(exc).__name__}: {exc})"
    try:
        events = bids_events(path)
    except ValueError as exc:
        # The events file costs its annotations, never the recording.
        warnings.warn(f"{exc}; its events are not used", UserWarning, stacklevel=2)
        events = None
    if events is not None:
        # As MNE-BIDS reads them: the events file replaces the annotations the
        # EDF holds (mne_bids.write_raw_bids writes the same events into both;
        # appending doubled every segment), in the Raw's own time frame.
        raw.set_annotations(
            mne.Annotations(
                events.onset + raw.first_time,
                events.duration,
                events.description,
                orig_time=raw.annotations.orig_time,
            )
        )
    return raw, None


def bids_events(path: str | os.PathLike[str]) -> Any:
    """The events of a BIDS EEG file as MNE annotations, or None without a file.

    ``sub-01_task-rest_eeg.edf`` has its events in ``sub-01_task-rest_events.tsv``
    (columns ``onset`` and ``duration`` in seconds from the recording's start;
    the event's name in ``trial_type``, else ``stim_type``, else ``value``, as
    MNE-BIDS reads them; ``n/a`` durations are 0). Rows without a name or an
    onset are left out.

    Parameters
    ----------
    path : str | os.PathLike
        The EEG file.

    Returns
    -------
    mne.Annotations | None

    Raises
    ------
    ValueError
        When the events file has no ``onset`` column or no name column, or
        holds a time that is not a number (the message names the file).
    """
    import mne

    p = Path(path)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    if not stem.endswith("_eeg"):
        return None
    tsv = p.with_name(stem[: -len("_eeg")] + "_events.tsv")
    if not tsv.is_file():
        return None
    table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    name = next(
        (c for c in ("trial_type", "stim_type", "value") if c in table.columns), None
    )
    if "onset" not in table.columns or name is None:
        raise ValueError(
            f"{tsv}: BIDS events need an onset column and one of trial_type, "
            f"stim_type or value (it has {list(table.columns)})"
        )
    blank = ["", "n/a"]
    table = table[
        ~table[name].str.strip().isin(blank) & ~table["onset"].str.strip().isin(blank)
    ]
    dur = table["duration"] if "duration" in table.columns else "0"
    try:
        onset = pd.to_numeric(table["onset"]).to_numpy(float)
        duration = pd.to_numeric(
            pd.Series(dur, index=table.index).replace({"n/a": "0", "": "0"})
        ).to_numpy(float)
    except ValueError as err:
        raise ValueError(f"{tsv}: onset and duration must be seconds: {err}") from err
    return mne.Annotations(onset, duration, table[name].str.strip().tolist())


class TUHReports(BaseConcatDataset):
    """TUH EEG recordings with their free-text reports, as a Braindecode dataset.

    One :class:`braindecode.datasets.RawDataset` per EDF file (lazy by default),
    with a description row holding ``path``, ``recording_id``, ``subject``,
    ``session``, ``segment``, ``montage``, ``year``, ``date``, ``report``,
    ``report_path``, ``report_encoding``, ``report_status``, ``age``,
    ``gender``, ``pathological``, ``split``, ``train``, ``sfreq``,
    ``n_channels`` and ``duration_s``. Works on TUEG v1/v2, the flat TUAB v3
    layout, TUEV and TUSZ, and on :func:`make_synthetic_tuh` corpora.

    Files that cannot be indexed (corrupt or truncated header, no data,
    unreadable, duplicate recording id) are not lost: they are listed in
    :attr:`skipped` with their reason, and :func:`build_cache` writes them into
    its manifest.

    Parameters
    ----------
    path : str | os.PathLike
        Corpus root; searched recursively for ``*.edf``.
    recording_ids : list of int | list of str | None
        Subset: positions in the sorted file list (as braindecode's ``TUH``) or
        recording ids (see ``ids``).
    target_name : str | tuple of str | None
        Description column(s) used as target (e.g. ``"pathological"``).
    preload : bool
        Load the signals into memory now.
    n_jobs : int
        Threads for reading headers, reports and (with ``preload``) data.
    on_error : {"skip", "raise"}
        ``"raise"`` raises on the first file that cannot be indexed.
    metadata : pandas.DataFrame | path-like | list of them | None
        Label/metadata tables merged into the descriptions (see
        :func:`~braindecode_elm.data.read_metadata`).
    ids : {"stem", "path"}
        Recording ids: EDF file names without ``.edf``, or paths inside
        ``path`` without it (see :func:`~braindecode_elm.data.index_tuh`).
    subjects : {"auto", "folder"}
        Subject ids by the rules of :func:`parse_tuh_path`, or the first folder
        inside ``path`` (see :func:`~braindecode_elm.data.index_tuh`).

    Attributes
    ----------
    skipped : pandas.DataFrame
        Files left out, with columns ``recording_id``, ``path``, ``subject``,
        ``status``, ``reason``, ``detail``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        recording_ids: list[int] | list[str] | None = None,
        target_name: str | tuple[str, ...] | None = None,
        preload: bool = False,
        n_jobs: int = 1,
        on_error: str = "skip",
        metadata: Any = None,
        ids: str = "stem",
        subjects: str = "auto",
    ) -> None:
        root = Path(path)
        descs, skipped = index_tuh(
            root,
            recording_ids=recording_ids,
            n_jobs=n_jobs,
            on_error=on_error,
            metadata=metadata,
            ids=ids,
            subjects=subjects,
        )
        if not descs:
            raise ValueError(
                f"none of the {len(skipped)} EDF files under {root} could be read: "
                + "; ".join(
                    f"{r.path}: {r.reason}" for r in skipped.head(5).itertuples()
                )
            )
        if n_jobs == 1:
            loaded = [_load_raw(d["path"], preload) for d in descs]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=n_jobs) as ex:
                loaded = list(ex.map(lambda d: _load_raw(d["path"], preload), descs))
        datasets = []
        failed = []
        for (raw, err), d in zip(loaded, descs):
            if err is not None:
                if on_error == "raise":
                    raise ValueError(f"{d['path']}: corrupt_edf: {err}")
                failed.append(
                    dict(
                        recording_id=d["recording_id"],
                        path=d["path"],
                        subject=d["subject"],
                        status="skipped",
                        reason="corrupt_edf",
                        detail=err,
                    )
                )
                continue
            datasets.append(RawDataset(raw, pd.Series(d), target_name=target_name))
        if failed:
            skipped = pd.concat([skipped, pd.DataFrame(failed)], ignore_index=True)
        if not datasets:
            raise ValueError(f"no EDF file under {root} could be read by MNE")
        super().__init__(datasets)
        self.skipped = skipped
        self.root = root
