"""Atomic, pickle-free checkpoints of a pretraining run.

A checkpoint is a folder ``<run>/checkpoints/step_XXXXXXXX/`` holding

* ``model.safetensors``: parameters and buffers of the trained module;
* ``optimizer.safetensors``: optimiser state tensors, keyed ``<param name>/<key>``,
  plus the RNG states (``rng/torch_cpu``, ``rng/cuda<i>``);
* ``state.json``: step counters, sampler state, optimiser hyper-parameters,
  gradient-scaler state and the config.

It is written into a temporary folder and renamed into place (atomic on POSIX),
then ``checkpoints/latest`` (a one-line text file) is replaced atomically, so a
process killed at any moment leaves either the previous or the new checkpoint,
never a torn one. Nothing is ever unpickled when loading.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from .._files import save_safetensors
from .._json import json_default

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
]

_PREFIX = "step_"


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _cpu_contig(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").contiguous().clone()


def _optimizer_tensors(
    optimizer: torch.optim.Optimizer, names: dict[int, str]
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for p, state in optimizer.state.items():
        name = names[id(p)]
        for key, val in state.items():
            if isinstance(val, torch.Tensor):
                tensors[f"{name}/{key}"] = _cpu_contig(val)
            else:
                scalars[f"{name}/{key}"] = val
    return tensors, scalars


def _param_names(module: nn.Module) -> dict[int, str]:
    return {id(p): n for n, p in module.named_parameters()}


def _rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng/torch_cpu": torch.get_rng_state().clone()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, st in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng/cuda{i}"] = st.clone()
    return out


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith(_PREFIX) and (p / "state.json").is_file()
    ]
    return sorted(found, key=lambda p: int(p.name[len(_PREFIX) :]))


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint of ``run_dir`` (``None`` when there is none)."""
    root = Path(run_dir) / "checkpoints"
    pointer = root / "latest"
    if pointer.is_file():
        name = pointer.read_text().strip()
        # The pointer is data: it may only name a checkpoint folder beside it.
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(
                f"{pointer} names {name!r}, not a checkpoint folder inside {root}; "
                "delete the pointer file to fall back to the newest checkpoint"
            )
        cand = root / name
        if (cand / "state.json").is_file():
            return cand
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1] if ckpts else None


def save_checkpoint(
    run_dir: str | os.PathLike[str],
    *,
    step: int,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    scaler: Any = None,
    keep_last: int = 3,
) -> Path:
    """Write a checkpoint atomically and prune old ones.

    Parameters
    ----------
    run_dir : path-like
        Run folder; checkpoints go to ``run_dir/checkpoints``.
    step : int
        Global optimiser step (names the folder).
    module : torch.nn.Module
        The trained module (unwrapped from DDP/compile).
    optimizer : torch.optim.Optimizer
        Its optimiser.
    state : dict
        JSON-serialisable counters (epoch, position, sampler state, config...).
    scaler : torch.amp.GradScaler or None
        Gradient scaler (fp16), saved as JSON.
    keep_last : int
        Number of checkpoints to keep (>= 1).

    Returns
    -------
    pathlib.Path
        The checkpoint folder.
    """
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{_PREFIX}{step:08d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()

    model_sd = {k: _cpu_contig(v) for k, v in module.state_dict().items()}
    save_safetensors(model_sd, tmp / "model.safetensors")
    names = _param_names(module)
    opt_tensors, opt_scalars = _optimizer_tensors(optimizer, names)
    opt_tensors.update(_rng_tensors())
    save_safetensors(opt_tensors, tmp / "optimizer.safetensors")
    groups = [
        {k: v for k, v in g.items() if k != "params"}
        | {"param_names": [names[id(p)] for p in g["params"]]}
        for g in optimizer.param_groups
    ]
    payload = {
        "format": 1,
        "step": int(step),
        **state,
        "optimizer": {
            "class": type(optimizer).__name__,
            "param_groups": groups,
            "scalars": opt_scalars,
        },
        "scaler": scaler.state_dict() if scaler is not None else None,
    }
    with open(tmp / "state.json", "w") as fh:
        json.dump(payload, fh, indent=1, default=json_default)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(tmp)
    if final.exists():  # re-saving a step after a resume: swap atomically-ish
        trash = root / f".trash-{final.name}-{os.getpid()}"
        os.rename(final, trash)
        os.rename(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(tmp, final)
    _fsync_dir(root)
    _write_text_atomic(root / "latest", final.name + "\n")
    for old in list_checkpoints(run_dir)[: -max(1, keep_last)]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    module: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scaler: Any = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : path-like
        Checkpoint folder.
    module : torch.nn.Module
        Module to fill (strict: missing or unexpected keys raise).
    optimizer : torch.optim.Optimizer or None
        Optimiser to fill (same parameter names and hyper-parameter groups).
    scaler : torch.amp.GradScaler or None
        Gradient scaler to restore.
    restore_rng : bool
        Restore the torch RNG states.

    Returns
    -------
    dict
        The content of ``state.json``.
    """
    path = Path(path)
    if not (path / "state.json").is_file():
        raise FileNotFoundError(f"{path} is not a checkpoint folder (no state.json)")
    try:
        state = json.loads((path / "state.json").read_text())
        model_sd = load_file(str(path / "model.safetensors"))
        tensors = load_file(str(path / "optimizer.safetensors"))
    except (ValueError, OSError, SafetensorError) as exc:  # JSON errors are ValueErrors
        raise ValueError(
            f"checkpoint {path} is damaged ({type(exc).__name__}: {exc}); resume "
            "from an earlier one with --resume PATH (resume=PATH)"
        ) from exc
    ref = module.state_dict()
    missing = sorted(set(ref) - set(model_sd))
    unexpected = sorted(set(model_sd) - set(ref))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {path} does not match the model: missing {missing[:10]}, "
            f"unexpected {unexpected[:10]} (was it written with another config?)"
        )
    module.load_state_dict(model_sd, strict=True)
    if optimizer is not None:
        by_name = dict(module.named_parameters())
        saved_groups = state["optimizer"]["param_groups"]
        if len(saved_groups) != len(optimizer.param_groups):
            raise ValueError("optimizer parameter groups differ from the checkpoint")
        for group, saved in zip(optimizer.param_groups, saved_groups):
            for key, val in saved.items():
                if key != "param_names":
                    group[key] = val
        optimizer.state.clear()
        scalars = state["optimizer"].get("scalars", {})
        for key, tensor in tensors.items():
            if key.startswith("rng/"):
                continue
            name, skey = key.rsplit("/", 1)
            p = by_name[name]
            optimizer.state[p][skey] = tensor.to(p.device)
        for key, val in scalars.items():
            name, skey = key.rsplit("/", 1)
            optimizer.state[by_name[name]][skey] = val
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    if restore_rng:
        torch.set_rng_state(tensors["rng/torch_cpu"])
        if torch.cuda.is_available():
            cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda")]
            if cuda and len(cuda) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda)
    return state
