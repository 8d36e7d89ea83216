"""Cross-modal retrieval metrics at recording level.

The text bank holds every segment of every test report; a recording is retrieved
when *any* of its segments (or, for report -> EEG, its EEG) is. Positives go by
caption identity by default: a text segment belongs to every recording whose
report holds that exact text, so corpora with shared captions (eegmat's "rest" /
"arithmetic" captions, the same impression line in many reports) are scored
against the texts a model can tell apart, and chance is computed with the same
positives. A text held by every report (boilerplate such as "MEDICATIONS: None.")
is a right answer for every recording, so it is left out and counted; a
text-frequency baseline (texts ranked by how many reports hold them, no EEG)
is reported beside chance. Ties in the similarity are scored by their
expectation under a random order, so a constant, untrained model scores exactly
chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["retrieval_from_similarity", "retrieval_metrics", "POSITIVES"]

#: What counts as a relevant item, per ``positives`` value (printed with results).
POSITIVES = {
    "text": "positives by caption identity: a recording matches every text "
    "identical to one of its report's segments (EEG->text ranks distinct texts; "
    "texts in every report are left out)",
    "recording": "positives by recording: a recording matches its own report's "
    "segments only",
}


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


def _expected_ap(a: np.ndarray, m: np.ndarray, r: np.ndarray, c: np.ndarray) -> float:
    """Sum of the expected precisions at the relevant items of tie groups.

    A tie group has ``a`` items ranked above it (``c`` of them relevant) and ``m``
    items, ``r`` of them relevant, in uniformly random order. A relevant item at
    position ``p`` in the group sits at rank ``a + p`` with, on average,
    ``(p - 1)(r - 1) / (m - 1)`` of the group's other relevant items before it;
    its position is uniform over ``1..m`` (McSherry & Najork, ECIR 2008).
    """
    m = np.asarray(m, dtype=np.int64)
    # One entry per position of every group (vectorised: a query may have
    # hundreds of relevant items, a corpus tens of thousands of queries).
    group = np.repeat(np.arange(len(m)), m)
    p = np.arange(len(group)) - np.repeat(np.cumsum(m) - m, m) + 1.0
    m_p, r_p = m[group], np.asarray(r, dtype=np.float64)[group]
    before = (p - 1) * (r_p - 1) / np.maximum(m_p - 1, 1)
    precision = (np.asarray(c)[group] + 1 + before) / (np.asarray(a)[group] + p)
    return float(np.sum(r_p / m_p * precision))


def _score_query(
    scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int]
) -> tuple[float, float, dict[int, float]]:
    """Expected best rank, average precision and hit@k under random tie-breaking.

    Items with exactly equal scores are put in uniformly random order and every
    figure is its expectation over those orders, computed in closed form. With no
    ties this is the plain ranking; a constant score row is one tie group, i.e.
    a random ranking, so it scores exactly the chance values.
    """
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    rel = relevant[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, len(s)])
    rel_in = np.add.reduceat(rel, starts)
    rel_above = np.cumsum(rel_in) - rel_in
    # The best relevant item is in the first group holding one: after the
    # ``a0`` items above, the first of ``r0`` relevant among ``m0`` shuffled ones.
    g0 = int(np.flatnonzero(rel_in)[0])
    a0, m0, r0 = int(starts[g0]), int(sizes[g0]), int(rel_in[g0])
    best = a0 + (m0 + 1) / (r0 + 1)
    hit = {k: _chance_hit(m0, r0, k - a0) for k in ks}
    g = rel_in > 0
    ap = _expected_ap(starts[g], sizes[g], rel_in[g], rel_above[g]) / rel.sum()
    return best, ap, hit


# Many queries share (n_targets, n_relevant): the O(n) sum is done once for each.
@lru_cache(maxsize=4096)
def _chance_query(n: int, r: int, ks: tuple[int, ...]) -> tuple[float, float, dict]:
    """:func:`_score_query` of a constant score row: a random ranking's values."""
    ap = _expected_ap(np.zeros(1), np.array([n]), np.array([r]), np.zeros(1)) / r
    return (n + 1) / (r + 1), ap, {k: _chance_hit(n, r, k) for k in ks}


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

    Targets with exactly equal similarity are scored by the expectation over a
    uniformly random order among them (hit@k becomes a probability, the rank and
    average precision their expected values). Strict orderings are scored as
    usual, and a constant similarity (no information) scores exactly the
    ``chance_*`` values.

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
        ``R@k`` for each k (fraction in [0, 1]), ``median_rank`` (median over
        groups of the mean best rank), ``mAP``, their values for a random
        ranking with the same relevant items, averaged the same way
        (``chance_R@k``, ``chance_median_rank``, ``chance_mAP``), and
        ``n_queries`` (number of query groups).
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
    ks = tuple(ks)
    n_targets = sim.shape[1]
    # Per query group: (best rank, AP, hits) of the model and of a random ranking.
    per_query: dict[Any, list[tuple[tuple, tuple]]] = {}
    for i in range(sim.shape[0]):
        rel = tg == qg[i] if relevant is None else relevant[i]
        n_rel = int(rel.sum())
        if not n_rel:
            raise ValueError(
                f"query {i} (group {qg[i]!r}) has no relevant target; every query "
                "group must appear among the targets"
            )
        per_query.setdefault(qg[i], []).append(
            (_score_query(sim[i], rel, ks), _chance_query(n_targets, n_rel, ks))
        )
    out: dict[str, float] = {}
    for prefix, which in (("", 0), ("chance_", 1)):
        rows = [[q[which] for q in group] for group in per_query.values()]
        for k in ks:
            out[f"{prefix}R@{k}"] = float(
                np.mean([np.mean([q[2][k] for q in g]) for g in rows])
            )
        out[f"{prefix}median_rank"] = float(
            np.median([np.mean([q[0] for q in g]) for g in rows])
        )
        out[f"{prefix}mAP"] = float(np.mean([np.mean([q[1] for q in g]) for g in rows]))
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
    # Ids are numbered in order of first occurrence (linear, not texts.index).
    first = np.unique(uid, return_index=True)[1].astype(np.int64)
    row = {r: i for i, r in enumerate(rec_ids)}
    has = np.zeros((len(rec_ids), len(uid_of)), dtype=bool)
    for g, u in zip(text_groups, uid):
        if g in row:
            has[row[g], u] = True
    return has, uid, first


