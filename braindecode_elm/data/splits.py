"""Leakage-safe, subject-level splits.

Recordings of one subject are strongly correlated, so every split here keeps all
recordings of a subject on one side, and :func:`check_no_subject_overlap` fails
loudly when a subject appears in both a pretraining set and an evaluation set
(e.g. TUAB eval subjects inside a TUEG pretraining index).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "SubjectLeakageError",
    "subjects_of",
    "subject_order",
    "subject_split",
    "split_names",
    "subject_kfold",
    "check_no_subject_overlap",
    "exclude_subjects",
]


class SubjectLeakageError(ValueError):
    """Raised when subjects appear in more than one split.

    Attributes
    ----------
    overlap : dict
        ``(name_a, name_b) -> sorted list of shared subjects``.
    """

    def __init__(self, message: str, overlap: dict[tuple[str, str], list[str]]) -> None:
        super().__init__(message)
        self.overlap = overlap


def subjects_of(obj: Any) -> list[str]:
    """Subject of every recording of a dataset-like object.

    Parameters
    ----------
    obj : CachedCorpus | BaseConcatDataset | pandas.DataFrame | iterable of str
        A cached corpus (``.subjects``), a Braindecode dataset (``subject``
        description column), a table with a ``subject`` column, or subject ids.

    Returns
    -------
    list of str
        One entry per recording (not deduplicated).
    """
    if hasattr(obj, "subjects") and not isinstance(obj, Mapping):
        return [str(s) for s in obj.subjects]
    if hasattr(obj, "description") and hasattr(obj, "datasets"):
        desc = obj.description
        if "subject" not in desc:
            raise ValueError("dataset description has no 'subject' column")
        return [str(s) for s in desc["subject"]]
    if hasattr(obj, "columns"):
        if "subject" not in obj.columns:
            raise ValueError("table has no 'subject' column")
        return [str(s) for s in obj["subject"]]
    if isinstance(obj, str):
        raise TypeError("give an iterable of subject ids, not one string")
    return [str(s) for s in obj]


def _rank_key(subject: str, seed: int) -> bytes:
    # Hash-based rank: a subject's place depends only on its id and the seed
    # (not on file order or on Python's per-process string hashing), so every
    # machine and every run computes the same split.
    return hashlib.sha256(f"{seed}:{subject}".encode()).digest()


def _order(subjects: Iterable[str], seed: int) -> list[str]:
    return sorted(set(subjects), key=lambda s: _rank_key(s, seed))


def _subject_strata(subj: list[str], stratify: Sequence[Any]) -> dict[str, str]:
    """Stratum of each subject: its most frequent label (ties: smallest label)."""
    labels = [str(v) for v in stratify]
    if len(labels) != len(subj):
        raise ValueError(
            f"stratify must have one label per recording: got {len(labels)} labels "
            f"for {len(subj)} recordings"
        )
    by_subject: dict[str, dict[str, int]] = {}
    for s, lab in zip(subj, labels):
        counts = by_subject.setdefault(s, {})
        counts[lab] = counts.get(lab, 0) + 1
    return {
        s: min(counts, key=lambda lab: (-counts[lab], lab))
        for s, counts in by_subject.items()
    }


def subject_order(
    subjects: Sequence[str] | Any,
    *,
    seed: int = 0,
    stratify: Sequence[Any] | None = None,
) -> list[str]:
    """The seeded order of distinct subjects that every split here cuts.

    Parameters
    ----------
    subjects : sequence of str | dataset
        Subject per recording, or anything :func:`subjects_of` accepts.
    seed : int
        Seed of the (hash-based, stable) order.
    stratify : sequence | None
        Label per recording. Each subject's stratum is its most frequent label;
        the subjects of every stratum are then spread evenly along the order, so
        any contiguous cut (a split) or round-robin deal (k-fold) keeps the label
        mix of the whole set as far as the subject counts allow.

    Returns
    -------
    list of str
        Distinct subjects in split order.
    """
    subj = subjects_of(subjects)
    if stratify is None:
        return _order(subj, seed)
    strata: dict[str, list[str]] = {}
    for s, stratum in _subject_strata(subj, stratify).items():
        strata.setdefault(stratum, []).append(s)
    # Subject j of a stratum of n sits at (j + 0.5) / n: merging the strata by
    # that position interleaves them in proportion to their sizes.
    placed = []
    for members in strata.values():
        ordered = _order(members, seed)
        n = len(ordered)
        placed += [
            ((j + 0.5) / n, _rank_key(s, seed), s) for j, s in enumerate(ordered)
        ]
    return [s for _, _, s in sorted(placed)]


def split_names(fractions: Mapping[str, float] | Sequence[float]) -> list[str]:
    """The part names :func:`subject_split` gives ``fractions``: a mapping's
    keys, else ``train``/``test``, ``train``/``valid``/``test`` or ``split<i>``."""
    if isinstance(fractions, Mapping):
        return list(fractions)
    n = len(list(fractions))
    defaults = {2: ["train", "test"], 3: ["train", "valid", "test"]}
    return defaults.get(n, [f"split{i}" for i in range(n)])


def subject_split(
    subjects: Sequence[str] | Any,
    fractions: Mapping[str, float] | Sequence[float] = (0.8, 0.2),
    *,
    seed: int = 0,
    stratify: Sequence[Any] | None = None,
) -> dict[str, np.ndarray]:
    """Split recordings by subject (the one subject split of the package).

    Training's validation hold-out
    (:func:`braindecode_elm.training.loader.subject_split`) and the evaluation
    splits (:func:`braindecode_elm.evaluation.splits.subject_split`, ``elm
    probe``, the benchmark) all call this function, so the same subjects,
    fractions and seed give the same split wherever it is made.

    Parameters
    ----------
    subjects : sequence of str | dataset
        Subject per recording, or anything :func:`subjects_of` accepts.
    fractions : mapping or sequence of float
        Share of *subjects* per split, e.g. ``{"train": 0.7, "valid": 0.1,
        "test": 0.2}`` or ``(0.8, 0.2)`` (named ``"train"``, ``"test"``; three
        values: ``"train"``, ``"valid"``, ``"test"``). Normalised to sum 1.
    seed : int
        Seed of the (hash-based, stable) subject order.
    stratify : sequence | None
        Label per recording; when given, every split keeps the label mix of the
        subjects (see :func:`subject_order`). The number of subjects per split
        is the same as without it.

    Returns
    -------
    dict of str to numpy.ndarray
        Recording indices of each split (ascending); no subject is in two
        splits, every recording is in one, and each split with a positive share
        gets at least one subject when there are enough subjects.
    """
    subj = subjects_of(subjects)
    names = split_names(fractions)
    if isinstance(fractions, Mapping):
        fr = np.array(list(fractions.values()), dtype=float)
    else:
        fr = np.array(list(fractions), dtype=float)
    if np.any(fr < 0) or not np.all(np.isfinite(fr)) or fr.sum() <= 0:
        raise ValueError(
            f"fractions must be finite and non-negative with a positive sum: {fr}"
        )
    fr = fr / fr.sum()
    order = subject_order(subj, seed=seed, stratify=stratify)
    n = len(order)
    counts = np.floor(fr * n).astype(int)
    # Give leftover subjects to the splits with the largest remainders, then
    # make sure every split with a positive share has a subject if possible.
    for i in np.argsort(-(fr * n - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    for i in np.flatnonzero((counts == 0) & (fr > 0)):
        donor = int(np.argmax(counts))
        if counts[donor] > 1:
            counts[donor] -= 1
            counts[i] += 1
    bounds = np.concatenate([[0], np.cumsum(counts)])
    where = {s: k for k in range(len(names)) for s in order[bounds[k] : bounds[k + 1]]}
    part = np.array([where[s] for s in subj], dtype=int)
    out = {name: np.flatnonzero(part == k) for k, name in enumerate(names)}
    subj_arr = np.array(subj, dtype=object)
    check_no_subject_overlap(
        {name: subj_arr[idx].tolist() for name, idx in out.items()}
    )
    return out


def subject_kfold(
    subjects: Sequence[str] | Any,
    n_splits: int = 5,
    *,
    seed: int = 0,
    stratify: Sequence[Any] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold cross-validation over subjects.

    Parameters
    ----------
    subjects : sequence of str | dataset
        Subject per recording.
    n_splits : int
        Number of folds (at most the number of subjects).
    seed : int
        Seed of the subject order (the same order :func:`subject_split` cuts).
    stratify : sequence | None
        Label per recording; when given, each fold keeps the label mix.

    Returns
    -------
    list of (train_idx, test_idx)
        Recording indices; each subject is in exactly one test fold.
    """
    subj = subjects_of(subjects)
    order = subject_order(subj, seed=seed, stratify=stratify)
    if not 2 <= n_splits <= len(order):
        raise ValueError(
            f"n_splits must be between 2 and the number of subjects ({len(order)})"
        )
    fold = {s: i % n_splits for i, s in enumerate(order)}
    f = np.array([fold[s] for s in subj])
    subj_arr = np.array(subj, dtype=object)
    out = [(np.flatnonzero(f != k), np.flatnonzero(f == k)) for k in range(n_splits)]
    for tr, te in out:
        check_no_subject_overlap({"train": subj_arr[tr], "test": subj_arr[te]})
    return out


