"""The ELM-MIL training step, shared by the loop and the throughput benchmark.

Only torch is imported here (the towers and the loss are passed in), so the GPU
benchmark can run it in an environment with nothing but torch and NumPy.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

__all__ = ["MILTrainModule", "identical_text_mask", "autocast_for", "mil_step"]


class MILTrainModule(nn.Module):
    """The trained part of ELM: EEG tower (+ its projection) and text projection.

    State-dict keys are ``eeg_encoder.*`` and ``text_projection.*``, the same names
    as in :class:`braindecode_elm.models.ELM`.

    Parameters
    ----------
    eeg_encoder : torch.nn.Module
        :class:`~braindecode_elm.models.ELMEncoder` (returns the 256-d embedding).
    text_projection : torch.nn.Module
        :class:`~braindecode_elm.models.TextProjection`.
    """

    def __init__(self, eeg_encoder: nn.Module, text_projection: nn.Module) -> None:
        super().__init__()
        self.eeg_encoder = eeg_encoder
        self.text_projection = text_projection

    def forward(
        self, x: torch.Tensor, text_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed crops ``x`` (N, C, T) and project LM features (M, d)."""
        return self.eeg_encoder(x), self.text_projection(text_features)


def identical_text_mask(
    eeg_rec: torch.Tensor, text_rec: torch.Tensor, text_uid: torch.Tensor
) -> torch.Tensor:
    """Positives by identical text: (N, M) bool.

    Crop ``i`` and text ``j`` are positive when the recording of crop ``i`` has, in
    this batch, a text segment identical to text ``j`` (same row ``text_uid`` of the
    unique-text table). This includes the same-recording pairs and adds, e.g., the
    identical captions of other recordings (eegmat "rest"/"arithmetic" captions).

    Parameters
    ----------
    eeg_rec : torch.Tensor
        (N,) recording index of every crop.
    text_rec : torch.Tensor
        (M,) recording index of every text segment.
    text_uid : torch.Tensor
        (M,) unique-text id of every text segment.

    Returns
    -------
    torch.Tensor
        (N, M) bool mask.
    """
    recs, rec_inv = torch.unique(torch.cat([eeg_rec, text_rec]), return_inverse=True)
    eeg_r, text_r = rec_inv[: len(eeg_rec)], rec_inv[len(eeg_rec) :]
    uids, uid_inv = torch.unique(text_uid, return_inverse=True)
    has = torch.zeros(len(recs), len(uids), dtype=torch.bool, device=text_uid.device)
    has[text_r, uid_inv] = True
    return has[eeg_r][:, uid_inv]


def autocast_for(device: torch.device, precision: str) -> Any:
    """Autocast context for ``precision`` in {"fp32", "bf16", "fp16"}."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def mil_step(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    text_features: torch.Tensor,
    eeg_rec: torch.Tensor,
    text_rec: torch.Tensor,
    text_uid: torch.Tensor | None = None,
    *,
    precision: str = "fp32",
    scaler: Any = None,
    gather: Any = None,
) -> torch.Tensor:
    """One optimisation step of ELM-MIL; returns the (detached) loss.

    Parameters
    ----------
    model : torch.nn.Module
        :class:`MILTrainModule` (possibly DDP-wrapped and/or compiled).
    loss_fn : torch.nn.Module
        :class:`~braindecode_elm.losses.MILInfoNCE`.
    optimizer : torch.optim.Optimizer
        Optimiser of the trained parameters.
    x : torch.Tensor
        (N, C, T) crops on the device (any float dtype; cast to float32).
    text_features : torch.Tensor
        (M, d) cached language-model features on the device.
    eeg_rec, text_rec : torch.Tensor
        (N,), (M,) recording index of every crop / text (global across ranks).
    text_uid : torch.Tensor or None
        (M,) unique-text ids; when given, positives also include identical texts
        (:func:`identical_text_mask`).
    precision : {"fp32", "bf16", "fp16"}
        Autocast precision.
    scaler : torch.amp.GradScaler or None
        Gradient scaler for fp16.
    gather : callable or None
        ``gather_with_grad`` for multi-process runs (identity otherwise).

    Returns
    -------
    torch.Tensor
        Detached scalar loss (no host synchronisation).
    """
    x = x.float()
    with autocast_for(x.device, precision):
        eeg_emb, text_emb = model(x, text_features)
    eeg_emb, text_emb = eeg_emb.float(), text_emb.float()
    if gather is not None:
        eeg_emb, text_emb = gather(eeg_emb), gather(text_emb)
        eeg_rec, text_rec = gather(eeg_rec), gather(text_rec)
        if text_uid is not None:
            text_uid = gather(text_uid)
    pos = (
        identical_text_mask(eeg_rec, text_rec, text_uid)
        if text_uid is not None
        else None
    )
    loss = loss_fn(eeg_emb, text_emb, eeg_rec, text_rec, pos)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return loss.detach()
