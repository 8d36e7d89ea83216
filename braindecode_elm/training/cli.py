"""Pretraining command line: ``python -m braindecode_elm.training``, ``elm pretrain``.

Also the entry point under ``torchrun``::

    torchrun --nproc_per_node 4 -m braindecode_elm.training \\
        --preset elm-5s --data CACHE_DIR --out RUN_DIR
"""

from __future__ import annotations

import argparse
import math
import sys

__all__ = ["main", "build_parser"]


def build_parser(prog: str = "elm pretrain") -> argparse.ArgumentParser:
    """Argument parser of the pretraining command.

    Parameters
    ----------
    prog : str
        Program name shown in the help.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    from .config import list_presets

    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Pretrain ELM (EEG-language MIL contrastive learning) on a preprocessed "
            "cache. Run under torchrun for several processes/GPUs."
        ),
        epilog=(
            "Overrides are key=value pairs of the config, e.g. epochs=3 "
            "precision=fp32 compile=true batch_size=40. Final weights go to "
            "RUN_DIR/final (load with ELM.from_pretrained)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--preset",
        default="elm-5s",
        help=f"preset name ({', '.join(list_presets())}) or a YAML file",
    )
    p.add_argument("--data", metavar="CACHE_DIR", help="cache folder (elm preprocess)")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder (checkpoints, final/)")
    p.add_argument(
        "--resume",
        metavar="latest|CKPT",
        help="resume from the newest checkpoint in RUN_DIR ('latest') or a folder",
    )
    p.add_argument(
        "--device",
        help="auto, cpu, cuda, cuda:1 ... (default: auto, cuda when available, "
        "else cpu)",
    )
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar (logs only)"
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more messages (debug)"
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only warnings, errors and the result line (no progress bars)",
    )
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run pretraining from command-line arguments.

    Parameters
    ----------
    argv : list of str or None
        Arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        Exit status (0 on success, 2 on a configuration error).
    """
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    from .._logging import configure_logging, quiet_third_parties, verbosity_level

    # Before Braindecode or Hugging Face are imported (also for python -m and
    # torchrun, which do not pass through the elm command line).
    # --no-progress: no bar at all, the text tower's loading bar included.
    quiet_third_parties(quiet=args.quiet or args.no_progress)
    configure_logging(verbosity_level(args.verbose, args.quiet))
    from .config import load_preset, parse_overrides

    try:
        overrides = parse_overrides(args.overrides)
        if args.data is not None:
            overrides["data"] = args.data
        if args.out is not None:
            overrides["out"] = args.out
        if args.device is not None:
            overrides["device"] = args.device
        cfg = load_preset(args.preset, **overrides)
    except ValueError as err:
        parser.error(str(err))
        return 2  # pragma: no cover - parser.error exits
    if cfg.out is None:
        parser.error("--out RUN_DIR is required")
    if cfg.data is None:
        parser.error("--data CACHE_DIR is required")
    from pathlib import Path

    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file; give a folder for the run")
    if (out / "manifest.jsonl").is_file():
        parser.error(f"--out {out} is a preprocessed cache; give a separate run folder")
    from .trainer import pretrain

    progress = not (args.no_progress or args.quiet)
    result = pretrain(cfg, resume=args.resume, progress=progress)
    if result.final_dir is not None:
        last = result.history[-1] if result.history else {}
        loss = last.get("train_loss", float("nan"))
        r1 = last.get("val_r1", float("nan"))
        # An empty validation split (val_fraction=0, or too few subjects for a
        # held-out one) has no R@1: say so rather than print "nan".
        val = (
            f"val R@1 {r1:.3f}"
            if math.isfinite(r1)
            else "no validation recordings (val_fraction or too few subjects)"
        )
        print(
            f"done: {result.step} steps, final loss {loss:.4f}, {val}; weights in "
            f"{result.final_dir}",
            file=sys.stdout,
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
