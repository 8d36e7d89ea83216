"""Ship the ``elm-open-5s`` bundle from a run of the open recipe, and publish it.

``python scripts/open_bundle.py runs/demo/real`` (the real-data part of ``elm
demo``) or ``python scripts/open_bundle.py runs/open`` (``elm open-recipe``)
copies the first seed's bundle into ``braindecode_elm/pretrained/elm-open-5s``
with its prompt sets, a model card and the run's ``results.json``, then replaces
the block ``open-bundle`` of ``docs/labelled_pretraining.rst`` with the table
built from those results. ``--docs`` only regenerates the block and the model card
from the shipped ``results.json`` and ``config.json``. Runs with fewer than 3 seeds
are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from docs_tables import replace_block  # noqa: E402

DOCS = ROOT / "docs" / "labelled_pretraining.rst"


def rst_table(results: dict) -> str:
    """The results as a reStructuredText list-table (mean +- sd over seeds)."""
    from braindecode_elm.evaluation.open_recipe import summary_rows

    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - task",
        "     - method",
        "     - balanced accuracy",
        "     - AUROC",
    ]
    for task, method, ba, auc in summary_rows(results):
        lines += [
            f"   * - {task}",
            f"     - {method}",
            f"     - {ba['mean']:.3f} +- {ba['sd']:.3f}",
            f"     - {auc['mean']:.3f} +- {auc['sd']:.3f}",
        ]
    from braindecode_elm.evaluation.open_recipe import shipped_rows

    seeds = results["seeds"]
    shipped = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - task",
        "     - balanced accuracy",
        "     - AUROC",
    ]
    for task, m in shipped_rows(results, seeds[0]):
        shipped += [
            f"   * - {task}",
            f"     - {m['balanced_accuracy']:.3f}",
            f"     - {m['auroc']:.3f}",
        ]
    return (
        f"Seeds {seeds}; {results['threads']} torch threads; recipe "
        f"``{json.dumps(results['recipe'])}``. The rows named "
        f"``{results['bundle']}`` are the recipe's mean over the seeds.\n\n"
        + "\n".join(lines)
        + f"\n\nThe shipped weights are seed {seeds[0]}'s; on the same windows "
        "they score (the figures a user of the bundle reproduces):\n\n"
        + "\n".join(shipped)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    from braindecode_elm.evaluation.open_recipe import (
        OPEN_BUNDLE,
        model_card,
        write_bundle,
    )
    from braindecode_elm.models.pretrained import PRETRAINED_DIR

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", nargs="?", help="folder with results.json and seed<k>/")
    p.add_argument("--docs", action="store_true", help="only regenerate the docs")
    args = p.parse_args(argv)
    dest = PRETRAINED_DIR / OPEN_BUNDLE
    if args.docs == bool(args.run):
        p.error("give a run folder or --docs (one of them)")
    if args.run:
        run = Path(args.run)
        results = json.loads((run / "results.json").read_text())
        if len(results["seeds"]) < 3:
            p.error(f"{run} used {len(results['seeds'])} seed(s); need 3 or more")
        write_bundle(results, run / f"seed{results['seeds'][0]}", dest)
        print(f"bundle written to {dest}")
    results = json.loads((dest / "results.json").read_text())
    offsets = json.loads((dest / "config.json").read_text()).get("prompt_offsets")
    card_path = dest / "MODEL_CARD.md"
    card = model_card(results, f"seed{results['seeds'][0]}", offsets)
    if card_path.read_text() != card:
        card_path.write_text(card)
        print(f"{card_path}: updated")
    changed = replace_block(DOCS, "open-bundle", rst_table(results))
    print(f"{DOCS}: {'updated' if changed else 'up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
