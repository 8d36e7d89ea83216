"""The preprocessing recipe: every option of the ELM chain in one frozen object.

A :class:`Recipe` holds the band-pass (edges, order, edge handling), the output
rate, the montage, the scale and the clip. The engine
(:func:`~braindecode_elm.dsp.preprocess`), the block-wise path
(:func:`~braindecode_elm.dsp.preprocess_chunked`), the SciPy reference, the MNE
Raw wrapper and the cache all take one, and a cache manifest stores it
(:meth:`Recipe.to_dict`), so the options are written down in this one place.

Named presets (:data:`RECIPES`):

``"elm"``
    The Rust engine: TCP montage, zero-phase Butterworth(4) band-pass 0.1-49 Hz,
    x :data:`ELM_SCALE` (volts -> units of 10 uV), clip to +-:data:`ELM_CLIP`,
    polyphase resampling to :data:`ELM_SFREQ` Hz.
``"default"``
    The same filter and resampler without scaling or clipping: output in volts.
``"elm_official"``
    The paper's MNE code, for the official checkpoints: MNE's default FIR
    band-pass 0.1-49 Hz, drop the first 10 s, TCP montage, x1e5, clip +-80,
    MNE's FFT resampling to 100 Hz (``method="mne"``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ._checks import check_band, check_band_edges

__all__ = [
    "ELM_CLIP",
    "ELM_CROP_S",
    "ELM_SCALE",
    "ELM_SFREQ",
    "RECIPES",
    "Recipe",
    "as_recipe",
]

#: Volts -> ELM units (10 uV): ELM tensors are ``volts * ELM_SCALE``.
ELM_SCALE: float = 1e5
#: ELM clips its inputs to ``+-ELM_CLIP`` (i.e. +-800 uV).
ELM_CLIP: float = 80.0
#: Output sampling rate of the ELM recipes (Hz).
ELM_SFREQ: float = 100.0
#: Smallest median channel rms (microvolts) taken for EEG: amplifier noise alone
#: is ~0.5 uV, scalp EEG a few to tens of uV, while volts read as microvolts come
#: out near 1e-5 uV (ELMFeatures refuses less, ELM.embed_eeg warns).
MIN_RMS_UV: float = 0.01
#: Default crop length of ELM windows (seconds; the 5-s model variant).
ELM_CROP_S: float = 5.0

_METHODS = ("engine", "mne")
_FILTER_PADTYPES = ("odd", "mne")
_RESAMPLE_PADTYPES = ("constant", "reflect")

Pairs = tuple[tuple[str, str], ...]


def _number(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        and not (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iuf")
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _montage(montage: Any) -> str | Pairs | None:
    if montage is None:
        return None
    if isinstance(montage, str):
        if montage.lower() != "tcp":
            raise ValueError(
                f"montage must be 'tcp', None or a list of (anode, cathode) pairs, "
                f"got {montage!r}"
            )
        return "tcp"
    try:
        pairs = tuple((str(a), str(c)) for a, c in montage)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"montage must be 'tcp', None or a list of (anode, cathode) pairs, "
            f"got {montage!r}"
        ) from err
    if not pairs:
        raise ValueError("montage is an empty list of pairs; pass None to keep all")
    return pairs


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Every option of the preprocessing chain, validated once.

    Build one with keywords (``Recipe(l_freq=0.5)``), from a preset
    (``RECIPES["elm"]``, ``Recipe.preset("elm")``) or with changes to another
    (``RECIPES["elm"].replace(h_freq=40.0)``). Invalid options raise
    ``ValueError`` here, naming the option; only the checks that need a
    recording's sampling rate (band below Nyquist) wait for the recording.

    Parameters
    ----------
    name : str
        Label stored with cached data (``"elm"``, ``"default"``,
        ``"elm_official"``, ``"custom"``).
    l_freq, h_freq : float
        Band-pass edges in Hz.
    order : int
        Butterworth order (sections of the band-pass), 1 to 32.
    out_sfreq : float
        Nominal output rate in Hz (the rate produced is
        :meth:`output_sfreq` of the input rate).
    montage : "tcp" | sequence of (str, str) | None
        Bipolar pairs, ``"tcp"`` for the 20 ELM pairs, or ``None`` to keep the
        channels as they are.
    scale : float | None
        Multiply after filtering (``ELM_SCALE`` turns volts into ELM units).
    clip : float | None
        Clip to ``+-clip`` after scaling, before resampling (the ELM order).
    padtype : {"odd", "mne"}
        Band-pass edge handling (see :func:`~braindecode_elm.dsp.sosfiltfilt`).
    resample_padtype : {"constant", "reflect"}
        Resampler edge handling (see :func:`~braindecode_elm.dsp.resample_poly`).
    method : {"engine", "mne"}
        ``"engine"``: the fused Rust chain above. ``"mne"``: the paper's MNE
        code (FIR band-pass, FFT resampling; ``order`` and the pad types do not
        apply), see :func:`~braindecode_elm.dsp.elm_official`.
    drop_first_s : float
        Seconds dropped at the start of a recording before the output (the
        official recipe drops 10 s).
    """

    name: str = "custom"
    l_freq: float = 0.1
    h_freq: float = 49.0
    order: int = 4
    out_sfreq: float = ELM_SFREQ
    montage: str | Pairs | None = "tcp"
    scale: float | None = None
    clip: float | None = None
    padtype: str = "odd"
    resample_padtype: str = "constant"
    method: str = "engine"
    drop_first_s: float = 0.0

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: normalise in place once
        put(self, "montage", _montage(self.montage))
        check_band_edges(self.order, self.l_freq, self.h_freq)
        put(self, "order", int(self.order))
        put(self, "l_freq", float(self.l_freq))
        put(self, "h_freq", float(self.h_freq))
        rate = _number(self.out_sfreq, "out_sfreq")
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"out_sfreq must be a positive finite number, got {rate}")
        put(self, "out_sfreq", rate)
        for nm in ("scale", "clip"):
            v = getattr(self, nm)
            if v is not None:
                v = _number(v, nm)
                if not (math.isfinite(v) and v > 0):
                    raise ValueError(f"{nm} must be positive or None, got {v!r}")
                put(self, nm, v)
        if self.padtype not in _FILTER_PADTYPES:
            raise ValueError(
                f"padtype must be one of {_FILTER_PADTYPES}, got {self.padtype!r}"
            )
        if self.resample_padtype not in _RESAMPLE_PADTYPES:
            raise ValueError(
                f"resample_padtype must be one of {_RESAMPLE_PADTYPES}, got "
                f"{self.resample_padtype!r}"
            )
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        drop = _number(self.drop_first_s, "drop_first_s")
        if not (math.isfinite(drop) and drop >= 0):
            raise ValueError(f"drop_first_s must be >= 0 seconds, got {drop!r}")
        if drop and self.method == "engine":
            raise ValueError(
                f"drop_first_s={drop:g} needs method='mne': the engine keeps the "
                "whole recording (drop the first seconds when cropping, see "
                "braindecode_elm.data.crop_bounds)"
            )
        put(self, "drop_first_s", drop)

    # ------------------------------------------------------------ constructors
    @classmethod
    def preset(cls, name: str) -> Recipe:
        """The named preset (a key of :data:`RECIPES`)."""
        if name not in RECIPES:
            raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {name!r}")
        return RECIPES[name]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Inverse of :meth:`to_dict` (e.g. a cache manifest's ``recipe_params``)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(
                f"unknown recipe fields {unknown}; known: {sorted(fields)}"
            )
        return cls(**dict(data))

    def replace(self, **changes: Any) -> Recipe:
        """A copy with ``changes``; renamed ``"custom"`` when an option changed."""
        fields = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError(f"{unknown} are not recipe fields; a recipe has {fields}")
        if all(getattr(self, k, object()) == v for k, v in changes.items()):
            return self  # nothing changes (the common case of the keyword layer)
        new = dataclasses.replace(self, **changes)
        if "name" not in changes and any(
            getattr(new, k) != getattr(self, k) for k in changes
        ):
            object.__setattr__(new, "name", "custom")
        return new

    # --------------------------------------------------------------- queries
    @property
    def unit(self) -> str:
        """What the output values are (volts, or ELM units)."""
        if self.scale is None:
            return "volts"
        if self.scale == ELM_SCALE:
            return "volts x 1e5 (ELM units)"
        return f"volts x {self.scale:g}"

    def check_rate(self, sfreq: float) -> None:
        """Check the band against an input rate (``h_freq`` below Nyquist).

        Raises
        ------
        ValueError
            For a non-positive rate or a band that does not fit under it.
        """
        check_band(self.order, self.l_freq, self.h_freq, sfreq)

    def factors(self, sfreq: float) -> tuple[int, int, float]:
        """``(up, down, rel_error)`` taking ``sfreq`` to :attr:`out_sfreq`.

        See :func:`~braindecode_elm.dsp.rates.rational_factors`.
        """
        from .rates import rational_factors

        return rational_factors(sfreq, self.out_sfreq)

    def output_sfreq(self, sfreq: float) -> float:
        """The rate actually produced from ``sfreq`` Hz input (``sfreq*up/down``).

        Equal to :attr:`out_sfreq` whenever the ratio is a small fraction
        (256, 250, 500 Hz ...); slightly off for rates such as 173.61 Hz, where
        the resampler approximates the ratio.
        """
        if self.method == "mne":
            return self.out_sfreq  # MNE's FFT resampling hits the rate exactly
        up, down, _ = self.factors(sfreq)
        return float(sfreq) * up / down

    def to_dict(self, *, name: bool = True) -> dict[str, Any]:
        """JSON-ready fields (pairs as lists); :meth:`from_dict` reads it back."""
        out = dataclasses.asdict(self)
        if isinstance(self.montage, tuple):
            out["montage"] = [list(p) for p in self.montage]
        if not name:
            out.pop("name")
        return out

    def engine_kwargs(self) -> dict[str, Any]:
        """The band, rate, montage, scale, clip and pad types as keywords."""
        return {
            "l_freq": self.l_freq,
            "h_freq": self.h_freq,
            "out_sfreq": self.out_sfreq,
            "order": self.order,
            "montage": self.montage,
            "scale": self.scale,
            "clip": self.clip,
            "padtype": self.padtype,
            "resample_padtype": self.resample_padtype,
        }


