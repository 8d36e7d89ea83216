"""A short digest of a module's weights, for its ``repr``.

Tools that key results on an estimator's ``repr`` (MOABB's results cache keys
on ``repr(pipeline.get_params())``) otherwise see two towers of the same
architecture as the same model and serve one's scores for the other.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

__all__ = ["weights_digest"]


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
