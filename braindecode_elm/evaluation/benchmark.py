"""Benchmark grid: models x datasets x tasks (the CLIP_benchmark idea for EEG).

Each cell writes one JSON file (``cells/<model>__<dataset>__<task>.json``; names
are unique, see :func:`unique_names`), and
the grid a long-format CSV (``leaderboard.csv``) and a markdown table
(``leaderboard.md``). A model that cannot run a task (no text tower for
zero-shot, foundation-model weights absent) gets a ``skipped`` cell with the reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._json import to_jsonable

logger = logging.getLogger(__name__)

__all__ = [
    "run_benchmark",
    "load_model_spec",
    "model_prompts",
    "unique_names",
    "split_label",
    "FOUNDATION_MODELS",
    "TASKS",
]

TASKS = ("zeroshot", "retrieval", "probe")

#: Braindecode foundation models: spec name -> (class name, weight folder name).
FOUNDATION_MODELS = {"labram": "Labram", "cbramod": "CBraMod"}


class _Skip(Exception):
    """A cell that cannot run, with the reason."""


class _FoundationEmbedder:
    """Frozen braindecode foundation model used as a feature extractor.

    It gets the same 20-channel TCP, 100 Hz, ELM-unit crops as ELM (the models'
    own preferred montages and rates differ; this is a like-for-like probe of the
    representation on our inputs, documented as such). Only probing is possible:
    there is no text tower.
    """

    has_text = False

    def __init__(self, module: Any) -> None:
        self.module = module.eval()

    def eval(self) -> _FoundationEmbedder:
        return self

    def embed_eeg(self, x: Any) -> Any:
        import torch

        out = self.module(torch.as_tensor(x).float())
        return out.reshape(out.shape[0], -1)


def load_model_spec(spec: str, weights_dir: str | os.PathLike | None = None) -> Any:
    """Load a benchmark model: an ELM folder, ``random-elm``, ``labram``, ``cbramod``.

    Parameters
    ----------
    spec : str
        Model spec.
    weights_dir : path-like | None
        Folder holding ``labram/`` or ``cbramod/`` weights saved by braindecode's
        ``save_pretrained`` (never downloaded).

    Returns
    -------
    object
        The model.

    Raises
    ------
    _Skip
        When foundation-model weights are not present locally.
    """
    from braindecode_elm.models import load_model

    key = spec.lower()
    if key in FOUNDATION_MODELS:
        folder = Path(weights_dir or ".") / key
        if not folder.is_dir():
            where = (
                f"in {folder}"
                if weights_dir is not None
                else "(no --weights-dir given)"
            )
            raise _Skip(
                f"{spec}: no local weights {where}; pass --weights-dir DIR holding "
                f"a '{key}/' folder saved by braindecode's save_pretrained (nothing "
                "is downloaded)"
            )
        import braindecode.models as bm

        cls = getattr(bm, FOUNDATION_MODELS[key])
        return _FoundationEmbedder(cls.from_pretrained(str(folder)))
    from braindecode_elm.models.pretrained import resolve_bundle

    if not resolve_bundle(spec).is_dir() and key != "random-elm":
        raise FileNotFoundError(
            f"model {spec!r}: not a folder, a shipped bundle (elm-open-5s), "
            "'random-elm', 'labram' or 'cbramod'"
        )
    return load_model(key if key == "random-elm" else spec)


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def split_label(spec: str) -> tuple[str | None, str]:
    """``"name=path"`` -> ``("name", "path")``; a plain spec -> ``(None, spec)``.

    Only a label without a path separator counts, so a path holding ``=`` in a
    folder name is still read as a path.
    """
    label, sep, rest = spec.partition("=")
    if sep and label and rest and "/" not in label and os.sep not in label:
        return label, rest
    return None, spec


def unique_names(specs: Sequence[str]) -> list[tuple[str, str]]:
    """A distinct, file-name-safe name for every model or dataset spec.

    ``name=path`` gives the name explicitly. Otherwise the name is derived from
    the path: its last folder (``run/final`` -> ``run-final``, since ``final`` or
    ``best`` alone says nothing), with more parent folders added while two specs
    would get the same name, and ``-2``, ``-3`` ... as a last resort (the same
    path given twice).

    Parameters
    ----------
    specs : sequence of str
        Model or dataset specs, optionally ``name=path``.

    Returns
    -------
    list of (str, str)
        ``(name, spec without the label)`` in input order.

    Raises
    ------
    ValueError
        When two user labels are the same.
    """
    parsed = [split_label(s) for s in specs]
    labels = [lab for lab, _ in parsed if lab is not None]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        raise ValueError(f"benchmark labels must be unique; repeated: {dup}")

    def parts(spec: str) -> list[str]:
        p = [x for x in Path(spec).parts if x not in ("/", ".", "")]
        return p or [spec]

    def derived(spec: str, depth: int) -> str:
        p = parts(spec)
        if depth == 1 and p[-1] in ("final", "best", "latest") and len(p) > 1:
            depth = 2
        return _clean("-".join(p[-depth:]))

    depth = {i: 1 for i, (lab, _) in enumerate(parsed) if lab is None}
    names = {
        i: _clean(lab) if lab is not None else derived(spec, 1)
        for i, (lab, spec) in enumerate(parsed)
    }
    while True:
        seen: dict[str, list[int]] = {}
        for i, n in names.items():
            seen.setdefault(n, []).append(i)
        # Only names of different paths can be told apart by more folders.
        grow = [
            i
            for group in seen.values()
            if len({parsed[j][1] for j in group}) > 1
            for i in group
            if i in depth and depth[i] < len(parts(parsed[i][1]))
        ]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
            names[i] = derived(parsed[i][1], depth[i])
    taken: set[str] = set()
    out = []
    for i, (_, spec) in enumerate(parsed):
        name, k = names[i], 2
        while name in taken:
            name, k = f"{names[i]}-{k}", k + 1
        taken.add(name)
        out.append((name, spec))
    return out


def model_prompts(
    model: Any,
    prompts: Mapping[str, Sequence[str]] | str,
    shared: Mapping[str, tuple[str, Mapping[str, Sequence[str]]]] | None = None,
) -> tuple[dict[str, list[str]], dict[str, float] | None]:
    """The zero-shot prompts (and class offsets) of ``prompts`` for one model.

    Parameters
    ----------
    model : ELM
        The bundle (its ``prompt_sets`` and ``prompt_offsets`` are read).
    prompts : mapping or str
        Class -> prompts (used as given, no offsets), or a prompt set's name: a
        built-in set (see :data:`~braindecode_elm.evaluation.PROMPT_SETS`) or,
        failing that, one of the model's own sets, as ``elm zeroshot --prompts``
        resolves it. The model's class offsets apply when the prompts are the
        model's own set of that name (as in ``elm zeroshot``).
    shared : mapping | None
        ``name -> (model spec, class -> prompts)``: the sets of the other models
        of a benchmark grid (:func:`shared_prompt_sets`). A model without the
        named set uses another model's (without offsets), so that a baseline
        such as ``random-elm`` is scored with the same prompts as the bundle.

    Returns
    -------
    classes : dict
        Class -> prompts.
    offsets : dict or None
        Class -> offset, or None.

    Raises
    ------
    _Skip
        When the name is neither built in nor one of the model's sets (the
        benchmark records the cell as skipped, naming both lists).
    """
    from .prompts import PROMPT_SETS, get_prompts
    from .zeroshot import bundle_offsets

    sets = getattr(model, "prompt_sets", None) or {}
    from braindecode_elm.models.bundle import check_prompt_set

    if not isinstance(prompts, str):
        return check_prompt_set(prompts, "prompts"), None
    if prompts in PROMPT_SETS:
        classes = get_prompts(prompts)
    elif prompts in sets:
        classes = {str(k): list(v) for k, v in sets[prompts].items()}
    elif shared and prompts in shared:
        return {str(k): list(v) for k, v in shared[prompts][1].items()}, None
    else:
        raise _Skip(
            f"no prompt set {prompts!r}: neither built in {sorted(PROMPT_SETS)} nor "
            f"one of this model's {sorted(sets)}"
        )
    return classes, bundle_offsets(model, prompts, classes)


def bundle_prompt_sets(specs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The prompt sets of the bundles among ``specs``, from their ``config.json``
    (no weights loaded); ``spec -> name -> class -> prompts``, bundles only."""
    from braindecode_elm.models.bundle import check_prompt_set
    from braindecode_elm.models.pretrained import read_config

    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        config = read_config(spec)
        if config is not None:
            sets = config.get("prompt_sets") or {}
            if not isinstance(sets, dict):
                raise ValueError(f"{spec} config.json: prompt_sets must be a mapping")
            # Checked as a bundle load checks them: these sets score the
            # other models of the grid too.
            out[spec] = {
                name: check_prompt_set(
                    classes, f"{spec} config.json prompt_sets[{name!r}]"
                )
                for name, classes in sets.items()
            }
    return out


