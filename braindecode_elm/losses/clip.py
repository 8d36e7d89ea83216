"""Symmetric InfoNCE (CLIP) between paired EEG and text embeddings."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ClipLoss", "Temperature"]


class Temperature(nn.Module):
    """A softmax temperature, fixed or learned (as ``log(1 / tau)``).

    Parameters
    ----------
    temperature : float
        Initial temperature (> 0).
    learnable : bool
        If True the inverse temperature is a trainable parameter.
    """

    def __init__(self, temperature: float = 0.3, learnable: bool = False):
        super().__init__()
        if not float(temperature) > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        value = torch.tensor(math.log(1.0 / float(temperature)))
        self.learnable = bool(learnable)
        if learnable:
            self.log_inv_temperature = nn.Parameter(value)
        else:
            self.register_buffer("log_inv_temperature", value)

    @property
    def value(self) -> float:
        """Current temperature as a float."""
        return float(torch.exp(-self.log_inv_temperature.detach()))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """Divide cosine similarities by the temperature."""
        return logits * self.log_inv_temperature.exp()


def _check_pair(eeg_emb: torch.Tensor, text_emb: torch.Tensor) -> None:
    if eeg_emb.dim() != 2 or text_emb.dim() != 2:
        raise ValueError(
            f"embeddings must be 2-D (rows, dim); got {tuple(eeg_emb.shape)} and "
            f"{tuple(text_emb.shape)}"
        )
    if eeg_emb.shape[1] != text_emb.shape[1]:
        raise ValueError(
            f"EEG and text embeddings differ in dimension: {eeg_emb.shape[1]} vs "
            f"{text_emb.shape[1]}"
        )


def cosine_logits(
    eeg_emb: torch.Tensor, text_emb: torch.Tensor, temperature: Temperature
) -> torch.Tensor:
    """(N, M) cosine similarities of L2-normalised rows, divided by tau."""
    _check_pair(eeg_emb, text_emb)
    sim = F.normalize(eeg_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T
    return temperature(sim)


class ClipLoss(nn.Module):
    """Symmetric InfoNCE between paired, L2-normalised EEG and text embeddings.

    Row ``i`` of ``eeg_emb`` is paired with row ``i`` of ``text_emb``; the loss is
    the mean of the EEG-to-text and text-to-EEG cross-entropies of the
    temperature-scaled cosine-similarity matrix. Inputs need not be normalised.
    For multi-process training pass tensors gathered with
    :func:`~braindecode_elm.losses.gather_with_grad`.

    Parameters
    ----------
    temperature : float
        Softmax temperature (0.3 in the paper).
    learnable : bool
        Learn the temperature (CLIP style) instead of keeping it fixed.
    """

    def __init__(self, temperature: float = 0.3, learnable: bool = False):
        super().__init__()
        self.temperature = Temperature(temperature, learnable)

    def forward(self, eeg_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """Loss of (N, D) EEG and (N, D) text embeddings (scalar)."""
        if eeg_emb.shape[0] != text_emb.shape[0]:
            raise ValueError(
                "ClipLoss needs paired rows: got "
                f"{eeg_emb.shape[0]} EEG and {text_emb.shape[0]} text embeddings "
                "(use MILInfoNCE for many texts per recording)"
            )
        logits = cosine_logits(eeg_emb, text_emb, self.temperature)
        labels = torch.arange(logits.shape[0], device=logits.device)
        return 0.5 * (
            F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)
        )
