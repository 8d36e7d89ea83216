"""Metric functions of braindecode_elm.evaluation against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from braindecode_elm.evaluation import (
    PROBE_CS,
    PROMPT_SETS,
    classification_metrics,
    ensemble_class_embeddings,
    fit_probe,
    get_prompts,
    linear_probe_from_features,
    nested_label_subsets,
    probe_pipeline,
    retrieval_from_similarity,
    zero_shot_from_embeddings,
)


# ----------------------------------------------------------------- retrieval
def test_retrieval_hand_computed():
    sim = np.array([[0.1, 0.9, 0.5, 0.3], [0.8, 0.7, 0.6, 0.9]])
    # query a: relevant targets 0 (rank 4) and 1 (rank 1) -> AP = (1/1 + 2/4) / 2
    # query b: relevant target 2 at rank 4 -> AP = 1/4
    m = retrieval_from_similarity(sim, ["a", "b"], ["a", "a", "b", "c"], ks=(1, 3, 5))
    assert m["R@1"] == pytest.approx(0.5)
    assert m["R@3"] == pytest.approx(0.5)
    assert m["R@5"] == pytest.approx(1.0)
    assert m["median_rank"] == pytest.approx(2.5)
    assert m["mAP"] == pytest.approx((0.75 + 0.25) / 2)
    assert m["n_queries"] == 2


def test_retrieval_constant_similarity_scores_chance_exactly():
    sim = np.zeros((2, 4))
    m = retrieval_from_similarity(sim, ["a", "b"], ["a", "a", "b", "c"], ks=(1, 3))
    # A constant row is a random ranking. a: 2 relevant of 4 -> P(top 1) = 1/2,
    # P(top 3) = 1, E[best rank] = 5/3, E[AP] = 1/2 * sum_p (1 + (p-1)/3)/p / 1
    # over p = 1..4 = 49/72. b: 1 of 4 -> 1/4, 3/4, 5/2 and (1+1/2+1/3+1/4)/4.
    ap_a, ap_b = 49 / 72, 25 / 48
    assert m["R@1"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    assert m["R@3"] == pytest.approx((1 + 3 / 4) / 2)
    assert m["median_rank"] == pytest.approx((5 / 3 + 5 / 2) / 2)
    assert m["mAP"] == pytest.approx((ap_a + ap_b) / 2)
    for name in ("R@1", "R@3", "median_rank", "mAP"):
        assert m[name] == pytest.approx(m[f"chance_{name}"]), name


def test_retrieval_constant_similarity_is_chance_with_relevant_mask():
    # The /tmp reproduction's shape: many targets, several relevant per query;
    # a constant model used to score R@k = 0 here, the worst value, not chance.
    rng = np.random.default_rng(0)
    relevant = rng.random((24, 22)) < 0.3
    relevant[:, 0] = True
    m = retrieval_from_similarity(
        np.full(relevant.shape, 0.7),
        list(range(24)),
        list(range(22)),
        relevant=relevant,
    )
    for name in ("R@1", "R@5", "R@10", "median_rank", "mAP"):
        assert m[name] == pytest.approx(m[f"chance_{name}"], abs=1e-12), name
    assert 0.0 < m["R@1"] < 1.0


def _by_permutations(scores, relevant, ks):
    """Best rank, AP and hit@k averaged over every order of the tied items."""
    from itertools import permutations

    best, ap, hit = [], [], {k: [] for k in ks}
    for perm in permutations(range(len(scores))):
        order = np.lexsort((np.argsort(perm), -scores))
        ranks = np.flatnonzero(relevant[order]) + 1
        best.append(ranks[0])
        ap.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        for k in ks:
            hit[k].append(ranks[0] <= k)
    return np.mean(best), np.mean(ap), {k: np.mean(v) for k, v in hit.items()}


def test_retrieval_ties_are_scored_by_their_expectation():
    # Partial ties (a tied block at the top, another lower down) against the
    # average over every tie-breaking order, one query per row.
    rng = np.random.default_rng(1)
    for _ in range(40):
        scores = rng.integers(0, 3, 6).astype(float)
        relevant = rng.random(6) < 0.4
        relevant[rng.integers(6)] = True
        m = retrieval_from_similarity(
            scores[None], ["q"], list("abcdef"), ks=(1, 2, 4), relevant=relevant[None]
        )
        best, ap, hit = _by_permutations(scores, relevant, (1, 2, 4))
        assert m["median_rank"] == pytest.approx(best)
        assert m["mAP"] == pytest.approx(ap)
        for k in (1, 2, 4):
            assert m[f"R@{k}"] == pytest.approx(hit[k])
    # By hand: a relevant item tied with an irrelevant one at the top is a hit
    # at 1 half the time, at rank 1.5 on average, with AP (1 + 1/2) / 2.
    m = retrieval_from_similarity(
        np.array([[0.5, 0.5, 0.1]]), ["a"], ["a", "b", "c"], ks=(1,)
    )
    assert (m["R@1"], m["median_rank"], m["mAP"]) == pytest.approx((0.5, 1.5, 0.75))


def _pessimistic_reference(sim, relevant, ks):
    """The metrics as computed before ties were scored by expectation."""
    best, aps, hits = [], [], {k: [] for k in ks}
    for row, rel in zip(sim, relevant):
        order = np.lexsort((rel.astype(np.int8), -row))
        pos = np.empty(len(row), dtype=np.int64)
        pos[order] = np.arange(1, len(row) + 1)
        ranks = np.sort(pos[rel])
        best.append(ranks[0])
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        for k in ks:
            hits[k].append(ranks[0] <= k)
    out = {f"R@{k}": np.mean(v) for k, v in hits.items()}
    return {**out, "median_rank": np.median(best), "mAP": np.mean(aps)}


def test_retrieval_strict_orderings_score_as_before():
    rng = np.random.default_rng(2)
    sim = rng.normal(size=(30, 17))
    relevant = rng.random(sim.shape) < 0.2
    relevant[np.arange(30), rng.integers(0, 17, 30)] = True
    m = retrieval_from_similarity(
        sim, list(range(30)), list(range(17)), ks=(1, 5, 10), relevant=relevant
    )
    ref = _pessimistic_reference(sim, relevant, (1, 5, 10))
    for name, value in ref.items():
        assert m[name] == pytest.approx(value), name


def test_retrieval_groups_queries_per_recording():
    # two queries of recording a (ranks 1 and 2), one of b (rank 1)
    sim = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8]])
    m = retrieval_from_similarity(sim, ["a", "a", "b"], ["a", "b"], ks=(1,))
    assert m["R@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["median_rank"] == pytest.approx(np.median([1.5, 1.0]))
    assert m["n_queries"] == 2


def test_retrieval_perfect_and_errors():
    sim = np.eye(5)
    m = retrieval_from_similarity(sim, list("abcde"), list("abcde"))
    assert m["R@1"] == 1.0 and m["mAP"] == 1.0 and m["median_rank"] == 1.0
    with pytest.raises(ValueError, match="no relevant target"):
        retrieval_from_similarity(sim, list("abcdz"), list("abcde"))
    with pytest.raises(ValueError, match="must match"):
        retrieval_from_similarity(sim, list("abc"), list("abcde"))
    with pytest.raises(ValueError, match="NaN"):
        retrieval_from_similarity(sim * np.nan, list("abcde"), list("abcde"))


# ----------------------------------------------------------------- zero-shot
def test_prompt_ensemble_mean_of_normalised():
    c = ensemble_class_embeddings([np.array([[2.0, 0.0], [0.0, 1.0]]), [[0.0, -3.0]]])
    s = np.sqrt(0.5)
    np.testing.assert_allclose(c, [[s, s], [0.0, -1.0]], atol=1e-12)


def test_zero_shot_scores_averaged_per_recording():
    cls = np.array([[np.sqrt(0.5), np.sqrt(0.5)], [0.0, -1.0]])
    eeg = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, -5.0]])
    scores, order = zero_shot_from_embeddings(eeg, cls, ["r1", "r1", "r2"])
    assert order == ["r1", "r2"]
    s = np.sqrt(0.5)
    np.testing.assert_allclose(scores, [[s, -0.5], [-s, 1.0]], atol=1e-12)
    scores_t, _ = zero_shot_from_embeddings(
        eeg, cls, ["r1", "r1", "r2"], temperature=0.5
    )
    np.testing.assert_allclose(scores_t, scores / 0.5)


def test_classification_metrics_binary_hand():
    y = [0, 0, 1, 1]
    scores = np.array([[0.0, 0.1], [0.0, 0.4], [0.0, 0.35], [0.0, 0.8]])
    m = classification_metrics(y, scores)
    # positives 0.35 (beats 0.1 only) and 0.8 (beats both): 3 of 4 pairs
    assert m["auroc"] == pytest.approx(0.75)
    # every prediction is class 1 -> recall 0 and 1 -> balanced accuracy 0.5
    assert m["balanced_accuracy"] == pytest.approx(0.5)


def test_classification_metrics_multiclass_macro_ovr():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 5)
    scores = rng.normal(size=(15, 3)) + np.eye(3)[y]
    m = classification_metrics(y, scores)
    p = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
    perfect = classification_metrics(y, np.eye(3)[y] * 10)
    assert perfect["auroc"] == 1.0 and perfect["balanced_accuracy"] == 1.0


def test_prompt_sets_have_several_phrasings():
    assert {"normal_abnormal", "slowing", "epileptiform", "rest_task"} <= set(
        PROMPT_SETS
    )
    for classes in PROMPT_SETS.values():
        assert len(classes) >= 2
        for prompts in classes.values():
            assert len(prompts) >= 3 and len(set(prompts)) == len(prompts)
    p = get_prompts("rest_task")
    p["rest"].append("x")
    assert "x" not in PROMPT_SETS["rest_task"]["rest"]
    with pytest.raises(KeyError, match="available"):
        get_prompts("nope")


# ----------------------------------------------------------------- probe
def test_probe_pipeline_is_elm_protocol():
    pipe = probe_pipeline(0.5)
    names = [type(s).__name__ for _, s in pipe.steps]
    assert names == [
        "SimpleImputer",
        "VarianceThreshold",
        "StandardScaler",
        "LogisticRegression",
    ]
    assert pipe.steps[0][1].strategy == "median"
    lr = pipe.steps[-1][1]
    assert lr.class_weight == "balanced" and lr.max_iter == 2000 and lr.C == 0.5
    assert len(PROBE_CS) == 45
    assert PROBE_CS[0] == pytest.approx(1e-6) and PROBE_CS[-1] == pytest.approx(1e5)


def test_nested_label_subsets_stratified_and_nested():
    y = np.array([0] * 200 + [1] * 50)
    subs = nested_label_subsets(y, [0.01, 0.1, 1.0], seed=3)
    assert np.bincount(y[subs[0.01]]).tolist() == [2, 1]  # round(0.5) -> at least 1
    assert np.bincount(y[subs[0.1]]).tolist() == [20, 5]
    assert len(subs[1.0]) == 250
    assert set(subs[0.01]) <= set(subs[0.1]) <= set(subs[1.0])
    again = nested_label_subsets(y, [0.1], seed=3)
    np.testing.assert_array_equal(again[0.1], subs[0.1])
    other = nested_label_subsets(y, [0.1], seed=4)
    assert not np.array_equal(other[0.1], subs[0.1])
    with pytest.raises(ValueError, match="fractions"):
        nested_label_subsets(y, [0.0], seed=0)


def _blobs(n, d=6, shift=1.5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, d))
    X[:, 0] += shift * (2 * y - 1)
    X[:, 1] = 3.0  # constant column: removed by VarianceThreshold
    X[rng.random(X.shape) < 0.02] = np.nan  # missing values: median imputer
    return X, y


def test_fit_probe_selects_best_validation_c():
    from sklearn.metrics import balanced_accuracy_score

    Xtr, ytr = _blobs(40, seed=1)
    Xva, yva = _blobs(40, seed=2)
    grid = np.logspace(-6, 5, 9)
    pipe, C, score = fit_probe(Xtr, ytr, Xva, yva, Cs=grid)
    brute = []
    for c in grid:
        p = probe_pipeline(c).fit(Xtr, ytr)
        brute.append(balanced_accuracy_score(yva, p.predict(Xva)))
    assert C == pytest.approx(grid[int(np.argmax(brute))])
    assert score == pytest.approx(max(brute))
    assert pipe.steps[-1][1].C == C


def test_linear_probe_protocol_runs_and_summarises():
    Xtr, ytr = _blobs(200, seed=1)
    Xva, yva = _blobs(60, seed=2)
    Xte, yte = _blobs(100, seed=3)
    grid = np.logspace(-3, 2, 6)
    out = linear_probe_from_features(
        Xtr, ytr, Xva, yva, Xte, yte, fractions=(0.1, 1.0), seeds=3, Cs=grid
    )
    assert len(out["runs"]) == 6
    assert {r["n_train"] for r in out["runs"] if r["fraction"] == 0.1} == {20}
    s = out["summary"]
    for f in (0.1, 1.0):
        vals = [r["balanced_accuracy"] for r in out["runs"] if r["fraction"] == f]
        assert s[f]["balanced_accuracy_mean"] == pytest.approx(np.mean(vals))
        assert s[f]["balanced_accuracy_std"] == pytest.approx(np.std(vals))
    # blobs shifted by 3 sigma: full-label probe must be accurate, far above 0.5
    assert s[1.0]["balanced_accuracy_mean"] > 0.85
    assert s[1.0]["auroc_mean"] > 0.9


# ------------------------------------------------- retrieval with repeated texts
def _dup_corpus(aligned: bool):
    """4 recordings, 2 captions used twice each: r0/r2 "rest", r1/r3 "task".

    EEG of a "rest" recording points along e0, of a "task" one along e1 (or the
    other way round when not ``aligned``); the caption embeddings are e0 / e1.
    """
    from braindecode_elm.evaluation import EmbeddedCorpus

    e = np.eye(3)
    cap = {"rest": e[0], "task": e[1]}
    ids = ["r0", "r1", "r2", "r3"]
    state = ["rest", "task", "rest", "task"]
    eeg = [cap[s] if aligned else cap["task" if s == "rest" else "rest"] for s in state]
    # Small per-recording offsets so no two recordings tie exactly.
    crops = np.stack([v + 0.01 * (i + 1) * e[2] for i, v in enumerate(eeg)])
    return EmbeddedCorpus(
        ids=ids,
        crop_embeddings=crops / np.linalg.norm(crops, axis=1, keepdims=True),
        crop_groups=ids,
        text_embeddings=np.stack([cap[s] for s in state]),
        text_groups=ids,
        texts=state,
    )


def test_retrieval_identical_texts_are_positives():
    from braindecode_elm.evaluation import retrieval_metrics

    res = retrieval_metrics(None, _dup_corpus(aligned=True))
    assert res["positives"] == "text" and "caption identity" in res["positives_rule"]
    assert res["n_recordings"] == 4 and res["n_segments"] == 4
    assert res["n_distinct_texts"] == 2
    e2t, t2e = res["eeg_to_text"], res["text_to_eeg"]
    # Every recording's closest text is its caption: all hits.
    assert e2t["R@1"] == 1.0 and e2t["mAP"] == 1.0
    # 1 right text of 2 distinct ones: chance R@1 = 1/2; 2 right recordings of
    # 4 for a caption query: 1/2 too; R@2 of 2 of 4: 1 - (2/4)(1/3) = 5/6.
    assert e2t["chance_R@1"] == pytest.approx(0.5)
    assert e2t["chance_R@5"] == pytest.approx(1.0)
    assert res["chance_R@1"] == pytest.approx(0.5)
    assert t2e["R@1"] == 1.0 and t2e["chance_R@1"] == pytest.approx(0.5)
    # Under the own-recording rule, the two copies of a caption tie (one is the
    # recording's own): top 1 half the time, whatever tie order is chosen. The
    # old pessimistic tie break printed R@1 = 0 next to a non-zero chance.
    own = retrieval_metrics(None, _dup_corpus(aligned=True), positives="recording")
    assert own["eeg_to_text"]["R@1"] == pytest.approx(0.5)
    assert own["n_texts_left_out"] == 0
    assert own["eeg_to_text"]["chance_R@1"] == pytest.approx(0.25)
    # Crossed captions: every recording's closest text is the wrong one.
    bad = retrieval_metrics(None, _dup_corpus(aligned=False))
    assert bad["eeg_to_text"]["R@1"] == 0.0 and bad["text_to_eeg"]["R@1"] == 0.0
    with pytest.raises(ValueError, match="positives must be one of"):
        retrieval_metrics(None, _dup_corpus(aligned=True), positives="subject")


def test_retrieval_relevant_mask_and_chance_by_hand():
    sim = np.array([[0.9, 0.8, 0.1, 0.2], [0.1, 0.2, 0.9, 0.3]])
    relevant = np.array([[False, True, False, True], [True, False, False, False]])
    m = retrieval_from_similarity(
        sim, ["a", "b"], ["x", "y", "z", "w"], ks=(1, 2), relevant=relevant
    )
    # a: best relevant (col 1) at rank 2; b: col 0 at rank 4.
    assert m["R@1"] == 0.0 and m["R@2"] == pytest.approx(0.5)
    # a: 2 of 4 relevant -> chance@1 1/2, @2 1 - (2/4)(1/3) = 5/6;
    # b: 1 of 4 -> 1/4 and 1/2.
    assert m["chance_R@1"] == pytest.approx((0.5 + 0.25) / 2)
    assert m["chance_R@2"] == pytest.approx((5 / 6 + 0.5) / 2)
    with pytest.raises(ValueError, match="relevant has shape"):
        retrieval_from_similarity(sim, ["a", "b"], list("xyzw"), relevant=relevant.T)


# ------------------------------------------- retrieval with boilerplate texts
def test_retrieval_leaves_out_texts_every_report_holds():
    from eval_helpers import boilerplate_corpus

    from braindecode_elm.evaluation import retrieval_metrics

    # A model blind to the EEG, pointing at the line every report holds: with
    # that line counted it scored R@1 = 1 (the line is a right answer for
    # every recording). Left out, the two captions tie: exactly chance.
    blind = retrieval_metrics(None, boilerplate_corpus("blind"))
    assert blind["n_texts_left_out"] == 1
    assert blind["texts_left_out"] == ["MEDICATIONS: None."]
    assert blind["n_segments_left_out"] == 6
    assert blind["n_segments"] == 12 and blind["n_distinct_texts"] == 3
    e2t, t2e = blind["eeg_to_text"], blind["text_to_eeg"]
    assert e2t["R@1"] == pytest.approx(0.5) == e2t["chance_R@1"]
    assert e2t["mAP"] == pytest.approx(e2t["chance_mAP"])
    assert t2e["R@1"] == pytest.approx(t2e["chance_R@1"])
    assert e2t["n_queries"] == t2e["n_queries"] == 6
    # A model that tells the states apart still ranks its caption first, above
    # the text-frequency baseline (the two captions are equally common).
    state = retrieval_metrics(None, boilerplate_corpus("state"))
    e2t, t2e = state["eeg_to_text"], state["text_to_eeg"]
    assert e2t["R@1"] == 1.0 and e2t["mAP"] == 1.0 and t2e["R@1"] == 1.0
    assert e2t["text_frequency_R@1"] == pytest.approx(0.5)
    assert state["text_frequency_R@1"] == e2t["text_frequency_R@1"]
    # A report holding only the boilerplate leaves its recording no right
    # answer: it is not an EEG -> report query (nor a report -> EEG one).
    lone = retrieval_metrics(None, boilerplate_corpus("state", lone=True))
    assert lone["n_recordings"] == 7 and lone["n_segments_left_out"] == 7
    assert lone["eeg_to_text"]["n_queries"] == lone["text_to_eeg"]["n_queries"] == 6
    # Under the own-recording rule, a copy is relevant to its recording only.
    own = retrieval_metrics(None, boilerplate_corpus("blind"), positives="recording")
    assert own["n_texts_left_out"] == 0 and own["texts_left_out"] == []
    assert own["eeg_to_text"]["R@1"] == pytest.approx(own["eeg_to_text"]["chance_R@1"])


def _common_text_corpus():
    """ "Normal EEG." in 5 of 6 reports, one note per report; EEG-blind model
    whose every crop points at "Normal EEG."."""
    from braindecode_elm.evaluation import EmbeddedCorpus

    ids = [f"r{i}" for i in range(6)]
    texts, groups = [], []
    for i, rid in enumerate(ids):
        texts += ["Normal EEG." if i < 5 else "Abnormal EEG.", f"note {i}"]
        groups += [rid, rid]
    basis = {t: v for t, v in zip(dict.fromkeys(texts), np.eye(8))}
    return EmbeddedCorpus(
        ids=ids,
        crop_embeddings=np.tile(basis["Normal EEG."], (6, 1)),
        crop_groups=ids,
        text_embeddings=np.stack([basis[t] for t in texts]),
        text_groups=groups,
        texts=texts,
    )


def test_retrieval_text_frequency_baseline_matches_an_eeg_blind_model():
    from braindecode_elm.evaluation import retrieval_metrics

    res = retrieval_metrics(None, _common_text_corpus(), ks=(1, 2))
    e2t = res["eeg_to_text"]
    # Held by 5 of 6 reports, "Normal EEG." still tells r5 apart: kept.
    assert res["n_texts_left_out"] == 0
    # Ranking it first is right for 5 of 6 recordings without any EEG, far
    # above chance; the baseline ranks texts by report count and gets the same.
    assert e2t["R@1"] == pytest.approx(5 / 6)
    assert e2t["text_frequency_R@1"] == pytest.approx(5 / 6)
    assert e2t["chance_R@1"] < 0.4
    # R@2: r0-r4 already hit; r5's two texts are 2 of the 7 tied below the top
    # one, so one of them is second with probability 2/7.
    assert e2t["text_frequency_R@2"] == pytest.approx((5 + 2 / 7) / 6)
    # Without 1 among ks, the top-level summary is still computed.
    res = retrieval_metrics(None, _common_text_corpus(), ks=(2,))
    assert "R@1" not in res["eeg_to_text"] and "R@2" in res["eeg_to_text"]
    assert res["text_frequency_R@1"] == pytest.approx(5 / 6)
    assert "text_frequency_R@1" not in res["eeg_to_text"]


def test_retrieval_refuses_reports_that_share_every_text():
    from braindecode_elm.evaluation import EmbeddedCorpus, retrieval_metrics

    same = EmbeddedCorpus(
        ids=["r0", "r1"],
        crop_embeddings=np.eye(2),
        crop_groups=["r0", "r1"],
        text_embeddings=np.vstack([np.eye(2), np.eye(2)]),
        text_groups=["r0", "r0", "r1", "r1"],
        texts=["a", "b", "a", "b"],
    )
    with pytest.raises(ValueError, match="no text tells the recordings apart"):
        retrieval_metrics(None, same)
    own = retrieval_metrics(None, same, positives="recording")
    assert own["eeg_to_text"]["R@1"] == pytest.approx(0.5)


# ----------------------------------------------- zero-shot labels by class name
def test_labels_to_indices_by_name_and_map():
    from braindecode_elm.evaluation import labels_to_indices

    names = ["task", "rest"]
    assert labels_to_indices(["rest", "task", "rest"], names).tolist() == [1, 0, 1]
    # The same labels against the other key order give the same classes.
    swapped = labels_to_indices(["rest", "task", "rest"], names[::-1])
    assert [names[::-1][i] for i in swapped] == ["rest", "task", "rest"]
    # Integers only through a map (values compared by value: 1, 1.0, "1").
    assert labels_to_indices([0, 1.0, "1"], names, {0: "rest", 1: "task"}).tolist() == [
        1,
        0,
        0,
    ]
    assert labels_to_indices([0, 1], names, "0=rest,1=task").tolist() == [1, 0]
    assert labels_to_indices([True, False], names, "true=task,false=rest").tolist() == [
        0,
        1,
    ]
    with pytest.raises(ValueError, match=r"--label-map 0=CLASS,1=CLASS with CLASS"):
        labels_to_indices([0, 1, 1], names)
    with pytest.raises(ValueError, match="not one of the prompt classes"):
        labels_to_indices([0], names, {0: "arithmetic"})
    with pytest.raises(ValueError, match="label 2 is not in the label map"):
        labels_to_indices([0, 2], names, {0: "rest", 1: "task"})
    with pytest.raises(ValueError, match="is not VALUE=CLASS"):
        labels_to_indices([0], names, "0:rest")
