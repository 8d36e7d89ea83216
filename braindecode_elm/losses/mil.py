"""ELM-MIL: multiple-instance InfoNCE over crops and report segments."""

from __future__ import annotations

import torch
from torch import nn

from .clip import Temperature, cosine_logits

__all__ = ["MILInfoNCE", "positive_mask"]


def positive_mask(
    eeg_ids: torch.Tensor | None,
    text_ids: torch.Tensor | None,
    pos_mask: torch.Tensor | None,
    n: int,
    m: int,
    device: torch.device,
) -> torch.Tensor:
    """Combine id-based positives and an optional explicit mask into (N, M) bool.

    Parameters
    ----------
    eeg_ids, text_ids : torch.Tensor or None
        Recording id of each EEG row (N,) and text column (M,); pairs with equal
        ids are positives. Give both or neither.
    pos_mask : torch.Tensor or None
        Extra positives (N, M) bool, OR-ed with the id-based ones. With no ids,
        it alone defines the positives (i.e. it overrides).
    n, m : int
        Numbers of EEG rows and text columns.
    device : torch.device
        Device of the result.

    Returns
    -------
    torch.Tensor
        (N, M) bool positives.
    """
    if (eeg_ids is None) != (text_ids is None):
        raise ValueError("give both eeg_ids and text_ids, or neither")
    if eeg_ids is None and pos_mask is None:
        raise ValueError(
            "MILInfoNCE needs recording ids (eeg_ids, text_ids) or pos_mask"
        )
    pos = torch.zeros(n, m, dtype=torch.bool, device=device)
    if eeg_ids is not None:
        if eeg_ids.shape != (n,) or text_ids.shape != (m,):
            raise ValueError(
                f"eeg_ids must have shape ({n},) and text_ids ({m},); got "
                f"{tuple(eeg_ids.shape)} and {tuple(text_ids.shape)}"
            )
        pos = eeg_ids.to(device)[:, None] == text_ids.to(device)[None, :]
    if pos_mask is not None:
        if pos_mask.shape != (n, m) or pos_mask.dtype != torch.bool:
            raise ValueError(
                f"pos_mask must be a bool tensor of shape ({n}, {m}); got "
                f"{pos_mask.dtype} {tuple(pos_mask.shape)}"
            )
        pos = pos | pos_mask.to(device)
    return pos


class MILInfoNCE(nn.Module):
    r"""ELM-MIL loss: InfoNCE where every same-recording (crop, text) pair is positive.

    With :math:`S = \hat e \hat t^\top / \tau` over all EEG crops (rows) and all
    text segments (columns) of the batch, the EEG-to-text term averages, for each
    crop, the row log-softmax over its positive texts; the text-to-EEG term
    averages, for each text, the column log-softmax over its positive crops. The
    loss is minus the mean of the two terms (each term is the mean over rows /
    columns that have at least one positive). Embeddings need not be normalised.

    Positives are the pairs with equal recording ids. An optional ``pos_mask``
    (N, M) bool *adds* positives (logical OR), e.g. texts identical to a crop's
    caption in another recording; call with ``eeg_ids=text_ids=None`` to let the
    mask alone define the positives. For multi-process training pass embeddings
    and ids gathered with :func:`~braindecode_elm.losses.gather_with_grad`
    (recording ids must be global).

    Parameters
    ----------
    temperature : float
        Softmax temperature (0.3 in the paper).
    learnable : bool
        Learn the temperature instead of keeping it fixed.
    """

    def __init__(self, temperature: float = 0.3, learnable: bool = False):
        super().__init__()
        self.temperature = Temperature(temperature, learnable)

    def forward(
        self,
        eeg_emb: torch.Tensor,
        text_emb: torch.Tensor,
        eeg_ids: torch.Tensor | None = None,
        text_ids: torch.Tensor | None = None,
        pos_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Loss of (N, D) EEG and (M, D) text embeddings (scalar).

        Parameters
        ----------
        eeg_emb : torch.Tensor
            (N, D) EEG crop embeddings.
        text_emb : torch.Tensor
            (M, D) text segment embeddings.
        eeg_ids : torch.Tensor or None
            (N,) long recording id of each crop.
        text_ids : torch.Tensor or None
            (M,) long recording id of each text.
        pos_mask : torch.Tensor or None
            (N, M) bool extra positives (OR-ed with the id-based ones).

        Returns
        -------
        torch.Tensor
            Scalar loss.
        """
        logits = cosine_logits(eeg_emb, text_emb, self.temperature)
        n, m = logits.shape
        pos = positive_mask(eeg_ids, text_ids, pos_mask, n, m, logits.device)
        posf = pos.to(logits.dtype)
        row_n, col_n = posf.sum(1), posf.sum(0)
        rows, cols = row_n > 0, col_n > 0
        if not bool(rows.any()):
            raise ValueError("no positive (EEG, text) pair in the batch")
        row_lp = (logits.log_softmax(dim=1) * posf).sum(1)
        col_lp = (logits.log_softmax(dim=0) * posf).sum(0)
        eeg_to_text = (row_lp[rows] / row_n[rows]).mean()
        text_to_eeg = (col_lp[cols] / col_n[cols]).mean()
        return -0.5 * (eeg_to_text + text_to_eeg)
