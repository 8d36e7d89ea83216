"""Gated-attention MIL pooling and a recording-level CLIP loss built on it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .clip import ClipLoss

__all__ = ["AttentionMILPooling", "AttentionMILClipLoss"]


def _segment_softmax(scores: torch.Tensor, inverse: torch.Tensor, n_bags: int):
    """Softmax of ``scores`` within each bag (``inverse`` = bag index per row)."""
    big = scores.new_full((n_bags,), float("-inf"))
    big = big.scatter_reduce(0, inverse, scores, reduce="amax", include_self=True)
    e = torch.exp(scores - big[inverse])
    denom = e.new_zeros(n_bags).index_add(0, inverse, e)
    return e / denom[inverse]


class AttentionMILPooling(nn.Module):
    """Gated attention pooling of instances into bags (Ilse et al., 2018).

    Score ``a_k = w^T (tanh(V h_k) * sigmoid(U h_k))``, softmax-normalised within
    each bag, and bag embedding ``sum_k a_k h_k``.

    Parameters
    ----------
    in_dim : int
        Instance dimension.
    hidden : int
        Attention hidden size.
    gated : bool
        Use the gated variant (else ``w^T tanh(V h)``).
    """

    def __init__(self, in_dim: int = 256, hidden: int = 128, gated: bool = True):
        super().__init__()
        self.V = nn.Linear(in_dim, hidden)
        self.U = nn.Linear(in_dim, hidden) if gated else None
        self.w = nn.Linear(hidden, 1)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Unnormalised attention score of each instance (N,)."""
        h = torch.tanh(self.V(x))
        if self.U is not None:
            h = h * torch.sigmoid(self.U(x))
        return self.w(h).squeeze(-1)

    def forward(
        self, x: torch.Tensor, bag_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pool (N, D) instances by bag id.

        Parameters
        ----------
        x : torch.Tensor
            (N, D) instances (e.g. crop embeddings).
        bag_ids : torch.Tensor
            (N,) bag (recording) id of each instance.

        Returns
        -------
        pooled : torch.Tensor
            (R, D) bag embeddings, one per distinct id in sorted order.
        ids : torch.Tensor
            (R,) the sorted distinct ids.
        weights : torch.Tensor
            (N,) attention weight of each instance (sums to 1 within a bag).
        """
        if x.dim() != 2 or bag_ids.shape != (x.shape[0],):
            raise ValueError(
                f"expected x (N, D) and bag_ids (N,); got {tuple(x.shape)} and "
                f"{tuple(bag_ids.shape)}"
            )
        ids, inverse = torch.unique(bag_ids, sorted=True, return_inverse=True)
        w = _segment_softmax(self.scores(x), inverse, len(ids))
        pooled = x.new_zeros(len(ids), x.shape[1]).index_add(0, inverse, w[:, None] * x)
        return pooled, ids, w


class AttentionMILClipLoss(nn.Module):
    """Recording-level CLIP loss: attention-pooled crops vs mean-pooled texts.

    The crops of each recording are pooled with :class:`AttentionMILPooling`; the
    (L2-normalised) text segments of each recording are averaged; the two
    per-recording embeddings are contrasted with :class:`ClipLoss`. An
    alternative to :class:`MILInfoNCE` (the attention module is trained with the
    towers, so pass this loss's parameters to the optimiser).

    Parameters
    ----------
    in_dim : int
        Embedding dimension.
    hidden : int
        Attention hidden size.
    temperature : float
        Softmax temperature.
    learnable : bool
        Learn the temperature.
    """

    def __init__(
        self,
        in_dim: int = 256,
        hidden: int = 128,
        temperature: float = 0.3,
        learnable: bool = False,
    ):
        super().__init__()
        self.pool = AttentionMILPooling(in_dim, hidden)
        self.clip = ClipLoss(temperature, learnable)

    def forward(
        self,
        eeg_emb: torch.Tensor,
        text_emb: torch.Tensor,
        eeg_ids: torch.Tensor,
        text_ids: torch.Tensor,
    ) -> torch.Tensor:
        """Scalar loss; every recording id must appear among both crops and texts."""
        eeg_bag, e_ids, _ = self.pool(F.normalize(eeg_emb, dim=-1), eeg_ids)
        t_ids, inverse = torch.unique(text_ids, sorted=True, return_inverse=True)
        if not torch.equal(e_ids.cpu(), t_ids.cpu()):
            raise ValueError(
                "every recording needs both crops and texts in the batch; ids only "
                f"on one side: {sorted(set(e_ids.tolist()) ^ set(t_ids.tolist()))}"
            )
        t = F.normalize(text_emb, dim=-1)
        sums = t.new_zeros(len(t_ids), t.shape[1]).index_add(0, inverse, t)
        counts = t.new_zeros(len(t_ids)).index_add(0, inverse, torch.ones_like(t[:, 0]))
        return self.clip(eeg_bag, sums / counts[:, None])
