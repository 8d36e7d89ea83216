"""Zero-shot classification with prompt ensembles."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .embedding import EmbeddedCorpus, embed_texts, group_mean, l2_normalize
from .prompts import default_label_map

__all__ = [
    "bundle_offsets",
    "calibrate_bundle",
    "calibrate_offsets",
    "class_scores",
    "ensemble_class_embeddings",
    "zero_shot_from_embeddings",
    "classification_metrics",
    "resolve_labels",
    "labels_to_indices",
    "parse_label_map",
    "zero_shot",
]


def ensemble_class_embeddings(prompt_embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """One embedding per class from its prompts.

    Each class is the mean of its L2-normalised prompt embeddings, re-normalised.

    Parameters
    ----------
    prompt_embeddings : sequence of np.ndarray
        One (n_prompts_c, d) array per class.

    Returns
    -------
    np.ndarray
        (n_classes, d), unit rows.
    """
    rows = []
    for i, e in enumerate(prompt_embeddings):
        e = np.atleast_2d(np.asarray(e, dtype=np.float64))
        if e.shape[0] == 0:
            raise ValueError(f"class {i} has no prompt embedding")
        rows.append(l2_normalize(e).mean(axis=0))
    return l2_normalize(np.stack(rows))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def classification_metrics(
    y_true: Sequence[int], scores: np.ndarray, n_classes: int | None = None
) -> dict[str, float]:
    """Balanced accuracy and AUROC from class scores.

    Parameters
    ----------
    y_true : sequence of int
        True class indices.
    scores : np.ndarray
        (n, n_classes) scores, larger = more likely; for AUROC with more than two
        classes they are turned into probabilities with a softmax (macro
        one-vs-rest). For two classes AUROC uses ``scores[:, 1] - scores[:, 0]``.
    n_classes : int | None
        Number of classes (default ``scores.shape[1]``).

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy`` and ``auroc``; the last two are NaN
        when ``y_true`` holds one class only (balanced accuracy would be that
        class's recall, and sklearn warns).
    """
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y = np.asarray(y_true, dtype=int)
    scores = np.asarray(scores, dtype=np.float64)
    n_classes = scores.shape[1] if n_classes is None else n_classes
    pred = scores.argmax(axis=1)
    present = np.unique(y)
    out = {"accuracy": float(np.mean(pred == y)) if len(y) else float("nan")}
    if len(present) < 2:
        out["balanced_accuracy"] = float("nan")
        out["auroc"] = float("nan")
        return out
    with warnings.catch_warnings():
        # Predictions of a class absent from y_true (zero-shot over every value
        # of a fact, a test part holding some): balanced accuracy is the mean
        # recall of the classes present, as documented; sklearn's note leaked
        # into command output.
        warnings.filterwarnings(
            "ignore", message="y_pred contains classes not in y_true"
        )
        out["balanced_accuracy"] = float(balanced_accuracy_score(y, pred))
    if n_classes == 2:
        out["auroc"] = float(roc_auc_score(y, scores[:, 1] - scores[:, 0]))
    else:
        # Macro one-vs-rest over the classes present in y_true.
        probs = _softmax(scores)
        aucs = [roc_auc_score(y == c, probs[:, c]) for c in present]
        out["auroc"] = float(np.mean(aucs))
    return out


def class_scores(
    eeg_embeddings: np.ndarray, class_embeddings: np.ndarray
) -> np.ndarray:
    """Cosine similarity of every crop to every class, before any temperature.

    Parameters
    ----------
    eeg_embeddings : np.ndarray
        (n_crops, d); L2-normalised here.
    class_embeddings : np.ndarray
        (n_classes, d); L2-normalised here.

    Returns
    -------
    np.ndarray
        (n_crops, n_classes) cosines in [-1, 1].
    """
    return l2_normalize(eeg_embeddings) @ l2_normalize(class_embeddings).T


def _offset_vector(offsets: Any, n_classes: int) -> np.ndarray:
    vec = np.asarray(offsets, dtype=np.float64).reshape(-1)
    if vec.shape != (n_classes,):
        raise ValueError(
            f"offsets has {vec.size} values for {n_classes} classes; give one offset "
            "per class, in the order of the class embeddings"
        )
    if not np.isfinite(vec).all():
        raise ValueError(f"offsets must be finite numbers, got {vec.tolist()}")
    return vec


def zero_shot_from_embeddings(
    eeg_embeddings: np.ndarray,
    class_embeddings: np.ndarray,
    groups: Sequence[Any] | None = None,
    *,
    temperature: float = 1.0,
    offsets: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, list[Any]]:
    """Class scores per recording from crop and class embeddings.

    Crop scores are cosine similarities between the L2-normalised crop
    embeddings and the class embeddings, minus the class offsets (if any),
    divided by ``temperature``; they are averaged per group (recording).

    Parameters
    ----------
    eeg_embeddings : np.ndarray
        (n_crops, d).
    class_embeddings : np.ndarray
        (n_classes, d).
    groups : sequence | None
        Recording of each crop; None scores every crop on its own.
    temperature : float
        Divides the similarities (only changes the softmax used for AUROC with
        more than two classes).
    offsets : array-like | None
        One offset per class (cosine units, e.g. from :func:`calibrate_offsets`),
        subtracted from the cosines before the temperature and the averaging.
        None: no offsets (the raw argmax).

    Returns
    -------
    scores : np.ndarray
        (n_groups, n_classes).
    order : list
        The groups, in first-seen order.
    """
    crop_scores = class_scores(eeg_embeddings, class_embeddings)
    if offsets is not None:
        crop_scores = crop_scores - _offset_vector(offsets, crop_scores.shape[1])
    crop_scores = crop_scores / temperature
    if groups is None:
        return crop_scores, list(range(len(crop_scores)))
    return group_mean(crop_scores, groups)


def resolve_labels(
    emb: EmbeddedCorpus,
    labels: str | Mapping[str, Any] | Callable[[dict], Any] | Sequence[Any] | None,
) -> list[Any]:
    """Label of each recording of ``emb`` from a description key, map or callable.

    ``None`` tries the description keys ``target``, ``label``, ``pathological``.
    """
    if labels is None:
        for key in ("target", "label", "pathological"):
            # A key present but empty (None, as in unlabelled TUEG) is no label.
            if all(emb.descriptions.get(r, {}).get(key) is not None for r in emb.ids):
                labels = key
                break
        else:
            raise ValueError(
                "no labels: the descriptions have no 'target', 'label' or "
                "'pathological' field; pass labels= (a key, a mapping "
                "recording id -> label, a callable or a sequence)"
            )
    if isinstance(labels, str):
        desc = emb.descriptions
        missing = [r for r in emb.ids if desc.get(r, {}).get(labels) is None]
        if missing:
            raise KeyError(
                f"description key {labels!r} missing or empty for {len(missing)} "
                f"recordings, e.g. {missing[:5]}; pass a key every recording has, "
                "or a table FILE.csv:COLUMN with a recording_id column"
            )
        return [emb.descriptions[r][labels] for r in emb.ids]
    if isinstance(labels, Mapping):
        missing = [r for r in emb.ids if r not in labels]
        if missing:
            raise KeyError(
                f"no label for {len(missing)} of {len(emb.ids)} recordings, e.g. "
                f"{missing[:5]}; label every recording, or score the labelled ones "
                "only (--recordings FILE of the elm command; in Python "
                "embedded.subset(ids))"
            )
        return [labels[r] for r in emb.ids]
    if callable(labels):
        return [labels(emb.descriptions.get(r, {})) for r in emb.ids]
    labels = list(labels)
    if len(labels) != len(emb.ids):
        left = getattr(emb, "skipped", None) or []
        raise ValueError(
            f"{len(labels)} labels for {len(emb.ids)} recordings; they must match"
            + (
                f" ({len(left)} recordings were left out as too short for a crop, "
                f"e.g. {[r['recording'] for r in left[:3]]}: give the labels as a "
                "mapping from recording id, a callable of the description, or a "
                "description key)"
                if left
                else ""
            )
        )
    return labels


def _is_name(value: Any) -> bool:
    return isinstance(value, (str, np.str_))


def _map_key(value: Any) -> Any:
    # Labels read from tables come as numpy scalars or strings ("0", "1.0",
    # "True"): compare them by value so that a map {0: "rest"} also matches 0.0
    # or "0" (and True is 1, as in Python).
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if _is_name(value):
        text = str(value).strip()
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return value


def parse_label_map(spec: str | Mapping[Any, str] | None) -> dict[Any, str] | None:
    """A label map from ``"0=rest,1=task"`` (or a mapping, returned as a dict).

    Parameters
    ----------
    spec : str | mapping | None
        ``VALUE=CLASS`` pairs separated by commas, or already a mapping.

    Returns
    -------
    dict | None
        Label value -> class name (None when ``spec`` is None).
    """
    if spec is None or isinstance(spec, Mapping):
        return None if spec is None else dict(spec)
    out: dict[Any, str] = {}
    for item in str(spec).split(","):
        if not item.strip():
            continue
        key, sep, name = item.partition("=")
        if not sep or not key.strip() or not name.strip():
            raise ValueError(
                f"label map entry {item.strip()!r} is not VALUE=CLASS; write e.g. "
                "'0=rest,1=task'"
            )
        out[key.strip()] = name.strip()
    if not out:
        raise ValueError(f"empty label map {spec!r}; write e.g. '0=rest,1=task'")
    return out


def labels_to_indices(
    labels: Sequence[Any],
    class_names: Sequence[str],
    label_map: str | Mapping[Any, str] | None = None,
) -> np.ndarray:
    """Class index of each label, matched to the prompt classes by name.

    A prompt file's key order is not a meaning: ``{"task": ..., "rest": ...}``
    and ``{"rest": ..., "task": ...}`` describe the same classes, so labels are
    matched to classes by *name*, never by position. Labels that are not names
    (integers, booleans) need ``label_map`` saying which class each value is.

    Parameters
    ----------
    labels : sequence
        True label per item: class names, or values listed in ``label_map``.
    class_names : sequence of str
        The prompt classes, in the column order of the scores.
    label_map : mapping | str | None
        Label value -> class name, e.g. ``{0: "rest", 1: "task"}`` or
        ``"0=rest,1=task"``. Values are compared by value (``1``, ``1.0`` and
        ``"1"`` are the same label).

    Returns
    -------
    numpy.ndarray
        int index into ``class_names`` per label.

    Raises
    ------
    ValueError
        When a label is not a class name and no map is given, when the map names
        a class that is not a prompt class, or when a label is missing from it.
    """
    names = [str(n) for n in class_names]
    index = {n: i for i, n in enumerate(names)}
    if label_map is not None:
        mapping = parse_label_map(label_map)
        assert mapping is not None
        lookup: dict[Any, int] = {}
        for value, name in mapping.items():
            if str(name) not in index:
                raise ValueError(
                    f"label map sends {value!r} to {name!r}, which is not one of the "
                    f"prompt classes {names}"
                )
            lookup[_map_key(value)] = index[str(name)]
        out = []
        for lab in labels:
            key = _map_key(lab)
            if key not in lookup:
                raise ValueError(
                    f"label {lab!r} is not in the label map "
                    f"{ {k: names[v] for k, v in lookup.items()} }; add it"
                )
            out.append(lookup[key])
        return np.asarray(out, dtype=int)
    out = []
    for lab in labels:
        if _is_name(lab) and str(lab) in index:
            out.append(index[str(lab)])
            continue
        present = sorted({str(v) for v in labels})[:10]
        if not _is_name(lab):
            raise ValueError(
                f"labels are values {present}, not prompt class names {names}; "
                "matching them by position would depend on the order of the "
                "prompt file. Say which class each value is with a label map: "
                f"--label-map {','.join(f'{v}=CLASS' for v in present)} with CLASS "
                f"one of {names} (Python: label_map={{value: class}}), or use a "
                "label column holding the class names"
            )
        raise ValueError(
            f"label {lab!r} is neither a class name of the prompts {names} nor "
            f"covered by a label map (labels seen: {present}); rename the prompt "
            "classes or give a label map (--label-map VALUE=CLASS,...)"
        )
    return np.asarray(out, dtype=int)


def zero_shot(
    model: Any,
    dataset: Any,
    classes: Mapping[str, Sequence[str]],
    *,
    aggregate: str = "recording",
    labels: Any = None,
    label_map: str | Mapping[Any, str] | None = None,
    offsets: Mapping[str, float] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Zero-shot classification of recordings by describing classes in words.

    Parameters
    ----------
    model : ELM
        Bundle with ``embed_eeg``/``embed_text``.
    dataset : CachedCorpus | EmbeddedCorpus
        Recordings to classify.
    classes : dict
        Class name -> prompts (several phrasings, see
        :data:`~braindecode_elm.evaluation.prompts.PROMPT_SETS`). Labels are
        matched to these classes by name (the order of the keys does not
        matter); it is the column order of ``scores``.
    aggregate : {"recording", "crop"}
        Average crop scores per recording, or score every crop.
    labels : str | dict | callable | sequence | None
        True labels: a description key, a mapping recording id -> label, a
        callable on the description or a sequence aligned with the recordings.
        None tries ``target``/``label``/``pathological``; if none exists, only
        scores and predictions are returned. Labels must be class names unless
        ``label_map`` says which class each value is (the built-in
        ``normal_abnormal`` classes read 0/False as normal and 1/True as
        abnormal, see :data:`~braindecode_elm.evaluation.prompts.PROMPT_LABEL_MAPS`).
    label_map : mapping | str | None
        Label value -> class name (e.g. ``{0: "rest", 1: "task"}``), needed for
        integer or boolean labels (see :func:`labels_to_indices`).
    offsets : mapping | None
        Class name -> offset (cosine units), one per class, e.g. a bundle's
        ``prompt_offsets[set]`` computed by :func:`calibrate_offsets` on its
        labelled pretraining windows. Subtracted from every crop's cosine
        similarities before the temperature and the averaging per recording, so
        the prediction is ``argmax_c (s_c - offset_c)``. None: raw argmax.
    **kwargs
        Passed to :func:`~braindecode_elm.evaluation.embedding.embed_corpus`.

    Returns
    -------
    dict
        ``scores`` (n, n_classes), ``predictions`` (class names), ``ids``,
        ``classes``, ``offsets`` (only when offsets were used), and when labels
        are known ``y_true``, ``balanced_accuracy``, ``auroc``,
        ``confusion_matrix`` (and ``label_map`` when one was used).
    """
    from .embedding import embed_corpus

    if aggregate not in ("recording", "crop"):
        raise ValueError(f"aggregate must be 'recording' or 'crop', got {aggregate!r}")
    if len(classes) < 2:
        raise ValueError("zero-shot needs at least two classes")
    names = list(classes)
    offset_vec = None if offsets is None else _offsets_by_name(offsets, names)
    emb = dataset if isinstance(dataset, EmbeddedCorpus) else None
    if emb is None and type(dataset).__name__ == "LabelledCorpus":
        # Its facts are the labels, its windows are cut by windows_from_labelled:
        # the labelled-pretraining page's path, named here instead of an
        # AttributeError from inside embed_corpus.
        raise TypeError(
            "zero_shot takes a cache (open_cache) or an EmbeddedCorpus; for a "
            "LabelledCorpus (build_labelled_corpus, corpus.split) use "
            "evaluation.heldout: ws = windows_from_labelled(corpus, label_of_facts); "
            "zero_shot_windows(model, ws, tower_features(model, ws.x), prompts)"
        )
    if emb is None:
        emb = embed_corpus(model, dataset, **kwargs)
    class_emb = _class_embeddings(model, classes)
    temperature = float(getattr(model, "temperature", 1.0) or 1.0)
    if aggregate == "recording":
        scores, order = zero_shot_from_embeddings(
            emb.crop_embeddings,
            class_emb,
            emb.crop_groups,
            temperature=temperature,
            offsets=offset_vec,
        )
        scores = scores[[order.index(r) for r in emb.ids]]
        ids = list(emb.ids)
    else:
        scores, _ = zero_shot_from_embeddings(
            emb.crop_embeddings,
            class_emb,
            None,
            temperature=temperature,
            offsets=offset_vec,
        )
        ids = list(emb.crop_groups)
    pred = scores.argmax(axis=1)
    out: dict[str, Any] = {
        "ids": ids,
        "classes": names,
        "scores": scores,
        "predictions": [names[i] for i in pred],
    }
    if offset_vec is not None:
        out["offsets"] = {c: float(v) for c, v in zip(names, offset_vec)}
    try:
        rec_labels = resolve_labels(emb, labels)
    except ValueError:
        if labels is not None:
            raise
        return out
    if label_map is None and not all(_is_name(v) for v in rec_labels):
        # Only a built-in set with a fixed coding (normal_abnormal: 1 = abnormal)
        # reads integer labels without a map; it goes by class name too.
        label_map = default_label_map(names)
    y = labels_to_indices(rec_labels, names, label_map)
    if label_map is not None:
        out["label_map"] = {
            str(k): str(v) for k, v in (parse_label_map(label_map) or {}).items()
        }
    if aggregate == "crop":
        lab = dict(zip(emb.ids, y))
        y = np.array([lab[g] for g in emb.crop_groups])
    from sklearn.metrics import confusion_matrix

    out["y_true"] = y
    out.update(classification_metrics(y, scores, len(names)))
    out["confusion_matrix"] = confusion_matrix(y, pred, labels=range(len(names)))
    return out


def _offsets_by_name(offsets: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    """Offsets in the column order ``names``; exactly one per class."""
    if not isinstance(offsets, Mapping):
        raise TypeError(
            f"offsets must be a mapping class -> offset, got {type(offsets).__name__}"
        )
    got = [str(k) for k in offsets]
    if sorted(got) != sorted(names):
        raise ValueError(
            f"offsets are for classes {sorted(got)} but the prompts have classes "
            f"{sorted(names)}: offsets belong to the prompt set they were computed "
            "for; recompute them with calibrate_offsets for these prompts, or pass "
            "offsets=None"
        )
    by_name = {str(k): v for k, v in offsets.items()}
    return _offset_vector([by_name[n] for n in names], len(names))


def bundle_offsets(
    model: Any, name: str, classes: Mapping[str, Sequence[str]]
) -> dict[str, float] | None:
    """The bundle's class offsets for the prompt set ``name``, if they apply.

    Only a prompt set of the bundle itself has offsets, and only when the prompts
    in use are that set's (a built-in set of the same name, or a file, gets none:
    the offsets were computed for the bundle's wording).

    Parameters
    ----------
    model : ELM
        The bundle (``prompt_sets`` and ``prompt_offsets`` are read).
    name : str
        The prompt set's name (e.g. ``elm zeroshot --prompts``).
    classes : mapping
        The prompts in use (class -> prompts).

    Returns
    -------
    dict | None
        Class name -> offset, or None.
    """
    sets = getattr(model, "prompt_sets", None) or {}
    offsets = getattr(model, "prompt_offsets", None) or {}
    if name not in sets or name not in offsets:
        return None
    own = {str(k): list(v) for k, v in sets[name].items()}
    if {str(k): list(v) for k, v in classes.items()} != own:
        return None
    return dict(offsets[name])


def _class_embeddings(model: Any, classes: Mapping[str, Sequence[str]]) -> np.ndarray:
    return ensemble_class_embeddings(
        [embed_texts(model, list(classes[c])) for c in classes]
    )


def calibrate_offsets(
    model: Any,
    eeg_embeddings: np.ndarray,
    labels: Sequence[str],
    classes: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """Class offsets of zero-shot classification from labelled windows.

    A model trained on text made from labels can score one class's prompts
    higher than the other's on every window (a systematic class bias), so the
    raw argmax predicts nearly one class while the ranking (AUROC) is good. The
    offset of class ``c`` is the class-balanced mean of its score ``s_c`` (the
    cosine :func:`zero_shot` uses, before the temperature) over labelled
    windows::

        beta_c = (1/K) * sum_k mean_{i in class k} s_c(e_i)

    and zero-shot then predicts ``argmax_c (s_c - beta_c)``. For two classes
    this puts the decision threshold of ``s_1 - s_0`` midway between the two
    classes' mean score differences. Compute the offsets on the model's own
    pretraining windows (never on test data) and ship them with the bundle
    (:func:`calibrate_bundle`, :attr:`ELM.prompt_offsets
    <braindecode_elm.models.ELM>`).

    Parameters
    ----------
    model : ELM
        Bundle whose text tower embeds the prompts.
    eeg_embeddings : np.ndarray
        (n_windows, d) EEG embeddings of the calibration windows (e.g.
        :func:`~braindecode_elm.evaluation.heldout.tower_features`).
    labels : sequence of str
        Class name of every window; each must be a key of ``classes``.
    classes : mapping
        Class name -> prompts (the prompt set the offsets are for).

    Returns
    -------
    dict
        Class name -> offset (cosine units), in the order of ``classes``.

    Raises
    ------
    ValueError
        When labels and windows differ in number, a label is not a class, or a
        class has no window.
    """
    names = [str(c) for c in classes]
    if len(names) < 2:
        raise ValueError("calibrating zero-shot offsets needs at least two classes")
    emb = np.asarray(eeg_embeddings, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(
            f"eeg_embeddings must be (n_windows, d), got shape {emb.shape}"
        )
    labels = [str(v) for v in labels]
    if len(labels) != len(emb):
        raise ValueError(
            f"{len(labels)} labels for {len(emb)} calibration windows; give one "
            "class name per window"
        )
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ValueError(
            f"calibration labels {unknown[:10]} are not classes of the prompt set "
            f"{names}; label each window with one of its class names"
        )
    lab = np.asarray(labels)
    empty = [c for c in names if not (lab == c).any()]
    if empty:
        raise ValueError(
            f"class(es) {empty} have no calibration window (windows per class: "
            f"{ {c: int((lab == c).sum()) for c in names} }); the offsets need "
            "labelled windows of every class of the prompt set"
        )
    scores = class_scores(emb, _class_embeddings(model, classes))
    # Mean over each class's windows first, then over classes: a class with more
    # windows must not pull the offsets towards itself.
    per_class = np.stack([scores[lab == c].mean(axis=0) for c in names])
    beta = per_class.mean(axis=0)
    return {c: float(b) for c, b in zip(names, beta)}


def calibrate_bundle(
    model: Any,
    name: str,
    windows: Any = None,
    labels: Sequence[str] | None = None,
    *,
    features: np.ndarray | None = None,
    batch_size: int = 256,
) -> dict[str, float]:
    """Compute a bundle's zero-shot class offsets and attach them to it.

    Embeds the labelled windows with the bundle's EEG tower, computes the
    offsets of its prompt set ``name`` with :func:`calibrate_offsets` and
    stores them in ``model.prompt_offsets[name]`` (saved with the bundle by
    :meth:`~braindecode_elm.models.ELM.save_pretrained`). Use the windows the
    bundle was pretrained on, never test data.

    Parameters
    ----------
    model : ELM
        The trained bundle; ``name`` must be one of its ``prompt_sets``.
    name : str
        The prompt set to calibrate.
    windows : np.ndarray | WindowSet | None
        (n, 20, T) windows in ELM units, or a
        :class:`~braindecode_elm.evaluation.heldout.WindowSet` (its window labels
        are used when ``labels`` is None). May be None when ``features`` is
        given.
    labels : sequence of str | None
        Class name of every window.
    features : np.ndarray | None
        The windows' EEG embeddings, if already computed (skips the tower).
    batch_size : int
        Tower batch size.

    Returns
    -------
    dict
        Class name -> offset, as stored in ``model.prompt_offsets[name]``.

    Raises
    ------
    ValueError
        When ``name`` is not a prompt set of the bundle, or for the errors of
        :func:`calibrate_offsets`.
    """
    sets = getattr(model, "prompt_sets", None) or {}
    if name not in sets:
        raise ValueError(
            f"prompt set {name!r} is not one of the bundle's prompt sets "
            f"{sorted(sets)}; add it to model.prompt_sets first"
        )
    if labels is None:
        if not hasattr(windows, "window_labels"):
            raise ValueError(
                "labels=None needs a WindowSet; pass one class name per window"
            )
        labels = windows.window_labels
    if features is None:
        if windows is None:
            raise ValueError("pass the windows or their features")
        from .embedding import embed_eeg_array

        x = windows.x if hasattr(windows, "window_labels") else windows
        features = embed_eeg_array(model, np.asarray(x), batch_size=batch_size)
    offsets = calibrate_offsets(model, features, labels, sets[name])
    model.set_prompt_offsets(name, offsets)
    return dict(model.prompt_offsets[name])
