"""ELM-MIL batch sampling: sets of crops and text segments per recording.

This module is deliberately torch-free (NumPy only): it decides *which* crops and
segments go into which batch; :mod:`braindecode_elm.training.loader` reads them.

The rule follows the official ELM code (``H5_MIL._generate_x_and_y`` and
``_generate_batches``):

* per recording and epoch, ``n_sets = max(1, ceil(max(n_crops / max_eeg,
  n_segments / max_text)))``;
* each set holds ``min(n_crops, max_eeg)`` crops and ``min(n_segments, max_text)``
  segments, each drawn without replacement (independently per set, as in the
  official code);
* batches are filled by visiting the recordings that still have sets in a fresh
  random order and taking one set from each, so a batch holds ``batch_size`` sets
  from distinct recordings;
* batches are rebuilt every epoch; the first batch that is less than half full ends
  the epoch. The official code appends that last small batch to a flat list that its
  ``DataLoader`` re-chunks (so recordings can repeat inside the tail batch); we drop
  it instead, which keeps every batch made of distinct recordings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MILSet",
    "MILBatchSampler",
    "DistributedMILBatchSampler",
    "n_sets_for",
]


@dataclass(frozen=True)
class MILSet:
    """One MIL set: a recording and the crops/segments drawn from it.

    Attributes
    ----------
    recording : int
        Index of the recording in the sampler's ``counts``.
    crops : numpy.ndarray
        Sorted crop indices (int64) into that recording's crops.
    segments : numpy.ndarray
        Segment indices (int64) into that recording's text segments.
    """

    recording: int
    crops: np.ndarray
    segments: np.ndarray


def n_sets_for(n_crops: int, n_segments: int, max_eeg: int, max_text: int) -> int:
    """Number of MIL sets a recording contributes per epoch (ELM's rule).

    Parameters
    ----------
    n_crops, n_segments : int
        Crops and text segments of the recording.
    max_eeg, max_text : int
        Largest number of crops / segments in one set.

    Returns
    -------
    int
        ``max(1, ceil(max(n_crops / max_eeg, n_segments / max_text)))``.
    """
    return max(1, math.ceil(max(n_crops / max_eeg, n_segments / max_text)))


def _check_counts(counts: Sequence[tuple[int, int]]) -> np.ndarray:
    arr = np.asarray(counts, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            "counts must be a sequence of (n_crops, n_segments) pairs, got shape "
            f"{arr.shape}"
        )
    bad = np.flatnonzero((arr[:, 0] < 1) | (arr[:, 1] < 1))
    if bad.size:
        raise ValueError(
            f"recordings {bad[:10].tolist()} have no crops or no text segments; "
            "drop them before sampling (every MIL set needs at least one of each)"
        )
    return arr


class MILBatchSampler:
    """ELM-MIL batch sampler over recordings with ``(n_crops, n_segments)`` each.

    Iterating yields one batch at a time: a list of :class:`MILSet`, each from a
    different recording. The epoch's batches are a pure function of
    ``(seed, epoch)``, so resuming only needs the epoch and the number of batches
    already consumed (see :meth:`state_dict`).

    Parameters
    ----------
    counts : sequence of (int, int)
        ``(n_crops, n_segments)`` per recording; both must be >= 1.
    batch_size : int
        Sets (= distinct recordings) per batch.
    max_eeg : int
        Largest number of crops in one set (120 for ``elm-5s``).
    max_text : int
        Largest number of text segments in one set (24 for ``elm-5s``).
    seed : int
        Base seed; epoch ``e`` uses ``numpy.random.default_rng([seed, e])``.
    """

    def __init__(
        self,
        counts: Sequence[tuple[int, int]],
        batch_size: int,
        max_eeg: int,
        max_text: int,
        *,
        seed: int = 0,
    ) -> None:
        for name, val in (
            ("batch_size", batch_size),
            ("max_eeg", max_eeg),
            ("max_text", max_text),
        ):
            if int(val) != val or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        self.counts = _check_counts(counts)
        self.batch_size = int(batch_size)
        self.max_eeg = int(max_eeg)
        self.max_text = int(max_text)
        self.seed = int(seed)
        self.epoch = 0
        self.position = 0  # batches of the current epoch already handed out
        self._cache: tuple[int, list[list[MILSet]]] | None = None

    # -- epoch plan -------------------------------------------------------------
    def set_epoch(self, epoch: int, position: int = 0) -> None:
        """Select the epoch (and, when resuming, the first batch to yield).

        Parameters
        ----------
        epoch : int
            Epoch number (0-based).
        position : int
            Number of batches of that epoch already consumed.
        """
        self.epoch = int(epoch)
        self.position = int(position)

    def _draw_sets(self, rng: np.random.Generator) -> list[list[MILSet]]:
        per_rec: list[list[MILSet]] = []
        for rec, (n_crops, n_seg) in enumerate(self.counts):
            n_sets = n_sets_for(int(n_crops), int(n_seg), self.max_eeg, self.max_text)
            k_eeg = min(int(n_crops), self.max_eeg)
            k_txt = min(int(n_seg), self.max_text)
            sets = []
            for _ in range(n_sets):
                if n_seg > k_txt:
                    seg = rng.choice(n_seg, k_txt, replace=False)
                else:
                    seg = np.arange(n_seg)
                if n_crops > k_eeg:
                    # Sorted so reads from the memory-mapped cache go forward.
                    crops = np.sort(rng.choice(n_crops, k_eeg, replace=False))
                else:
                    crops = np.arange(n_crops)
                sets.append(MILSet(rec, crops.astype(np.int64), seg.astype(np.int64)))
            per_rec.append(sets)
        return per_rec

    def _plan(self, batch_size: int) -> list[list[MILSet]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        per_rec = self._draw_sets(rng)
        # Sets of one recording are i.i.d. draws; shuffling them anyway mirrors the
        # official code and keeps the RNG stream the same across callers.
        queues = {}
        for rec, sets in enumerate(per_rec):
            order = rng.permutation(len(sets))
            queues[rec] = [sets[i] for i in order]
        batches: list[list[MILSet]] = []
        while queues:
            ids = list(queues)
            batch: list[MILSet] = []
            for pos in rng.permutation(len(ids)):
                if len(batch) == batch_size:
                    break
                rec = ids[pos]
                batch.append(queues[rec].pop(0))
                if not queues[rec]:
                    del queues[rec]
            if len(batch) < batch_size / 2:
                break  # a batch less than half full ends the epoch (dropped)
            batches.append(batch)
        return batches

    def epoch_batches(self) -> list[list[MILSet]]:
        """All batches of the current epoch (cached until the epoch changes)."""
        if self._cache is None or self._cache[0] != self.epoch:
            self._cache = (self.epoch, self._plan(self.batch_size))
        return self._cache[1]

    def __len__(self) -> int:
        return len(self.epoch_batches())

    def __iter__(self) -> Iterator[list[MILSet]]:
        batches = self.epoch_batches()
        while self.position < len(batches):
            batch = batches[self.position]
            self.position += 1
            yield batch

    # -- resume -----------------------------------------------------------------
    def state_dict(self) -> dict[str, int]:
        """JSON-serialisable state: ``seed``, ``epoch``, ``position``."""
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore what :meth:`state_dict` returned.

        Parameters
        ----------
        state : dict
            Must hold ``seed``, ``epoch`` and ``position``.
        """
        if int(state["seed"]) != self.seed:
            raise ValueError(
                f"checkpoint sampler seed {state['seed']} differs from this run's "
                f"seed {self.seed}; resume with the same config"
            )
        self.set_epoch(int(state["epoch"]), int(state["position"]))


class DistributedMILBatchSampler(MILBatchSampler):
    """:class:`MILBatchSampler` whose batches are split across ranks.

    The *global* batch of ``world_size * batch_size`` sets is built with ELM's rule
    (so recordings are distinct across the whole global batch, and the plan equals
    a single-process sampler with that batch size and the same seed); rank ``r``
    receives the ``r``-th of ``world_size`` near-equal contiguous slices. Global
    batches with fewer sets than ranks are dropped so every rank always has work.

    Parameters
    ----------
    counts, batch_size, max_eeg, max_text, seed
        As for :class:`MILBatchSampler`; ``batch_size`` is per rank.
    rank : int
        This process's rank.
    world_size : int
        Number of processes.
    """

    def __init__(
        self,
        counts: Sequence[tuple[int, int]],
        batch_size: int,
        max_eeg: int,
        max_text: int,
        *,
        rank: int,
        world_size: int,
        seed: int = 0,
    ) -> None:
        super().__init__(counts, batch_size, max_eeg, max_text, seed=seed)
        if not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got {rank}, {world_size}")
        self.rank = int(rank)
        self.world_size = int(world_size)
        self._global: tuple[int, list[list[MILSet]]] | None = None

    def global_batches(self) -> list[list[MILSet]]:
        """The epoch's global batches (identical on every rank)."""
        if self._global is None or self._global[0] != self.epoch:
            plan = self._plan(self.batch_size * self.world_size)
            plan = [b for b in plan if len(b) >= self.world_size]
            self._global = (self.epoch, plan)
        return self._global[1]

    def epoch_batches(self) -> list[list[MILSet]]:
        """This rank's slice of every global batch of the current epoch."""
        if self._cache is None or self._cache[0] != self.epoch:
            local = []
            for batch in self.global_batches():
                bounds = np.linspace(0, len(batch), self.world_size + 1).round()
                lo, hi = int(bounds[self.rank]), int(bounds[self.rank + 1])
                local.append(batch[lo:hi])
            self._cache = (self.epoch, local)
        return self._cache[1]
