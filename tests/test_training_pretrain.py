"""End-to-end pretraining on a synthetic TUH-like corpus through the real cache.

The corpus is written by ``make_synthetic_tuh`` (EDF + reports), preprocessed by
``build_cache`` and read back with ``open_cache`` -- the same path as
``elm synth`` -> ``elm preprocess`` -> ``elm pretrain``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from braindecode_elm.training import load_preset, pretrain
from braindecode_elm.training.cli import main

ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PYTHONWARNINGS": "ignore",
}


@pytest.fixture(scope="module")
def corpus_cache(tmp_path_factory) -> dict[str, Path]:
    """48 synthetic subjects (~97 recordings of 1.5-2.5 min) in the ELM cache."""
    from braindecode_elm.data import build_cache, make_synthetic_tuh

    root = tmp_path_factory.mktemp("elm_pretrain")
    make_synthetic_tuh(
        root / "tuh", 48, seed=0, duration_s=(90.0, 150.0), progress=False
    )
    summary = build_cache(root / "tuh", root / "cache", progress=False)
    assert summary is not None
    return {"cache": root / "cache", "text_cache": root / "text_cache", "root": root}


def _cli(args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "final" / "model.safetensors"))


def _step_losses(run: Path, kind: str = "step") -> dict[int, float]:
    with open(run / "metrics.csv", newline="") as fh:
        return {
            int(r["step"]): float(r["loss"])
            for r in csv.DictReader(fh)
            if r["kind"] == kind
        }


@pytest.mark.slow
def test_tiny_cpu_two_epochs_learns(corpus_cache, tmp_path):
    torch.set_num_threads(1)
    cfg = load_preset(
        "tiny-cpu",
        data=str(corpus_cache["cache"]),
        out=str(tmp_path / "run"),
        text_cache_dir=str(corpus_cache["text_cache"]),
        epochs=2,
        val_max_crops=64,
    )
    t0 = time.perf_counter()
    result = pretrain(cfg, progress=False)
    elapsed = time.perf_counter() - t0
    assert elapsed <= 180, f"tiny-cpu took {elapsed:.0f} s (budget 180 s)"
    h = result.history
    assert len(h) == 2 and result.step == h[-1]["step"]
    # the loss falls: second epoch below the first, and below the first step
    assert h[1]["train_loss"] < h[0]["train_loss"] < result.first_loss + 0.5
    assert h[1]["train_loss"] < result.first_loss
    # recording-level EEG->text retrieval on held-out subjects beats chance
    assert h[-1]["val_n"] >= 15
    assert h[-1]["val_r1"] > h[-1]["val_chance"], h
    assert h[-1]["val_r1"] * h[-1]["val_n"] >= 2  # at least two hits, not one lucky
    # logs and run info next to the checkpoints
    run = tmp_path / "run"
    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["kind"] for r in rows} == {"step", "epoch"}
    assert all(float(r["crops_per_s"]) > 0 for r in rows)
    info = json.loads((run / "versions.json").read_text())
    assert info["versions"]["torch"] == torch.__version__.split("+")[0]
    assert "batch_size: 8" in (run / "config.yaml").read_text()
    # final weights load with the public bundle API and match the last checkpoint
    from braindecode_elm.models import ELM

    model = ELM.from_pretrained(result.final_dir)
    assert model.eeg_encoder.n_filters == cfg.n_filters
    last = load_file(
        str(run / "checkpoints" / f"step_{result.step:08d}" / "model.safetensors")
    )
    sd = model.state_dict()
    for key, val in last.items():
        assert torch.equal(sd[key], val), key
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 20, 500))).float()
    emb = model.embed_eeg(x)
    assert emb.shape == (3, 256)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))


def _resume_args(cache: Path, text_cache: Path, out: Path) -> list[str]:
    return [
        "-m",
        "braindecode_elm.training",
        "--preset",
        "tiny-cpu",
        "--data",
        str(cache),
        "--out",
        str(out),
        "--no-progress",
        "epochs=2",
        "max_recordings=16",
        "max_eeg=8",
        "checkpoint_every_steps=2",
        "deterministic=true",
        "val_max_crops=8",
        f"text_cache_dir={text_cache}",
    ]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_bit_identical(corpus_cache, tmp_path):
    cache, tcache = corpus_cache["cache"], corpus_cache["text_cache"]
    ref_proc = _cli(_resume_args(cache, tcache, tmp_path / "ref"))
    victim = _cli(_resume_args(cache, tcache, tmp_path / "victim"))
    state_file = tmp_path / "victim" / "checkpoints" / "step_00000002" / "state.json"
    deadline = time.monotonic() + 200
    while not state_file.is_file():
        assert victim.poll() is None, victim.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    # The kill may land between the checkpoint folder's rename and the update of
    # the `latest` pointer; resume then falls back to the newest complete folder,
    # which is what `latest_checkpoint` returns (and what --resume latest uses).
    from braindecode_elm.training import latest_checkpoint

    ckpt = latest_checkpoint(tmp_path / "victim")
    assert ckpt is not None, "no complete checkpoint after SIGKILL"
    state = json.loads((ckpt / "state.json").read_text())
    assert state["epoch"] == 0 and state["position"] > 0  # killed mid-epoch
    assert not (tmp_path / "victim" / "final").exists()
    resumed = _cli(
        [*_resume_args(cache, tcache, tmp_path / "victim"), "--resume", "latest"]
    )
    out = _finish(resumed)
    assert f"resumed from {ckpt}" in out
    _finish(ref_proc)
    ref, got = _weights(tmp_path / "ref"), _weights(tmp_path / "victim")
    assert ref.keys() == got.keys()
    for key in ref:
        assert torch.equal(ref[key], got[key]), f"{key} differs after resume"
    # the metrics of the resumed run continue those of the killed one, and the
    # killed epoch's mean loss covers its steps before the kill too
    assert _step_losses(tmp_path / "ref") == _step_losses(tmp_path / "victim")
    ref_ep = _step_losses(tmp_path / "ref", "epoch")
    assert len(ref_ep) == 2
    assert ref_ep == pytest.approx(_step_losses(tmp_path / "victim", "epoch"))


@pytest.mark.slow
def test_two_gloo_processes_match_single_process(corpus_cache, tmp_path):
    cache, tcache = corpus_cache["cache"], corpus_cache["text_cache"]
    common = [
        "--preset",
        "tiny-cpu",
        "--data",
        str(cache),
        "--no-progress",
        "--device",
        "cpu",
        "epochs=1",
        "max_steps=2",
        "val_fraction=0.1",
        "max_recordings=40",
        "max_eeg=8",
        f"text_cache_dir={tcache}",
    ]
    single = _cli(
        [
            "-m",
            "braindecode_elm.training",
            *common,
            "--out",
            str(tmp_path / "one"),
            "batch_size=8",
        ]
    )
    _finish(single)
    ddp = _cli(
        [
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "braindecode_elm.training",
            *common,
            "--out",
            str(tmp_path / "two"),
            "batch_size=4",
        ]
    )
    _finish(ddp)
    info = json.loads((tmp_path / "two" / "versions.json").read_text())
    ref_info = json.loads((tmp_path / "one" / "versions.json").read_text())
    # lr = base * world * batch * max_eeg / 256: same global batch -> same peak lr
    assert info["world_size"] == 2 and ref_info["world_size"] == 1
    assert info["peak_lr"] == pytest.approx(ref_info["peak_lr"]) == 1.5 * 8 * 8 / 256
    l1, l2 = _step_losses(tmp_path / "one"), _step_losses(tmp_path / "two")
    assert sorted(l1) == sorted(l2) == [1, 2]
    for s in l1:
        assert l2[s] == pytest.approx(l1[s], rel=1e-5), (s, l1, l2)
    w1, w2 = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert w1.keys() == w2.keys()
    moved = 0
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=1e-5, msg=key)
        moved += int(key.endswith("weight"))
    assert moved > 10


def test_cli_reports_bad_arguments(capsys, tmp_path):
    with pytest.raises(SystemExit) as err:
        main(["--preset", "elm-7s", "--data", str(tmp_path), "--out", str(tmp_path)])
    assert err.value.code == 2
    assert "unknown preset 'elm-7s'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--preset", "tiny-cpu", "--out", str(tmp_path)])
    assert "--data CACHE_DIR is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--preset", "tiny-cpu", "--data", str(tmp_path), "--out", "x", "lr=1"])
    assert "unknown config field" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="elm preprocess"):
        main(
            [
                "--preset",
                "tiny-cpu",
                "--data",
                str(tmp_path / "nope"),
                "--out",
                str(tmp_path),
            ]
        )


def test_resume_refuses_other_plan_and_fresh_run_moves_old_checkpoints(tmp_path):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    from braindecode_elm.training import PretrainCorpus

    corpus = PretrainCorpus.from_arrays(
        [
            (
                f"r{i}",
                f"s{i}",
                rng.normal(size=(6, 20, 500)).astype(np.float16),
                [f"t{i}"],
            )
            for i in range(6)
        ]
    )
    kw = dict(
        out=str(tmp_path / "run"),
        max_steps=1,
        val_fraction=0.0,
        batch_size=4,
        max_eeg=4,
        text_cache_dir=str(tmp_path / "tc"),
    )
    first = pretrain(load_preset("tiny-cpu", **kw), corpus=corpus, progress=False)
    assert first.step == 1 and (tmp_path / "run" / "final").is_dir()
    with pytest.raises(ValueError, match="batch_size"):
        pretrain(
            load_preset("tiny-cpu", **{**kw, "batch_size": 2}),
            corpus=corpus,
            resume="latest",
            progress=False,
        )
    # max_steps counts all steps: resuming the finished run does no extra step
    again = pretrain(load_preset("tiny-cpu", **kw), corpus=corpus, resume="latest")
    assert again.resumed_from is not None and again.step == 1
    earlier_log = (tmp_path / "run" / "metrics.csv").read_text()
    fresh = pretrain(load_preset("tiny-cpu", **kw), corpus=corpus, progress=False)
    assert fresh.resumed_from is None
    assert len(list(tmp_path.glob("run/checkpoints.old-*"))) == 1
    # the earlier run's logs are kept too, not overwritten
    (old_log,) = tmp_path.glob("run/metrics.old-*.csv")
    assert old_log.read_text() == earlier_log
    assert len(list(tmp_path.glob("run/config.old-*.yaml"))) == 1
    assert len(list(tmp_path.glob("run/versions.old-*.json"))) == 1
