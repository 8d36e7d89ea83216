"""Cross-modal retrieval metrics at recording level.

The text bank holds every segment of every test report; a recording is retrieved
when *any* of its segments (or, for report -> EEG, its EEG) is. Positives go by
caption identity by default: a text segment belongs to every recording whose
report holds that exact text, so corpora with shared captions (eegmat's "rest" /
"arithmetic" captions, the same impression line in many reports) are scored
against the texts a model can tell apart, and chance is computed with the same
positives. Ties in the similarity are broken pessimistically (an irrelevant item
with the same score ranks first) so a constant, untrained model never looks good.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["retrieval_from_similarity", "retrieval_metrics", "POSITIVES"]

#: What counts as a relevant item, per ``positives`` value (printed with results).
POSITIVES = {
    "text": "positives by caption identity: a recording matches every text "
    "identical to one of its report's segments (EEG->text ranks distinct texts)",
    "recording": "positives by recording: a recording matches its own report's "
    "segments only",
}


def _ranks_one(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based ranks of the relevant items, irrelevant first on ties."""
    # lexsort sorts by the last key first: score descending, then irrelevant first.
    order = np.lexsort((relevant.astype(np.int8), -scores))
    positions = np.empty(len(scores), dtype=np.int64)
    positions[order] = np.arange(1, len(scores) + 1)
    return np.sort(positions[relevant])


def _chance_hit(n: int, r: int, k: int) -> float:
    """P(at least one of ``r`` relevant among ``n`` items is in a random top ``k``)."""
    if r <= 0:
        return 0.0
    miss = 1.0
    for i in range(min(k, n)):
        if n - r - i <= 0:
            return 1.0
        miss *= (n - r - i) / (n - i)
    return 1.0 - miss


def retrieval_from_similarity(
    sim: np.ndarray,
    query_groups: Sequence[Any],
    target_groups: Sequence[Any],
    *,
    ks: Sequence[int] = (1, 5, 10),
    relevant: np.ndarray | None = None,
) -> dict[str, float]:
    """Recording-level retrieval metrics from a similarity matrix.

    Each query row ranks all target columns by similarity. The targets relevant to a
    query are those of the same group (recording), or those marked in ``relevant``
    (e.g. every identical text). A query counts as a hit at ``k``
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
    relevant : numpy.ndarray | None
        (n_queries, n_targets) bool: which targets are relevant to each query
        (default: same group). Queries are still averaged per query group.

    Returns
    -------
    dict
        ``R@k`` for each k (fraction in [0, 1]), ``chance_R@k`` (the expected
        ``R@k`` of a random ranking with the same relevant items, averaged the
        same way), ``median_rank`` (median over groups of the mean best rank),
        ``mAP`` and ``n_queries`` (number of query groups).
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
    if relevant is not None:
        relevant = np.asarray(relevant, dtype=bool)
        if relevant.shape != sim.shape:
            raise ValueError(
                f"relevant has shape {relevant.shape}; it must match sim's {sim.shape}"
            )
    n_targets = sim.shape[1]
    per_query: dict[Any, list[tuple[int, float, int]]] = {}
    for i in range(sim.shape[0]):
        rel = tg == qg[i] if relevant is None else relevant[i]
        if not rel.any():
            raise ValueError(
                f"query {i} (group {qg[i]!r}) has no relevant target; every query "
                "group must appear among the targets"
            )
        ranks = _ranks_one(sim[i], rel)
        ap = float(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        per_query.setdefault(qg[i], []).append((int(ranks[0]), ap, len(ranks)))
    best = []
    aps = []
    hits: dict[int, list[float]] = {k: [] for k in ks}
    chance: dict[int, list[float]] = {k: [] for k in ks}
    for rows in per_query.values():
        r = np.array([row[0] for row in rows], dtype=np.float64)
        best.append(r.mean())
        aps.append(np.mean([row[1] for row in rows]))
        for k in ks:
            hits[k].append(np.mean(r <= k))
            chance[k].append(
                np.mean([_chance_hit(n_targets, row[2], k) for row in rows])
            )
    out: dict[str, float] = {f"R@{k}": float(np.mean(hits[k])) for k in ks}
    out.update({f"chance_R@{k}": float(np.mean(chance[k])) for k in ks})
    out["median_rank"] = float(np.median(best))
    out["mAP"] = float(np.mean(aps))
    out["n_queries"] = len(per_query)
    return out


def _text_relevance(
    rec_ids: Sequence[str], text_groups: Sequence[str], texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which distinct texts each recording's report holds.

    Returns
    -------
    has : numpy.ndarray
        (n_recordings, n_distinct_texts) bool.
    uid : numpy.ndarray
        Distinct-text index of every segment.
    first : numpy.ndarray
        Segment index of the first occurrence of every distinct text.
    """
    uid_of: dict[str, int] = {}
    uid = np.array([uid_of.setdefault(t, len(uid_of)) for t in texts], dtype=np.int64)
    first = np.array([texts.index(t) for t in uid_of], dtype=np.int64)
    row = {r: i for i, r in enumerate(rec_ids)}
    has = np.zeros((len(rec_ids), len(uid_of)), dtype=bool)
    for g, u in zip(text_groups, uid):
        if g in row:
            has[row[g], u] = True
    return has, uid, first