def _prefixed(
    prefix: str, metrics: dict[str, float], ks: Sequence[int]
) -> dict[str, float]:
    """``R@k``, ``median_rank`` and ``mAP`` of ``metrics``, renamed ``prefix...``."""
    names = [f"R@{k}" for k in ks] + ["median_rank", "mAP"]
    return {f"{prefix}{name}": metrics[name] for name in names}


def retrieval_metrics(
    model: Any, dataset: Any, *, positives: str = "text", **kwargs: Any
) -> dict[str, Any]:
    """EEG -> report and report -> EEG retrieval of a model on a cached corpus.

    EEG side: each recording is the L2-normalised mean of its crop embeddings.
    Text side: every segment of every report is its own item. EEG -> report ranks
    all segments for each recording; report -> EEG ranks all recordings for each
    segment (averaged per recording).

    With ``positives="text"``, a text that every recording's report holds (a
    "MEDICATIONS: None." line, a fixed header) is a right answer for every
    recording whatever the EEG, so it is left out of both directions and
    counted in ``n_texts_left_out``. Texts held by many but not all reports are
    kept (their absence still tells recordings apart); to see how far they
    alone carry EEG -> report, compare with the ``text_frequency_*`` baseline,
    which ranks texts by how many reports hold them and ignores the EEG.

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
        item), and texts held by every report are left out (see above).
        ``"recording"``: only the recording's own segments, every segment its
        own item, none left out. With distinct reports the two agree.
    **kwargs
        Passed to :func:`braindecode_elm.evaluation.embedding.embed_corpus`
        (``recording_ids``, ``seconds``, ``segment_mode``, ``batch_size``, ...),
        plus ``ks``.

    Returns
    -------
    dict
        ``{"eeg_to_text": {...}, "text_to_eeg": {...}, "n_recordings": int,
        "n_segments": int, "n_distinct_texts": int, "n_texts_left_out": int,
        "n_segments_left_out": int, "texts_left_out": list, "positives": str,
        "positives_rule": str, "chance_R@1": float, "text_frequency_R@1":
        float}``. Each direction holds ``R@k``, ``median_rank`` and ``mAP``,
        their ``chance_*`` values (a random ranking with the same positives)
        and ``n_queries`` (recordings scored); EEG -> report also holds the
        ``text_frequency_*`` values. ``n_segments`` and ``n_distinct_texts``
        count every text, left out or not. The top-level ``chance_R@1`` and
        ``text_frequency_R@1`` are EEG -> report's.

    Raises
    ------
    ValueError
        If no report text is left to score: every text is held by every
        recording's report (e.g. a single recording).
    """
    from .embedding import EmbeddedCorpus, embed_corpus

    if positives not in POSITIVES:
        raise ValueError(
            f"positives must be one of {sorted(POSITIVES)}, got {positives!r}"
        )
    ks = tuple(kwargs.pop("ks", (1, 5, 10)))
    # R@1 is always computed: the top-level summary reports it.
    all_ks = ks if 1 in ks else (1, *ks)
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
    position = {r: i for i, r in enumerate(ids)}
    with_text = sorted(set(emb.text_groups), key=position.__getitem__)
    keep = [position[r] for r in with_text]
    rec_sim = sim[keep]
    texts = list(emb.texts)
    groups = np.asarray(emb.text_groups, dtype=object)
    has, uid, first = _text_relevance(with_text, emb.text_groups, texts)
    # How many reports hold each distinct text: the EEG-blind baseline's score.
    n_holding = has.sum(axis=0).astype(np.float64)
    shared = np.zeros(len(first), dtype=bool)
    if positives == "text":
        # A text in every report is relevant to every recording: any model that
        # ranks it first would score R@1 = 1 without looking at the EEG.
        shared = has.all(axis=0)
        if shared.all():
            raise ValueError(
                f"every report text is held by all {len(with_text)} recordings' "
                "reports, so no text tells the recordings apart and retrieval "
                "cannot be scored; evaluate on recordings with different "
                "reports, or use positives='recording' (elm retrieve "
                "--positives recording) to count only a recording's own segments"
            )
        informative = np.flatnonzero(~shared)
        # Recordings whose report holds only shared texts have no right answer.
        queries = np.flatnonzero(has[:, informative].any(axis=1))
        e2t_sim = rec_sim[np.ix_(queries, first[informative])]
        e2t_groups = [with_text[q] for q in queries]
        # EEG -> text ranks every distinct text once: copies of one text have the
        # same embedding, so they could only tie with each other and crowd the
        # top k; chance is then exact for a random ranking of distinct texts.
        e2t_targets: list[Any] = [f"text{u}" for u in informative]
        e2t_rel: np.ndarray | None = has[np.ix_(queries, informative)]
        e2t_prior = n_holding[informative]
        seg = ~shared[uid]
        t2e_rel: np.ndarray | None = has[:, uid[seg]].T
    else:
        e2t_sim, e2t_groups = rec_sim, with_text
        e2t_targets = list(groups)
        e2t_rel = t2e_rel = None
        e2t_prior = n_holding[uid]
        seg = np.ones(len(texts), dtype=bool)
    e2t = retrieval_from_similarity(
        e2t_sim, e2t_groups, e2t_targets, ks=all_ks, relevant=e2t_rel
    )
    # The same ranking for every recording: texts by how many reports hold them.
    prior = retrieval_from_similarity(
        np.tile(e2t_prior, (len(e2t_groups), 1)),
        e2t_groups,
        e2t_targets,
        ks=all_ks,
        relevant=e2t_rel,
    )
    t2e = retrieval_from_similarity(
        rec_sim[:, seg].T, groups[seg], with_text, ks=all_ks, relevant=t2e_rel
    )
    summary = {"chance_R@1": e2t["chance_R@1"], "text_frequency_R@1": prior["R@1"]}
    if 1 not in ks:
        for metrics in (e2t, prior, t2e):
            for name in ("R@1", "chance_R@1"):
                metrics.pop(name)
    e2t.update(_prefixed("text_frequency_", prior, ks))
    left_out = [texts[f] for f in first[shared]]
    return {
        "eeg_to_text": e2t,
        "text_to_eeg": t2e,
        "n_recordings": len(with_text),
        "n_segments": len(emb.text_groups),
        "n_distinct_texts": len(first),
        "n_texts_left_out": len(left_out),
        "n_segments_left_out": int((~seg).sum()),
        "texts_left_out": left_out,
        "positives": positives,
        "positives_rule": POSITIVES[positives],
        **summary,
    }
