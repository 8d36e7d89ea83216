"""Run the MOABB comparison on the shared data and publish its table in the docs.

``python scripts/moabb_tables.py --out runs/moabb`` runs
:func:`braindecode_elm.evaluation.moabb_eval.run_real_data_comparisons` (all
pipelines of a seed in one process, seeds 0-2) and writes ``results.csv`` /
``summary.csv``; ``--from-results runs/moabb/summary.csv`` only regenerates the
table. Either way the block ``moabb`` of ``docs/evaluation.rst`` is replaced with
the table built from the results file (no hand-copied numbers).

``--heldout`` runs the eegmat comparison on the shipped ``elm-open-5s`` bundle's
test subjects only (PhysioNet subjects 24-35, MOABB 25-36: never seen in its
pretraining), with ``ELM[elm-open-5s]+LR`` beside the untrained tower and the
baselines, into ``runs/moabb_heldout`` and the block ``moabb-heldout``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from docs_tables import replace_block  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out", default=None, help="result folder (default runs/moabb[_heldout])"
    )
    p.add_argument(
        "--heldout",
        action="store_true",
        help="eegmat only, on the test subjects of the shipped elm-open-5s bundle",
    )
    p.add_argument("--from-results", help="summary.csv to publish without running")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n-splits", type=int, default=4, help="eegmat subject folds")
    p.add_argument("--n-epochs", type=int, default=5, help="deep baselines' epochs")
    p.add_argument(
        "--eegmat-subjects", type=int, default=36, help="first N eegmat subjects"
    )
    p.add_argument("--docs", default=str(ROOT / "docs" / "evaluation.rst"))
    args = p.parse_args(argv)

    import json

    import pandas as pd

    from braindecode_elm.evaluation.moabb_eval import (
        moabb_summary_table,
        run_real_data_comparisons,
    )
    from braindecode_elm.evaluation.open_recipe import (
        EEGMAT_TEST_SUBJECTS,
        OPEN_BUNDLE,
    )

    out = Path(args.out or ("runs/moabb_heldout" if args.heldout else "runs/moabb"))
    if args.from_results:
        summary = pd.read_csv(args.from_results)
        settings = json.loads(
            (Path(args.from_results).parent / "settings.json").read_text()
        )
    else:
        settings = {
            "seeds": args.seeds,
            "eegmat_subjects": args.eegmat_subjects,
            "n_splits": args.n_splits,
            "n_epochs": args.n_epochs,
        }
        if args.heldout:
            # MOABB numbers eegmat's subjects from 1 (PhysioNet Subject00 is 1).
            settings["eegmat_subject_list"] = [s + 1 for s in EEGMAT_TEST_SUBJECTS]
            settings["bundle"] = OPEN_BUNDLE
        import subprocess

        import torch

        try:
            # The code the numbers came from, printed with the table.
            settings["source_commit"] = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
        torch.set_num_threads(1)
        if args.heldout:
            which = dict(
                model={OPEN_BUNDLE: OPEN_BUNDLE, "untrained": None},
                eegmat_subjects=settings["eegmat_subject_list"],
                comparisons=("eegmat",),
            )
        else:
            which = dict(
                model={"untrained": None},
                eegmat_subjects=list(range(1, args.eegmat_subjects + 1)),
            )
        summary = run_real_data_comparisons(
            out,
            n_splits=args.n_splits,
            n_epochs=args.n_epochs,
            seeds=args.seeds,
            **which,
        )["summary"]
        (out / "settings.json").write_text(json.dumps(settings))
    commit = settings.get("source_commit")
    if "eegmat_subject_list" in settings:
        subj = settings["eegmat_subject_list"]
        block = "moabb-heldout"
        scope = (
            f"Run: seeds {settings['seeds']}; eegmat subjects {subj[0]}-{subj[-1]} "
            f"(MOABB numbering; PhysioNet {subj[0] - 1}-{subj[-1] - 1}, the "
            f"{settings['bundle']} test subjects) in {settings['n_splits']} subject "
            "folds"
        )
    else:
        block = "moabb"
        scope = (
            f"Run: seeds {settings['seeds']}; eegmat subjects 1-"
            f"{settings['eegmat_subjects']} in {settings['n_splits']} subject "
            "folds; EEGBCI subject 1 in 5 within-session folds"
        )
    table = (
        scope
        + f"; braindecode networks {settings['n_epochs']} epochs per fold"
        + (f"; code at commit {commit[:7]}" if commit else "")
        + ".\n\n"
        + moabb_summary_table(summary)
    )
    print(table)
    changed = replace_block(args.docs, block, "\n" + table)
    print(f"{args.docs}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
