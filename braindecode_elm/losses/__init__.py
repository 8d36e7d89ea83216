"""Contrastive losses of ELM: CLIP, MIL InfoNCE, M-FLAG, attention MIL.

All losses accept embeddings gathered from every rank with
:func:`gather_with_grad` for multi-process training.
"""

from __future__ import annotations

from .attention import AttentionMILClipLoss, AttentionMILPooling
from .clip import ClipLoss, Temperature
from .distributed import gather_with_grad, is_distributed
from .mflag import MFlagLoss
from .mil import MILInfoNCE, positive_mask

__all__ = [
    "AttentionMILClipLoss",
    "AttentionMILPooling",
    "ClipLoss",
    "MFlagLoss",
    "MILInfoNCE",
    "Temperature",
    "gather_with_grad",
    "is_distributed",
    "positive_mask",
]
