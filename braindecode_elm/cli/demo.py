"""``elm demo``: the whole ELM pipeline on 2 CPU cores, offline, in minutes.

Part 1 (synthetic TUH-like corpus, known ground truth): generate EDF + reports ->
Rust preprocessing into the cache -> pretrain ``tiny-cpu-demo`` ELM-MIL (tiny-cpu's
narrow tower with AdamW) on the training subjects -> zero-shot (normal vs
abnormal), EEG <-> report retrieval and a 10 %-label linear probe on held-out
subjects, next to the same untrained tower.

Part 2 (real PhysioNet eegmat and EEGBCI, when present): the open recipe that
produced the shipped ``elm-open-5s`` bundle. Once per seed, pretrain on text made
from the labels and metadata of eegmat subjects 0-23 and EEGBCI subject 1 runs
3-10, then evaluate zero-shot and linear probes on eegmat subjects 24-35 and
EEGBCI runs 11-14, beside baselines computed in the same process; every
real-data figure is mean +- sd over the seeds.

This module is the command plumbing (arguments, table, report, results file);
the experiments live in :mod:`braindecode_elm.cli.demo_experiments`. Every number
printed is computed by this run, and ``scripts/demo_tables.py`` publishes the
table of a run's ``results.json`` into README and docs.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from braindecode_elm.evaluation.open_recipe import OPEN_RECIPE

from .demo_experiments import (
    DEMO_DURATION_S,
    DEMO_PHENOTYPES,
    DEMO_PRESET,
    DEMO_SESSIONS,
    log,
    progress_shown,
    real_data_part,
    synthetic_part,
)

__all__ = ["run_demo", "DemoTable", "DEMO_PHENOTYPES", "demo_markdown"]

#: Torch threads of the demo unless ``threads`` is given: a fixed count, not
#: "all cores", so that the same machine always rounds the same way.
DEMO_THREADS = 2


class DemoTable:
    """Rows of (part, model, task, metric, value) printed and written by the demo."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, part: str, model: str, task: str, metric: str, value: str) -> None:
        """Append one row (``value`` already formatted)."""
        self.rows.append(
            dict(part=part, model=model, task=task, metric=metric, value=value)
        )

    def markdown(self) -> str:
        """The table in GitHub markdown."""
        head = "| part | model | task | metric | value |\n|---|---|---|---|---|\n"
        body = "".join(
            f"| {r['part']} | {r['model']} | {r['task']} | {r['metric']} | "
            f"{r['value']} |\n"
            for r in self.rows
        )
        return head + body

    def text(self) -> str:
        """Fixed-width table for the terminal."""
        cols = ["part", "model", "task", "metric", "value"]
        width = {c: max(len(c), *(len(str(r[c])) for r in self.rows)) for c in cols}
        line = "  ".join(c.ljust(width[c]) for c in cols)
        out = [line, "-" * len(line)]
        for r in self.rows:
            out.append("  ".join(str(r[c]).ljust(width[c]) for c in cols))
        return "\n".join(out)


