"""A short digest of a module's weights, for its ``repr``; loading that keeps
the caller's random state.

Tools that key results on an estimator's ``repr`` (MOABB's results cache keys
on ``repr(pipeline.get_params())``) otherwise see two towers of the same
architecture as the same model and serve one's scores for the other.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import torch
from torch import nn

__all__ = ["keeps_torch_rng", "weights_digest"]

P = ParamSpec("P")
R = TypeVar("R")


def weights_digest(module: nn.Module, n_chars: int = 12) -> str:
    """SHA-256 of the module's parameters and buffers (names, dtypes, shapes
    and bytes), its first ``n_chars`` hex digits."""
    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            t = t.detach()
            h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
            if t.is_meta:
                continue  # no data yet
            h.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:n_chars]


def keeps_torch_rng(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` on a private copy of torch's CPU random state.

    Loading builds modules (random initialisation, then the saved weights over
    it): without this, loading a bundle moved the caller's random stream, so a
    seeded experiment changed with whether a model was loaded first.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with torch.random.fork_rng(devices=[]):
            return fn(*args, **kwargs)

    return wrapper
