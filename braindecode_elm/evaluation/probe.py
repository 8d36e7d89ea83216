"""The ELM linear-probe protocol on frozen embeddings.

median imputer -> VarianceThreshold -> StandardScaler ->
``LogisticRegression(class_weight="balanced", max_iter=2000)``; C chosen on
``logspace(-6, 5, 45)`` by balanced accuracy over a predefined validation split;
label fractions 1 %, 10 %, 100 % (stratified and nested across fractions), 5 seeds,
mean +- std of balanced accuracy and AUROC.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "PROBE_CS",
    "SingleClassSplit",
    "probe_pipeline",
    "nested_label_subsets",
    "fit_probe",
    "linear_probe_from_features",
    "linear_probe",
]


class SingleClassSplit(ValueError):
    """A split of the probe holds one class (``split``: its name).

    The message says how ``elm probe`` and :func:`linear_probe` change the
    split; a caller with other controls (``elm benchmark``) words its own.
    """

    def __init__(self, split: str) -> None:
        super().__init__(
            f"the {split} split holds a single class; the probe needs every "
            "split to contain at least two classes: use more subjects, or a "
            "larger share for that split (elm probe --val-size / --test-size; "
            "val_size= of linear_probe)"
        )
        self.split = split


#: The C grid of the ELM protocol.
PROBE_CS: np.ndarray = np.logspace(-6, 5, 45)


def probe_pipeline(C: float = 1.0, random_state: int | None = 0) -> Any:
    """The ELM probe: imputer -> variance filter -> scaler -> balanced LR.

    Parameters
    ----------
    C : float
        Inverse regularisation strength.
    random_state : int | None
        Seed of the logistic regression.

    Returns
    -------
    sklearn.pipeline.Pipeline
    """
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        SimpleImputer(strategy="median"),
        VarianceThreshold(),
        StandardScaler(),
        LogisticRegression(
            C=C, class_weight="balanced", max_iter=2000, random_state=random_state
        ),
    )


def nested_label_subsets(
    y: Sequence[Any], fractions: Sequence[float], seed: int
) -> dict[float, np.ndarray]:
    """Stratified training subsets, nested across fractions.

    For each class the indices are shuffled once with ``seed``; fraction ``f``
    keeps the first ``max(1, round(f * n_c))`` of each class, so a smaller fraction
    is always a subset of a larger one.

    Parameters
    ----------
    y : sequence
        Training labels.
    fractions : sequence of float
        Label fractions in (0, 1].
    seed : int
        Random seed.

    Returns
    -------
    dict
        Fraction -> sorted index array.
    """
    y = np.asarray(y)
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"label fractions must be in (0, 1], got {f}")
    rng = np.random.default_rng(seed)
    perms = {c: rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)}
    out = {}
    for f in fractions:
        parts = [p[: max(1, int(round(f * len(p))))] for p in perms.values()]
        out[f] = np.sort(np.concatenate(parts))
    return out


def fit_probe(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    Cs: Sequence[float] = PROBE_CS,
    random_state: int | None = 0,
) -> tuple[Any, float, float]:
    """Fit the probe for every C and keep the best on the validation split.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Fitted on ``X_train`` with the chosen C.
    C : float
        The chosen C (the smallest among ties).
    val_score : float
        Its validation balanced accuracy.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import balanced_accuracy_score

    best = (-np.inf, None, None)
    for C in Cs:
        pipe = probe_pipeline(C, random_state)
        with warnings.catch_warnings():
            # Extreme C values do not converge and tiny validation splits miss
            # classes; both are expected while scanning the grid.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            pipe.fit(X_train, y_train)
            score = balanced_accuracy_score(y_val, pipe.predict(X_val))
        if score > best[0]:
            best = (score, C, pipe)
    return best[2], float(best[1]), float(best[0])


