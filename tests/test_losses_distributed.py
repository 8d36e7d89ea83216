"""Two gloo processes on CPU reproduce the single-process loss and gradients."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from braindecode_elm.losses import ClipLoss, MFlagLoss, MILInfoNCE

# Uneven split on purpose: gather_with_grad must handle ranks of different sizes.
EEG_SPLIT = (3, 4)
TEXT_SPLIT = (2, 5)
EEG_IDS = [0, 0, 1, 1, 2, 2, 3]
TEXT_IDS = [0, 1, 2, 2, 3, 3, 1]

WORKER = textwrap.dedent(
    """
    import sys
    import torch
    import torch.distributed as dist
    from braindecode_elm.losses import ClipLoss, MFlagLoss, MILInfoNCE, gather_with_grad

    rank, world, init_file, out = int(sys.argv[1]), 2, sys.argv[2], sys.argv[3]
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world
    )
    data = torch.load(sys.argv[4], weights_only=True)
    es, ts = data["eeg_split"].tolist(), data["text_split"].tolist()
    e0, t0 = sum(es[:rank]), sum(ts[:rank])
    x = data["x"][e0 : e0 + es[rank]]
    y = data["y"][t0 : t0 + ts[rank]]
    eid = data["eeg_ids"][e0 : e0 + es[rank]]
    tid = data["text_ids"][t0 : t0 + ts[rank]]
    res = {}
    for name in ("mil", "clip", "mflag"):
        we = data["we"].clone().requires_grad_(True)
        wt = data["wt"].clone().requires_grad_(True)
        # CLIP/M-FLAG need pairs: use the EEG split for the texts too.
        yy = y if name == "mil" else data["y"][e0 : e0 + es[rank]]
        e_loc = x @ we
        t_loc = yy @ wt
        e_loc.retain_grad()
        e_all, t_all = gather_with_grad(e_loc), gather_with_grad(t_loc)
        if name == "mil":
            ids = (gather_with_grad(eid), gather_with_grad(tid))
            loss = MILInfoNCE(0.3)(e_all, t_all, *ids)
        elif name == "clip":
            loss = ClipLoss(0.3)(e_all, t_all)
        else:
            loss = MFlagLoss()(e_all, t_all, gather_with_grad(x @ we[:, :4]))
        loss.backward()
        # What DistributedDataParallel does with parameter gradients: average.
        for w in (we, wt):
            dist.all_reduce(w.grad)
            w.grad /= world
        res[name + "_loss"] = loss.detach()
        res[name + "_gwe"] = we.grad
        res[name + "_gwt"] = wt.grad
        res[name + "_ge_local"] = e_loc.grad
    torch.save(res, out)
    dist.destroy_process_group()
    """
)


def _single(name: str, data: dict) -> dict[str, torch.Tensor]:
    we = data["we"].clone().requires_grad_(True)
    wt = data["wt"].clone().requires_grad_(True)
    x = data["x"]
    y = data["y"] if name == "mil" else data["y"][: len(x)]
    e, t = x @ we, y @ wt
    e.retain_grad()
    if name == "mil":
        loss = MILInfoNCE(0.3)(e, t, data["eeg_ids"], data["text_ids"])
    elif name == "clip":
        loss = ClipLoss(0.3)(e, t)
    else:
        loss = MFlagLoss()(e, t, x @ we[:, :4])
    loss.backward()
    return {"loss": loss.detach(), "gwe": we.grad, "gwt": wt.grad, "ge": e.grad}


def test_two_gloo_ranks_match_single_process(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    data = {
        "x": torch.randn(7, 10, generator=g, dtype=torch.float64),
        "y": torch.randn(7, 8, generator=g, dtype=torch.float64),
        "we": torch.randn(10, 6, generator=g, dtype=torch.float64),
        "wt": torch.randn(8, 6, generator=g, dtype=torch.float64),
        "eeg_ids": torch.tensor(EEG_IDS),
        "text_ids": torch.tensor(TEXT_IDS),
        "eeg_split": torch.tensor(EEG_SPLIT),
        "text_split": torch.tensor(TEXT_SPLIT),
    }
    data_path = tmp_path / "data.pt"
    torch.save(data, data_path)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    init_file = tmp_path / "pg_init"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(r),
                str(init_file),
                str(tmp_path / f"out{r}.pt"),
                str(data_path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    logs = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("gloo workers timed out")
        logs.append(out)
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log
    outs = [torch.load(tmp_path / f"out{r}.pt", weights_only=True) for r in range(2)]
    for name in ("mil", "clip", "mflag"):
        ref = _single(name, data)
        split = EEG_SPLIT
        for r, res in enumerate(outs):
            torch.testing.assert_close(res[f"{name}_loss"], ref["loss"])
            torch.testing.assert_close(res[f"{name}_gwe"], ref["gwe"])
            torch.testing.assert_close(res[f"{name}_gwt"], ref["gwt"])
            # Each rank's local rows carry world_size x the global gradient (DDP's
            # averaging divides it back).
            start = sum(split[:r])
            torch.testing.assert_close(
                res[f"{name}_ge_local"], 2 * ref["ge"][start : start + split[r]]
            )
