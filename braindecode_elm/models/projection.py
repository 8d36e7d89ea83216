"""Trained projection of language-model features into the joint space."""

from __future__ import annotations

import torch
from torch import nn

from ._digest import weights_digest

__all__ = ["TextProjection"]


class TextProjection(nn.Module):
    """Project text-encoder features into ELM's 256-d joint space.

    ``Linear(in_dim, hidden) -> BatchNorm1d(hidden) -> ReLU -> Linear(hidden,
    out_dim) -> BatchNorm1d(out_dim, affine=False)``, as in the paper.

    Parameters
    ----------
    in_dim : int
        Dimension of the language-model features (384 for MiniLM, 768 for
        MedCPT).
    hidden : int
        Width of the hidden layer.
    out_dim : int
        Dimension of the joint space.
    """

    def __init__(self, in_dim: int, hidden: int = 1024, out_dim: int = 256):
        super().__init__()
        for name, val in (("in_dim", in_dim), ("hidden", hidden), ("out_dim", out_dim)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        self.in_dim = in_dim
        self.hidden = hidden
        self.out_dim = out_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
            nn.BatchNorm1d(out_dim, affine=False),
        )

    def extra_repr(self) -> str:  # noqa: D102
        # As ELMEncoder's: projections of one shape differ by their weights.
        return f"weights={weights_digest(self)}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project ``x`` of shape (M, in_dim) to (M, out_dim)."""
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"expected text features of shape (M, {self.in_dim}), got "
                f"{tuple(x.shape)}"
            )
        return self.net(x)
