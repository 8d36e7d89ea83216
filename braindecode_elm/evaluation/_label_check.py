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

    def _check(self, labels: Any, where: str, net: Any = None) -> None:
        values = np.unique(np.asarray(labels))
        # Targets the loss skips (CrossEntropyLoss's ignore_index, -100).
        ignore = getattr(getattr(net, "criterion_", None), "ignore_index", None)
        if ignore is not None and values.dtype.kind in "iu":
            values = values[values != ignore]
        if not len(values):
            return
        n = self.n_outputs
        way_out = (
            " (a target this check does not know, e.g. a custom loss's: "
            "clf.set_params(callbacks__elm_label_check=None))"
        )
        if values.dtype.kind not in "iu":
            raise ValueError(
                f"labels must be integers 0..{n - 1} (the head's outputs), got "
                f"{values.dtype} values such as {values[0]!r}{where}: encode them "
                "first, e.g. with sklearn's LabelEncoder" + way_out
            )
        if len(values) > n and np.array_equal(values, np.arange(len(values))):
            raise ValueError(
                f"the labels hold {len(values)} classes{where} but the classifier "
                f"was built with n_outputs={n}: pass n_outputs={len(values)} to "
                "elm_classifier"
            )
        if values.min() < 0 or values.max() >= n:
            raise ValueError(
                f"labels must be integers 0..{n - 1} (the head's outputs), got "
                f"values from {values.min()} to {values.max()}{where}: encode them "
                "as 0..n_classes-1 (sklearn's LabelEncoder) and give n_outputs="
                "n_classes" + way_out
            )

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kw: Any):
        if y is not None and not isinstance(y, (tuple, list)):
            self._check(y, "", net)

    def on_batch_begin(
        self, net: Any, batch: Any = None, training: bool = False, **kw: Any
    ):
        if not training or not isinstance(batch, (tuple, list)) or len(batch) < 2:
            return
        yb = batch[1]
        if isinstance(yb, (tuple, list)):
            # Braindecode's Mixup hands (y, y_permuted, lambda): its loss reads
            # it. Labels given to fit as arrays were checked at its start; a
            # dataset's targets go unchecked here.
            return
        if hasattr(yb, "detach"):
            yb = yb.detach().cpu().numpy()
        self._check(yb, " (in a training batch)", net)
