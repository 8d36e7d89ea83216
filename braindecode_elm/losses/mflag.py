"""M-FLAG style alignment + orthogonality loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MFlagLoss"]


class MFlagLoss(nn.Module):
    """Alignment ``2 - 2 cos(e, t)`` plus an orthogonality term on EEG features.

    Following M-FLAG (Liu et al., 2023) as used for ELM-MFLAG: the alignment term
    is the mean over pairs of ``2 - 2 cos(e_i, t_i)`` (it is symmetric, so the
    EEG-to-text and text-to-EEG versions coincide and are averaged); the
    orthogonality term standardises the (B, F) EEG features over the batch, forms
    their (F, F) correlation matrix ``C`` and penalises its distance to the
    identity, ``sum_i (C_ii - 1)^2 + offdiag * sum_{i != j} C_ij^2``. The loss is
    ``(1 - gamma) * alignment + gamma * orthogonality``.

    Parameters
    ----------
    gamma : float
        Weight of the orthogonality term, in [0, 1].
    offdiag : float
        Weight of the off-diagonal entries of the orthogonality term.
    eps : float
        Added to the feature variance before standardising.
    """

    def __init__(self, gamma: float = 0.5, offdiag: float = 0.0051, eps: float = 1e-5):
        super().__init__()
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
        self.gamma = float(gamma)
        self.offdiag = float(offdiag)
        self.eps = float(eps)

    def alignment(self, eeg_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """Mean ``2 - 2 cos`` over paired rows."""
        if eeg_emb.shape != text_emb.shape:
            raise ValueError(
                f"MFlagLoss needs paired rows of equal shape; got "
                f"{tuple(eeg_emb.shape)} and {tuple(text_emb.shape)}"
            )
        cos = (F.normalize(eeg_emb, dim=-1) * F.normalize(text_emb, dim=-1)).sum(-1)
        return (2.0 - 2.0 * cos).mean()

    def orthogonality(self, features: torch.Tensor) -> torch.Tensor:
        """Identity-target penalty on the batch correlation of ``features``."""
        if features.dim() != 2 or features.shape[0] < 2:
            raise ValueError(
                f"orthogonality needs (B >= 2, F) features; got {tuple(features.shape)}"
            )
        z = features - features.mean(0)
        z = z / torch.sqrt(z.pow(2).mean(0) + self.eps)
        c = z.T @ z / features.shape[0]
        diag = torch.diagonal(c)
        on = (diag - 1.0).pow(2).sum()
        off = c.pow(2).sum() - diag.pow(2).sum()
        return on + self.offdiag * off

    def forward(
        self, eeg_emb: torch.Tensor, text_emb: torch.Tensor, eeg_features: torch.Tensor
    ) -> torch.Tensor:
        """Loss (scalar) from paired embeddings and the EEG tower's features.

        Parameters
        ----------
        eeg_emb : torch.Tensor
            (B, D) EEG embeddings.
        text_emb : torch.Tensor
            (B, D) text embeddings, paired row by row.
        eeg_features : torch.Tensor
            (B, F) pre-projection EEG features (96-d for the paper's tower).

        Returns
        -------
        torch.Tensor
            Scalar loss.
        """
        align = self.alignment(eeg_emb, text_emb)
        orth = self.orthogonality(eeg_features)
        return (1.0 - self.gamma) * align + self.gamma * orth
