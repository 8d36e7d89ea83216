"""Learning-rate scaling and the per-epoch warm-up + cosine schedule of ELM."""

from __future__ import annotations

import math

__all__ = ["scaled_lr", "warmup_cosine_lr"]


def scaled_lr(
    base_lr: float, *, world_size: int, batch_size: int, max_eeg: int
) -> float:
    """Peak learning rate, scaled as in ELM (LARS linear scaling rule).

    Parameters
    ----------
    base_lr : float
        Base learning rate (0.02 for ``elm-5s``, 0.06 for ``elm-60s``).
    world_size : int
        Number of processes.
    batch_size : int
        MIL sets (recordings) per batch and per process.
    max_eeg : int
        Largest number of crops per set.

    Returns
    -------
    float
        ``base_lr * world_size * batch_size * max_eeg / 256``.
    """
    return base_lr * world_size * batch_size * max_eeg / 256


def warmup_cosine_lr(
    epoch: int,
    *,
    peak_lr: float,
    warmup_epochs: int,
    epochs: int,
    min_ratio: float = 0.01,
) -> float:
    """Learning rate of ``epoch`` (0-based): linear warm-up then cosine decay.

    Identical to ``get_lr_warmup_cosinedecay`` of the official code: with
    ``min_lr = min_ratio * peak_lr``, warm-up epochs get ``peak_lr * epoch / warmup
    + min_lr`` (so epoch 0 starts at 1 % of the peak) and later epochs
    ``min_lr + (peak_lr - min_lr) * (1 + cos(pi * (epoch - warmup) / (epochs -
    warmup))) / 2``.

    Parameters
    ----------
    epoch : int
        Current epoch, 0-based.
    peak_lr : float
        Peak learning rate (see :func:`scaled_lr`).
    warmup_epochs : int
        Warm-up length in epochs (2 for ``elm-5s``, 5 for ``elm-60s``).
    epochs : int
        Total number of epochs.
    min_ratio : float
        Floor of the schedule, as a fraction of ``peak_lr``.

    Returns
    -------
    float
        The learning rate for that epoch.
    """
    if epochs < 1 or not 0 <= warmup_epochs < max(epochs, 1) + 1:
        raise ValueError(
            f"need epochs >= 1 and 0 <= warmup_epochs <= epochs, got "
            f"epochs={epochs}, warmup_epochs={warmup_epochs}"
        )
    if not 0 <= epoch < epochs:
        raise ValueError(f"epoch must be in [0, {epochs}), got {epoch}")
    min_lr = min_ratio * peak_lr
    if epoch < warmup_epochs:
        return peak_lr * epoch / warmup_epochs + min_lr
    if epochs == warmup_epochs:
        return peak_lr
    ratio = (epoch - warmup_epochs) / (epochs - warmup_epochs)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak_lr - min_lr)
