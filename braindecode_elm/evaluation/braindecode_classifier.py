"""A braindecode network trained on MOABB arrays, as a scikit-learn classifier.

The deep baselines (ShallowFBCSPNet, EEGNet) of the MOABB comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .features import (
    MAX_CLIP_FRACTION,
    check_amplitude,
    check_clip_fraction,
    check_finite_epochs,
    to_volts,
)


class BraindecodeClassifier(ClassifierMixin, BaseEstimator):
    """A braindecode model trained on MOABB arrays (string labels).

    Reads the arrays in ``units`` (MOABB gives ``volts x dataset.unit_factor``,
    microvolts by default), scales them to ELM units (volts x 1e5, so the networks
    see order-one values), casts to float32 and encodes string labels. More than
    ``max_clip_fraction`` of the scaled samples beyond +-80 means the unit is
    wrong; ``on_clip`` decides whether that raises (default) or warns.

    Parameters
    ----------
    model : str
        Braindecode model name (``ShallowFBCSPNet``, ``EEGNet``, ...).
    max_epochs : int
        Training epochs (small on CPU).
    batch_size : int
    lr : float
        AdamW learning rate.
    seed : int
    units : {"V", "mV", "uV", "auto"} | float
        Unit of the arrays (a number: volts per unit).
    on_clip : {"raise", "warn", "ignore"}
        Reaction to a unit mistake (too many samples beyond +-80 ELM units, or
        signals below 0.01 uV rms).
    max_clip_fraction : float
        Tolerated fraction of samples beyond +-80 ELM units.

    Attributes
    ----------
    classes_ : np.ndarray
        The labels seen at ``fit`` (sorted).
    n_features_in_ : int
        Number of channels seen at ``fit`` (input is 3-D: epochs x channels x
        times, so this counts channels, as for
        :class:`~braindecode_elm.evaluation.ELMFeatures`).
    n_times_in_ : int
        Number of samples per epoch seen at ``fit``.
    net_ : braindecode.EEGClassifier
        The trained network.
    """

    def __init__(
        self,
        model: str = "ShallowFBCSPNet",
        max_epochs: int = 10,
        batch_size: int = 32,
        lr: float = 1e-3,
        seed: int = 0,
        units: str | float = "uV",
        on_clip: str = "raise",
        max_clip_fraction: float = MAX_CLIP_FRACTION,
    ) -> None:
        self.model = model
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.units = units
        self.on_clip = on_clip
        self.max_clip_fraction = max_clip_fraction

    def _x(self, X: np.ndarray) -> np.ndarray:
        from braindecode_elm.dsp import ELM_CLIP, ELM_SCALE

        x, units = to_volts(np.asarray(X, dtype=np.float64), self.units)
        x = x * ELM_SCALE
        self.clip_fraction_ = check_clip_fraction(
            x,
            ELM_CLIP,
            units=units,
            on_clip=self.on_clip,
            max_fraction=self.max_clip_fraction,
            what=f"BraindecodeClassifier({self.model})",
        )
        check_amplitude(
            x,
            units=units,
            on_clip=self.on_clip,
            what=f"BraindecodeClassifier({self.model})",
        )
        return x.astype(np.float32)

    def _check_X(self, X: Any) -> np.ndarray:
        name = f"BraindecodeClassifier({self.model})"
        if hasattr(X, "get_data") and hasattr(X, "info"):
            raise TypeError(
                f"{name} takes arrays (n_epochs, n_channels, n_times) in "
                f"units={self.units!r}, as MOABB gives them; for mne.Epochs pass "
                "epochs.get_data(units='uV') or use braindecode.EEGClassifier"
            )
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 3:
            raise ValueError(
                f"{name}: X must be (n_epochs, n_channels, n_times), got shape "
                f"{data.shape}"
            )
        if 0 in data.shape:
            raise ValueError(
                f"{name}: X holds no data (shape {data.shape}): pass at least one "
                "epoch with channels and samples"
            )
        check_finite_epochs(data, name)
        return data

    def fit(self, X: np.ndarray, y: Sequence[Any]) -> BraindecodeClassifier:
        """Train the network from scratch.

        Parameters
        ----------
        X : np.ndarray
            Epochs (n_epochs, n_channels, n_times) in ``units``.
        y : sequence
            One label per epoch; at least two distinct labels.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If ``X`` is not 3-D, is empty or holds NaN/inf, if ``y`` does not
            have one label per epoch, or if ``y`` has a single class.
        """
        import torch
        from braindecode import EEGClassifier

        import braindecode_elm.models  # noqa: F401  (registers "ELMEncoder" by name)

        data = self._check_X(X)
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or len(y_arr) != len(data):
            raise ValueError(
                f"BraindecodeClassifier({self.model}): y must hold one label per "
                f"epoch: got y of shape {y_arr.shape} for {len(data)} epochs"
            )
        classes, yi = np.unique(y_arr, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"BraindecodeClassifier({self.model}) needs samples of at least 2 "
                f"classes, but y contains only one class: {classes.tolist()[0]!r}"
            )
        self.classes_ = classes
        torch.manual_seed(self.seed)
        X = self._x(data)
        self.n_features_in_ = int(X.shape[1])
        self.n_times_in_ = int(X.shape[2])
        self.net_ = EEGClassifier(
            self.model,
            module__n_chans=X.shape[1],
            module__n_times=X.shape[2],
            module__n_outputs=len(self.classes_),
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            train_split=None,
            verbose=0,
        )
        self.net_.fit(X, yi.astype(np.int64))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``.

        Parameters
        ----------
        X : np.ndarray
            Epochs (n_epochs, n_channels, n_times) in ``units``, with the
            channels and length seen at ``fit``.

        Returns
        -------
        np.ndarray
            (n_epochs, n_classes) probabilities.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        data = self._check_X(X)
        if data.shape[1:] != (self.n_features_in_, self.n_times_in_):
            raise ValueError(
                f"X has {data.shape[1]} channels x {data.shape[2]} samples, but "
                f"BraindecodeClassifier({self.model}) was fitted with "
                f"{self.n_features_in_} x {self.n_times_in_}"
            )
        return self.net_.predict_proba(self._x(data))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels (original names)."""
        proba = self.predict_proba(X)  # checks fitted state and input first
        return self.classes_[proba.argmax(axis=1)]

    def score(
        self, X: np.ndarray, y: Sequence[Any], sample_weight: Any = None
    ) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``.

        Parameters
        ----------
        X : np.ndarray
            Epochs (n, channels, times) in volts.
        y : sequence
            True labels.
        sample_weight : array-like | None
            Optional sample weights.

        Returns
        -------
        float
            Accuracy.
        """
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        """3-D input (epochs x channels x times), no NaN, needs fit."""
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        tags.classifier_tags.multi_class = True
        # Short CPU trainings score near chance; sklearn's checks must not expect
        # a high accuracy from a from-scratch network.
        tags.classifier_tags.poor_score = True
        tags.non_deterministic = False
        return tags
