"""The ``elm`` command line: help, lazy imports, every subcommand on tiny data."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.cli import build_parser, main

COMMANDS = [
    "synth",
    "preprocess",
    "pretrain",
    "embed",
    "zeroshot",
    "retrieve",
    "probe",
    "benchmark",
    "demo",
    "open-recipe",
    "convert-official",
]


def test_help_lists_every_command_and_is_torch_free():
    code = (
        "import sys; from braindecode_elm.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('TORCH', 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for cmd in COMMANDS:
        assert cmd in out
    assert "TORCH False" in out


def test_windowing_defaults_are_the_elm_rules():
    """The parser restates the ELM windowing rules (to stay NumPy-free at import):
    its defaults must be the data layer's constants, on every command that crops."""
    from braindecode_elm.cli import _DROP_FIRST_S, _MAX_MINUTES, build_parser
    from braindecode_elm.data.windows import ELM_DROP_FIRST_S, ELM_MAX_MINUTES

    assert (_DROP_FIRST_S, _MAX_MINUTES) == (ELM_DROP_FIRST_S, ELM_MAX_MINUTES)
    data = ["--model", "m", "--cache", "c"]
    commands = {
        "embed": data,
        "zeroshot": data,
        "retrieve": data,
        "probe": [*data, "--labels", "x"],
        "benchmark": ["--models", "m", "--datasets", "c", "--out", "o"],
    }
    for cmd, argv in commands.items():
        args = build_parser().parse_args([cmd, *argv])
        assert (args.drop_first, args.max_minutes) == (10.0, 45.0), cmd
        args = build_parser().parse_args([cmd, *argv, "--drop-first", "0"])
        assert args.drop_first == 0.0, cmd


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if c != "pretrain"])
def test_subcommand_help_has_examples(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"elm {cmd}" in out


def test_pretrain_is_delegated(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["pretrain", "--help"])
    assert exc.value.code == 0
    assert "--preset" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    # a usage error (exit 2, help on stderr), as an unknown command is
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err
    assert build_parser().prog == "elm"


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    rc = main(["zeroshot", "--model", str(tmp_path / "nope"), "--cache", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "model folder" in err and "save_pretrained" in err


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from eval_helpers import build_small_bundle, build_small_cache

    root = tmp_path_factory.mktemp("cli")
    corpus, labels, raw = build_small_cache(root, n_subjects=8, seed=3)
    return corpus, labels, raw, build_small_bundle(root), root


def test_zeroshot_retrieve_probe_embed(setup, tmp_path, capsys):
    corpus, labels, raw, model_dir, _ = setup
    cache = str(corpus.cache_dir)
    lab = f"{raw / 'ground_truth.csv'}:abnormal"
    base = ["--model", str(model_dir), "--cache", cache, "--max-crops", "4"]

    assert main(["zeroshot", *base, "--labels", lab, "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "zeroshot.json").read_text())
    assert res["ids"] == corpus.ids
    assert 0.0 <= res["balanced_accuracy"] <= 1.0
    assert (tmp_path / "zeroshot_confusion.png").stat().st_size > 1000
    assert "balanced accuracy" in capsys.readouterr().out
    # A label table missing some recordings says how to score the others.
    part = tmp_path / "part.csv"
    rows = (raw / "ground_truth.csv").read_text().splitlines()
    part.write_text("\n".join(rows[:3]) + "\n")
    assert main(["zeroshot", *base, "--labels", f"{part}:abnormal"]) == 2
    assert "--recordings FILE" in capsys.readouterr().err

    assert main(["retrieve", *base, "--out", str(tmp_path)]) == 0
    rt = json.loads((tmp_path / "retrieval.json").read_text())
    assert rt["n_recordings"] == len(corpus.ids)
    # every recall is printed beside its chance (R@10 was not)
    out = capsys.readouterr().out
    for k in (1, 5, 10):
        chance = rt["text_to_eeg"][f"chance_R@{k}"]
        assert f"R@{k} {rt['text_to_eeg'][f'R@{k}']:.3f} (chance {chance:.3f})" in out
    e2t = rt["eeg_to_text"]
    baseline = "text-frequency baseline (texts ranked by how many reports hold "
    assert baseline in out and f"R@1 {e2t['text_frequency_R@1']:.3f}" in out
    assert main(["retrieve", *base, "--query", "focal slowing", "--top-k", "3"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x[:1].isdigit()]
    assert [x.split("\t")[0] for x in lines[-3:]] == ["1", "2", "3"]

    probe = [
        "probe",
        *base,
        "--labels",
        lab,
        "--fractions",
        "0.5,1.0",
        "--seeds",
        "2",
        "--test-size",
        "0.3",
        "--val-size",
        "0.4",
        "--out",
        str(tmp_path),
    ]
    assert main(probe) == 0
    pr = json.loads((tmp_path / "probe.json").read_text())
    assert set(pr["summary"]) == {"0.5", "1.0"} and len(pr["runs"]) == 4
    assert (tmp_path / "probe_curves.png").exists()

    npz = tmp_path / "emb.npz"
    assert main(["embed", *base, "--text", "--out", str(npz)]) == 0
    data = np.load(npz)
    assert data["recording_embeddings"].shape == (len(corpus.ids), 256)
    assert len(data["texts"]) == len(data["text_groups"]) > 0


def test_benchmark_grid(setup, tmp_path, capsys):
    corpus, labels, raw, model_dir, root = setup
    cache = str(corpus.cache_dir)
    rc = main(
        [
            "benchmark",
            "--models",
            f"{model_dir},labram",
            "--datasets",
            cache,
            "--tasks",
            "zeroshot,retrieval",
            "--out",
            str(tmp_path),
            "--labels",
            f"{raw / 'ground_truth.csv'}:abnormal",
        ]
    )
    assert rc == 0
    cells = sorted(p.name for p in (tmp_path / "cells").glob("*.json"))
    assert len(cells) == 4
    skipped = json.loads(
        (tmp_path / "cells" / "labram__cache-8-3__zeroshot.json").read_text()
    )
    assert skipped["status"] == "skipped" and "no local weights" in skipped["reason"]
    assert "(no --weights-dir given)" in skipped["reason"]
    ok = json.loads(
        (tmp_path / "cells" / "model__cache-8-3__retrieval.json").read_text()
    )
    assert ok["status"] == "ok" and "eeg_to_text_R@1" in ok["metrics"]
    # the EEG-blind baseline sits beside the model's R@1 on the leaderboard
    assert "eeg_to_text_text_frequency_R@1" in ok["metrics"]
    assert ok["details"]["n_texts_left_out"] == len(ok["details"]["texts_left_out"])
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert {"model", "dataset", "task", "metric", "value"} <= set(board.columns)
    md = (tmp_path / "leaderboard.md").read_text()
    assert md.startswith("| model |") and "skipped" in md
    assert "retrieval eeg_to_text_text_frequency_R@1" in md
    assert "no local weights" in capsys.readouterr().err  # logged (stderr)


def test_synth_and_preprocess(tmp_path, capsys):
    raw, cache = tmp_path / "raw", tmp_path / "cache"
    args = ["synth", str(raw), "--subjects", "2", "--seed", "1"]
    assert main([*args, "--phenotypes", "diffuse_slowing=1"]) == 0
    truth = pd.read_csv(raw / "ground_truth.csv")
    assert set(truth["phenotype"]) == {"diffuse_slowing"}
    ids = tmp_path / "ids.txt"
    ids.write_text(truth["recording_id"].iloc[0] + "\n")
    argv = ["preprocess", str(raw), f"{cache}/", "--recordings", str(ids)]
    assert main(argv) == 0
    from braindecode_elm.data import open_cache

    assert open_cache(cache).ids == [truth["recording_id"].iloc[0]]
    out = capsys.readouterr().out
    assert "1 recordings OK" in out
    # both lines name the cache alike (one said "cache/", the other "cache")
    lines = [ln for ln in out.splitlines() if ln.startswith("cache ")]
    assert len(lines) == 2 and {ln.split(": ")[0] for ln in lines} == {
        f"cache {cache}"
    }, lines
    assert main(["preprocess", str(raw), str(cache), "--shard", "x"]) == 2
    assert main([*args, "--phenotypes", "normal:1"]) == 2
    assert "--phenotypes must look like" in capsys.readouterr().err


def test_quiet_run_prints_results_only(eegmat_dir, tmp_path, capsys):
    """``elm zeroshot -q`` as a user runs it (a new process, real eegmat EEG, the
    shipped bundle): no progress bar (not even the text tower's loading bar) and
    none of Braindecode's import-time MNE deprecation warnings on stderr, which
    every command used to print; without ``-q`` the bars are back."""
    import os

    eeg = tmp_path / "eeg"
    eeg.mkdir()
    for name in ("Subject30_1", "Subject30_2"):
        (eeg / f"{name}.edf").symlink_to(eegmat_dir / f"{name}.edf")
    cache = tmp_path / "cache"
    assert main(["preprocess", str(eeg), str(cache), "-q"]) == 0
    said = capsys.readouterr()
    assert "2 recordings OK" in said.out
    assert "rec/s" not in said.err and "%|" not in said.err, said.err
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    cmd = [sys.executable, "-m", "braindecode_elm.cli", "zeroshot"]
    cmd += ["--model", "elm-open-5s", "--cache", str(cache), "--device", "cpu"]
    cmd += ["--prompts", "eegmat_rest_arithmetic"]

    def run(*extra):
        done = subprocess.run(
            [*cmd, *extra], capture_output=True, text=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done

    quiet = run("-q")
    assert "Subject30_1\t" in quiet.stdout and "Subject30_2\t" in quiet.stdout
    assert "standard_1020" not in quiet.stderr
    assert "Loading weights" not in quiet.stderr
    assert "it/s]" not in quiet.stderr and "rec/s]" not in quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr
    loud = run()
    assert "standard_1020" not in loud.stderr
    assert "embedding recordings" in loud.stderr


def test_interrupted_pretraining_says_how_to_resume(capsys):
    """Ctrl-C printed only 'interrupted' (outside user)."""
    from braindecode_elm._errors import run_command

    def stop():
        raise KeyboardInterrupt

    assert run_command("pretrain", stop) == 130
    assert (
        "interrupted; to continue from the last checkpoint" in capsys.readouterr().err
    )
    assert run_command("embed", stop) == 130
    assert capsys.readouterr().err.strip() == "elm embed: interrupted"


def test_no_progress_silences_the_text_towers_bar(monkeypatch):
    """elm pretrain --no-progress still showed the text tower's loading bar."""
    import braindecode_elm.cli as cli

    said = []
    monkeypatch.setattr(cli, "quiet_third_parties", lambda quiet: said.append(quiet))
    with pytest.raises(SystemExit):
        main(["pretrain", "--no-progress", "--help"])
    with pytest.raises(SystemExit):
        main(["pretrain", "--help"])
    assert said == [True, False]


def test_retrieve_names_the_boilerplate_it_leaves_out(tmp_path, capsys, monkeypatch):
    from eval_helpers import boilerplate_corpus

    from braindecode_elm.cli import commands

    # The embedding step is replaced by a corpus whose every report holds one
    # line; the command's own reporting is what is checked.
    monkeypatch.setattr(commands, "_model", lambda args: None)
    monkeypatch.setattr(
        commands, "_embed", lambda args, model, with_text: boilerplate_corpus("blind")
    )
    argv = ["retrieve", "--model", "m", "--cache", "c", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "left out 1 text held by every recording's report (6 segments), which "
        "cannot tell recordings apart: 'MEDICATIONS: None.'" in out
    )
    rt = json.loads((tmp_path / "retrieval.json").read_text())
    assert rt["n_texts_left_out"] == 1
    assert rt["texts_left_out"] == ["MEDICATIONS: None."]
    assert "eeg_to_text: R@1 0.500 (chance 0.500)" in out
