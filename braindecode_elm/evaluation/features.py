"""``ELMFeatures``: ELM embeddings as a scikit-learn transformer (MOABB/Braindecode)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["ELMFeatures", "to_volts"]

_UNIT_FACTORS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6}


def to_volts(x: np.ndarray, units: str) -> tuple[np.ndarray, str]:
    """Convert EEG to volts; ``units="auto"`` guesses V vs uV from the amplitude.

    Scalp EEG in volts has a standard deviation around 1e-5; in microvolts around
    10. Data whose median channel standard deviation exceeds 1e-2 cannot be volts,
    so ``auto`` treats it as microvolts (with a warning).

    Parameters
    ----------
    x : np.ndarray
        EEG data.
    units : {"auto", "V", "mV", "uV"}
        Unit of ``x``.

    Returns
    -------
    x_volts : np.ndarray
    units : str
        The unit used.
    """
    if units == "auto":
        sd = float(np.median(np.std(x, axis=-1))) if x.size else 0.0
        if sd > 1e-2:
            warnings.warn(
                f"ELMFeatures: median channel std {sd:.3g} is too large for volts; "
                "treating the data as microvolts (pass units='uV' or 'V' to be "
                "explicit)",
                stacklevel=3,
            )
            units = "uV"
        else:
            units = "V"
    if units not in _UNIT_FACTORS:
        raise ValueError(f"units must be 'auto', 'V', 'mV' or 'uV', got {units!r}")
    return x * _UNIT_FACTORS[units], units


class ELMFeatures(TransformerMixin, BaseEstimator):
    """Map EEG epochs to ELM embeddings (fit is a no-op).

    Each epoch goes through the Rust engine
    (:func:`braindecode_elm.dsp.preprocess`: TCP montage, 0.1-49 Hz zero-phase
    band-pass, x1e5 and clip +-80, 100 Hz) and the EEG tower. Epochs longer than
    ``window_seconds`` are cut into non-overlapping windows whose embeddings are
    averaged (and re-normalised); shorter ones are embedded whole (the tower is
    convolutional with global pooling).

    Parameters
    ----------
    model : ELM | ELMEncoder | str | None
        An :class:`~braindecode_elm.models.ELM` bundle, a bare
        :class:`~braindecode_elm.models.ELMEncoder`, a folder written by
        ``ELM.save_pretrained``, or None for an untrained 5 s tower (a baseline).
    ch_names : sequence of str | None
        Channel names of array input (taken from ``info`` for MNE epochs). The
        17 electrodes of the TCP montage (any TUH/10-20/10-10 spelling) must be
        present.
    sfreq : float | None
        Sampling rate of array input (taken from ``info`` for MNE epochs).
    units : {"auto", "V", "mV", "uV"}
        Unit of array input; MNE epochs are always volts.
    window_seconds : float
        Window fed to the tower (5 s for the 5 s variant).
    output : {"embedding", "features"}
        The 256-d L2-normalised embedding or the tower's pooled features.
    batch_size : int
        Windows per forward pass.
    l_freq, h_freq : float
        Band edges of the engine's band-pass.
    """

    def __init__(
        self,
        model: Any = None,
        ch_names: Sequence[str] | None = None,
        sfreq: float | None = None,
        units: str = "auto",
        window_seconds: float = 5.0,
        output: str = "embedding",
        batch_size: int = 128,
        l_freq: float = 0.1,
        h_freq: float = 49.0,
    ) -> None:
        self.model = model
        self.ch_names = ch_names
        self.sfreq = sfreq
        self.units = units
        self.window_seconds = window_seconds
        self.output = output
        self.batch_size = batch_size
        self.l_freq = l_freq
        self.h_freq = h_freq

    # sklearn API -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> ELMFeatures:
        """Do nothing (the tower is frozen); checks the model loads."""
        self._encoder()
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embed epochs.

        Parameters
        ----------
        X : mne.Epochs | np.ndarray
            Epochs, or an array (n_epochs, n_channels, n_times) with
            ``ch_names``/``sfreq`` set on the transformer.

        Returns
        -------
        np.ndarray
            (n_epochs, 256) embeddings (or pooled features).
        """
        data, ch_names, sfreq = self._unpack(X)
        x = self._preprocess(data, ch_names, sfreq)
        return self._embed(x)

    # helpers -----------------------------------------------------------------
    def _unpack(self, X: Any) -> tuple[np.ndarray, list[str], float]:
        if hasattr(X, "get_data") and hasattr(X, "info"):
            # MNE epochs are in volts by construction.
            data = X.get_data(picks="eeg") if _has_eeg(X) else X.get_data()
            names = [X.ch_names[i] for i in _eeg_picks(X)]
            return np.asarray(data, dtype=np.float64), names, float(X.info["sfreq"])
        if self.ch_names is None or self.sfreq is None:
            raise ValueError(
                "ELMFeatures got an array: set ch_names=... and sfreq=... (or pass "
                "mne.Epochs, which carry both)"
            )
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 3:
            raise ValueError(
                f"X must be (n_epochs, n_channels, n_times), got shape {data.shape}"
            )
        if data.shape[1] != len(self.ch_names):
            raise ValueError(
                f"X has {data.shape[1]} channels but ch_names lists "
                f"{len(self.ch_names)}"
            )
        data, _ = to_volts(data, self.units)
        return data, list(self.ch_names), float(self.sfreq)

    def _preprocess(
        self, data: np.ndarray, ch_names: list[str], sfreq: float
    ) -> np.ndarray:
        from braindecode_elm.dsp import ELM_CLIP, ELM_SCALE, TCP_PAIRS, preprocess

        if data.shape[0] == 0:
            raise ValueError("X holds no epochs")
        out = []
        for epoch in data:
            try:
                y, _ = preprocess(
                    np.ascontiguousarray(epoch),
                    ch_names,
                    sfreq,
                    l_freq=self.l_freq,
                    h_freq=self.h_freq,
                    scale=ELM_SCALE,
                    clip=ELM_CLIP,
                )
            except ValueError as err:
                if "electrode" in str(err) or "montage" in str(err):
                    needed = sorted({e for pair in TCP_PAIRS for e in pair})
                    raise ValueError(
                        f"ELMFeatures needs the {len(needed)} electrodes of the TCP "
                        f"montage {needed}: {err}"
                    ) from err
                raise
            out.append(y)
        return np.stack(out)

    def _encoder(self) -> Any:
        if getattr(self, "_model_", None) is not None:
            return self._model_
        import torch

        from braindecode_elm.models import ELM, ELMEncoder

        model = self.model
        if model is None:
            torch.manual_seed(0)
            model = ELMEncoder()
        elif isinstance(model, (str, os.PathLike)):
            model = ELM.from_pretrained(model)
        if isinstance(model, ELM):
            model = model.eeg_encoder
        if not isinstance(model, torch.nn.Module):
            raise TypeError(
                f"model must be an ELM bundle, an ELMEncoder, a folder or None, got "
                f"{type(model).__name__}"
            )
        self._model_ = model.eval()
        return self._model_

    def _embed(self, x: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        enc = self._encoder()
        win = int(round(self.window_seconds * 100))
        n_win = max(1, x.shape[-1] // win)
        if x.shape[-1] >= win:
            x = x[..., : n_win * win].reshape(x.shape[0], x.shape[1], n_win, win)
            x = x.transpose(0, 2, 1, 3).reshape(-1, x.shape[1], win)
        else:
            n_win = 1
        if self.output not in ("embedding", "features"):
            raise ValueError(
                f"output must be 'embedding' or 'features', got {self.output!r}"
            )
        feats = []
        with torch.no_grad():
            for s in range(0, len(x), self.batch_size):
                xb = torch.as_tensor(np.ascontiguousarray(x[s : s + self.batch_size]))
                res = enc(xb.float(), return_features=True)
                e = res["embedding"] if self.output == "embedding" else res["features"]
                if self.output == "embedding":
                    e = F.normalize(e, dim=-1)
                feats.append(e.numpy().astype(np.float64))
        f = np.concatenate(feats).reshape(-1, n_win, feats[0].shape[-1]).mean(1)
        if self.output == "embedding":
            f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        return f


def _eeg_picks(epochs: Any) -> list[int]:
    import mne

    picks = mne.pick_types(epochs.info, eeg=True, exclude=[])
    return list(picks) if len(picks) else list(range(len(epochs.ch_names)))


def _has_eeg(epochs: Any) -> bool:
    import mne

    return len(mne.pick_types(epochs.info, eeg=True, exclude=[])) > 0
