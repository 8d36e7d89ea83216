"""Read a cache: memory-mapped recordings, their crops and report segments."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dsp.recipe import ELM_CROP_S
from .cache_manifest import _read_manifests, _safe_rel
from .reports import ELM_HEADINGS, segment_report
from .windows import (
    ELM_DROP_FIRST_S,
    ELM_MAX_MINUTES,
    crop_bounds,
    crop_view,
)


class CachedRecording:
    """One cached recording (returned by ``corpus[i]`` / ``corpus[id]``).

    Attributes
    ----------
    id : str
        Recording id.
    subject : str
        Subject id (the unit of leakage-safe splits).
    sfreq : float
        Nominal sampling rate of the cached array (the recipe's output rate,
        100.0); crop lengths are counted with it.
    true_sfreq : float
        The rate the resampler produced from the source rate; equal to
        ``sfreq`` except for source rates without a small up/down ratio (e.g.
        173.61 Hz gives 99.99936 Hz).
    ch_names : list of str
        The 20 TCP channel names (``"FP1-F7"`` ...).
    report : str | None
        Report text (for EEGMAT/EEGBCI: the caption).
    description : dict
        Everything known about the recording (age, gender, pathological,
        target/label, split, ...).
    n_times : int
        Samples in the cached array.
    start_s : float
        Time of the first cached sample in the original recording.
    """

    def __init__(self, row: dict[str, Any], root: Path) -> None:
        self._row = row
        self._root = root
        self._data: np.ndarray | None = None
        self.id: str = row["recording_id"]
        desc = dict(row.get("description") or {})
        subj = row.get("subject") or desc.get("subject") or self.id
        self.subject: str = str(subj)
        self.sfreq: float = float(row["sfreq"])
        self.true_sfreq: float = float(row.get("true_sfreq") or self.sfreq)
        self.ch_names: list[str] = list(row["ch_names"])
        self.report: str | None = row.get("report")
        self.description: dict[str, Any] = desc
        self.n_times: int = int(row["n_times"])
        self.start_s: float = float(row.get("start_s") or 0.0)

    @property
    def path(self) -> Path:
        """The ``.npy`` file of this recording."""
        return _safe_rel(self._root, self._row.get("file"), f"recording {self.id}")

    @property
    def recipe(self) -> str | None:
        """Name of the preprocessing recipe the recording was cached with."""
        return self._row.get("recipe")

    @property
    def params(self) -> dict[str, Any]:
        """The recipe's fields as stored in the manifest (scale, clip, band ...)."""
        return dict(self._row.get("params") or {})

    @property
    def data(self) -> np.ndarray:
        """Memory-mapped float16 array (20, n_times) in ELM units (read-only)."""
        if self._data is None:
            try:
                data = np.load(self.path, mmap_mode="r")
            except (ValueError, OSError, EOFError) as exc:
                raise ValueError(
                    f"the cached array of recording {self.id} ({self.path}) cannot "
                    f"be read ({exc}); run the same build_cache / elm preprocess "
                    "again: damaged arrays are redone"
                ) from exc
            if data.ndim != 2 or data.shape[1] != self.n_times:
                raise ValueError(
                    f"the cached array of recording {self.id} ({self.path}) has shape "
                    f"{data.shape}, the manifest says {self.n_times} samples; run the "
                    "same build_cache / elm preprocess again: damaged arrays are redone"
                )
            self._data = data
        return self._data

    @property
    def duration_s(self) -> float:
        """Seconds of cached signal."""
        return self.n_times / self.sfreq

    def n_crops(
        self,
        seconds: float = ELM_CROP_S,
        *,
        drop_first_s: float = ELM_DROP_FIRST_S,
        max_minutes: float | None = ELM_MAX_MINUTES,
    ) -> int:
        """Number of crops :meth:`crops` returns (without opening the array)."""
        return crop_bounds(
            self.n_times,
            self.sfreq,
            seconds,
            drop_first_s=drop_first_s,
            max_minutes=max_minutes,
            start_s=self.start_s,
        )[1]

    def crops(
        self,
        seconds: float = ELM_CROP_S,
        *,
        drop_first_s: float = ELM_DROP_FIRST_S,
        max_minutes: float | None = ELM_MAX_MINUTES,
    ) -> np.ndarray:
        """Aligned non-overlapping crops as a zero-copy float16 view.

        Parameters
        ----------
        seconds : float
            Crop length (ELM: 5 or 60).
        drop_first_s : float
            Seconds dropped at the start of the original recording (ELM: 10).
        max_minutes : float | None
            Use at most this span after the dropped part (ELM: 45).

        Returns
        -------
        numpy.ndarray, shape (n_crops, 20, seconds * sfreq)
            Read-only view of the memory map, in ELM units.
        """
        return crop_view(
            self.data,
            self.sfreq,
            seconds,
            drop_first_s=drop_first_s,
            max_minutes=max_minutes,
            start_s=self.start_s,
        )

    def segments(
        self,
        mode: str = "sentence",
        headings: Sequence[str] | None = ELM_HEADINGS,
    ) -> list[str]:
        """Text segments of the report (see :func:`segment_report`).

        Captions without headings fall back to their sentences.
        """
        return segment_report(self.report, mode=mode, headings=headings)

    def __repr__(self) -> str:
        return (
            f"CachedRecording({self.id!r}, subject={self.subject!r}, "
            f"{len(self.ch_names)} ch x {self.n_times} @ {self.sfreq:g} Hz)"
        )


