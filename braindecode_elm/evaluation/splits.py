"""Subject-disjoint splits of recording ids (evaluation never mixes subjects)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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
        Seed of the subject permutation.
    stratify : sequence | None
        Label of each recording; subjects are then dealt to the parts within
        each stratum (a subject's stratum is its most frequent label), so every
        part keeps the label mix when the subjects allow it.

    Returns
    -------
    list of list of str
        Recording ids of each part, in the input order.
    """
    ids, subjects = list(ids), [str(s) for s in subjects]
    if len(ids) != len(subjects):
        raise ValueError("ids and subjects must have the same length")
    uniq = sorted(set(subjects))
    if len(uniq) < len(fractions):
        raise ValueError(
            f"{len(uniq)} subjects cannot fill {len(fractions)} subject-disjoint parts"
        )
    frac = np.asarray(fractions, dtype=float)
    if (frac <= 0).any():
        raise ValueError(f"fractions must be positive, got {list(fractions)}")
    rng = np.random.default_rng(seed)
    if stratify is None:
        strata = {"all": list(rng.permutation(uniq))}
    else:
        labels = [str(v) for v in stratify]
        if len(labels) != len(ids):
            raise ValueError("stratify must have one label per recording")
        by_subject: dict[str, list[str]] = {}
        for s, lab in zip(subjects, labels):
            by_subject.setdefault(s, []).append(lab)
        strata = {}
        for s in uniq:
            labs = by_subject[s]
            strata.setdefault(max(set(labs), key=labs.count), []).append(s)
        strata = {k: list(rng.permutation(v)) for k, v in sorted(strata.items())}
    frac = frac / frac.sum()
    cum = np.cumsum(frac)
    parts: list[set[str]] = [set() for _ in fractions]
    offset = 0.0
    for members in strata.values():
        n = len(members)
        for k, subj in enumerate(members):
            # Position in (0, 1), shifted per stratum so small strata do not all
            # land in the first part.
            pos = ((k + 0.5) / n + offset) % 1.0
            parts[int(min(np.searchsorted(cum, pos), len(parts) - 1))].add(subj)
        offset += 0.5 / max(n, 1)
    for part in parts:
        if not part:
            # Move one subject from the largest part so no part is empty.
            donor = max(range(len(parts)), key=lambda j: len(parts[j]))
            part.add(sorted(parts[donor])[0])
            parts[donor].discard(sorted(part)[0])
    return [[i for i, s in zip(ids, subjects) if s in part] for part in parts]
