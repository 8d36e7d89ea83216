"""``ELMFeatures``: ELM embeddings as a scikit-learn transformer (MOABB/Braindecode)."""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..dsp.montage import warn_bad_montage_channels
from ..dsp.recipe import ELM_SFREQ, MIN_RMS_UV

__all__ = [
    "ELMFeatures",
    "to_volts",
    "units_from_unit_factor",
    "check_amplitude",
    "check_clip_fraction",
    "check_finite_epochs",
    "ClipWarning",
]

_UNIT_FACTORS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6}

#: Largest fraction of clipped samples accepted before a unit mistake is assumed.
MAX_CLIP_FRACTION = 0.01


class ClipWarning(UserWarning):
    """More than the tolerated fraction of samples hit the ELM clip."""


def units_from_unit_factor(unit_factor: float) -> str | float:
    """The unit of MOABB arrays, from the dataset's ``unit_factor``.

    MOABB paradigms return ``epochs.get_data() * dataset.unit_factor`` (1e6 by
    default, i.e. microvolts) to pipelines.

    Parameters
    ----------
    unit_factor : float
        ``dataset.unit_factor`` (volts -> array unit).

    Returns
    -------
    str | float
        ``"V"``, ``"mV"`` or ``"uV"`` for the usual factors, else the volts per
        array unit (``1 / unit_factor``), which :func:`to_volts` also accepts.
    """
    f = float(unit_factor)
    if not np.isfinite(f) or f <= 0:
        raise ValueError(f"unit_factor must be a positive number, got {unit_factor!r}")
    for name, scale in (("V", 1.0), ("mV", 1e-3), ("uV", 1e-6)):
        if np.isclose(f * scale, 1.0, rtol=1e-9, atol=0):
            return name
    return 1.0 / f