def retrieval_metrics(
    model: Any, dataset: Any, *, positives: str = "text", **kwargs: Any
) -> dict[str, Any]:
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
    positives : {"text", "recording"}
        ``"text"`` (caption identity, the rule ELM-MIL trains with): a text is
        relevant to every recording whose report holds the identical text, so
        two recordings with the same caption are both right answers; EEG ->
        report then ranks the *distinct* texts (copies of one text are one
        item). ``"recording"``: only the recording's own segments, every
        segment its own item. With distinct reports the two agree.
    **kwargs
        Passed to :func:`braindecode_elm.evaluation.embedding.embed_corpus`
        (``recording_ids``, ``seconds``, ``segment_mode``, ``batch_size``, ...),
        plus ``ks``.

    Returns
    -------
    dict
        ``{"eeg_to_text": {...}, "text_to_eeg": {...}, "n_recordings": int,
        "n_segments": int, "n_distinct_texts": int, "positives": str,
        "positives_rule": str, "chance_R@1": float}``. Each direction holds
        ``R@k``, ``chance_R@k`` (expected under a random ranking with the same
        positives), ``median_rank`` and ``mAP``; the top-level ``chance_R@1``
        is EEG -> report's.
    """
    from .embedding import EmbeddedCorpus, embed_corpus

    if positives not in POSITIVES:
        raise ValueError(
            f"positives must be one of {sorted(POSITIVES)}, got {positives!r}"
        )
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
    rec_sim = sim[keep]
    if positives == "text":
        has, uid, first = _text_relevance(with_text, emb.text_groups, list(emb.texts))
        # EEG -> text ranks every distinct text once: copies of one text have the
        # same embedding, so they could only tie with each other and crowd the
        # top k; chance is then exact for a random ranking of distinct texts.
        e2t_args = (
            rec_sim[:, first],
            with_text,
            [f"text{u}" for u in range(len(first))],
        )
        e2t_rel: np.ndarray | None = has
        t2e_rel: np.ndarray | None = has[:, uid].T
    else:
        e2t_args = (rec_sim, with_text, list(emb.text_groups))
        e2t_rel = t2e_rel = None
    e2t = retrieval_from_similarity(*e2t_args, ks=ks, relevant=e2t_rel)
    t2e = retrieval_from_similarity(
        rec_sim.T, emb.text_groups, with_text, ks=ks, relevant=t2e_rel
    )
    return {
        "eeg_to_text": e2t,
        "text_to_eeg": t2e,
        "n_recordings": len(with_text),
        "n_segments": len(emb.text_groups),
        "n_distinct_texts": len(set(emb.texts)),
        "positives": positives,
        "positives_rule": POSITIVES[positives],
        "chance_R@1": (
            e2t["chance_R@1"]
            if 1 in ks
            else retrieval_from_similarity(*e2t_args, ks=(1,), relevant=e2t_rel)[
                "chance_R@1"
            ]
        ),
    }
