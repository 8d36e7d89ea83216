"""The ``elm`` command line (entry point ``braindecode_elm.cli:main``).

Only :mod:`argparse` is imported here so ``elm --help`` is instant; every
subcommand imports what it needs (torch, MNE, MOABB, ...) when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._errors import debug_requested
from .._logging import quiet_third_parties
from ._errors import (
    comma_list,
    fraction_list,
    nonempty_str,
    nonnegative_float,
    nonnegative_int,
    open_fraction,
    positive_float,
    positive_float_or_none,
    positive_int,
    run_command,
)

__all__ = ["main", "build_parser"]

# The ELM windowing rules (braindecode_elm.data.windows.ELM_DROP_FIRST_S and
# ELM_MAX_MINUTES), restated so that building the parser imports no NumPy;
# tests/test_cli.py checks that they agree.
_DROP_FIRST_S = 10.0
_MAX_MINUTES = 45.0

_EPILOG = """\
examples:
  elm demo --out demo_out                     # the whole pipeline, minutes on 2 cores
  elm synth corpus/ --subjects 20 --seed 0    # synthetic TUH-like EDF + reports
  elm preprocess corpus/ cache/               # Rust engine -> float16 cache
  elm pretrain --preset tiny-cpu-demo --data cache/ --out run/
  elm zeroshot --model run/final --cache cache/ --prompts normal_abnormal
  elm retrieve --model run/final --cache cache/ --query "focal slowing"
  elm probe --model run/final --cache cache/ --labels corpus/ground_truth.csv:abnormal
  elm benchmark --models run/final --datasets cache/ --tasks zeroshot,probe \\
      --labels corpus/ground_truth.csv:abnormal --out bench/
run 'elm COMMAND --help' for the options and examples of each command.
"""


def _add_model_data(
    p: argparse.ArgumentParser,
    out_help: str = "folder for JSON results and plots (default: print only)",
) -> None:
    p.add_argument(
        "--model",
        required=True,
        help="ELM bundle folder (ELM.save_pretrained / a pretraining run's final/) "
        "or the name of a shipped bundle (elm-open-5s)",
    )
    p.add_argument("--cache", required=True, help="preprocessed cache (elm preprocess)")
    p.add_argument(
        "--recordings",
        default=None,
        help="file with one recording id per line to restrict to (default: all)",
    )
    p.add_argument(
        "--seconds",
        type=positive_float,
        default=None,
        help="crop length (s) (default: the length the model's tower is trained "
        "on, 5 or 60)",
    )
    _add_windowing(p)
    p.add_argument(
        "--max-crops",
        type=positive_int,
        default=None,
        help="at most this many evenly spaced crops/recording (default: all)",
    )
    p.add_argument("--out", default=None, help=out_help)


def _add_windowing(p: argparse.ArgumentParser) -> None:
    """``--drop-first`` and ``--max-minutes``: where the crops of a recording lie."""
    p.add_argument(
        "--drop-first",
        type=nonnegative_float,
        default=_DROP_FIRST_S,
        metavar="SECONDS",
        help="seconds skipped at the start of each recording before the first "
        "crop (ELM's recipe for clinical recordings; 0 for files already cut to "
        "the part of interest, such as eegmat's 62 s recordings)",
    )
    p.add_argument(
        "--max-minutes",
        type=positive_float,
        default=_MAX_MINUTES,
        help="crop at most this many minutes of each recording after the skipped start",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """``--device``, ``--batch-size``, ``-v``/``--quiet`` of the evaluation commands."""
    p.add_argument(
        "--device",
        default="auto",
        help="where the model runs: cpu, cuda, cuda:N, mps, or auto (cuda when "
        "available, else cpu)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=256,
        help="EEG crops per forward pass",
    )
    _add_verbosity(p)


def _add_verbosity(p: argparse.ArgumentParser) -> None:
    """``-v``/``--verbose`` and ``-q``/``--quiet``."""
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more messages (debug)"
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only warnings, errors and the results (no progress bars)",
    )


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Append ``(default: X)`` to every option help that has a meaningful default.

    ``ArgumentDefaultsHelpFormatter`` would drop our raw-text epilogs and skips
    options without help; this keeps both and leaves helps that already state
    their default alone.
    """
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    parsers = [parser] + [q for a in subs for q in a.choices.values()]
    for q in parsers:
        for action in q._actions:
            default = action.default
            if (
                default is None
                or default is False
                or default is argparse.SUPPRESS
                or isinstance(action, (argparse._HelpAction, argparse._CountAction))
                or action.help == argparse.SUPPRESS
            ):
                continue
            text = action.help or ""
            if "default" in text.lower():
                continue
            if isinstance(default, (list, tuple)):
                default = " ".join(map(str, default)) or "none"
            shown = f"(default: {default})".replace("%", "%%")
            action.help = f"{text} {shown}" if text else shown