def check_no_subject_overlap(
    splits: Mapping[str, Any], *, allow: Iterable[tuple[str, str]] = ()
) -> None:
    """Fail loudly when a subject is in two splits.

    Parameters
    ----------
    splits : mapping of str to subjects or dataset
        E.g. ``{"pretrain": tueg_corpus, "eval": tuab_eval_dataset}``; values
        are anything :func:`subjects_of` accepts.
    allow : iterable of (str, str)
        Pairs of split names allowed to share subjects (e.g. two views of the
        same evaluation set).

    Raises
    ------
    SubjectLeakageError
        Naming each pair of splits that share subjects, how many, and examples.
    """
    allowed = {frozenset(p) for p in allow}
    sets = {name: set(subjects_of(v)) for name, v in splits.items()}
    names = list(sets)
    overlap: dict[tuple[str, str], list[str]] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if frozenset((a, b)) in allowed:
                continue
            shared = sorted(sets[a] & sets[b])
            if shared:
                overlap[(a, b)] = shared
    if overlap:
        lines = [
            f"{a!r} and {b!r} share {len(s)} subject(s), e.g. {s[:5]}"
            for (a, b), s in overlap.items()
        ]
        raise SubjectLeakageError(
            "subject leakage between splits: "
            + "; ".join(lines)
            + ". Remove these subjects from the pretraining set "
            "(exclude_subjects) or re-split by subject.",
            overlap,
        )


def exclude_subjects(subjects: Sequence[str] | Any, excluded: Any) -> np.ndarray:
    """Indices of recordings whose subject is not in ``excluded``.

    Parameters
    ----------
    subjects : sequence of str | dataset
        Subject per recording of the set to filter (e.g. the pretraining index).
    excluded : subjects or dataset
        Subjects to remove (e.g. those of an evaluation set).

    Returns
    -------
    numpy.ndarray
        Indices of the recordings to keep.
    """
    bad = set(subjects_of(excluded))
    return np.flatnonzero([s not in bad for s in subjects_of(subjects)])