class CachedCorpus:
    """A cache folder opened for reading (see :func:`open_cache`).

    Attributes
    ----------
    root : pathlib.Path
        Cache folder.
    manifest : pandas.DataFrame
        All rows (last per recording id), cached and skipped, with ``status``
        and ``reason``.
    ids : list of str
        Ids of the cached (``status == "ok"``) recordings, sorted.
    subjects : list of str
        Subject of each id (aligned with ``ids``).
    """

    def __init__(self, root: Path, rows: list[dict[str, Any]]) -> None:
        self.root = root
        last: dict[str, dict[str, Any]] = {}
        # Latest row wins; rows from several shard manifests are ordered by
        # their creation time (a stable sort keeps file order for ties).
        rows = sorted(rows, key=lambda r: r.get("created") or "")
        for r in rows:
            last[r.get("recording_id_key", r["recording_id"])] = r
        ordered = sorted(
            last.values(), key=lambda r: (r["recording_id"], r.get("source") or "")
        )
        self._rows = {
            r["recording_id"]: r
            for r in ordered
            if r.get("status") == "ok" and "recording_id_key" not in r
        }
        self.manifest = pd.DataFrame(ordered)
        for col in ("recording_id", "subject", "status", "reason", "detail"):
            if col not in self.manifest:
                self.manifest[col] = None
        for rid, r in self._rows.items():
            _safe_rel(root, r.get("file"), f"{root}: recording {rid}")
        self.ids: list[str] = sorted(self._rows)
        self._recs: dict[str, CachedRecording] = {}
        self.subjects: list[str] = [self[i].subject for i in self.ids]

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[CachedRecording]:
        for rid in self.ids:
            yield self[rid]

    def __getitem__(self, key: int | str) -> CachedRecording:
        if isinstance(key, (int, np.integer)):
            key = self.ids[int(key)]
        if key not in self._rows:
            raise KeyError(
                f"recording {key!r} is not cached in {self.root}"
                + (
                    f" (manifest: {self.skipped_reason(key)})"
                    if self.skipped_reason(key)
                    else ""
                )
            )
        if key not in self._recs:
            self._recs[key] = CachedRecording(self._rows[key], self.root)
        return self._recs[key]

    def skipped_reason(self, recording_id: str) -> str | None:
        """Reason a recording was skipped, or None."""
        m = self.manifest
        hit = m[(m["recording_id"] == recording_id) & (m["status"] != "ok")]
        return None if hit.empty else str(hit["reason"].iloc[-1])

    @property
    def skipped(self) -> pd.DataFrame:
        """Manifest rows of the skipped recordings."""
        return self.manifest[self.manifest["status"] != "ok"].reset_index(drop=True)

    @property
    def description(self) -> pd.DataFrame:
        """One row per cached recording: its description plus id and subject."""
        rows = []
        for rec in self:
            d = dict(rec.description)
            d.update(recording_id=rec.id, subject=rec.subject, report=rec.report)
            rows.append(d)
        return pd.DataFrame(rows)

    def n_crops(self, seconds: float = ELM_CROP_S, **kwargs: Any) -> np.ndarray:
        """Crops per cached recording (aligned with ``ids``); see ``.crops``."""
        return np.array([self[i].n_crops(seconds, **kwargs) for i in self.ids])

    def select(self, ids: Sequence[str]) -> CachedCorpus:
        """A corpus restricted to ``ids`` (e.g. one side of a subject split)."""
        keep = set(ids)
        unknown = keep - set(self.ids)
        if unknown:
            raise KeyError(f"ids not cached in {self.root}: {sorted(unknown)[:5]}")
        return CachedCorpus(
            self.root, [r for r in self._rows.values() if r["recording_id"] in keep]
        )

    def to_windows_dataset(
        self,
        seconds: float = ELM_CROP_S,
        *,
        target_name: str | None = None,
        drop_first_s: float = ELM_DROP_FIRST_S,
        max_minutes: float | None = ELM_MAX_MINUTES,
    ) -> Any:
        """Braindecode windows of the cached recordings (for probes/fine-tuning).

        Parameters
        ----------
        seconds : float
            Window length.
        target_name : str | None
            Description column used as each window's target.
        drop_first_s, max_minutes : float
            As in :meth:`CachedRecording.crops` (same windows).

        Returns
        -------
        braindecode.datasets.BaseConcatDataset
            One ``EEGWindowsDataset`` per recording with at least one window,
            float32 data in ELM units.
        """
        import mne
        from braindecode.datasets import BaseConcatDataset, RawDataset
        from braindecode.preprocessing import create_fixed_length_windows

        parts = []
        for rec in self:
            start, n, length = crop_bounds(
                rec.n_times,
                rec.sfreq,
                seconds,
                drop_first_s=drop_first_s,
                max_minutes=max_minutes,
                start_s=rec.start_s,
            )
            if n == 0:
                continue
            info = mne.create_info(rec.ch_names, rec.sfreq, ch_types="eeg")
            raw = mne.io.RawArray(
                np.asarray(rec.data[:, start : start + n * length], dtype=np.float32),
                info,
                verbose="error",
            )
            desc = dict(rec.description, recording_id=rec.id, subject=rec.subject)
            desc.setdefault("report", rec.report)
            parts.append(RawDataset(raw, pd.Series(desc), target_name=target_name))
        if not parts:
            raise ValueError(f"no recording has a whole {seconds}-s window")
        size = int(round(seconds * parts[0].raw.info["sfreq"]))
        return create_fixed_length_windows(
            BaseConcatDataset(parts),
            window_size_samples=size,
            window_stride_samples=size,
            on_last_window="drop",
        )

    def __repr__(self) -> str:
        return (
            f"CachedCorpus({str(self.root)!r}, {len(self)} recordings, "
            f"{len(set(self.subjects))} subjects, {len(self.skipped)} skipped)"
        )


def open_cache(cache_dir: str | os.PathLike[str]) -> CachedCorpus:
    """Open a cache written by :func:`build_cache`.

    Parameters
    ----------
    cache_dir : str | os.PathLike
        The cache folder (all ``manifest*.jsonl`` files in it are merged).

    Returns
    -------
    CachedCorpus
        The cached recordings and the full manifest.

    Raises
    ------
    FileNotFoundError
        When the folder has no manifest.
    """
    root = Path(cache_dir)
    if not any(root.glob("manifest*.jsonl")):
        raise FileNotFoundError(
            f"no cache manifest in {root}; build one with build_cache(...) or "
            "`elm preprocess`"
        )
    return CachedCorpus(root, _read_manifests(root))