def linear_probe_from_features(
    X_train: np.ndarray,
    y_train: Sequence[Any],
    X_val: np.ndarray,
    y_val: Sequence[Any],
    X_test: np.ndarray,
    y_test: Sequence[Any],
    *,
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    seeds: Sequence[int] | int = 5,
    Cs: Sequence[float] = PROBE_CS,
    return_predictions: bool = False,
) -> dict[str, Any]:
    """Run the ELM probe protocol on precomputed features.

    Parameters
    ----------
    X_train, X_val, X_test : np.ndarray
        (n, d) features of the three predefined splits.
    y_train, y_val, y_test : sequence
        Labels.
    fractions : sequence of float
        Label fractions of the training split.
    seeds : int | sequence of int
        Number of seeds (``range(seeds)``) or the seeds themselves.
    Cs : sequence of float
        C grid (default the ELM grid ``logspace(-6, 5, 45)``).
    return_predictions : bool
        Also return every test prediction of every run.

    Returns
    -------
    dict
        ``runs`` (one dict per fraction and seed: fraction, seed, n_train, C,
        balanced_accuracy, auroc) and ``summary`` (per fraction: mean and std of
        both metrics over seeds); with ``return_predictions``, ``predictions``:
        one dict per run and test row (``index`` into ``X_test``, fraction,
        seed, y_true, prediction and ``proba_<class>`` per class).
    """
    from .zeroshot import classification_metrics

    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    classes = np.unique(np.concatenate([np.asarray(y_train), np.asarray(y_test)]))
    idx = {c: i for i, c in enumerate(classes)}
    ytr = np.array([idx[c] for c in y_train])
    yva = np.array([idx[c] for c in y_val])
    yte = np.array([idx[c] for c in y_test])
    if len(classes) < 2:
        raise ValueError(
            f"every label is {classes[0].item()!r}: a probe needs at least two classes "
            "(check the label column or key)"
        )
    for name, y in (("training", ytr), ("validation", yva), ("test", yte)):
        if len(np.unique(y)) < 2:
            raise SingleClassSplit(name)
    runs = []
    predictions: list[dict[str, Any]] = []
    for seed in seeds:
        subsets = nested_label_subsets(ytr, fractions, seed)
        for f in fractions:
            sel = subsets[f]
            if len(np.unique(ytr[sel])) < 2:
                raise ValueError(
                    f"fraction {f} leaves one class in training; need more data"
                )
            pipe, C, _ = fit_probe(
                X_train[sel], ytr[sel], X_val, yva, Cs=Cs, random_state=seed
            )
            proba = np.zeros((len(X_test), len(classes)))
            proba[:, pipe.classes_] = pipe.predict_proba(X_test)
            # Log-probabilities: argmax unchanged, and for two classes the score
            # difference is the logit, so AUROC is that of the probability.
            scores = np.log(np.clip(proba, 1e-300, None))
            m = classification_metrics(yte, scores, len(classes))
            runs.append(
                {"fraction": f, "seed": seed, "n_train": int(len(sel)), "C": C, **m}
            )
            if return_predictions:
                pred = proba.argmax(axis=1)
                for i in range(len(X_test)):
                    row = {
                        "index": i,
                        "fraction": f,
                        "seed": seed,
                        "y_true": classes[yte[i]],
                        "prediction": classes[pred[i]],
                    }
                    row.update(
                        {
                            f"proba_{c}": float(proba[i, k])
                            for k, c in enumerate(classes)
                        }
                    )
                    predictions.append(row)
    summary = {}
    for f in fractions:
        rows = [r for r in runs if r["fraction"] == f]
        summary[f] = {
            f"{k}_{stat}": float(fn([r[k] for r in rows]))
            for k in ("balanced_accuracy", "auroc")
            for stat, fn in (("mean", np.mean), ("std", np.std))
        }
        summary[f]["n_train"] = rows[0]["n_train"]
    out: dict[str, Any] = {"runs": runs, "summary": summary, "classes": list(classes)}
    if return_predictions:
        out["predictions"] = predictions
    return out


def _features(emb: Any, level: str) -> tuple[np.ndarray, list[str]]:
    if level == "recording":
        return emb.recording_embeddings(), list(emb.ids)
    if level == "window":
        return np.asarray(emb.crop_embeddings), list(emb.crop_groups)
    raise ValueError(f"level must be 'recording' or 'window', got {level!r}")


def linear_probe(
    model: Any,
    train: Any,
    test: Any,
    *,
    val: Any = None,
    labels: Any = None,
    level: str = "recording",
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    seeds: Sequence[int] | int = 5,
    val_size: float = 0.2,
    Cs: Sequence[float] = PROBE_CS,
    return_predictions: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """ELM linear probe of a model's 256-d embeddings.

    Parameters
    ----------
    model : ELM
        Bundle with ``embed_eeg``.
    train, test : CachedCorpus | EmbeddedCorpus
        Training and test recordings (for a single corpus, pass
        ``EmbeddedCorpus.subset`` views or use ``recording_ids`` via
        :func:`~braindecode_elm.evaluation.embedding.embed_corpus`).
    val : CachedCorpus | EmbeddedCorpus | None
        The predefined validation split. When None, a subject-disjoint
        ``val_size`` part of ``train`` (fixed seed 0) is held out once, before any
        label fraction is drawn.
    labels : str | dict | callable | None
        See :func:`~braindecode_elm.evaluation.zeroshot.resolve_labels`.
    level : {"recording", "window"}
        Average embeddings per recording or use every window.
    fractions, seeds, Cs
        See :func:`linear_probe_from_features`.
    val_size : float
        Validation part when ``val`` is None.
    return_predictions : bool
        Also return the test predictions of every run (``predictions``, see
        :func:`linear_probe_from_features`), each with the recording ``id``.
    **kwargs
        Passed to :func:`~braindecode_elm.evaluation.embedding.embed_corpus`.

    Returns
    -------
    dict
        As :func:`linear_probe_from_features`, plus ``level``.
    """
    from .embedding import EmbeddedCorpus, embed_corpus
    from .zeroshot import resolve_labels

    def _emb(ds: Any) -> EmbeddedCorpus:
        return (
            ds if isinstance(ds, EmbeddedCorpus) else embed_corpus(model, ds, **kwargs)
        )

    tr, te = _emb(train), _emb(test)
    if val is None:
        tr_labels = resolve_labels(tr, labels)
        va_ids = _subject_holdout(tr, val_size, tr_labels)
        va = tr.subset(va_ids)
        tr = tr.subset([r for r in tr.ids if r not in set(va_ids)])
    else:
        va = _emb(val)
    parts = []
    for e in (tr, va, te):
        X, groups = _features(e, level)
        lab = dict(zip(e.ids, resolve_labels(e, labels)))
        parts += [X, [lab[g] for g in groups]]
    out = linear_probe_from_features(
        *parts,
        fractions=fractions,
        seeds=seeds,
        Cs=Cs,
        return_predictions=return_predictions,
    )
    if return_predictions:
        test_groups = groups  # the last part built above is the test split
        for row in out["predictions"]:
            row["id"] = test_groups[row.pop("index")]
    out["level"] = level
    return out


def _subject_holdout(emb: Any, val_size: float, labels: Sequence[Any]) -> list[str]:
    """Subject-disjoint, label-stratified validation part of ``emb`` (seed 0)."""
    from .splits import subject_split

    subjects = [emb.subjects.get(r, r) for r in emb.ids]
    if len(set(subjects)) < 2:
        raise ValueError("need at least two subjects to hold out a validation split")
    _, val_ids = subject_split(
        emb.ids, subjects, [1 - val_size, val_size], seed=0, stratify=labels
    )
    return val_ids
