"""Cross-modal retrieval metrics at recording level.

The text bank holds every segment of every test report; a recording is retrieved
when *any* of its segments (or, for report -> EEG, its EEG) is. Ties in the
similarity are broken pessimistically (an irrelevant item with the same score ranks
first) so a constant, untrained model never looks good.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["retrieval_from_similarity", "retrieval_metrics"]


def _ranks_one(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based ranks of the relevant items, irrelevant first on ties."""
    # lexsort sorts by the last key first: score descending, then irrelevant first.
    order = np.lexsort((relevant.astype(np.int8), -scores))
    positions = np.empty(len(scores), dtype=np.int64)
    positions[order] = np.arange(1, len(scores) + 1)
    return np.sort(positions[relevant])


def retrieval_from_similarity(
    sim: np.ndarray,
    query_groups: Sequence[Any],
    target_groups: Sequence[Any],
    *,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Recording-level retrieval metrics from a similarity matrix.

    Each query row ranks all target columns by similarity. The targets relevant to a
    query are those of the same group (recording). A query counts as a hit at ``k``
    when any relevant target is in its top ``k``; its rank is the rank of the best
    relevant target; its average precision uses every relevant target. When several
    queries share a group (e.g. all sentences of one report), their metrics are
    averaged within the group first, so every recording weighs the same.

    Parameters
    ----------
    sim : np.ndarray
        Similarities, shape (n_queries, n_targets); larger is more similar.
    query_groups : sequence
        Group (recording id) of each query row.
    target_groups : sequence
        Group (recording id) of each target column.
    ks : sequence of int
        Cut-offs for recall@k.

    Returns
    -------
    dict
        ``R@k`` for each k (fraction in [0, 1]), ``median_rank`` (median over
        groups of the mean best rank), ``mAP`` and ``n_queries`` (number of query
        groups).
    """
    sim = np.asarray(sim, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"sim must be 2-D (n_queries, n_targets), got {sim.shape}")
    qg = np.asarray(list(query_groups), dtype=object)
    tg = np.asarray(list(target_groups), dtype=object)
    if len(qg) != sim.shape[0] or len(tg) != sim.shape[1]:
        raise ValueError(
            f"query_groups ({len(qg)}) and target_groups ({len(tg)}) must match "
            f"sim's shape {sim.shape}"
        )
    if not np.isfinite(sim).all():
        raise ValueError("sim contains NaN or Inf; check the embeddings")
    per_query: dict[Any, list[tuple[int, float]]] = {}
    for i in range(sim.shape[0]):
        relevant = tg == qg[i]
        if not relevant.any():
            raise ValueError(
                f"query {i} (group {qg[i]!r}) has no relevant target; every query "
                "group must appear among the targets"
            )
        ranks = _ranks_one(sim[i], relevant)
        ap = float(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        per_query.setdefault(qg[i], []).append((int(ranks[0]), ap))
    best = []
    aps = []
    hits = {k: [] for k in ks}
    for rows in per_query.values():
        r = np.array([row[0] for row in rows], dtype=np.float64)
        best.append(r.mean())
        aps.append(np.mean([row[1] for row in rows]))
        for k in ks:
            hits[k].append(np.mean(r <= k))
    out: dict[str, float] = {f"R@{k}": float(np.mean(hits[k])) for k in ks}
    out["median_rank"] = float(np.median(best))
    out["mAP"] = float(np.mean(aps))
    out["n_queries"] = len(per_query)
    return out


def retrieval_metrics(model: Any, dataset: Any, **kwargs: Any) -> dict[str, Any]:
    """EEG -> report and report -> EEG retrieval of a model on a cached corpus.

    EEG side: each recording is the L2-normalised mean of its crop embeddings.
    Text side: every segment of every report is its own item. EEG -> report ranks
    all segments for each recording; report -> EEG ranks all recordings for each
    segment (averaged per recording).

    Parameters
    ----------
    model : ELM
        A bundle with ``embed_eeg`` and ``embed_text``.
    dataset : CachedCorpus
        Cached corpus (see :func:`braindecode_elm.data.open_cache`), or an
        :class:`~braindecode_elm.evaluation.embedding.EmbeddedCorpus`.
    **kwargs
        Passed to :func:`braindecode_elm.evaluation.embedding.embed_corpus`
        (``recording_ids``, ``seconds``, ``segment_mode``, ``batch_size``, ...),
        plus ``ks``.

    Returns
    -------
    dict
        ``{"eeg_to_text": {...}, "text_to_eeg": {...}, "n_recordings": int,
        "n_segments": int, "chance_R@1": float}``.
    """
    from .embedding import EmbeddedCorpus, embed_corpus

    ks = kwargs.pop("ks", (1, 5, 10))
    emb = dataset if isinstance(dataset, EmbeddedCorpus) else None
    if emb is None:
        emb = embed_corpus(model, dataset, with_text=True, **kwargs)
    if emb.text_embeddings is None or len(emb.text_embeddings) == 0:
        raise ValueError(
            "no report segments to retrieve: the recordings have no report text"
        )
    rec_emb = emb.recording_embeddings()
    sim = rec_emb @ emb.text_embeddings.T
    ids = list(emb.ids)
    with_text = sorted(set(emb.text_groups), key=ids.index)
    keep = [ids.index(r) for r in with_text]
    e2t = retrieval_from_similarity(sim[keep], with_text, emb.text_groups, ks=ks)
    t2e = retrieval_from_similarity(sim[keep].T, emb.text_groups, with_text, ks=ks)
    return {
        "eeg_to_text": e2t,
        "text_to_eeg": t2e,
        "n_recordings": len(with_text),
        "n_segments": len(emb.text_groups),
        "chance_R@1": 1.0 / max(len(with_text), 1),
    }
