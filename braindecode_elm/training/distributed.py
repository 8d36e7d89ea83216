"""Process-group setup for ``torchrun`` and batch-norm over the global batch."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistInfo", "init_distributed", "shutdown_distributed", "convert_sync_bn"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job.

    Attributes
    ----------
    rank, world_size, local_rank : int
        From the ``torchrun`` environment (0, 1, 0 without it).
    device : torch.device
        The device this process trains on.
    backend : str or None
        ``nccl``/``gloo`` when a process group was created, else ``None``.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the one that writes files)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1


def _pick_device(pref: str, local_rank: int) -> torch.device:
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {pref!r} requested but CUDA is not available; use the "
                "CPU (--device cpu, device='cpu' in a config)"
            )
        if pref == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(pref)


def init_distributed(device: str = "auto") -> DistInfo:
    """Create the process group when launched by ``torchrun`` (``WORLD_SIZE > 1``).

    NCCL is used on CUDA devices and gloo on CPU. Without ``torchrun`` (or with a
    group already initialised by the caller) nothing is created.

    Parameters
    ----------
    device : str
        ``auto``, ``cpu``, ``cuda`` (``cuda:LOCAL_RANK`` under torchrun) or an
        explicit device string.

    Returns
    -------
    DistInfo
        Rank, world size and device of this process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = _pick_device(device, local_rank)
    backend = None
    if dist.is_available() and dist.is_initialized():
        return DistInfo(
            dist.get_rank(), dist.get_world_size(), local_rank, dev, dist.get_backend()
        )
    if world > 1:
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local_rank, dev, backend)


def shutdown_distributed(info: DistInfo) -> None:
    """Destroy the process group created by :func:`init_distributed`."""
    if info.backend is not None and dist.is_initialized():
        dist.destroy_process_group()


class _GlobalBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d whose training statistics span all ranks (any backend).

    ``torch.nn.SyncBatchNorm`` only runs on accelerators; this two-pass version
    uses differentiable all-reduces and so also works with gloo on CPU. Its state
    dict is that of ``BatchNorm1d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, 2] if x.dim() == 3 else [0]
        shape = (1, -1, 1) if x.dim() == 3 else (1, -1)
        c = x.shape[1]
        n_local = x.numel() // c
        xf = x.float()
        packed = torch.cat([xf.sum(dims), xf.new_tensor([float(n_local)])])
        packed = all_reduce(packed)
        n = packed[c]
        mean = packed[:c] / n
        centred = xf - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 0.1
                unbiased = var * (n / (n - 1).clamp(min=1))
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(unbiased.detach(), alpha=m)
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_sync_bn(module: nn.Module, device: torch.device) -> nn.Module:
    """Make every ``BatchNorm1d`` of ``module`` use global-batch statistics.

    On CUDA this is :meth:`torch.nn.SyncBatchNorm.convert_sync_batchnorm`; on CPU
    each ``BatchNorm1d`` is replaced by an equivalent module that all-reduces its
    statistics (gloo). Parameters, buffers and state-dict keys are unchanged.

    Parameters
    ----------
    module : torch.nn.Module
        Module to convert (in place where possible).
    device : torch.device
        Training device.

    Returns
    -------
    torch.nn.Module
        The converted module.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in list(module.named_children()):
        if type(child) is nn.BatchNorm1d:
            new = _GlobalBatchNorm(
                child.num_features,
                eps=child.eps,
                momentum=child.momentum,
                affine=child.affine,
                track_running_stats=child.track_running_stats,
            )
            new.load_state_dict(child.state_dict())
            new.train(child.training)
            setattr(module, name, new)
        else:
            convert_sync_bn(child, device)
    return module