#: The named presets (see the module documentation).
RECIPES: dict[str, Recipe] = {
    "elm": Recipe(name="elm", scale=ELM_SCALE, clip=ELM_CLIP),
    "default": Recipe(name="default"),
    "elm_official": Recipe(
        name="elm_official",
        scale=ELM_SCALE,
        clip=ELM_CLIP,
        method="mne",
        drop_first_s=10.0,
    ),
}

#: Marks a keyword argument the caller left out (the recipe's value is used).
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


def as_recipe(
    recipe: Recipe | str | Mapping[str, Any] | None,
    *,
    base: str = "default",
    **overrides: Any,
) -> Recipe:
    """The recipe a call means: ``recipe`` (or preset ``base``) with overrides.

    This is the compatibility layer of the functions that took the options as
    keywords before recipes existed: keywords left at :data:`UNSET` keep the
    recipe's value, the others replace it.

    Parameters
    ----------
    recipe : Recipe | str | mapping | None
        A recipe, a preset name, a :meth:`Recipe.to_dict` mapping, or ``None``
        for preset ``base``.
    base : str
        Preset used when ``recipe`` is None.
    **overrides
        Recipe fields; :data:`UNSET` values are ignored.

    Returns
    -------
    Recipe
    """
    if recipe is None:
        rec = Recipe.preset(base)
    elif isinstance(recipe, Recipe):
        rec = recipe
    elif isinstance(recipe, str):
        rec = Recipe.preset(recipe)
    elif isinstance(recipe, Mapping):
        rec = Recipe.from_dict(recipe)
    else:
        raise TypeError(
            f"recipe must be a Recipe, a preset name {sorted(RECIPES)} or a dict, "
            f"got {type(recipe).__name__}"
        )
    changes = {k: v for k, v in overrides.items() if v is not UNSET}
    return rec.replace(**changes) if changes else rec
