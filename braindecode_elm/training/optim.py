"""Optimisers for ELM pretraining: LARS (the paper's) and AdamW."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["LARS", "build_optimizer", "param_groups"]


class LARS(torch.optim.Optimizer):
    """Layer-wise Adaptive Rate Scaling with momentum (as used by ELM).

    For every parameter ``p`` with gradient ``g`` (all tensors of one step):

    * weight decay: ``g <- g + weight_decay * p`` (skipped for 1-D parameters when
      ``exclude_1d``: biases and normalisation weights);
    * trust ratio: ``g <- g * eta * ||p|| / ||g||`` when both norms are positive
      (skipped for 1-D parameters when ``exclude_1d``);
    * momentum: ``mu <- momentum * mu + g``; ``p <- p - lr * mu``.

    This is the update of the official ELM code (itself from Barlow Twins). The norms
    of all parameters are computed with fused ``torch._foreach`` kernels, so a step
    costs a handful of kernel launches rather than several per parameter.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        Learning rate.
    momentum : float
        Momentum (0.9 in the paper).
    eta : float
        Trust coefficient (0.001 in the paper).
    weight_decay : float
        Weight decay (1e-4 in the paper).
    exclude_1d : bool
        Exclude 1-D parameters from weight decay and from the trust-ratio scaling.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float,
        momentum: float = 0.9,
        eta: float = 0.001,
        weight_decay: float = 1e-4,
        exclude_1d: bool = True,
    ) -> None:
        if lr < 0 or momentum < 0 or eta <= 0 or weight_decay < 0:
            raise ValueError(
                "LARS needs lr >= 0, momentum >= 0, eta > 0 and weight_decay >= 0; "
                f"got lr={lr}, momentum={momentum}, eta={eta}, "
                f"weight_decay={weight_decay}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            eta=eta,
            weight_decay=weight_decay,
            exclude_1d=exclude_1d,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - documented on the class
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            adapt_p, adapt_g, plain_p, plain_g = [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("LARS does not support sparse gradients")
                if group["exclude_1d"] and p.ndim == 1:
                    plain_p.append(p)
                    plain_g.append(p.grad)
                else:
                    adapt_p.append(p)
                    adapt_g.append(p.grad)
            updates = list(plain_g)
            if adapt_p:
                wd = group["weight_decay"]
                g = (
                    list(torch._foreach_add(adapt_g, adapt_p, alpha=wd))
                    if wd
                    else [t.clone() for t in adapt_g]
                )
                p_norm = torch.stack(torch._foreach_norm(adapt_p))
                g_norm = torch.stack(torch._foreach_norm(g))
                one = torch.ones_like(p_norm)
                q = torch.where(
                    p_norm > 0,
                    torch.where(g_norm > 0, group["eta"] * p_norm / g_norm, one),
                    one,
                )
                torch._foreach_mul_(g, list(q.unbind(0)))
                updates = updates + list(g)
            params = plain_p + adapt_p
            if not params:
                continue
            bufs = []
            for p in params:
                state = self.state[p]
                if "mu" not in state:
                    state["mu"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
                bufs.append(state["mu"])
            torch._foreach_mul_(bufs, group["momentum"])
            torch._foreach_add_(bufs, updates)
            torch._foreach_add_(params, bufs, alpha=-group["lr"])
        return loss


def param_groups(modules: Iterable[nn.Module]) -> list[nn.Parameter]:
    """Trainable parameters of ``modules`` in a fixed order (no duplicates).

    Parameters
    ----------
    modules : iterable of torch.nn.Module
        Modules to optimise.

    Returns
    -------
    list of torch.nn.Parameter
        Parameters with ``requires_grad``.
    """
    seen: set[int] = set()
    out = []
    for m in modules:
        for p in m.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def build_optimizer(
    name: str,
    params: list[nn.Parameter],
    *,
    lr: float,
    weight_decay: float = 1e-4,
    momentum: float = 0.9,
    eta: float = 0.001,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """Make the optimiser named in a preset.

    Parameters
    ----------
    name : {"lars", "adamw"}
        ``lars``: :class:`LARS` (1-D parameters excluded from weight decay and
        adaptation); ``adamw``: :class:`torch.optim.AdamW` with weight decay only on
        parameters with more than one dimension.
    params : list of torch.nn.Parameter
        Parameters to optimise.
    lr : float
        Initial learning rate (the schedule overwrites it every epoch).
    weight_decay, momentum, eta, betas
        Optimiser hyper-parameters (``momentum``/``eta`` for LARS, ``betas`` for
        AdamW).

    Returns
    -------
    torch.optim.Optimizer
        The optimiser.
    """
    key = name.lower()
    if key == "lars":
        return LARS(
            params, lr=lr, momentum=momentum, eta=eta, weight_decay=weight_decay
        )
    if key == "adamw":
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        return torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=lr,
            betas=betas,
        )
    raise ValueError(f"unknown optimizer {name!r}; choose 'lars' or 'adamw'")