def to_volts(x: np.ndarray, units: str | float) -> tuple[np.ndarray, str | float]:
    """Convert EEG to volts; ``units="auto"`` guesses V vs uV from the amplitude.

    Scalp EEG in volts has a standard deviation around 1e-5; in microvolts around
    10. Data whose median channel standard deviation exceeds 1e-2 cannot be volts,
    so ``auto`` treats it as microvolts (with a warning).

    Parameters
    ----------
    x : np.ndarray
        EEG data.
    units : {"auto", "V", "mV", "uV"} | float
        Unit of ``x``; a number is the volts per unit of ``x`` (``1e-6`` for
        microvolts, i.e. ``1 / dataset.unit_factor`` for MOABB arrays).

    Returns
    -------
    x_volts : np.ndarray
    units : str | float
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
    if isinstance(units, (int, float)) and not isinstance(units, bool):
        if not np.isfinite(units) or units <= 0:
            raise ValueError(f"numeric units must be positive volts, got {units!r}")
        return x * float(units), units
    if units not in _UNIT_FACTORS:
        raise ValueError(
            f"units must be 'auto', 'V', 'mV', 'uV' or volts per unit (a number), "
            f"got {units!r}"
        )
    # divide by the inverse factor so that MOABB's ``x_volts * 1e6`` comes back to
    # the same float64 values as the volts it started from
    factor = _UNIT_FACTORS[units]
    return (x if factor == 1.0 else x / (1.0 / factor)), units


def check_finite_epochs(data: np.ndarray, what: str | None = None) -> None:
    """Raise when epochs hold NaN or infinite values, counting the bad epochs.

    Parameters
    ----------
    data : np.ndarray
        Epochs (n_epochs, n_channels, n_times).
    what : str | None
        Name of the estimator put before the message (none: the message alone).

    Raises
    ------
    ValueError
        If any sample is NaN or infinite; says how many epochs and how to fix it.
    """
    if np.isfinite(data).all():
        return
    bad = int((~np.isfinite(data)).any(axis=(1, 2)).sum())
    prefix = f"{what}: " if what else ""
    raise ValueError(
        f"{prefix}X has NaN or infinite values in {bad} of {len(data)} epochs; "
        "drop or interpolate them first (e.g. mne's interpolate_bads)"
    )


def check_clip_fraction(
    x: np.ndarray,
    clip: float,
    *,
    units: Any,
    on_clip: str = "raise",
    max_fraction: float = MAX_CLIP_FRACTION,
    what: str = "ELM input",
) -> float:
    """Fraction of samples at the clip; raise or warn when it exceeds the limit.

    Scalp EEG in ELM units (volts x 1e5) rarely reaches +-80 (800 uV); when more
    than ``max_fraction`` of the samples do, the array was almost surely given in
    another unit than the one assumed (e.g. MOABB's microvolts read as volts).

    Parameters
    ----------
    x : np.ndarray
        Scaled (and clipped) data.
    clip : float
        Clip level.
    units : str | float
        The unit the input was read in (named in the message).
    on_clip : {"raise", "warn", "ignore"}
        What to do above the limit.
    max_fraction : float
        Tolerated fraction of clipped samples.
    what : str
        Name of the data in the message.

    Returns
    -------
    float
        The clipped fraction.
    """
    if on_clip not in ("raise", "warn", "ignore"):
        raise ValueError(
            f"on_clip must be 'raise', 'warn' or 'ignore', got {on_clip!r}"
        )
    frac = float(np.mean(np.abs(x) >= clip)) if x.size else 0.0
    if frac > max_fraction and on_clip != "ignore":
        msg = (
            f"{what}: {100 * frac:.1f} % of the samples reach the clip +-{clip:g} "
            f"(limit {100 * max_fraction:g} %) after reading the data as "
            f"units={units!r}. This is almost always a unit mistake: MOABB arrays "
            "are volts x dataset.unit_factor (microvolts by default, units='uV'), "
            "MNE Raw/Epochs are volts (units='V'). Pass the right units, or "
            "on_clip='warn'/'ignore' if the data really are that large."
        )
        _unit_mistake(msg, on_clip)
    return frac


def _unit_mistake(msg: str, on_clip: str) -> None:
    """Raise or warn (``on_clip``) about a likely unit mistake."""
    if on_clip == "raise":
        raise ValueError(msg)
    # stacklevel 4: past this helper and the check, to the estimator's caller
    warnings.warn(msg, ClipWarning, stacklevel=4)


def check_amplitude(
    x: np.ndarray,
    *,
    units: Any,
    on_clip: str = "raise",
    what: str = "ELM input",
    scale: float = 1e5,
) -> float:
    """Catch EEG far too small for its declared unit (the other unit mistake).

    :func:`check_clip_fraction` catches data read too large; data read too small
    (volts declared as microvolts, or MNE volts handed to code that expects ELM
    units) is not clipped at all and gives nearly the same embedding for every
    window. Below :data:`MIN_RMS_UV` median channel rms the input is refused, as
    is input whose every channel is flat.

    Parameters
    ----------
    x : np.ndarray
        Data in ELM units (volts x ``scale``), channels on axis -2, time on -1.
    units : str | float
        The unit the input was read in (named in the message).
    on_clip : {"raise", "warn", "ignore"}
        What to do with a likely unit mistake (the estimators' ``on_clip``).
    what : str
        Name of the data in the message.
    scale : float
        ELM units per volt (``1e5``).

    Returns
    -------
    float
        The median channel rms in microvolts (flat channels left out; 0 when all
        are flat).
    """
    sd = np.std(x, axis=-1) if x.size else np.zeros(0)
    sd = sd[sd > 0]
    rms_uv = float(np.median(sd)) / scale * 1e6 if sd.size else 0.0
    if x.size and not sd.size and on_clip != "ignore":
        # Every channel flat (all zeros): embedded as a normal-looking vector.
        _unit_mistake(
            f"{what}: every channel is flat (no signal at all after reading the "
            f"data as units={units!r}): pass recorded EEG, or on_clip='ignore' to "
            "embed it anyway",
            on_clip,
        )
    if sd.size and rms_uv < MIN_RMS_UV and on_clip != "ignore":
        msg = (
            f"{what}: the signals are {rms_uv:.3g} uV rms (median over channels) "
            f"after reading the data as units={units!r}, far below any EEG (a few "
            "to tens of uV). This is almost always a unit mistake: volts given as "
            "microvolts (units='uV'), or MNE data in volts handed to code that "
            "expects ELM units (volts x 1e5, what "
            "braindecode_elm.dsp.preprocess(..., recipe='elm') returns). Pass the "
            "right units, or on_clip='warn'/'ignore' if the data really are that "
            "small."
        )
        _unit_mistake(msg, on_clip)
    return rms_uv


class ELMFeatures(TransformerMixin, BaseEstimator):
    """Map EEG epochs to ELM embeddings (the tower is frozen; ``fit`` checks input).

    Each epoch goes through the Rust engine
    (:func:`braindecode_elm.dsp.preprocess`: TCP montage, 0.1-49 Hz zero-phase
    band-pass, x1e5 and clip +-80, 100 Hz) and the EEG tower. Epochs longer than
    ``window_seconds`` are cut into non-overlapping windows whose embeddings are
    averaged (and re-normalised), as ELM crops recordings: the last
    ``T mod window_seconds`` seconds are not used (a warning says so when that
    is over a tenth of the epoch: give epochs of a multiple of
    ``window_seconds`` to use all of it); shorter ones are embedded whole (the tower is
    convolutional with global pooling) down to its minimum input
    (``min_n_times``, 1.08 s for the 5 s tower), below which they are refused.
    Channels marked bad in ``info['bads']`` that the montage needs are used,
    with a warning naming them (as :func:`~braindecode_elm.dsp.preprocess_raw`).

    Units are never assumed silently: MNE epochs are volts; arrays are read in
    ``units``; MOABB hands pipelines ``volts x dataset.unit_factor`` (microvolts by
    default), which :meth:`for_moabb` reads from the dataset. When more than
    ``max_clip_fraction`` of the scaled samples reach the clip, the input was
    almost surely given in another unit, and ``on_clip`` decides what happens;
    so it does when the signals come out below 0.01 uV rms (data read too small,
    e.g. volts declared as microvolts, see :func:`check_amplitude`).

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
    units : {"auto", "V", "mV", "uV"} | float
        Unit of array input (a number: volts per unit); MNE epochs are always
        volts.
    window_seconds : float | None
        Window fed to the tower; None: the length the tower is trained on (5 s
        for the 5 s variant, 60 s for the 60 s one).
    output : {"embedding", "features"}
        The 256-d L2-normalised embedding or the tower's pooled features.
    batch_size : int
        Windows per forward pass.
    l_freq, h_freq : float
        Band edges of the engine's band-pass.
    on_clip : {"raise", "warn", "ignore"}
        Reaction to a likely unit mistake: more than ``max_clip_fraction`` of the
        samples clipped, or signals below 0.01 uV rms.
    max_clip_fraction : float
        Tolerated fraction of clipped samples (default 1 %).
    seed : int
        Initialisation seed of the untrained tower (``model=None`` or
        ``"random-elm"``).

    Notes
    -----
    Each epoch is preprocessed on its own with the engine's ``elm`` chain
    (Butterworth band-pass, polyphase resampling), which suits epochs of a few
    seconds. The official checkpoints were trained on the paper's MNE chain
    (``elm_official``: an FIR high-pass whose kernel is tens of seconds long, so
    it cannot run on short epochs); to embed with that chain, preprocess whole
    recordings (``elm preprocess --recipe elm_official``) and embed the cache
    (``elm embed``, :func:`~braindecode_elm.evaluation.embed_corpus`).

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen at ``fit``.
    clip_fraction_ : float
        Fraction of clipped samples in the last ``transform``.
    """

    def __init__(
        self,
        model: Any = None,
        ch_names: Sequence[str] | None = None,
        sfreq: float | None = None,
        units: str | float = "auto",
        window_seconds: float | None = None,
        output: str = "embedding",
        batch_size: int = 128,
        l_freq: float = 0.1,
        h_freq: float = 49.0,
        on_clip: str = "raise",
        max_clip_fraction: float = MAX_CLIP_FRACTION,
        seed: int = 0,
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
        self.on_clip = on_clip
        self.max_clip_fraction = max_clip_fraction
        self.seed = seed

    @classmethod
    def for_moabb(
        cls,
        dataset: Any,
        paradigm: Any,
        model: Any = None,
        *,
        subject: int | None = None,
        **kwargs: Any,
    ) -> ELMFeatures:
        """An ``ELMFeatures`` for the arrays a MOABB paradigm gives a pipeline.

        Reads the channel names and rate from one subject's epochs
        (``paradigm.get_data(..., return_epochs=True)``) and the unit from
        ``dataset.unit_factor``, so the transformer can go into any MOABB
        evaluation's ``process()``.

        Parameters
        ----------
        dataset : moabb BaseDataset
        paradigm : moabb BaseParadigm
        model : ELM | ELMEncoder | str | None
            As in the constructor.
        subject : int | None
            Subject whose epochs are read (default the first of the dataset).
        **kwargs
            Other constructor parameters.

        Returns
        -------
        ELMFeatures
        """
        subject = dataset.subject_list[0] if subject is None else subject
        epochs, _, _ = paradigm.get_data(dataset, [subject], return_epochs=True)
        return cls(
            model,
            ch_names=list(epochs.ch_names),
            sfreq=float(epochs.info["sfreq"]),
            units=units_from_unit_factor(getattr(dataset, "unit_factor", 1e6)),
            **kwargs,
        )

    # sklearn API -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> ELMFeatures:
        """Check the input and load the model (the tower itself is frozen).

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | np.ndarray
            Epochs (a list of them is what scikit-learn's cross-validation
            passes), or an array (n_epochs, n_channels, n_times).
        y : ignored

        Returns
        -------
        self
        """
        # A fit that fails leaves the transformer unfitted, not fitted on the
        # previous data.
        for name in ("n_features_in_", "ch_names_", "sfreq_", "n_features_out_"):
            self.__dict__.pop(name, None)
        self._check_params()
        data, ch_names, sfreq = self._unpack(X, fitted=False)
        # What transform would refuse, said at fit (the data's rate, montage
        # and length do not change between the two).
        self._check_rate(sfreq)
        self._check_montage(ch_names)
        # scikit-learn's rule: fit uses the current parameters (set_params may
        # have changed model or seed since the last fit); the same ones reuse
        # the loaded tower (a loop of fits must not reload it every time).
        if not self._loaded_from_current_params():
            self._model_ = None
        self._model_from_ = (self.model, self.seed)
        enc = self._encoder()
        self._check_length(_rate_length(data.shape[-1], sfreq))
        need = int(getattr(enc, "min_n_times", 0))
        if int(round(self._window_s() * ELM_SFREQ)) < need:
            raise ValueError(
                f"window_seconds={self.window_seconds:g} is shorter than the EEG "
                f"tower's minimum input ({need / ELM_SFREQ:g} s); use at least that, "
                "or None for the length the tower is trained on"
            )
        self.n_features_in_ = int(data.shape[1])
        self.ch_names_ = ch_names
        self.sfreq_ = sfreq
        self.n_features_out_ = int(
            enc.embedding_dim if self.output == "embedding" else enc.n_features
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embed epochs.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | np.ndarray
            Epochs, or an array (n_epochs, n_channels, n_times) with
            ``ch_names``/``sfreq`` set on the transformer.

        Returns
        -------
        np.ndarray
            (n_epochs, 256) embeddings (or pooled features).
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_in_")
        self._check_params()
        data, ch_names, sfreq = self._unpack(X, fitted=True)
        x = self._preprocess(data, ch_names, sfreq)
        return self._embed(x)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit on ``X`` and embed it, reading and checking ``X`` once.

        (Fit then transform said every warning about the input twice.)

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | np.ndarray
            As :meth:`fit`.
        y : ignored
        **fit_params : ignored

        Returns
        -------
        np.ndarray
            As :meth:`transform`.
        """
        self.fit(X, y)
        # The input's warnings (units guessed, channels marked bad) were said
        # by fit; transform reads the same X.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            data, ch_names, sfreq = self._unpack(X, fitted=True)
        x = self._preprocess(data, ch_names, sfreq)
        return self._embed(x)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns (``elm_embedding0`` ... or ``elm_features0``).

        Parameters
        ----------
        input_features : ignored
            The columns are embedding dimensions, not input channels.

        Returns
        -------
        np.ndarray of str
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_out_")
        return np.asarray(
            [f"elm_{self.output}{i}" for i in range(self.n_features_out_)],
            dtype=object,
        )

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once a fit has passed every check (a failed fit keeps the
        model it loaded, which does not make it fitted)."""
        return hasattr(self, "n_features_in_")

    def __sklearn_tags__(self) -> Any:
        """3-D input (epochs x channels x times), no NaN, deterministic."""
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags

    # helpers -----------------------------------------------------------------
    def _check_params(self) -> None:
        """Refuse settings that would fail deep inside (division by zero ...)."""
        w = self.window_seconds
        if w is not None and (
            isinstance(w, bool)
            or not isinstance(w, numbers.Real)
            or not math.isfinite(w)
            or w <= 0
        ):
            raise ValueError(
                f"window_seconds must be a positive number of seconds or None (the "
                f"tower's training crop), got {w!r}"
            )
        b = self.batch_size
        if isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 1:
            raise ValueError(f"batch_size must be a positive integer, got {b!r}")
        if self.output not in ("embedding", "features"):
            raise ValueError(
                f"output must be 'embedding' or 'features', got {self.output!r}"
            )
        if self.on_clip not in ("raise", "warn", "ignore"):
            raise ValueError(
                f"on_clip must be 'raise', 'warn' or 'ignore', got {self.on_clip!r}"
            )
        f = self.max_clip_fraction
        if (
            isinstance(f, bool)
            or not isinstance(f, numbers.Real)
            or not 0 <= f <= 1  # also refuses NaN
        ):
            # -1 was taken: clean data were then called a unit mistake.
            raise ValueError(
                f"max_clip_fraction must be a fraction in [0, 1], got {f!r}"
            )

    def _window_s(self) -> float:
        """The window fed to the tower (s): the parameter, or the tower's crop."""
        if self.window_seconds is not None:
            return float(self.window_seconds)
        from .embedding import crop_seconds_of

        # As the cache commands crop: the tower's own window, else its variant's.
        return crop_seconds_of(self._encoder())

    def _check_rate(self, sfreq: float) -> None:
        if not (math.isfinite(sfreq) and sfreq > 0):
            raise ValueError(
                f"ELMFeatures: sfreq must be a positive number of Hz, got {sfreq!r}"
            )
        if self.h_freq >= sfreq / 2:
            raise ValueError(
                f"ELMFeatures: the data are sampled at {sfreq:g} Hz, whose Nyquist "
                f"frequency ({sfreq / 2:g} Hz) is not above the band's upper edge "
                f"h_freq={self.h_freq:g} Hz; ELM models read 0.1-49 Hz at 100 Hz, so "
                "give data sampled at 100 Hz or more (raw.resample(100) or higher), "
                "or set ELMFeatures(h_freq=...) below the Nyquist frequency"
            )

    @staticmethod
    def _check_montage(ch_names: list[str]) -> None:
        from braindecode_elm.dsp import TCP_ELECTRODES, resolve_pairs

        try:
            resolve_pairs(ch_names)
        except ValueError as err:
            needed = sorted(TCP_ELECTRODES)
            raise ValueError(
                f"ELMFeatures needs the {len(needed)} electrodes of the TCP "
                f"montage {needed}: {err}"
            ) from err

    def _check_length(self, n_out: int) -> None:
        """Refuse epochs of ``n_out`` samples at 100 Hz, shorter than the tower's
        minimum input."""
        need = int(getattr(self._encoder(), "min_n_times", 0))
        if n_out < need:
            raise ValueError(
                f"ELMFeatures: epochs of {n_out / ELM_SFREQ:g} s are too short "
                f"for the EEG tower, which needs at least {need / ELM_SFREQ:g} s "
                f"({need} samples at {ELM_SFREQ:g} Hz); ELM is trained on "
                f"{self._window_s():g} s windows: use longer epochs (e.g. "
                "tmin/tmax in mne.Epochs)"
            )

    def _unpack(self, X: Any, *, fitted: bool) -> tuple[np.ndarray, list[str], float]:
        if _is_mne(X) or _is_mne_list(X):
            data, names, sfreq = _mne_data(X)
            first = X[0] if isinstance(X, (list, tuple)) else X
            warn_bad_montage_channels(names, first.info["bads"], stacklevel=4)
        else:
            if hasattr(X, "get_metadata") or hasattr(X, "datasets"):
                # A Braindecode dataset was read as an array without a word.
                raise TypeError(
                    f"ELMFeatures takes arrays (n_epochs, n_channels, n_times) or "
                    f"mne.Epochs, got a {type(X).__name__}: stack its windows "
                    "(np.stack([X[i][0] for i in range(len(X))])) and give ch_names "
                    "and sfreq, or fine-tune the tower on the dataset with "
                    "braindecode_elm.evaluation.elm_classifier"
                )
            if self.ch_names is None or self.sfreq is None:
                raise ValueError(
                    "ELMFeatures got an array: set ch_names=... and sfreq=... (or "
                    "pass mne.Epochs, which carry both; in MOABB use "
                    "ELMFeatures.for_moabb(dataset, paradigm) or return_epochs=True)"
                )
            data = np.asarray(X)
            if np.iscomplexobj(data):
                # numpy would drop the imaginary part with only a ComplexWarning.
                raise ValueError(
                    "X is complex: ELMFeatures takes real EEG (pass np.real(X) or "
                    "the signal you meant)"
                )
            data = np.asarray(data, dtype=np.float64)
            if data.ndim != 3:
                raise ValueError(
                    f"X must be (n_epochs, n_channels, n_times), got shape {data.shape}"
                )
            if data.shape[1] != len(self.ch_names):
                raise ValueError(
                    f"X has {data.shape[1]} channels but ch_names lists "
                    f"{len(self.ch_names)}"
                )
            names, sfreq = list(self.ch_names), float(self.sfreq)
        if data.shape[0] == 0 or data.shape[-1] == 0:
            raise ValueError(
                f"X holds no data (shape {data.shape}): pass at least one epoch "
                "with samples"
            )
        check_finite_epochs(data)
        if fitted and data.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {data.shape[1]} channels, but ELMFeatures was fitted with "
                f"{self.n_features_in_}"
            )
        if not (_is_mne(X) or _is_mne_list(X)):
            data, self.units_used_ = to_volts(data, self.units)
        else:
            # MNE data are volts by construction.
            self.units_used_ = "V"
        return data, names, sfreq

    def _preprocess(
        self, data: np.ndarray, ch_names: list[str], sfreq: float
    ) -> np.ndarray:
        from braindecode_elm.dsp import RECIPES, TCP_ELECTRODES, preprocess

        # One recipe for all epochs: the options are validated once.
        recipe = RECIPES["elm"].replace(l_freq=self.l_freq, h_freq=self.h_freq)
        self._check_rate(sfreq)
        out = []
        for epoch in data:
            try:
                with warnings.catch_warnings():
                    # The clip is checked below, as on_clip asks (the engine's
                    # own note would come once per epoch, even with "ignore").
                    warnings.filterwarnings(
                        "ignore", message="preprocess: over", category=UserWarning
                    )
                    y, _ = preprocess(
                        np.ascontiguousarray(epoch), ch_names, sfreq, recipe=recipe
                    )
            except ValueError as err:
                if "electrode" in str(err) or "montage" in str(err):
                    needed = sorted(TCP_ELECTRODES)
                    raise ValueError(
                        f"ELMFeatures needs the {len(needed)} electrodes of the TCP "
                        f"montage {needed}: {err}"
                    ) from err
                raise
            out.append(y)
        x = np.stack(out)
        self.clip_fraction_ = check_clip_fraction(
            x,
            recipe.clip,
            units=self.units_used_,
            on_clip=self.on_clip,
            max_fraction=self.max_clip_fraction,
            what="ELMFeatures",
        )
        check_amplitude(
            x, units=self.units_used_, on_clip=self.on_clip, what="ELMFeatures"
        )
        return x

    def _loaded_from_current_params(self) -> bool:
        """Whether the loaded tower came from the current ``model`` and ``seed``.

        A name or path compares by value, a model object by identity (the
        object itself is kept, so its id cannot be reused by another one).
        """
        if getattr(self, "_model_", None) is None:
            return False
        model, seed = getattr(self, "_model_from_", (None, None))
        if seed != self.seed:
            return False
        if isinstance(self.model, (str, os.PathLike)) or self.model is None:
            return model == self.model
        return model is self.model

    def _encoder(self) -> Any:
        if getattr(self, "_model_", None) is not None:
            return self._model_
        import torch

        from braindecode_elm.models import ELM, create_model, load_model

        model = self.model
        if model is None:
            # a private RNG state: building the baseline must not reseed the caller
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                model = create_model("ELMEncoder")
        elif isinstance(model, str) and model == "random-elm":
            # the untrained baseline by name: seeded by this transformer's seed
            model = load_model(model, seed=self.seed)
        elif isinstance(model, (str, os.PathLike)):
            model = load_model(model, hub=True)
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
        self._check_length(x.shape[-1])
        window_s = self._window_s()
        win = int(round(window_s * ELM_SFREQ))
        n_win = max(1, x.shape[-1] // win)
        unused = x.shape[-1] - n_win * win if x.shape[-1] >= win else 0
        if unused > 0.1 * x.shape[-1] and not getattr(self, "_warned_tail", False):
            # As ELM crops recordings; said, since up to half of a short epoch
            # (7.5 s -> 5 s) is then not seen (outside user).
            self._warned_tail = True
            warnings.warn(
                f"ELMFeatures: epochs of {x.shape[-1] / ELM_SFREQ:g} s are embedded "
                f"as {n_win} window(s) of {window_s:g} s; the last "
                f"{unused / ELM_SFREQ:g} s of each epoch are not used. Give epochs "
                f"of a multiple of {window_s:g} s (tmin/tmax) to use "
                "all of them",
                UserWarning,
                stacklevel=4,
            )
        if x.shape[-1] >= win:
            x = x[..., : n_win * win].reshape(x.shape[0], x.shape[1], n_win, win)
            x = x.transpose(0, 2, 1, 3).reshape(-1, x.shape[1], win)
        else:
            n_win = 1
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


def _rate_length(n_times: int, sfreq: float) -> int:
    """Samples of ``n_times`` at ``sfreq`` once resampled to 100 Hz."""
    from braindecode_elm.dsp import rational_factors

    up, down, _ = rational_factors(sfreq, ELM_SFREQ)
    return -(-n_times * up // down)


def _is_mne(X: Any) -> bool:
    return hasattr(X, "get_data") and hasattr(X, "info")


def _is_mne_list(X: Any) -> bool:
    # scikit-learn's cross-validation indexes an Epochs object it cannot slice
    # as an array into a list of single-epoch Epochs.
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(map(_is_mne, X))


def _mne_data(X: Any) -> tuple[np.ndarray, list[str], float]:
    """Data (volts), EEG channel names and rate of mne.Epochs (or a list of them).

    Channels marked bad are kept (see :func:`_eeg_picks`).
    """
    parts = list(X) if isinstance(X, (list, tuple)) else [X]
    first = parts[0]
    names = [first.ch_names[i] for i in _eeg_picks(first)]
    sfreq = float(first.info["sfreq"])
    out = []
    for ep in parts:
        picks = _eeg_picks(ep)
        if [ep.ch_names[i] for i in picks] != names or float(ep.info["sfreq"]) != sfreq:
            raise ValueError(
                "ELMFeatures got a list of mne.Epochs with different channels or "
                "sampling rates; concatenate them first (mne.concatenate_epochs) "
                "or pass one Epochs object"
            )
        data = np.asarray(ep.get_data(picks=picks), dtype=np.float64)
        if data.ndim != 3:
            kind = type(ep).__name__
            raise ValueError(
                f"ELMFeatures takes mne.Epochs (or arrays of shape (n_epochs, "
                f"n_channels, n_times)), got {kind} with data of shape {data.shape}: "
                "cut it into epochs first, e.g. mne.make_fixed_length_epochs(raw, "
                "duration=5)"
            )
        if out and data.shape[-1] != out[0].shape[-1]:
            raise ValueError(
                f"ELMFeatures got a list of mne.Epochs of different lengths "
                f"({out[0].shape[-1]} and {data.shape[-1]} samples): crop them to one "
                "length (Epochs.crop) or transform each Epochs object on its own"
            )
        out.append(data)
    return np.concatenate(out), names, sfreq


def _eeg_picks(epochs: Any) -> list[int]:
    """EEG channels, those marked bad included (every channel if none is EEG).

    The montage needs its electrodes whatever their mark, as
    :func:`~braindecode_elm.dsp.preprocess_raw` does: a bad one it uses is named
    in a warning (:func:`~braindecode_elm.dsp.montage.warn_bad_montage_channels`),
    other bad channels are not used by the montage at all.
    """
    import mne

    picks = mne.pick_types(epochs.info, eeg=True, exclude=[])
    return list(picks) if len(picks) else list(range(len(epochs.ch_names)))
