"""What a Braindecode/MOABB user expects of ``elm``: defaults in ``--help``,
``--device``/``--batch-size``/``-v``/``--quiet`` on the evaluation commands,
messages through :mod:`logging`, and prediction CSV files."""

from __future__ import annotations

import argparse
import ast
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.cli import build_parser, main

EVAL_COMMANDS = ["embed", "zeroshot", "retrieve", "probe", "benchmark"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return dict(action.choices)


def test_help_shows_every_default():
    subs = _subparsers(build_parser())
    checked = 0
    for name, sub in subs.items():
        if name == "pretrain":  # its own parser, checked below
            continue
        for a in sub._actions:
            if a.default is None or a.default is False or a.default == "==SUPPRESS==":
                continue
            if isinstance(a, (argparse._HelpAction, argparse._CountAction)):
                continue
            assert a.help and "default" in a.help.lower(), (name, a.dest, a.help)
            checked += 1
    assert checked > 20
    text = subs["probe"].format_help()
    for shown in (
        "(default: 0.3)",
        "(default: 256)",
        "(default: auto)",
        "(default: 5)",
    ):
        assert shown in text
    # argparse wraps help to the terminal width: compare with whitespace collapsed.
    demo_help = " ".join(subs["demo"].format_help().split())
    assert "(default: 32, 16 with --quick)" in demo_help
    assert "MNE's config" in demo_help


def test_pretrain_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    out = capsys.readouterr().out
    assert "(default: elm-5s)" in out and "tiny-cpu-demo" in out and "--quiet" in out


@pytest.mark.parametrize("cmd", EVAL_COMMANDS)
def test_evaluation_commands_take_device_batch_size_verbosity(cmd):
    need = {
        "benchmark": ["--models", "m", "--datasets", "d", "--out", "o"],
        "probe": ["--model", "m", "--cache", "c", "--labels", "y"],
    }.get(cmd, ["--model", "m", "--cache", "c"])
    args = build_parser().parse_args(
        [cmd, *need, "--device", "cpu", "--batch-size", "7", "-vv"]
    )
    assert (args.device, args.batch_size, args.verbose, args.quiet) == (
        "cpu",
        7,
        2,
        False,
    )
    args = build_parser().parse_args([cmd, *need, "--quiet"])
    assert args.quiet and args.device == "auto" and args.batch_size == 256


def test_every_command_takes_verbose_and_quiet():
    # A script that passes -q to every elm call must not fail on some of them.
    subs = _subparsers(build_parser())
    assert {"synth", "convert-official", "open-recipe", "demo"} <= set(subs)
    for name, sub in subs.items():
        if name == "pretrain":  # its own parser (test_pretrain_help_shows_defaults)
            continue
        options = {o for a in sub._actions for o in a.option_strings}
        assert {"-q", "--quiet", "-v", "--verbose"} <= options, name


def test_quiet_synth_prints_only_its_result(tmp_path, capsys):
    out = tmp_path / "corpus"
    argv = ["synth", str(out), "--subjects", "1", "--sessions", "1", "1"]
    argv += ["--duration", "60", "60", "-q"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == f"synthetic corpus with 1 subjects written to {out}"
    assert cap.err.strip() == "", cap.err  # no progress bar
    assert len(list(out.rglob("*.edf"))) == 1


def test_demo_progress_switch_hides_progress_lines_only(capsys):
    from braindecode_elm.cli.demo_experiments import log, progress_shown

    with progress_shown(False):
        log("hidden", 0.0)
    log("shown", 0.0)
    out = capsys.readouterr().out
    assert "hidden" not in out and "] shown" in out


def test_bad_device_is_a_clear_error(tmp_path, capsys):
    import torch

    rc = main(
        ["zeroshot", "--model", "random-elm", "--cache", str(tmp_path), "--device",
         "gpu0"]
    )  # fmt: skip
    assert rc == 2
    assert "--device 'gpu0' is not a device name" in capsys.readouterr().err
    if not torch.cuda.is_available():
        rc = main(
            ["probe", "--model", "random-elm", "--cache", str(tmp_path), "--device",
             "cuda", "--labels", "x"]
        )  # fmt: skip
        assert rc == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_library_code_does_not_print():
    """No ``print`` call outside the command-line package (library code logs)."""
    root = Path(__file__).resolve().parents[1] / "braindecode_elm"
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] == "cli" or rel.name == "cli.py" or "pipelines" in rel.parts:
            continue  # entry points print their results
        if rel == Path("_errors.py"):
            continue  # the one-line error of elm and the torchrun entry point
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_log_levels_follow_verbose_and_quiet(capsys):
    from braindecode_elm._logging import configure_logging, verbosity_level

    log = logging.getLogger("braindecode_elm.some.module")
    try:
        configure_logging(verbosity_level(0, False))
        log.info("info-shown")
        log.debug("debug-hidden")
        configure_logging(verbosity_level(1, False))
        log.debug("debug-shown")
        configure_logging(verbosity_level(3, True))
        log.info("info-hidden")
        log.warning("warning-shown")
    finally:
        configure_logging(logging.INFO)
    err = capsys.readouterr().err
    assert "info-shown" in err and "debug-shown" in err and "warning-shown" in err
    assert "hidden" not in err
    ours = [
        h
        for h in logging.getLogger("braindecode_elm").handlers
        if type(h).__name__ == "_StderrHandler"
    ]
    assert len(ours) == 1  # configuring twice adds no second handler


@pytest.fixture(scope="module")
def bundle_and_cache(tmp_path_factory):
    from eval_helpers import build_small_bundle, build_small_cache

    root = tmp_path_factory.mktemp("journeys")
    corpus, labels, raw = build_small_cache(root, n_subjects=8, seed=3)
    return corpus, raw, build_small_bundle(root)


def test_zeroshot_and_probe_write_predictions(bundle_and_cache, tmp_path, capsys):
    corpus, raw, model_dir = bundle_and_cache
    truth = pd.read_csv(raw / "ground_truth.csv").astype({"recording_id": str})
    lab = f"{raw / 'ground_truth.csv'}:abnormal"
    base = ["--model", str(model_dir), "--cache", str(corpus.cache_dir)]
    base += ["--max-crops", "4", "--device", "cpu", "--batch-size", "3", "--quiet"]

    zs = tmp_path / "zs" / "predictions.csv"
    rc = main(
        ["zeroshot", *base, "--labels", lab, "--out", str(tmp_path / "zs"),
         "--predictions", str(zs)]
    )  # fmt: skip
    assert rc == 0
    out, err = capsys.readouterr()
    assert "embedding recordings" not in err  # --quiet: no progress bar
    table = pd.read_csv(zs)
    assert list(table.columns[:3]) == ["recording_id", "prediction", "label"]
    assert table["recording_id"].astype(str).tolist() == corpus.ids
    scores = table[[c for c in table.columns if c.startswith("score_")]].to_numpy()
    assert scores.shape == (len(corpus.ids), 2)
    classes = [c[len("score_") :] for c in table.columns if c.startswith("score_")]
    assert (table["prediction"] == np.array(classes)[scores.argmax(1)]).all()
    # the same predictions as the JSON result and the printed lines
    import json

    res = json.loads((tmp_path / "zs" / "zeroshot.json").read_text())
    assert table["prediction"].tolist() == res["predictions"]
    true = dict(zip(truth["recording_id"], truth["abnormal"]))
    y = [res["classes"][i] for i in res["y_true"]]
    assert table["label"].tolist() == y
    assert len({true[r] for r in corpus.ids}) == 2

    pr = tmp_path / "probe.csv"
    rc = main(
        ["probe", *base, "--labels", lab, "--fractions", "0.5,1.0", "--seeds", "2",
         "--test-size", "0.3", "--val-size", "0.4", "--predictions", str(pr)]
    )  # fmt: skip
    assert rc == 0
    table = pd.read_csv(pr)
    assert {"recording_id", "fraction", "seed", "y_true", "prediction"} <= set(
        table.columns
    )
    n_test = table.groupby(["fraction", "seed"]).size()
    assert len(n_test) == 4 and n_test.nunique() == 1  # every run, same test set
    proba = table[[c for c in table.columns if c.startswith("proba_")]].to_numpy()
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-9)
    for rid, y_true in zip(table["recording_id"].astype(str), table["y_true"]):
        assert true[rid] == y_true
    # the balanced accuracy printed for fraction 1.0 follows from the CSV
    from sklearn.metrics import balanced_accuracy_score

    full = table[table["fraction"] == 1.0]
    accs = [
        balanced_accuracy_score(g["y_true"], g["prediction"])
        for _, g in full.groupby("seed")
    ]
    assert f"{np.mean(accs):.3f}+-{np.std(accs):.3f}" in capsys.readouterr().out
    # a wrong file type is refused before any work
    rc = main(
        ["probe", *base, "--labels", lab, "--predictions", str(tmp_path / "x.txt")]
    )
    assert rc == 2
    assert "--predictions must name a .csv file" in capsys.readouterr().err
