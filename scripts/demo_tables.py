"""Publish the table of an ``elm demo`` run in README and docs.

``python scripts/demo_tables.py runs/demo/results.json`` copies the run's
table, run facts and real-data results to ``docs/results/demo.json`` and
replaces the block ``demo`` of ``README.md`` and of ``docs/evaluation.rst``
with the table, command and time built from it
(:func:`braindecode_elm.cli.demo.demo_markdown` and
:func:`~braindecode_elm.cli.demo.demo_rst`); no number is copied by hand.
``--from-docs`` regenerates the blocks from ``docs/results/demo.json``.

Only a full run is published: a ``--quick`` run, a run without the real-data part
or one with fewer than 3 seeds is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from docs_tables import replace_block  # noqa: E402

#: Where the published results file is kept (next to the benchmarks' files).
PUBLISHED = ROOT / "docs" / "results" / "demo.json"


def slim(results: dict) -> dict:
    """What the docs are built from: the table, the run, the real-data summary.

    Per-recording scores of the synthetic part and training curves stay in the
    run folder; the printed table already holds every synthetic figure.
    """
    real = {k: v for k, v in results["real"].items() if k != "history"}
    return {"table": results["table"], "run": results["run"], "real": real}


def check_publishable(results: dict) -> None:
    """Raise ValueError unless ``results`` is a full demo run with >= 3 seeds."""
    run = results.get("run")
    if run is None or "table" not in results:
        raise ValueError("not a results.json of `elm demo` (no 'run'/'table' entry)")
    if run.get("quick"):
        raise ValueError("a --quick run is not published; run `elm demo --out DIR`")
    if "real" not in results:
        raise ValueError("the run has no real-data part; run it with the shared data")
    if len(results["real"]["seeds"]) < 3:
        raise ValueError(
            f"the run used {len(results['real']['seeds'])} real-data seed(s); "
            "publish a run with --seeds 3 or more"
        )


def publish(
    results_path: Path,
    readme: Path = ROOT / "README.md",
    docs: Path = ROOT / "docs" / "evaluation.rst",
) -> list[Path]:
    """Write the blocks of ``readme`` and ``docs`` from ``results_path``.

    Returns
    -------
    list of Path
        The files that changed.
    """
    from braindecode_elm.cli.demo import demo_markdown, demo_rst

    results = json.loads(Path(results_path).read_text())
    check_publishable(results)
    changed = []
    if replace_block(readme, "demo", demo_markdown(results)):
        changed.append(readme)
    if replace_block(docs, "demo", demo_rst(results)):
        changed.append(docs)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="?", help="results.json of an `elm demo` run")
    p.add_argument(
        "--from-docs",
        action="store_true",
        help=f"regenerate from {PUBLISHED.relative_to(ROOT)}",
    )
    args = p.parse_args(argv)
    if args.from_docs == bool(args.results):
        p.error("give a results.json or --from-docs (one of them)")
    src = PUBLISHED
    if args.results:
        results = json.loads(Path(args.results).read_text())
        try:
            check_publishable(results)
        except ValueError as err:
            p.error(str(err))
        PUBLISHED.parent.mkdir(parents=True, exist_ok=True)
        PUBLISHED.write_text(json.dumps(slim(results), indent=1) + "\n")
    changed = publish(src)
    print("updated: " + (", ".join(str(c) for c in changed) or "nothing (up to date)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
