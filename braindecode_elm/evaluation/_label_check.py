"""A skorch callback refusing labels a classifier's head has no output for.

Without it a third class reaches the loss as ``IndexError: Target 2 is out of
bounds`` from inside torch, which names neither the head's size nor the
argument to change. A class of its own module (not defined inside a function)
so that a classifier holding it pickles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skorch.callbacks import Callback

__all__ = ["LabelCheck"]


class LabelCheck(Callback):
    """Check labels against ``n_outputs``: all of ``y`` at the start of
    training when ``fit`` is given arrays, each batch's when it is given a
    dataset (a Braindecode dataset's targets are known only as it yields them).

    Parameters
    ----------
    n_outputs : int
        Number of outputs of the classifier's head.
    """

    def __init__(self, n_outputs: int) -> None:
        self.n_outputs = n_outputs

    def _check(self, labels: Any, where: str) -> None:
        values = np.unique(np.asarray(labels))
        if not len(values):
            return
        n = self.n_outputs
        if values.dtype.kind not in "iu":
            raise ValueError(
                f"labels must be integers 0..{n - 1} (the head's outputs), got "
                f"{values.dtype} values such as {values[0]!r}{where}: encode them "
                "first, e.g. with sklearn's LabelEncoder"
            )
        if len(values) > n and values.min() >= 0:
            raise ValueError(
                f"the labels hold {len(values)} classes{where} but the classifier "
                f"was built with n_outputs={n}: pass n_outputs={len(values)} to "
                "elm_classifier"
            )
        if values.min() < 0 or values.max() >= n:
            raise ValueError(
                f"labels must be integers 0..{n - 1} (the head's outputs), got "
                f"values from {values.min()} to {values.max()}{where}"
            )

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kw: Any):
        if y is not None:
            self._check(y, "")

    def on_batch_begin(
        self, net: Any, batch: Any = None, training: bool = False, **kw: Any
    ):
        if not training or not isinstance(batch, (tuple, list)) or len(batch) < 2:
            return
        yb = batch[1]
        if hasattr(yb, "detach"):
            yb = yb.detach().cpu().numpy()
        self._check(yb, " (in a training batch)")
