"""Bad command lines (issue 16): each ends in one line ``elm CMD: error: ...``
with exit status 2, never a traceback; a real bug says so and points at
``--debug``. The cases run in-process on a tiny cache (fast); a few also run as a
user runs them, in a subprocess with a timeout."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from braindecode_elm.cli import main
from braindecode_elm.data import build_cache, make_synthetic_tuh


class _RunsCode:
    """Unpickling this would run a shell command (it must never be unpickled)."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A scratch folder with corpus/, cache/, model/ and broken bundles."""
    from braindecode_elm.models import ELM, ELMEncoder, TextProjection
    from braindecode_elm.models.text_encoder import TextEncoder

    root = tmp_path_factory.mktemp("badcli")
    make_synthetic_tuh(
        root / "corpus", 4, seed=1, duration_s=(62, 70), sessions_per_subject=(1, 1),
        progress=False,
    )  # fmt: skip
    build_cache(root / "corpus", root / "cache", progress=False)
    torch.manual_seed(0)
    text = TextEncoder("minilm")
    model = ELM(ELMEncoder(n_filters=4), text, TextProjection(text.dim, hidden=32))
    model.save_pretrained(root / "model")
    for name, edit in (
        ("nan_weights", "nan"),
        ("inf_temperature", "temperature"),
        ("huge_projection", "hidden"),
    ):
        dst = root / name
        shutil.copytree(root / "model", dst)
        cfg = json.loads((dst / "config.json").read_text())
        if edit == "nan":
            state = load_file(dst / "model.safetensors")
            state["text_projection.net.0.weight"][0, 0] = float("nan")
            save_file(state, dst / "model.safetensors")
        elif edit == "temperature":
            cfg["temperature"] = float("inf")
        else:
            cfg["text_projection"]["hidden"] = 10**12  # ~1.5 TB if allocated
        (dst / "config.json").write_text(json.dumps(cfg))
    state = ELMEncoder().state_dict()  # the official release's layout
    torch.save({k: v for k, v in state.items() if "final" not in k}, root / "tower.pt")
    torch.save({"x": torch.zeros(3)}, root / "other.pt")
    (root / "garbage.pt").write_bytes(b"not a checkpoint" * 8)
    torch.save({"a": _RunsCode()}, root / "evil.pt")
    (root / "ids_empty.txt").write_text("\n")
    for run in ("done_labelled", "done_open"):  # earlier runs not to write over
        (root / run).mkdir()
        (root / run / "results.json").write_text("{}")
    (root / "done_open" / "seed1").mkdir()
    (root / "prompts_bad.json").write_text('{"normal": []}')
    # A string for the list was read as one prompt per letter.
    (root / "prompts_str.json").write_text('{"normal": "normal", "abnormal": ["x"]}')
    (root / "a_file").write_text("x")
    return root