def build_parser() -> argparse.ArgumentParser:
    """Build the ``elm`` argument parser (no heavy imports).

    Returns
    -------
    argparse.ArgumentParser
    """
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="elm",
        description="ELM, the EEG-Language Model, for Braindecode and MOABB.",
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="store_true", help="print the version")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error (also ELM_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "synth",
        help="write a synthetic TUH-like corpus (EDF + reports)",
        formatter_class=fmt,
        epilog="example:\n  elm synth corpus/ --subjects 20 --seed 0",
    )
    p.add_argument("out", help="output folder (TUEG layout)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a corpus already in the output folder",
    )
    p.add_argument(
        "--subjects", type=positive_int, default=20, help="number of subjects"
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed")
    p.add_argument(
        "--phenotypes",
        default=None,
        help="phenotype mix over subjects, e.g. normal=0.5,diffuse_slowing=0.5 "
        "(default: the standard mix, mostly normal: "
        "braindecode_elm.data.synthetic.DEFAULT_PHENOTYPE_WEIGHTS)",
    )
    p.add_argument(
        "--sessions",
        type=positive_int,
        nargs=2,
        default=(1, 3),
        metavar=("MIN", "MAX"),
        help="inclusive range of sessions (recordings) per subject",
    )
    p.add_argument(
        "--duration",
        type=positive_float,
        nargs=2,
        default=(120.0, 300.0),
        metavar=("MIN", "MAX"),
        help="range of recording lengths in seconds",
    )
    _add_verbosity(p)

    p = sub.add_parser(
        "preprocess",
        help="preprocess EDF recordings into the ELM cache (Rust engine)",
        formatter_class=fmt,
        epilog="examples:\n  elm preprocess corpus/ cache/\n"
        "  elm preprocess eegmat/ cache/ --metadata labels.csv\n"
        "  elm preprocess /data/tueg cache/ --require-reports --n-jobs 8 "
        "--shard 0/4",
    )
    p.add_argument(
        "source",
        help="folder of EDF files (TUH, a BIDS dataset read through MNE-BIDS: "
        "subjects/sessions from its entities, labels from participants.tsv; or "
        "plain; reports optional), "
        "searched recursively",
    )
    p.add_argument("out", help="cache folder")
    p.add_argument(
        "--metadata",
        action="append",
        default=None,
        help="CSV/TSV of labels and metadata, one row per recording (column "
        "recording_id = the recording id (see --ids), or path) or per subject "
        "(column subject or "
        "participant_id); a 'subject' column sets subject ids, a 'report' column "
        "report text; repeat for several tables (default: none; a BIDS "
        "participants.tsv is read anyway)",
    )
    p.add_argument(
        "--prune-missing",
        action="store_true",
        help="drop recordings cached before whose EDF file is gone from the "
        "source folder, and delete their arrays (default: keep them, with a "
        "warning)",
    )
    p.add_argument(
        "--require-reports",
        action="store_true",
        help="skip recordings without a report (needed for pretraining; "
        "default: cache them without text)",
    )
    p.add_argument(
        "--min-duration",
        type=nonnegative_float,
        default=60.0,
        help="skip recordings shorter than this many seconds (default: 60)",
    )
    p.add_argument(
        "--max-duration",
        type=positive_float_or_none,
        default=9000.0,
        help="skip recordings longer than this many seconds; 'none' keeps all "
        "(default: 9000)",
    )
    p.add_argument(
        "--recipe",
        default="elm",
        choices=["elm", "default", "elm_official"],
        help="preprocessing recipe",
    )
    p.add_argument("--n-jobs", type=positive_int, default=1, help="parallel workers")
    p.add_argument(
        "--shard", default=None, help="I/N: process shard I of N (default: all)"
    )
    p.add_argument(
        "--recordings",
        default=None,
        help="file with one recording id per line to restrict to (default: all)",
    )
    p.add_argument(
        "--ids",
        choices=["stem", "path"],
        default="stem",
        help="recording ids: EDF file names without .edf (stem), or paths inside "
        "the folder without it (path: subject1/rest), for folders whose subject or "
        "session folders hold files of one name (with stem the second one is "
        "skipped as duplicate_id)",
    )
    p.add_argument(
        "--subjects",
        choices=["auto", "folder"],
        default="auto",
        help="subject ids: from BIDS/TUH names and folders, else the file name's "
        "first _-separated token (auto; a warning says when those repeat across "
        "folders), or the first folder inside SOURCE (folder: subjA/rest.edf -> "
        "subjA); a --metadata table's subject column overrides both",
    )
    _add_verbosity(p)

    sub.add_parser(
        "pretrain",
        help="pretrain ELM (see 'elm pretrain --help')",
        add_help=False,
        formatter_class=fmt,
        epilog="example:\n"
        "  elm pretrain --preset tiny-cpu-demo --data cache/ --out run/",
    )

    p = sub.add_parser(
        "embed",
        help="embed recordings (and report segments) to an .npz",
        formatter_class=fmt,
        epilog="example:\n  elm embed --model run/final --cache cache/ --out emb.npz",
    )
    _add_model_data(
        p,
        out_help="output .npz file, or a folder to hold embeddings.npz "
        "(default: embeddings.npz)",
    )
    _add_run_options(p)
    p.add_argument("--text", action="store_true", help="also embed report segments")

    p = sub.add_parser(
        "zeroshot",
        help="zero-shot classification from prompt ensembles",
        formatter_class=fmt,
        epilog="examples:\n"
        "  elm zeroshot --model run/final --cache cache/ --prompts normal_abnormal\n"
        "  elm zeroshot --model run/final --cache cache/ --prompts my_prompts.json "
        "--labels corpus/ground_truth.csv:abnormal\n"
        "  elm zeroshot --model run/final --cache cache/ --prompts my_prompts.json "
        "--labels corpus/ground_truth.csv:abnormal --label-map 0=normal,1=abnormal\n"
        "  elm zeroshot --model elm-open-5s --cache cache/ "
        "--prompts eegmat_rest_arithmetic\n"
        "  elm zeroshot --model elm-open-5s --cache cache/ "
        "--prompts eegmat_rest_arithmetic --no-calibration\n"
        "\n"
        "A prompt set of the bundle that has class offsets (computed from the\n"
        "bundle's labelled pretraining windows, no test data) predicts the class\n"
        "with the largest cosine score minus its offset, and a line says so;\n"
        "--no-calibration uses the raw scores. Built-in sets and JSON files get\n"
        "no offsets.",
    )
    _add_model_data(p)
    _add_run_options(p)
    p.add_argument(
        "--prompts",
        default="normal_abnormal",
        help="a built-in prompt set name, one of the model bundle's prompt sets "
        "(elm-open-5s: eegmat_rest_arithmetic, eegbci_rest_task) or a JSON file "
        "{class: [prompts]}",
    )
    p.add_argument(
        "--labels",
        default=None,
        help="description key (or FILE.csv:COLUMN) holding the true class; "
        "labels are matched to the prompt classes by name (default: none, "
        "predictions only)",
    )
    p.add_argument(
        "--label-map",
        default=None,
        metavar="VALUE=CLASS,...",
        help="which prompt class each label value is, e.g. 0=rest,1=task; needed "
        "when the labels are integers or booleans (the prompt file's key order "
        "is never used)",
    )
    p.add_argument(
        "--predictions",
        default=None,
        metavar="PATH.csv",
        help="write one row per recording (prediction, class scores, label; the "
        "scores are minus the class offsets when offsets are used)",
    )
    p.add_argument(
        "--no-calibration",
        action="store_true",
        help="ignore the bundle's class offsets of the prompt set (raw argmax of "
        "the cosine scores)",
    )
    p.add_argument(
        "--level",
        choices=["recording", "crop"],
        default="recording",
        help="score each recording (its crops' scores averaged) or each crop "
        "(the model card's window rows)",
    )

    p = sub.add_parser(
        "retrieve",
        help="EEG <-> report retrieval metrics, or search recordings by text",
        formatter_class=fmt,
        epilog="examples:\n  elm retrieve --model run/final --cache cache/\n"
        '  elm retrieve --model run/final --cache cache/ --query "focal slowing"',
    )
    _add_model_data(p)
    _add_run_options(p)
    p.add_argument(
        "--query",
        type=nonempty_str,
        default=None,
        help="free text: list the best recordings",
    )
    p.add_argument(
        "--top-k",
        type=positive_int,
        default=None,
        help="recordings listed by --query (default: 5)",
    )
    p.add_argument(
        "--positives",
        choices=("text", "recording"),
        default=None,
        help="what a right answer is: 'text' (default) any recording/segment with "
        "the identical text (caption identity), 'recording' only its own report",
    )

    p = sub.add_parser(
        "probe",
        help="ELM linear probe (label fractions x seeds)",
        formatter_class=fmt,
        epilog="example:\n  elm probe --model run/final --cache cache/ "
        "--labels corpus/ground_truth.csv:abnormal --fractions 0.01,0.1,1 --seeds 5",
    )
    _add_model_data(p)
    _add_run_options(p)
    p.add_argument(
        "--labels",
        required=True,
        help="description key with the label, or FILE.csv:COLUMN (by recording_id)",
    )
    p.add_argument(
        "--fractions",
        type=fraction_list,
        default="0.01,0.1,1.0",
        help="comma-separated fractions of the training labels to use",
    )
    p.add_argument("--seeds", type=positive_int, default=5, help="seeds per fraction")
    p.add_argument(
        "--level",
        default="recording",
        choices=["recording", "window"],
        help="probe recording means or every window",
    )
    p.add_argument(
        "--predictions",
        default=None,
        metavar="PATH.csv",
        help="write the test predictions of every fraction and seed (label, "
        "prediction, class probabilities)",
    )
    p.add_argument(
        "--test-size",
        type=open_fraction,
        default=0.3,
        help="subject-disjoint test part",
    )
    p.add_argument(
        "--val-size",
        type=open_fraction,
        default=0.2,
        help="subject-disjoint validation part of the training subjects (for C)",
    )

    p = sub.add_parser(
        "benchmark",
        help="grid of models x datasets x tasks -> JSON per cell, CSV, markdown",
        formatter_class=fmt,
        epilog="example:\n  elm benchmark --models run/final,random-elm "
        "--datasets cache/ --tasks zeroshot,retrieval,probe --out bench/ \\\n"
        "      --labels corpus/ground_truth.csv:abnormal",
    )
    p.add_argument(
        "--models",
        required=True,
        type=comma_list,
        help="comma list: ELM folders, shipped bundles ('elm-open-5s'), "
        "'random-elm', 'labram', 'cbramod'",
    )
    p.add_argument(
        "--datasets", required=True, type=comma_list, help="comma list of cache folders"
    )
    p.add_argument(
        "--tasks",
        type=comma_list,
        default="zeroshot,retrieval,probe",
        help="comma list of tasks",
    )
    p.add_argument(
        "--out", required=True, help="output: cells/, leaderboard.csv and .md"
    )
    p.add_argument(
        "--labels",
        default=None,
        help="description key with the label, or FILE.csv:COLUMN (by "
        "recording_id); needed by probe (default: none)",
    )
    p.add_argument(
        "--prompts",
        default="normal_abnormal",
        help="zero-shot prompts: a built-in set, a prompt set of each bundle "
        "(with its class offsets, as in elm zeroshot) or a JSON file",
    )
    p.add_argument(
        "--label-map",
        default=None,
        metavar="VALUE=CLASS,...",
        help="zero-shot: prompt class of each label value, e.g. 0=rest,1=task "
        "(default: labels are class names)",
    )
    p.add_argument("--seeds", type=positive_int, default=5, help="probe seeds")
    p.add_argument(
        "--weights-dir",
        default=None,
        help="folder with local labram/cbramod weights (default: none, those "
        "models are skipped)",
    )
    _add_windowing(p)
    _add_run_options(p)

    p = sub.add_parser(
        "convert-official",
        help="turn a released ELM checkpoint into a bundle (EEG tower only)",
        formatter_class=fmt,
        epilog="example:\n  elm convert-official model_0_checkpoint.pt elm-official-5s "
        "--variant 5s\n\nThe official release has no text head: the bundle embeds "
        "EEG (probes,\nMOABB pipelines) but cannot do zero-shot or retrieval.",
    )
    p.add_argument("checkpoint", help="your copy of model_0_checkpoint.pt")
    p.add_argument("out", help="bundle folder to write")
    p.add_argument(
        "--variant",
        required=True,
        choices=["5s", "60s"],
        help="which release the file is (the file itself does not say)",
    )
    p.add_argument(
        "--sha256", default=None, help="refuse the file unless its SHA-256 matches"
    )
    _add_verbosity(p)

    p = sub.add_parser(
        "open-recipe",
        help="pretrain on text from the labels of the shared eegmat + EEGBCI data "
        "and evaluate on held-out subjects/runs beside baselines",
        formatter_class=fmt,
        epilog="examples:\n  elm open-recipe --out runs/open\n"
        "  elm open-recipe --out runs/open --seeds 0 1 2 --epochs 10\n"
        "  python scripts/open_bundle.py runs/open   # ship it as elm-open-5s",
    )
    p.add_argument("--out", required=True, help="bundles (seed<k>/) and results")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run in --out (refused otherwise)",
    )
    p.add_argument(
        "--seeds", type=nonnegative_int, nargs="+", default=[0, 1, 2], help="seeds"
    )
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="pretraining epochs (default: the recipe's, 10)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder holding eegmat/ and eegbci/ (default: $ELM_DATA_DIR, else "
        "the ELM_DATA_DIR key of MNE's config, else ../shared/data)",
    )
    p.add_argument(
        "--threads", type=positive_int, default=2, help="torch threads (fixed)"
    )
    _add_verbosity(p)

    p = sub.add_parser(
        "pretrain-labelled",
        help="pretrain on text from the labels of your own EDF folders (BIDS, "
        "TUH, plain + label tables) and zero-shot the held-out subjects",
        formatter_class=fmt,
        epilog="example (TUH-like folder, its labels in a table):\n"
        "  elm pretrain-labelled --source tuh=corpus/ --metadata "
        "tuh=corpus/ground_truth.csv --epochs 1 --out runs/tuh",
    )
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="NAME=FOLDER",
        help="a dataset: a folder of EDF files (BIDS, TUH or plain); repeat for "
        "several (subjects are split per dataset)",
    )
    p.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="NAME=TABLE",
        help="a CSV/TSV of labels and metadata for dataset NAME (per recording: "
        "recording_id column; per subject: subject or participant_id); repeatable",
    )
    p.add_argument(
        "--ids",
        action="append",
        default=[],
        metavar="[NAME=]stem|path",
        help="recording ids: file names (stem, the default), or paths inside the "
        "folder (path), as elm preprocess --ids; NAME=path for one source only",
    )
    p.add_argument(
        "--subjects",
        action="append",
        default=[],
        metavar="[NAME=]auto|folder",
        help="subject ids from names (auto, the default) or the first folder "
        "inside the source (folder), as elm preprocess --subjects; NAME=folder for "
        "one source only",
    )
    p.add_argument(
        "--label-column",
        action="append",
        default=[],
        metavar="COLUMN",
        help="make a label-table column no fact reads (e.g. diagnosis, group) a "
        "fact, written in generic sentences ('Diagnosis: epilepsy.')",
    )
    p.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="FACT:LABEL=VALUE",
        help="read LABEL (an annotation or table value) as VALUE of FACT, e.g. "
        "state:T0=rest, state:MathTask=arithmetic, movement:T1=left_hand",
    )
    p.add_argument(
        "--events",
        action="append",
        default=[],
        metavar="NAME",
        help="segment dataset NAME's recordings at their annotations (EEGBCI cues)",
    )
    p.add_argument(
        "--tuh-annotations",
        action="append",
        default=[],
        metavar="NAME",
        help="dataset NAME's facts include the TUEV/TUSZ annotation file beside "
        "each EDF: each annotated stretch (merged over channels) becomes a "
        "segment of its own time with its class as the finding",
    )
    p.add_argument(
        "--facts",
        default=None,
        help="comma list of facts to learn, among state, movement, eyes, "
        "pathology, finding, age_group, sex and --label-column ones (default: "
        "every fact with two values or more)",
    )
    p.add_argument(
        "--test-size",
        type=float,
        default=0.2,
        help="share of each dataset's subjects held out for the zero-shot scores",
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, help="split and init")
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="pretraining epochs (default: 10, the shipped recipe's)",
    )
    p.add_argument(
        "--threads", type=positive_int, default=2, help="torch threads (fixed)"
    )
    p.add_argument("--out", required=True, help="output: bundle/ and results.json")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run in --out (refused otherwise)",
    )
    _add_verbosity(p)

    p = sub.add_parser(
        "demo",
        help="end-to-end demo: synthetic corpus + real eegmat/EEGBCI (minutes)",
        formatter_class=fmt,
        epilog="examples:\n  elm demo --out demo_out\n"
        "  elm demo --out demo_out --quick",
    )
    p.add_argument("--out", required=True, help="output folder (plots, report)")
    p.add_argument("--quick", action="store_true", help="shortened demo (tests)")
    p.add_argument(
        "--subjects",
        type=positive_int,
        default=None,
        help="synthetic subjects (default: 32, 16 with --quick)",
    )
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="pretraining epochs (default: 10, 1 with --quick)",
    )
    p.add_argument("--skip-eegmat", action="store_true", help="synthetic part only")
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder holding eegmat/ and eegbci/ (default: $ELM_DATA_DIR, else the "
        "ELM_DATA_DIR key of MNE's config, else ../shared/data)",
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed")
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=3,
        help="real-data pretraining runs; real-data rows are mean +- sd over them",
    )
    p.add_argument(
        "--real-epochs",
        type=positive_int,
        default=None,
        help="epochs of the real-data (open recipe) pretraining (default: the "
        "recipe's, 1 with --quick)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch threads (default: 2, fixed so reruns print identical numbers)",
    )
    _add_verbosity(p)
    _show_defaults(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``elm`` command line.

    Parameters
    ----------
    argv : sequence of str | None
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    if argv is None:
        # The console script: this package's warnings as plain lines.
        from .._logging import plain_warnings

        with plain_warnings():
            return main(sys.argv[1:])
    argv = list(argv)
    # --debug may come anywhere (pretrain hands its arguments over unparsed).
    debug = debug_requested(argv)
    argv = [a for a in argv if a != "--debug"]
    if argv and argv[0] == "pretrain":
        # The training engineer owns the pretraining CLI: hand over everything
        # (its -q/--quiet and --no-progress also silence the text tower's
        # loading bar).
        quiet_third_parties(
            quiet=bool({"-q", "--quiet", "--no-progress"} & set(argv[1:]))
        )
        from braindecode_elm.training.cli import main as pretrain_main

        return run_command("pretrain", lambda: pretrain_main(argv[1:]), debug=debug)
    parser = build_parser()
    args = parser.parse_args(argv)
    # Before any command imports Braindecode or Hugging Face.
    quiet_third_parties(quiet=getattr(args, "quiet", False))
    if args.version:
        from braindecode_elm import __version__

        print(__version__)
        return 0
    if args.command is None:
        # A missing command is a usage error, as an unknown one is (exit 2).
        parser.print_help(sys.stderr)
        return 2
    from .._logging import configure_logging, verbosity_level

    configure_logging(
        verbosity_level(getattr(args, "verbose", 0), getattr(args, "quiet", False))
    )
    from . import commands

    func = getattr(commands, "cmd_" + args.command.replace("-", "_"))
    return run_command(args.command, lambda: func(args), debug=debug)
