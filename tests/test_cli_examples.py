"""Every example printed by ``elm --help`` and ``elm COMMAND --help`` runs as written.

The examples form a chain (synth -> preprocess -> pretrain -> evaluate), so they
run in that order in one scratch folder, on a small synthetic corpus. Two
placeholders stand for data a user has and the test does not: ``/data/tueg``
(a TUEG copy) is the synthetic corpus, ``eegmat/`` is the real eegmat folder
(those examples are skipped without it), and ``model_0_checkpoint.pt`` (the
official ELM release) is a checkpoint of the same layout with random weights.
``elm demo`` examples are parsed only here: tests/test_demo.py runs the demo.
"""

from __future__ import annotations

import json
import shlex

import pandas as pd
import pytest

from braindecode_elm.cli import build_parser, main

# Commands in the order their outputs are needed by later examples.
ORDER = ["synth", "preprocess", "pretrain", "pretrain-labelled", "embed", "zeroshot"]
ORDER += ["retrieve", "probe"]
ORDER += ["benchmark", "convert-official", "open-recipe", "demo"]


def _subparsers(parser):
    for action in parser._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            return action.choices
    raise AssertionError("elm has no subcommands")


def help_examples() -> list[str]:
    """All example command lines of the top-level and subcommand help texts."""
    parser = build_parser()
    texts = [parser.epilog or ""]
    texts += [p.epilog or "" for p in _subparsers(parser).values()]
    lines = []
    for text in texts:
        for line in text.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("elm ") and line not in lines:
                lines.append(line)
    return sorted(lines, key=lambda c: ORDER.index(c.split()[1]))


def test_examples_are_found_for_every_command():
    cmds = {c.split()[1] for c in help_examples()}
    assert cmds == set(ORDER)
    assert len(help_examples()) >= 15


@pytest.mark.parametrize("line", help_examples())
def test_every_example_parses(line):
    argv = shlex.split(line)[1:]
    if argv[0] == "pretrain":
        from braindecode_elm.training.cli import build_parser as pretrain_parser

        pretrain_parser().parse_intermixed_args(argv[1:])
    else:
        build_parser().parse_args(argv)


def test_help_examples_run_as_written(tmp_path, monkeypatch, request, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ELM_THREADS", "1")
    (tmp_path / "my_prompts.json").write_text(
        json.dumps(
            {
                "normal": ["normal EEG", "a normal record"],
                "abnormal": ["abnormal EEG", "slowing is present"],
            }
        )
    )
    ran, skipped = [], []
    for line in help_examples():
        argv = shlex.split(line)[1:]
        cmd = argv[0]
        if cmd in ("demo", "open-recipe"):
            # tests/test_demo.py runs the demo, whose real-data part is the recipe
            skipped.append(line)
            continue
        if "eegmat/" in argv:
            try:
                eegmat = request.getfixturevalue("eegmat_dir")
            except pytest.skip.Exception:
                skipped.append(line)
                continue
            argv = [str(eegmat) if a == "eegmat/" else a for a in argv]
            rows = [
                dict(recording_id=f.stem, subject=f.stem.split("_")[0])
                for f in sorted(eegmat.glob("*.edf"))
            ]
            pd.DataFrame(rows).to_csv("labels.csv", index=False)
            argv = [a if a != "cache/" else "cache_eegmat/" for a in argv]
        argv = ["corpus/" if a == "/data/tueg" else a for a in argv]
        if cmd == "convert-official" and not (tmp_path / argv[1]).exists():
            import torch

            from braindecode_elm.models import ELMEncoder

            state = ELMEncoder().state_dict()  # the release's 151-key layout
            torch.save({k: v for k, v in state.items() if "final" not in k}, argv[1])
        if cmd == "pretrain":
            # Two optimiser steps are enough to write run/final (2 shared cores).
            argv += ["max_steps=2", "--no-progress"]
        if "--shard" in argv:
            argv[argv.index("--n-jobs") + 1] = "1"  # 2 shared cores
        rc = main(argv)
        captured = capsys.readouterr()
        assert rc == 0, f"{line!r} failed (rc {rc}): {captured.err[-1500:]}"
        assert "error" not in captured.err.lower(), (line, captured.err[-1500:])
        ran.append(line)
    # What each step left behind is what the next examples use.
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()
    assert (tmp_path / "emb.npz").is_file()
    assert list((tmp_path / "bench").glob("*.csv"))
    assert len(ran) >= 14, (ran, skipped)
