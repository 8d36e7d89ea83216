"""Subject-disjoint splits of recording ids (evaluation never mixes subjects).

A thin id-based view of :func:`braindecode_elm.data.splits.subject_split`, the
one subject split of the package: the same subjects, fractions and seed give the
same parts here, in training's validation hold-out and in the data layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.splits import subject_split as _subject_split

__all__ = ["subject_split"]


def subject_split(
    ids: Sequence[str],
    subjects: Sequence[str],
    fractions: Sequence[float],
    *,
    seed: int = 0,
    stratify: Sequence[object] | None = None,
) -> list[list[str]]:
    """Split recordings into subject-disjoint parts.

    Parameters
    ----------
    ids : sequence of str
        Recording ids.
    subjects : sequence of str
        Subject of each recording.
    fractions : sequence of float
        Share of subjects per part (normalised to sum to 1). Every part gets at
        least one subject.
    seed : int
        Seed of the subject order.
    stratify : sequence | None
        Label of each recording; every part then keeps the label mix when the
        subjects allow it (a subject's stratum is its most frequent label).

    Returns
    -------
    list of list of str
        Recording ids of each part, in the input order.

    Raises
    ------
    ValueError
        When lengths differ, a fraction is not positive, or there are fewer
        subjects than parts.
    """
    ids, subjects = list(ids), [str(s) for s in subjects]
    if len(ids) != len(subjects):
        raise ValueError(
            f"ids and subjects must have the same length ({len(ids)} ids, "
            f"{len(subjects)} subjects)"
        )
    frac = np.asarray(list(fractions), dtype=float)
    if frac.ndim != 1 or not len(frac) or not np.all(np.isfinite(frac)):
        raise ValueError(f"fractions must be a list of numbers, got {fractions!r}")
    if (frac <= 0).any():
        raise ValueError(f"fractions must be positive, got {list(fractions)}")
    n_subj = len(set(subjects))
    if n_subj < len(frac):
        raise ValueError(
            f"{n_subj} subjects cannot fill {len(frac)} subject-disjoint parts"
        )
    parts = _subject_split(
        subjects,
        {f"part{k}": float(f) for k, f in enumerate(frac)},
        seed=seed,
        stratify=None if stratify is None else list(stratify),
    )
    return [[ids[i] for i in idx] for idx in parts.values()]