def shared_prompt_sets(
    by_spec: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """Each prompt set of a grid's bundles (:func:`bundle_prompt_sets`), as
    ``name -> (spec of the first bundle holding it, class -> prompts)``."""
    out: dict[str, tuple[str, dict[str, list[str]]]] = {}
    for spec, sets in by_spec.items():
        for name, classes in sets.items():
            out.setdefault(name, (spec, classes))
    return out


def _check_prompt_name(name: str, by_spec: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, before any model runs, a prompt set name no one has (the
    bundles' sets as :func:`bundle_prompt_sets` read them)."""
    from .prompts import PROMPT_SETS

    if name in PROMPT_SETS:
        return
    if not any(name in sets for sets in by_spec.values()):
        found = {k: sorted(v) for k, v in by_spec.items()}
        bundles = "; ".join(f"{k}: {v}" for k, v in found.items()) or "none"
        raise ValueError(
            f"prompts {name!r} is neither a built-in set {sorted(PROMPT_SETS)}, "
            f"a prompt set of a model ({bundles}), nor a JSON file"
        )


def _cell(
    task: str,
    model: Any,
    emb: Any,
    *,
    labels: Any,
    prompts: Mapping[str, list[str]] | str,
    label_map: Any = None,
    seeds: int,
    fractions: Sequence[float],
    shared: Mapping[str, tuple[str, Mapping[str, Sequence[str]]]] | None = None,
) -> dict[str, Any]:
    from .probe import SingleClassSplit, linear_probe
    from .retrieval import retrieval_metrics
    from .splits import subject_split
    from .zeroshot import resolve_labels, zero_shot

    has_text = getattr(model, "has_text", True)
    if task in ("zeroshot", "retrieval") and not has_text:
        raise _Skip(f"{task} needs a text tower; this model has none")
    if task == "zeroshot":
        if labels is None and not _has_label(emb):
            raise _Skip("zeroshot needs labels (--labels)")
        classes, offsets = model_prompts(model, prompts, shared)
        res = zero_shot(
            model, emb, classes, labels=labels, label_map=label_map, offsets=offsets
        )
        details = {"classes": res["classes"], "n": len(res["ids"])}
        if np.isnan(res["balanced_accuracy"]):
            details["note"] = (
                "the labels hold one class: balanced accuracy and AUROC are "
                f"undefined (accuracy {res['accuracy']:.3f})"
            )
        own = getattr(model, "prompt_sets", None) or {}
        if isinstance(prompts, str) and shared and prompts in shared:
            from .prompts import PROMPT_SETS

            if prompts not in own and prompts not in PROMPT_SETS:
                # Another model's set, as the same prompts for a baseline.
                details["prompts_from"] = shared[prompts][0]
        if offsets is not None:
            details["offsets"] = {str(k): float(v) for k, v in offsets.items()}
        return {
            "metrics": {
                "balanced_accuracy": res["balanced_accuracy"],
                "auroc": res["auroc"],
            },
            "details": details,
        }
    if task == "retrieval":
        if not len(emb.text_groups):
            raise _Skip("retrieval needs reports; this dataset has none")
        res = retrieval_metrics(model, emb)
        metrics = {f"eeg_to_text_{k}": v for k, v in res["eeg_to_text"].items()}
        metrics.update({f"text_to_eeg_{k}": v for k, v in res["text_to_eeg"].items()})
        metrics["chance_R@1"] = res["chance_R@1"]
        details = {
            "n_segments": res["n_segments"],
            "n_texts_left_out": res["n_texts_left_out"],
            "texts_left_out": res["texts_left_out"],
        }
        return {"metrics": metrics, "details": details}
    if task == "probe":
        if labels is None and not _has_label(emb):
            raise _Skip("probe needs labels (--labels)")
        y = resolve_labels(emb, labels)
        subjects = [emb.subjects[r] for r in emb.ids]
        tr, te = subject_split(emb.ids, subjects, [0.7, 0.3], seed=0, stratify=y)
        try:
            res = linear_probe(
                model,
                emb.subset(tr),
                emb.subset(te),
                labels=labels,
                fractions=fractions,
                seeds=seeds,
            )
        except SingleClassSplit as err:
            # The probe's hint names elm probe's split flags, which the
            # benchmark does not have: name its fixed split instead.
            raise ValueError(
                f"the {err.split} split holds a single class; the probe needs "
                "every split to contain at least two classes: elm benchmark tests "
                "on 30 % of the subjects and chooses C on 20 % of the rest, so "
                "give the dataset more subjects of each class, or run elm probe "
                "with --val-size / --test-size"
            ) from err
        metrics = {}
        for f, s in res["summary"].items():
            pct = f"{float(f) * 100:g}%"
            metrics[f"bacc@{pct}"] = s["balanced_accuracy_mean"]
            metrics[f"bacc_std@{pct}"] = s["balanced_accuracy_std"]
            metrics[f"auroc@{pct}"] = s["auroc_mean"]
        return {"metrics": metrics, "details": {"runs": res["runs"]}}
    raise ValueError(f"unknown task {task!r}; choose from {TASKS}")


def _has_label(emb: Any) -> bool:
    d = emb.descriptions.get(emb.ids[0], {}) if emb.ids else {}
    return any(d.get(k) is not None for k in ("target", "label", "pathological"))


def run_benchmark(
    models: Sequence[str],
    datasets: Sequence[str],
    tasks: Sequence[str] = TASKS,
    out_dir: str | os.PathLike = "benchmark",
    *,
    labels: Any = None,
    prompts: Mapping[str, list[str]] | str | None = None,
    label_map: Any = None,
    seeds: int = 5,
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    weights_dir: str | os.PathLike | None = None,
    drop_first_s: float = 10.0,
    max_minutes: float = 45.0,
    max_crops: int | None = None,
    device: str = "cpu",
    batch_size: int = 256,
) -> str:
    """Run every (model, dataset, task) cell and write the leaderboard.

    Parameters
    ----------
    models : sequence of str
        Model specs (see :func:`load_model_spec`), optionally labelled
        ``name=spec``; unlabelled ones are named by :func:`unique_names`, so two
        bundles at ``.../run/final`` give two distinct rows.
    datasets : sequence of str
        Cache folders (:func:`braindecode_elm.data.build_cache`), optionally
        ``name=folder``.
    tasks : sequence of str
        Among ``zeroshot``, ``retrieval``, ``probe``.
    out_dir : path-like
        Output folder.
    labels : str | dict | None
        Labels for zero-shot and probing (description key or id -> label).
    prompts : dict | str | None
        Zero-shot classes (default the ``normal_abnormal`` prompt set), or a
        prompt set's name resolved per model by :func:`model_prompts` (a
        bundle's own set, e.g. ``elm-open-5s``'s ``eegmat_rest_arithmetic``,
        with its class offsets).
    label_map : dict | str | None
        Label value -> prompt class for zero-shot when the labels are not class
        names (see :func:`braindecode_elm.evaluation.zeroshot.labels_to_indices`).
    seeds : int
        Probe seeds.
    fractions : sequence of float
        Probe label fractions.
    weights_dir : path-like | None
        Local foundation-model weights.
    drop_first_s, max_minutes : float
        Where each recording's crops lie (see
        :func:`~braindecode_elm.evaluation.embedding.embed_corpus`): ELM skips
        the first 10 s and uses at most 45 minutes.
    max_crops : int | None
        Crops per recording (speed).
    device : str
        Where the models run (``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...).
    batch_size : int
        Crops per forward pass.

    Returns
    -------
    str
        The markdown leaderboard (also in ``leaderboard.md``).
    """
    import pandas as pd

    from braindecode_elm.data import open_cache

    from .embedding import embed_corpus
    from .prompts import get_prompts

    bad = [t for t in tasks if t not in TASKS]
    if bad:
        raise ValueError(f"unknown tasks {bad}; choose from {list(TASKS)}")
    if prompts is None:
        prompts = get_prompts("normal_abnormal")
    if not isinstance(prompts, str):
        prompts = dict(prompts)
    shared = None
    if isinstance(prompts, str):
        # Each bundle's config is read once, for the check and the sharing.
        by_spec = bundle_prompt_sets([spec for _, spec in unique_names(models)])
        if "zeroshot" in tasks:
            _check_prompt_name(prompts, by_spec)
        shared = shared_prompt_sets(by_spec)
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    rows = []
    model_names = unique_names(models)
    dataset_names = unique_names(datasets)
    for mname, mspec in model_names:
        try:
            model = load_model_spec(mspec, weights_dir)
            if hasattr(model, "to"):
                model = model.to(device)
            skip_model = None
        except _Skip as why:
            model, skip_model = None, str(why)
            logger.warning("skipping %s: %s", mname, why)
        for dname, dspec in dataset_names:
            emb = None
            for task in tasks:
                cell: dict[str, Any] = {
                    "model": mname,
                    "dataset": dname,
                    "task": task,
                    "model_spec": mspec,
                    "dataset_spec": dspec,
                }
                try:
                    if skip_model:
                        raise _Skip(skip_model)
                    if emb is None:
                        emb = embed_corpus(
                            model,
                            open_cache(dspec),
                            with_text=getattr(model, "has_text", True),
                            drop_first_s=drop_first_s,
                            max_minutes=max_minutes,
                            max_crops=max_crops,
                            batch_size=batch_size,
                        )
                    cell.update(
                        status="ok",
                        **_cell(
                            task,
                            model,
                            emb,
                            labels=labels,
                            prompts=prompts,
                            label_map=label_map,
                            seeds=seeds,
                            fractions=fractions,
                            shared=shared,
                        ),
                    )
                except _Skip as why:
                    cell.update(status="skipped", reason=str(why))
                    if not skip_model:
                        logger.warning(
                            "skipping %s x %s x %s: %s", mname, dname, task, why
                        )
                except ValueError as why:
                    # Too little data for a task (e.g. one class after splitting):
                    # record it and carry on with the grid.
                    cell.update(status="failed", reason=str(why))
                    logger.warning("failed %s x %s x %s: %s", mname, dname, task, why)
                path = out / "cells" / f"{mname}__{dname}__{task}.json"
                path.write_text(json.dumps(to_jsonable(cell), indent=1))
                for metric, value in cell.get("metrics", {}).items():
                    rows.append(
                        dict(
                            model=mname,
                            dataset=dname,
                            task=task,
                            metric=metric,
                            value=value,
                        )
                    )
                if cell["status"] != "ok":
                    rows.append(
                        dict(
                            model=mname,
                            dataset=dname,
                            task=task,
                            metric="status",
                            value=cell["status"],
                        )
                    )
    table = pd.DataFrame(rows, columns=["model", "dataset", "task", "metric", "value"])
    table.to_csv(out / "leaderboard.csv", index=False)
    md = _markdown(table)
    (out / "leaderboard.md").write_text(md)
    return md


_HEADLINE = {
    "zeroshot": ["balanced_accuracy", "auroc"],
    # The EEG-blind text-frequency R@1 sits beside the model's so that a score
    # earned by common report texts alone is visible on the leaderboard.
    "retrieval": [
        "eeg_to_text_R@1",
        "eeg_to_text_text_frequency_R@1",
        "eeg_to_text_R@5",
        "text_to_eeg_R@1",
    ],
    "probe": None,  # every bacc@fraction
}


def _markdown(table: Any) -> str:
    """Pivot to one row per model and one column per dataset/task/metric."""
    if table.empty:
        return "(no results)\n"
    keep = []
    for _, r in table.iterrows():
        head = _HEADLINE.get(r["task"])
        if r["metric"] == "status":
            keep.append(True)
        elif head is None:
            keep.append(str(r["metric"]).startswith("bacc@"))
        else:
            keep.append(r["metric"] in head)
    t = table[keep]
    cols = list(dict.fromkeys(t["dataset"] + " " + t["task"] + " " + t["metric"]))
    models = list(dict.fromkeys(t["model"]))
    cell = {
        (r["model"], f"{r['dataset']} {r['task']} {r['metric']}"): r["value"]
        for _, r in t.iterrows()
    }
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for m in models:
        vals = []
        for c in cols:
            v = cell.get((m, c), "")
            vals.append(f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v))
        lines.append(f"| {m} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"
