"""Pretraining data: recordings as (crops, text segments) and batched reads.

:class:`PretrainCorpus` is the training loop's view of a corpus: per recording a
memory-mapped float16 array of crops ``(n_crops, 20, crop_samples)`` (ELM units)
and its text segments, plus one table of *unique* texts so that the language model
embeds each distinct text once. It is built from the preprocessed cache
(:meth:`PretrainCorpus.from_cache`) or directly from arrays
(:meth:`PretrainCorpus.from_arrays`, used by benchmarks and small experiments).

:class:`MILBatchDataset` turns one epoch's MIL plan into ready batches: each item is
a whole batch gathered with one ``numpy.take`` per set straight from the memory
map into a single float16 array, so DataLoader workers do all the reading and
the main process only moves a pinned tensor to the device.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..dsp.recipe import ELM_CROP_S
from .sampler import MILSet

__all__ = [
    "PretrainRecording",
    "PretrainCorpus",
    "MILBatchDataset",
    "subject_split",
    "make_loader",
]


@dataclass
class PretrainRecording:
    """One recording as the training loop sees it.

    Attributes
    ----------
    id : str
        Recording id.
    subject : str
        Subject id (splits are made by subject).
    crops : numpy.ndarray
        ``(n_crops, n_chans, n_times)`` float16 (usually a zero-copy view of a
        memory map), ELM units.
    segments : list of str
        Text segments (sentences, paragraphs or the report).
    """

    id: str
    subject: str
    crops: np.ndarray
    segments: list[str]


class PretrainCorpus:
    """Recordings with crops and text segments, plus a table of unique texts.

    Parameters
    ----------
    recordings : sequence of PretrainRecording
        Recordings; those without crops or without text are dropped (listed in
        :attr:`skipped` with the reason).
    """

    def __init__(self, recordings: Sequence[PretrainRecording]) -> None:
        self.skipped: list[tuple[str, str]] = []
        kept: list[PretrainRecording] = []
        seen: set[str] = set()
        shape: tuple[int, int] | None = None
        for rec in recordings:
            if rec.id in seen:
                raise ValueError(f"duplicate recording id {rec.id!r}")
            seen.add(rec.id)
            if rec.crops.ndim != 3 or len(rec.crops) == 0:
                self.skipped.append((rec.id, "no crops"))
                continue
            segs = [s for s in rec.segments if s and s.strip()]
            if not segs:
                self.skipped.append((rec.id, "no text segments"))
                continue
            if shape is None:
                shape = rec.crops.shape[1:]
            elif rec.crops.shape[1:] != shape:
                raise ValueError(
                    f"recording {rec.id!r} has crops of shape {rec.crops.shape[1:]}, "
                    f"others {shape}; all crops must share (n_chans, n_times)"
                )
            kept.append(PretrainRecording(rec.id, str(rec.subject), rec.crops, segs))
        if not kept:
            no_text = sum(why == "no text segments" for _, why in self.skipped)
            hint = ""
            if no_text == len(self.skipped):
                # Labels without reports: the usual case for public data.
                hint = (
                    "; none has report text. Give reports with elm preprocess "
                    "--metadata TABLE (a 'report' column), or pretrain on text made "
                    "from labels and metadata with "
                    "braindecode_elm.training.pretrain_labelled "
                    "(docs: labelled_pretraining)"
                )
            raise ValueError(
                "no usable recording (each needs >= 1 crop and >= 1 text segment); "
                f"skipped: {self.skipped[:5]}{hint}"
            )
        self.recordings = kept
        self.crop_shape: tuple[int, int] = tuple(shape)  # type: ignore[assignment]
        texts: dict[str, int] = {}
        self.segment_uids: list[np.ndarray] = []
        for rec in kept:
            uids = [texts.setdefault(s, len(texts)) for s in rec.segments]
            self.segment_uids.append(np.asarray(uids, dtype=np.int64))
        #: Unique texts; ``segment_uids[r][k]`` indexes this list.
        self.texts: list[str] = list(texts)

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        items: Sequence[tuple[str, str, np.ndarray, Sequence[str]]],
    ) -> PretrainCorpus:
        """Build from ``(id, subject, crops, segments)`` tuples.

        Parameters
        ----------
        items : sequence of tuple
            ``crops`` is ``(n_crops, n_chans, n_times)`` (float16 recommended).

        Returns
        -------
        PretrainCorpus
            The corpus.
        """
        return cls([PretrainRecording(i, s, c, list(t)) for i, s, c, t in items])

    @classmethod
    def from_cache(
        cls,
        cache: Any,
        *,
        crop_seconds: float = ELM_CROP_S,
        drop_first_s: float = 10.0,
        max_minutes: float = 45.0,
        text_mode: str = "sentence",
        max_recordings: int | None = None,
    ) -> PretrainCorpus:
        """Build from a preprocessed cache (``elm preprocess`` output).

        Parameters
        ----------
        cache : path-like or CachedCorpus
            Cache folder, or a corpus opened with
            :func:`braindecode_elm.data.open_cache`.
        crop_seconds, drop_first_s, max_minutes : float
            Passed to ``CachedRecording.crops``.
        text_mode : {"sentence", "paragraph", "report"}
            Passed to ``CachedRecording.segments``.
        max_recordings : int or None
            Keep only the first N recordings.

        Returns
        -------
        PretrainCorpus
            The corpus (crops stay memory-mapped).
        """
        if isinstance(cache, (str, os.PathLike)):
            from ..data import open_cache

            path = Path(cache)
            if not path.exists():
                raise FileNotFoundError(
                    f"cache folder {path} does not exist; build it with "
                    "`elm preprocess` (braindecode_elm.data.build_cache)"
                )
            cache = open_cache(path)
        recs = []
        for i, rid in enumerate(cache.ids):
            if max_recordings is not None and i >= max_recordings:
                break
            rec = cache[rid]
            crops = rec.crops(
                seconds=crop_seconds, drop_first_s=drop_first_s, max_minutes=max_minutes
            )
            recs.append(
                PretrainRecording(
                    str(rec.id), str(rec.subject), crops, list(rec.segments(text_mode))
                )
            )
        return cls(recs)

    # -- views --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.recordings)

    @property
    def counts(self) -> list[tuple[int, int]]:
        """``(n_crops, n_segments)`` per recording (the sampler's input)."""
        return [(len(r.crops), len(r.segments)) for r in self.recordings]

    @property
    def subjects(self) -> list[str]:
        """Subject of every recording."""
        return [r.subject for r in self.recordings]

    def subset(self, indices: Sequence[int]) -> PretrainCorpus:
        """A corpus with the given recordings (text table rebuilt)."""
        return PretrainCorpus([self.recordings[i] for i in indices])


def subject_split(
    subjects: Sequence[str], val_fraction: float, *, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Split recording indices into train/validation by subject.

    The split is :func:`braindecode_elm.data.splits.subject_split` with shares
    ``(1 - val_fraction, val_fraction)``, so a seed holds out the same subjects
    here as the evaluation and data splits with those shares.

    Parameters
    ----------
    subjects : sequence of str
        Subject of every recording.
    val_fraction : float
        Share of subjects held out, in ``[0, 1)``; when > 0 and there are at
        least two subjects, at least one subject is held out and one kept.
    seed : int
        Seed of the subject order.

    Returns
    -------
    train, val : list of int
        Recording indices; no subject is in both.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(
            f"val_fraction must be in [0, 1) (share of subjects held out for "
            f"validation), got {val_fraction}"
        )
    from ..data.splits import subject_split as _subject_split

    parts = _subject_split(
        [str(s) for s in subjects],
        {"train": 1.0 - val_fraction, "valid": val_fraction},
        seed=seed,
    )
    return parts["train"].tolist(), parts["valid"].tolist()


class MILBatchDataset(torch.utils.data.Dataset):
    """Map-style dataset whose items are whole MIL batches.

    Item ``i`` is a dict with ``x`` (float16 tensor ``(N, n_chans, n_times)``),
    ``eeg_rec`` (``(N,)`` int64 recording index of every crop), ``text_uid``
    (``(M,)`` int64 row of every segment in the unique-text table) and
    ``text_rec`` (``(M,)`` int64 recording index of every segment).

    Parameters
    ----------
    corpus : PretrainCorpus
        Where crops and segments come from.
    batches : list of list of MILSet
        The batches to serve, in order (one epoch's remaining plan).
    """

    def __init__(self, corpus: PretrainCorpus, batches: list[list[MILSet]]) -> None:
        self.corpus = corpus
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        batch = self.batches[i]
        n = sum(len(s.crops) for s in batch)
        c, t = self.corpus.crop_shape
        x = torch.empty((n, c, t), dtype=torch.float16)
        xn = x.numpy()
        eeg_rec = np.empty(n, dtype=np.int64)
        uids, trec = [], []
        o = 0
        for s in batch:
            rec = self.corpus.recordings[s.recording]
            k = len(s.crops)
            # One fancy-indexed read per set, straight into the batch buffer.
            np.take(rec.crops, s.crops, axis=0, out=xn[o : o + k])
            eeg_rec[o : o + k] = s.recording
            o += k
            uids.append(self.corpus.segment_uids[s.recording][s.segments])
            trec.append(np.full(len(s.segments), s.recording, dtype=np.int64))
        return {
            "x": x,
            "eeg_rec": torch.from_numpy(eeg_rec),
            "text_uid": torch.from_numpy(np.concatenate(uids)),
            "text_rec": torch.from_numpy(np.concatenate(trec)),
        }


def make_loader(
    dataset: MILBatchDataset,
    *,
    num_workers: int = 0,
    pin_memory: bool = False,
    prefetch_factor: int = 2,
) -> torch.utils.data.DataLoader:
    """DataLoader over whole batches (``batch_size=None``), in plan order.

    Parameters
    ----------
    dataset : MILBatchDataset
        The epoch's batches.
    num_workers : int
        Reader processes (0 reads in the main process).
    pin_memory : bool
        Copy batches to page-locked memory for asynchronous host-to-device copies.
    prefetch_factor : int
        Batches prepared ahead per worker.

    Returns
    -------
    torch.utils.data.DataLoader
        The loader.
    """
    kwargs: dict[str, Any] = {}
    if num_workers > 0:
        kwargs["prefetch_factor"] = prefetch_factor
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin_memory,
        **kwargs,
    )