M = "--model model --cache cache/ --max-crops 1"
#: (command line, text the one-line error must contain)
CASES = [
    # synth
    ("synth c2/ --duration -5 5", "argument --duration: must be a finite number > 0"),
    (
        "synth c2/ --duration 300 100",
        "duration_s (elm synth --duration) must be (min, max)",
    ),
    ("synth c2/ --duration nan 5", "must be a finite number > 0"),
    ("synth c2/ --subjects 0", "argument --subjects: must be a positive integer"),
    ("synth c2/ --subjects abc", "must be a positive integer, got 'abc'"),
    ("synth c2/ --sessions 3 1", "sessions_per_subject must be (min, max)"),
    ("synth c2/ --sessions 0 1", "argument --sessions: must be a positive integer"),
    ("synth c2/ --seed -1", "argument --seed: must be an integer >= 0"),
    ("synth c2/ --phenotypes foo=1", "unknown phenotypes ['foo']"),
    ("synth c2/ --phenotypes normal=abc", "--phenotypes must look like"),
    ("synth c2/ --phenotypes normal=-1", "phenotype weights must be finite, >= 0"),
    ("synth corpus/", "already holds a corpus; choose another folder"),
    ("synth c2/ --subjects 1000000000000", "ask for fewer subjects"),
    ("synth c2/ --duration 1e12 1e12", "ask for fewer subjects"),
    ("synth a_file/x", "a_file"),
    ("synth /proc/elm_corpus", "/proc"),
    # preprocess
    ("preprocess nope/ c3/", "corpus folder nope does not exist"),
    ("preprocess corpus/ c3/ --shard 5/4", "shard must be (i, n) with 0 <= i < n"),
    ("preprocess corpus/ c3/ --shard a/b", "--shard must look like I/N"),
    ("preprocess corpus/ c3/ --n-jobs 0", "argument --n-jobs: must be a positive"),
    ("preprocess corpus/ c3/ --min-duration nan", "must be a finite number"),
    ("preprocess corpus/ c3/ --max-duration -1", "must be a finite number > 0"),
    ("preprocess corpus/ c3/ --recipe nope", "argument --recipe: invalid choice"),
    (
        "preprocess corpus/ c3/ --min-duration 100 --max-duration 50",
        "min_duration_s=100.0 is above max_duration_s=50.0",
    ),
    ("preprocess corpus/ c3/ --metadata nope.csv", "nope.csv does not exist"),
    ("preprocess corpus/ c3/ --recordings nope.txt", "nope.txt"),
    ("preprocess corpus/ c3/ --recordings ids_empty.txt", "lists no recording id"),
    ("preprocess corpus/ /proc/elm_cache", "/proc/elm_cache"),
    ("preprocess corpus/ a_file", "a_file"),
    # embed / models
    (f"embed {M} --seconds nan", "argument --seconds: must be a finite number > 0"),
    (f"embed {M} --seconds 0", "argument --seconds: must be a finite number > 0"),
    (f"embed {M} --seconds=-inf", "argument --seconds: must be a finite number > 0"),
    (f"embed {M} --seconds 1000", "yields no 1000 s crop"),
    (f"embed {M} --drop-first 1e4", "s) yields no 5 s crop after dropping the "),
    (
        f"embed {M} --drop-first -1",
        "argument --drop-first: must be a finite number >= 0",
    ),
    (
        f"zeroshot {M} --drop-first nan",
        "argument --drop-first: must be a finite number",
    ),
    (f"probe {M} --labels x --max-minutes 0", "argument --max-minutes: must be a"),
    (f"embed {M} --seconds 0.05", "shorter than the 108 samples the EEG tower needs"),
    (f"embed {M} --seconds 0.001", "not a positive whole number of samples"),
    (f"embed {M} --seconds 1e308", "at most the 45 minutes"),
    ("embed --model model --cache cache/ --max-crops 0", "argument --max-crops"),
    ("embed --model model --cache cache/ --max-crops -3", "argument --max-crops"),
    ("embed --model model --cache nope/", "no cache manifest in nope"),
    ("embed --model model --cache corpus/", "no cache manifest in corpus"),
    ("embed --model nope --cache cache/", "model folder nope not found"),
    ("embed --model corpus --cache cache/", "is not an ELM bundle"),
    ("embed --model nan_weights --cache cache/", "hold NaN or Inf values"),
    ("embed --model inf_temperature --cache cache/", "temperature must be finite"),
    ("embed --model huge_projection --cache cache/", "do not match its config"),
    (f"embed {M} --out /proc/elm_emb.npz", "/proc/elm_emb.npz"),
    (f"embed {M} --out a_file/emb.npz", "a_file"),
    (f"embed {M} --recordings nope.txt", "nope.txt"),
    (f"embed {M} --recordings ids_empty.txt", "lists no recording id"),
    # zeroshot
    (f"zeroshot {M} --prompts nope", "is neither a built-in set"),
    (
        f"zeroshot {M} --prompts prompts_bad.json",
        "class 'normal' must have a non-empty list of prompts",
    ),
    (
        f"zeroshot {M} --prompts prompts_str.json",
        "class 'normal' must have a non-empty list of prompts, got str",
    ),
    (f"zeroshot {M} --labels nope", "description key 'nope' missing or empty"),
    (f"zeroshot {M} --labels pathological", "'pathological' missing or empty"),
    (f"zeroshot {M} --labels nope.csv:abnormal", "nope.csv"),
    (f"zeroshot {M} --labels corpus/ground_truth.csv:nope", "has no column 'nope'"),
    (f"zeroshot {M} --out a_file", "a_file"),
    # retrieve
    (f"retrieve {M} --top-k -1", "argument --top-k: must be a positive integer"),
    (f"retrieve {M} --top-k 0", "argument --top-k: must be a positive integer"),
    (f"retrieve {M} --top-k 3", "--top-k lists the recordings of a --query"),
    (
        f"retrieve {M} --query rest --positives recording",
        "--positives sets how the metrics count",
    ),
    (f'retrieve {M} --query ""', "argument --query: must not be empty"),
    # probe
    (f"probe {M}", "the following arguments are required: --labels"),
    (f"probe {M} --labels pathological --seeds 0", "argument --seeds: must be a pos"),
    (f"probe {M} --labels nope", "description key 'nope' missing or empty"),
    (f"probe {M} --labels abnormal --fractions abc", "argument --fractions"),
    (f"probe {M} --labels abnormal --fractions 0,2", "argument --fractions"),
    (f"probe {M} --labels abnormal --test-size 1.5", "argument --test-size"),
    (f"probe {M} --labels abnormal --val-size 0", "argument --val-size"),
    (f"probe {M} --labels abnormal --level nope", "argument --level: invalid choice"),
    # benchmark
    ("benchmark --models model --datasets cache/ --out b/ --tasks nope", "unknown"),
    ("benchmark --models nope --datasets cache/ --out b/", "model 'nope'"),
    ("benchmark --models model --datasets nope/ --out b/", "no cache manifest"),
    ("benchmark --models model --datasets cache/ --out b/ --seeds 0", "--seeds"),
    (
        "benchmark --models model --datasets cache/ --out b/ --prompts nope",
        "prompts 'nope' is neither a built-in set",
    ),
    ("benchmark --models model --datasets cache/", "required: --out"),
    ('benchmark --models "" --datasets cache/ --out b/', "argument --models: must"),
    ("benchmark --models model --datasets , --out b/", "argument --datasets: must"),
    ('benchmark --models model --datasets cache/ --out b/ --tasks ""', "--tasks"),
    (f"embed {M} --batch-size 0", "argument --batch-size: must be a positive"),
    (f"embed {M} --device tpu", "--device 'tpu' is not a device name"),
    (f"embed {M} --device cuda:x", "--device 'cuda:x' is not a device name"),
    ("preprocess corpus/ c3/ --shard 0/4/5", "--shard must look like I/N"),
    ("preprocess corpus/ c3/ --metadata a_file", "needs a key column"),
    (f"embed {M} --recordings a_file", "recording 'x' is not cached"),
    # convert-official
    ("convert-official nope.pt o1 --variant 5s", "nope.pt not found"),
    ("convert-official garbage.pt o1 --variant 5s", "not a readable checkpoint of"),
    ("convert-official evil.pt o1 --variant 5s", "not a file of tensors that loads"),
    ("convert-official other.pt o1 --variant 5s", "not an official ELM 5s"),
    ("convert-official tower.pt o1 --variant 5s --sha256 abc", "expected abc"),
    ("convert-official tower.pt o1 --variant 7s", "argument --variant: invalid"),
    ("convert-official tower.pt o1", "required: --variant"),
    ("convert-official tower.pt a_file --variant 5s", "a_file already exists"),
    # demo
    ("demo --out d --epochs 0", "argument --epochs: must be a positive integer"),
    ("demo --out d --threads -1", "argument --threads: must be a positive integer"),
    ("demo --out d --subjects 0", "argument --subjects: must be a positive integer"),
    ("demo --out d --data-dir nope", "--data-dir nope holds no eegmat/ folder"),
    # open-recipe
    ("open-recipe --out o --epochs 0", "argument --epochs: must be a positive integer"),
    ("open-recipe --out o --seeds -1", "argument --seeds: must be an integer >= 0"),
    ("open-recipe --epochs 2", "the following arguments are required: --out"),
    ("open-recipe --out o --data-dir nowhere", "nowhere: pass the folder that holds"),
    (
        "open-recipe --out done_open --seeds 1",
        "holds an earlier run (results.json, seed1)",
    ),
    (  # --overwrite passes that check (and stops at the next one)
        "open-recipe --out done_open --seeds 1 --overwrite --data-dir nowhere",
        "nowhere: pass the folder that holds",
    ),
    # pretrain-labelled
    ("pretrain-labelled --source corpus/ --out o", "write NAME=VALUE"),
    ("pretrain-labelled --source a=nowhere --out o", "a=nowhere: no such folder"),
    ("pretrain-labelled --source a=corpus/ --source a=corpus/ --out o", "more than"),
    ("pretrain-labelled --source a=corpus/ --events b --out o", "--events names"),
    ("pretrain-labelled --source a=corpus/ --metadata b=x.csv --out o", "b']"),
    ("pretrain-labelled --source a=corpus/ --test-size 1 --out o", "(0, 1)"),
    ("pretrain-labelled --source a=corpus/ --epochs 0 --out o", "positive integer"),
    ("pretrain-labelled --source a=corpus/", "required: --out"),
    (
        "pretrain-labelled --source a=corpus/ --out done_labelled",
        "--out done_labelled holds an earlier run (results.json); choose another "
        "folder, or pass --overwrite",
    ),
    # pretrain (handed to the training CLI, same error handling)
    ("pretrain --preset tiny-cpu --data cache/ --out r/ base_lr=abc", "base_lr='abc'"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ --device tpu", "device='tpu'"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ text_model=bogus", "bogus"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ epochs=0", "epochs must be"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ epochs=1.5", "must be int"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ nope=1", "unknown config"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ epochs", "key=value"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ temperature=nan", "finite"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ max_steps=-1", "max_steps"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ precision=fp64", "fp64"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ crop_seconds=0", "> 0"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ batch_size=1000", "no batch"),
    ("pretrain --preset nope --data cache/ --out r/", "unknown preset 'nope'"),
    ("pretrain --preset tiny-cpu --data nope/ --out r/", "nope does not exist"),
    ("pretrain --preset tiny-cpu --data corpus/ --out r/", "no cache manifest"),
    ("pretrain --preset tiny-cpu --data cache/", "--out RUN_DIR is required"),
    ("pretrain --preset tiny-cpu --data cache/ --out a_file", "is a file"),
    ("pretrain --preset tiny-cpu --data cache/ --out cache/", "is a preprocessed"),
    ("pretrain --preset tiny-cpu --data cache/ --out /proc/elm_run", "/proc/elm_run"),
    ("pretrain --preset tiny-cpu --data cache/ --out r/ --resume nope", "nope"),
]


def _one_line_error(cmd: str, err: str) -> str:
    # Progress bars redraw with carriage returns: keep what stays on screen.
    lines = [ln.split("\r")[-1] for ln in err.splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(f"elm {cmd}: error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in err, err
    assert lines[-1] == errors[0], err  # the error is the last word
    return errors[0]


@pytest.mark.parametrize(
    "line,needle", CASES, ids=[c[0].replace(M, "M")[:60] for c in CASES]
)
def test_bad_command_line_is_one_line_error(ws, monkeypatch, capsys, line, needle):
    monkeypatch.chdir(ws)
    monkeypatch.setenv("ELM_THREADS", "1")
    argv = shlex.split(line)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse errors exit from the parser
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2, err
    message = _one_line_error(argv[0], err)
    assert needle in message, message
    assert not (ws / "PWNED").exists()  # no pickle ran code


def test_cases_cover_every_subcommand():
    from test_cli_examples import _subparsers

    from braindecode_elm.cli import build_parser

    cmds = {shlex.split(line)[0] for line, _ in CASES}
    assert cmds == set(_subparsers(build_parser()))
    assert len(CASES) >= 100


def test_a_bug_is_reported_as_such_and_debug_shows_the_traceback(monkeypatch, capsys):
    from braindecode_elm.cli import commands

    def broken(args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(commands, "cmd_synth", broken)
    assert main(["synth", "x/"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("elm synth: internal error (a bug, please report it)")
    assert "TypeError: unsupported operand" in err and "--debug" in err
    with pytest.raises(TypeError, match="unsupported operand"):
        main(["--debug", "synth", "x/"])
    monkeypatch.setenv("ELM_DEBUG", "1")
    with pytest.raises(TypeError):
        main(["synth", "x/"])


@pytest.mark.parametrize(
    "line",
    [
        "embed --model nan_weights --cache cache/",
        "synth c4/ --duration -5 5",
        "pretrain --preset tiny-cpu --data cache/ --out r/ --device tpu",
        f"probe {M}",
    ],
)
def test_as_a_user_runs_it(ws, line):
    """The installed entry point in a fresh interpreter: exit 2, one line."""
    proc = subprocess.run(
        [sys.executable, "-m", "braindecode_elm.cli", *shlex.split(line)],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "ELM_THREADS": "1"},
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    _one_line_error(shlex.split(line)[0], proc.stderr)
    assert not (ws / "emb.npz").exists() and not (ws / "embeddings.npz").exists()


@pytest.mark.parametrize(
    "line,raised",
    [
        # Raised while running (a traceback before): --debug shows it.
        ("--preset tiny-cpu --data missing_cache/ --out tr_run/", True),
        # Refused by the argument parser: no traceback, even with --debug.
        ("--preset tiny-cpu --data cache/ --out tr_run/ --device tpu", False),
    ],
)
def test_training_entry_point_as_torchrun_runs_it(ws, line, raised):
    """``python -m braindecode_elm.training`` (torchrun's entry): the same one-line
    error as ``elm pretrain``; ``--debug`` shows the traceback instead."""
    run = [sys.executable, "-m", "braindecode_elm.training", *shlex.split(line)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "ELM_THREADS": "1"}
    env.pop("ELM_DEBUG", None)
    proc = subprocess.run(
        run, cwd=ws, capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    _one_line_error("pretrain", proc.stderr)
    assert not (ws / "tr_run" / "final").exists()
    proc = subprocess.run(
        [*run, "--debug"], cwd=ws, capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode != 0
    assert ("Traceback" in proc.stderr) == raised, proc.stderr[-2000:]


#: Numeric options and what a value that gets through must satisfy.
NUMERIC = [
    (["embed", "--model", "m", "--cache", "c", "--seconds"], lambda v: 0 < v < 1e400),
    (["embed", "--model", "m", "--cache", "c", "--max-crops"], lambda v: v >= 1),
    (["retrieve", "--model", "m", "--cache", "c", "--top-k"], lambda v: v >= 1),
    (["probe", "--model", "m", "--cache", "c", "--labels", "y", "--seeds"],
     lambda v: v >= 1),
    (["probe", "--model", "m", "--cache", "c", "--labels", "y", "--test-size"],
     lambda v: 0 < v < 1),
    (["probe", "--model", "m", "--cache", "c", "--labels", "y", "--fractions"],
     lambda v: len(v) > 0 and all(0 < f <= 1 for f in v)),
    (["synth", "x", "--subjects"], lambda v: v >= 1),
    (["synth", "x", "--seed"], lambda v: v >= 0),
    (["preprocess", "s", "o", "--n-jobs"], lambda v: v >= 1),
    (["preprocess", "s", "o", "--max-duration"], lambda v: 0 < v < 1e400),
    (["demo", "--out", "d", "--threads"], lambda v: v >= 1),
]  # fmt: skip

_TEXTS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "0", "-0", "-1", "1e999", "0x10", "1_0",
                     " 3 ", "", ",", "0,1", "1,,0.5", "NaN", "+5", "2.5", "1e-320"]),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(NUMERIC), text=_TEXTS)
def test_numeric_options_accept_only_valid_values(case, text):
    """Whatever is typed, an option either holds a valid value or argparse
    refuses it with its one-line error (exit 2) before anything runs."""
    from braindecode_elm.cli import build_parser

    argv, valid = case
    if text.startswith("-") and not text[1:2].isdigit():
        text = f"={text}"  # '-inf' would read as an option otherwise
    arg = argv[-1] + text if text.startswith("=") else None
    full = [*argv[:-1], arg] if arg else [*argv, text]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns = build_parser().parse_args(full)
    except SystemExit as exc:
        assert exc.code == 2
        assert (
            err.getvalue()
            .strip()
            .splitlines()[-1]
            .startswith(f"elm {argv[0]}: error: argument")
        )
        return
    value = getattr(ns, argv[-1].lstrip("-").replace("-", "_"))
    assert valid(value), (full, value)


@pytest.mark.parametrize(
    "line",
    [
        "synth ro/corpus --subjects 1",
        f"embed {M} --out ro/emb.npz",
        f"zeroshot {M} --out ro/zs",
        "preprocess corpus/ ro/cache",
        "pretrain --preset tiny-cpu --data cache/ --out ro/run",
    ],
)
def test_read_only_folder(ws, monkeypatch, capsys, line):
    """A folder the user may not write to (emulated: the tests may run as root,
    whom permissions do not stop) gives the one-line error naming the path."""
    import builtins
    import errno
    from pathlib import Path

    monkeypatch.chdir(ws)
    real_mkdir, real_open = Path.mkdir, builtins.open

    def denied(path):
        if "ro" in Path(path).parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def mkdir(self, *args, **kwargs):
        denied(self)
        return real_mkdir(self, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            denied(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(builtins, "open", open_)
    argv = shlex.split(line)
    rc = main(argv)
    message = _one_line_error(argv[0], capsys.readouterr().err)
    assert rc == 2
    assert "Permission denied" in message and "ro" in message, message
