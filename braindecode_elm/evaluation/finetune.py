"""Fine-tune a pretrained ELM EEG tower with braindecode's ``EEGClassifier``."""

from __future__ import annotations

import copy
import os
from typing import Any

__all__ = ["elm_classifier"]


def elm_classifier(
    model: Any,
    n_outputs: int,
    *,
    freeze_tower: bool = False,
    lr: float = 1e-3,
    max_epochs: int = 10,
    batch_size: int = 64,
    **kwargs: Any,
) -> Any:
    """A braindecode ``EEGClassifier`` around a (pretrained) ELM EEG tower.

    The tower is copied, given a fresh linear head on its 256-d embedding
    (``final_layer``, as the paper's probe) and trained end to end (or only the
    head with ``freeze_tower=True``). Inputs are ELM crops: (n, 20, 500) TCP
    channels at 100 Hz in ELM units, e.g. from ``CachedRecording.crops`` or the
    data layer's probe windows.

    Parameters
    ----------
    model : ELM | ELMEncoder | str
        A bundle, a tower, or a bundle folder.
    n_outputs : int
        Number of classes.
    freeze_tower : bool
        Train only the new head: the tower's weights and its BatchNorm
        statistics stay as pretrained (:meth:`ELMEncoder.freeze_tower`).
    lr, max_epochs, batch_size : float, int, int
        AdamW learning rate, epochs and batch size.
    **kwargs
        Passed to :class:`braindecode.EEGClassifier` (e.g. ``train_split``,
        ``callbacks``, ``device``).

    Returns
    -------
    braindecode.EEGClassifier
    """
    import torch
    from braindecode import EEGClassifier

    from braindecode_elm.models import ELM, ELMEncoder, load_model

    from ._label_check import LabelCheck

    if isinstance(model, (str, os.PathLike)):
        model = load_model(model, hub=True)
    if isinstance(model, ELM):
        model = model.eeg_encoder
    if not isinstance(model, ELMEncoder):
        raise TypeError(
            f"model must be an ELM bundle, an ELMEncoder or a folder, got "
            f"{type(model).__name__}"
        )
    if n_outputs < 2:
        raise ValueError(f"n_outputs must be >= 2, got {n_outputs}")
    tower = copy.deepcopy(model)
    tower.reset_head(n_outputs)
    if freeze_tower:
        tower.freeze_tower()
    kwargs.setdefault("train_split", None)
    kwargs.setdefault("verbose", 0)
    callbacks = kwargs.get("callbacks")
    if callbacks != "disable":
        kwargs["callbacks"] = [
            *(callbacks or []),
            ("elm_label_check", LabelCheck(int(n_outputs))),
        ]
    return EEGClassifier(
        tower,
        optimizer=torch.optim.AdamW,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        **kwargs,
    )