def run_demo(
    out: str | os.PathLike,
    *,
    quick: bool = False,
    n_subjects: int | None = None,
    epochs: int | None = None,
    eegmat: bool = True,
    data_dir: str | None = None,
    seed: int = 0,
    seeds: int = 3,
    real_epochs: int | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the demo and write plots, ``results.json`` and ``REPORT.md`` into ``out``.

    Parameters
    ----------
    out : path-like
        Output folder.
    quick : bool
        Shortened run (fewer subjects and windows, one epoch) for tests.
    n_subjects : int | None
        Synthetic subjects (default 32; 16 when quick).
    epochs : int | None
        Pretraining epochs on the synthetic corpus (default 10; 1 when quick).
    eegmat : bool
        Run the real-data part (skipped with a message when the data is absent).
    data_dir : str | None
        Folder holding ``eegmat/`` and ``eegbci/`` (default
        :func:`braindecode_elm.data_dir`).
    seed : int
        Seed of the synthetic corpus, its split and training, and the first
        real-data seed.
    seeds : int
        Real-data pretraining runs (seeds ``seed .. seed + seeds - 1``); the
        real-data rows are mean +- sd over them (at least 3 for a published
        table).
    real_epochs : int | None
        Epochs of the open recipe (default its preset; 1 when quick).
    threads : int | None
        Torch threads (default 2, fixed whatever the core count, so that two runs
        on one machine give identical numbers).
    progress : bool
        Print progress lines and bars (``elm demo --quiet``: off); the results
        table is printed either way.

    Returns
    -------
    dict
        All computed results (also in ``results.json``).
    """
    with progress_shown(progress):
        return _run_demo(
            Path(out),
            quick=quick,
            n_subjects=n_subjects,
            epochs=epochs,
            eegmat=eegmat,
            data_dir=data_dir,
            seed=seed,
            seeds=seeds,
            real_epochs=real_epochs,
            threads=threads,
        )


def _run_demo(
    out: Path,
    *,
    quick: bool,
    n_subjects: int | None,
    epochs: int | None,
    eegmat: bool,
    data_dir: str | None,
    seed: int,
    seeds: int,
    real_epochs: int | None,
    threads: int | None,
) -> dict[str, Any]:
    """:func:`run_demo` with the progress switch already set."""
    import platform

    import torch

    from braindecode_elm._config import data_dir as resolve_data_dir
    from braindecode_elm.evaluation.heldout import set_deterministic

    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    t0 = time.perf_counter()
    if eegmat and data_dir is not None and not (Path(data_dir) / "eegmat").is_dir():
        # Asked for by name: say so now rather than skip that part at the end.
        raise FileNotFoundError(
            f"--data-dir {data_dir} holds no eegmat/ folder; give the folder that "
            "contains eegmat/, or --skip-eegmat"
        )
    cpu0 = time.process_time()
    threads = threads or DEMO_THREADS
    set_deterministic(seed, threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_subjects = n_subjects or (16 if quick else 32)
    epochs = epochs or (1 if quick else 10)
    probe_seeds = 2 if quick else 5
    table = DemoTable()
    results: dict[str, Any] = {
        "synthetic": synthetic_part(
            out,
            table,
            n_subjects=n_subjects,
            epochs=epochs,
            seed=seed,
            seeds=probe_seeds,
            t0=t0,
            max_crops=8 if quick else None,
        )
    }
    root = resolve_data_dir(data_dir)
    eegmat_note = ""
    if eegmat and (root / "eegmat").is_dir():
        with_bci = (root / "eegbci").is_dir()
        results["real"] = real_data_part(
            out,
            table,
            data_dir=str(root),
            epochs=real_epochs or (1 if quick else OPEN_RECIPE.epochs),
            seeds=list(range(seed, seed + seeds)),
            t0=t0,
            threads=threads,
            eegmat_subjects=[*range(0, 6), *range(24, 28)] if quick else range(36),
            eegbci_runs=((3, 4, 11) if quick else range(3, 15)) if with_bci else (),
        )
    elif eegmat:
        eegmat_note = (
            f"real-data part skipped: no eegmat/ under {root} (set ELM_DATA_DIR "
            "or --data-dir)."
        )
        print(eegmat_note)
    elapsed = time.perf_counter() - t0
    print()
    print(table.text())
    print(f"\ntotal time {elapsed:.0f} s on {torch.get_num_threads()} thread(s)")
    from .._json import to_jsonable

    results["table"] = table.rows
    results["run"] = {
        "command": _command(
            out,
            quick,
            n_subjects,
            epochs,
            seed,
            seeds,
            threads,
            real_epochs,
            eegmat=eegmat,
            data_dir=data_dir,
        ),
        "quick": quick,
        "seed": seed,
        "seeds": seeds,
        "threads": threads,
        "wall_s": elapsed,
        "cpu_s": time.process_time() - cpu0,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": sys.version.split()[0],
        "torch": torch.__version__,
    }
    (out / "results.json").write_text(json.dumps(to_jsonable(results), indent=1))
    _write_report(out, table, results["run"], eegmat_note)
    log(f"report, plots and results written to {out}", t0)
    return results


def _command(
    out: Path,
    quick: bool,
    n_subjects: int,
    epochs: int,
    seed: int,
    seeds: int,
    threads: int,
    real_epochs: int | None,
    eegmat: bool = True,
    data_dir: str | None = None,
) -> list[str]:
    cmd = ["elm", "demo", "--out", str(out), "--seed", str(seed)]
    if quick:
        cmd.append("--quick")
    if not eegmat:
        cmd.append("--skip-eegmat")
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    cmd += ["--subjects", str(n_subjects), "--epochs", str(epochs)]
    cmd += ["--seeds", str(seeds), "--threads", str(threads)]
    if real_epochs is not None:
        cmd += ["--real-epochs", str(real_epochs)]
    return cmd


def _minutes(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s"


def demo_markdown(results: dict[str, Any]) -> str:
    """The README block of a demo run: how it ran, then its table (fenced).

    Parameters
    ----------
    results : dict
        Contents of the run's ``results.json``.

    Returns
    -------
    str
        Markdown text (generated into README by ``scripts/demo_tables.py``).
    """
    run = results["run"]
    table = DemoTable()
    table.rows = list(results["table"])
    return (
        f"`{shlex.join(run['command'])}` took {_minutes(run['wall_s'])} "
        f"({run['cpu_s']:.0f} s of CPU time, {run['threads']} torch threads; "
        f"{run['machine']}, Python {run['python']}, torch {run['torch']}) and "
        "printed:\n\n```\n" + table.text() + "\n```\n"
    )


def demo_rst(results: dict[str, Any]) -> str:
    """The docs block of a demo run (reStructuredText literal block)."""
    run = results["run"]
    table = DemoTable()
    table.rows = list(results["table"])
    body = "\n".join("    " + ln for ln in table.text().splitlines())
    return (
        f"``{shlex.join(run['command'])}`` took {_minutes(run['wall_s'])} "
        f"({run['cpu_s']:.0f} s of CPU time, {run['threads']} torch threads; "
        f"{run['machine']}, Python {run['python']}, torch {run['torch']}) and "
        "printed::\n\n" + body + "\n"
    )


def _write_report(out: Path, table: DemoTable, run: dict[str, Any], note: str) -> None:
    seed, n_subjects, epochs = run["seed"], None, None
    cmd = run["command"]
    n_subjects = cmd[cmd.index("--subjects") + 1]
    epochs = cmd[cmd.index("--epochs") + 1]
    pheno = ",".join(f"{k}={v:g}" for k, v in DEMO_PHENOTYPES.items())
    sess = " ".join(str(v) for v in DEMO_SESSIONS)
    dur = " ".join(f"{v:g}" for v in DEMO_DURATION_S)
    pngs = sorted(p.name for p in out.glob("*.png"))
    # --quick embeds at most 8 crops per recording (see run_demo): the step
    # commands must say so to give the same figures.
    crops = " --max-crops 8" if "--quick" in cmd else ""
    text = f"""# ELM demo report

Reproduce with:

```
{shlex.join(cmd)}
```

or step by step (synthetic part; the id lists are the demo's subject split):

```
elm synth {out}/synthetic/raw --subjects {n_subjects} --seed {seed} \\
    --phenotypes {pheno} --sessions {sess} --duration {dur}
elm preprocess {out}/synthetic/raw {out}/synthetic/cache_pretrain \\
    --recordings {out}/synthetic/pretrain_ids.txt
elm preprocess {out}/synthetic/raw {out}/synthetic/cache_heldout \\
    --recordings {out}/synthetic/heldout_ids.txt
elm pretrain --preset {DEMO_PRESET} --data {out}/synthetic/cache_pretrain \\
    --out {out}/synthetic/run epochs={epochs} seed={seed}
elm zeroshot --model {out}/synthetic/run/final \\
    --cache {out}/synthetic/cache_heldout --prompts normal_abnormal \\
    --labels {out}/synthetic/raw/ground_truth.csv:abnormal{crops}
elm retrieve --model {out}/synthetic/run/final \\
    --cache {out}/synthetic/cache_heldout{crops}
```

## Results

{table.markdown()}
{note}

Synthetic part: held-out subjects never enter pretraining (subject-disjoint
split stratified by phenotype, seed {seed}); pretraining uses the `{DEMO_PRESET}`
preset (tiny-cpu's narrow tower and MIL set shapes with AdamW). Its probes train
on the pretraining subjects' labels (10 %, stratified) with C chosen on a
subject-disjoint validation part of them; +- is over label draws.

Real-data part (the open recipe of `elm-open-5s`): one pretraining run per seed
({run["seeds"]} seeds) on text made from the labels and metadata of eegmat
subjects 0-23 and EEGBCI subject 1 runs 3-10 (several wordings per fact,
positives by meaning); every row is mean +- sd over those seeds. Zero-shot
classifies the 5 s windows (and eegmat recordings, by their mean score) of eegmat
subjects 24-35 and EEGBCI runs 11-14 from the bundle's prompt sets. The probes
(balanced logistic regression, C chosen on a held-out fifth of the training
subjects or runs) learn from 10 % or 100 % of the training labels. Baselines on
the same windows, in the same process: the same tower untrained (random weights,
same frozen language model), log band power (5 bands x 20 channels) + LR and
tangent space of OAS covariances + LR. 100 %-label baseline rows have zero
spread: every seed then fits the same data.

## Plots

{chr(10).join(f"![{p}]({p})" for p in pngs)}

Machine: {run["machine"]}, Python {run["python"]}, torch {run["torch"]},
{run["threads"]} torch threads; total time {run["wall_s"]:.0f} s.
"""
    (out / "REPORT.md").write_text(text)
