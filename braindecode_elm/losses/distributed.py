"""``all_gather`` with gradients, for contrastive losses over the global batch."""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = ["gather_with_grad", "is_distributed"]


def is_distributed() -> bool:
    """True when a ``torch.distributed`` process group with >1 rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _gather_padded(t: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """All-gather along dim 0, allowing a different length on each rank."""
    world = dist.get_world_size()
    n = torch.tensor([t.shape[0]], device=t.device, dtype=torch.long)
    sizes_t = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes_t, n)
    sizes = [int(s.item()) for s in sizes_t]
    biggest = max(sizes)
    padded = t.new_zeros((biggest, *t.shape[1:]))
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([p[:s] for p, s in zip(parts, sizes)]), sizes


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out, sizes = _gather_padded(t)
        ctx.sizes = sizes
        ctx.rank = dist.get_rank()
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        # Every rank computed its loss on the same global batch, so the gradient
        # of a local row is the sum of all ranks' gradients for that row.
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]]


def gather_with_grad(t: torch.Tensor) -> torch.Tensor:
    """Concatenate ``t`` from all ranks along dim 0, keeping the local gradient.

    Ranks may hold different numbers of rows. In the backward pass the gradient
    of the gathered tensor is summed over ranks and the local rows' part flows
    back to ``t``. Since every rank then holds ``world_size`` times the gradient
    of the global loss, and ``DistributedDataParallel`` averages parameter
    gradients over ranks, the parameter gradients equal those of the same loss
    computed in one process on the whole global batch. Integer tensors (ids) are
    gathered without autograd. Identity when not running distributed.

    Parameters
    ----------
    t : torch.Tensor
        Local tensor (n_local, ...).

    Returns
    -------
    torch.Tensor
        (n_global, ...) tensor, ordered by rank.
    """
    if not is_distributed():
        return t
    if not (t.is_floating_point() or t.is_complex()) or not t.requires_grad:
        with torch.no_grad():
            return _gather_padded(t)[0]
    return _GatherWithGrad.apply(t)
