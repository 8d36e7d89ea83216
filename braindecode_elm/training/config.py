"""Pretraining configuration: YAML presets plus ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..dsp.recipe import ELM_CROP_S, ELM_SFREQ

__all__ = ["TrainConfig", "load_preset", "list_presets", "parse_overrides"]

_PRESET_PACKAGE = "braindecode_elm.training.presets"


@dataclass
class TrainConfig:
    """Everything a pretraining run needs (a preset plus overrides).

    Field names are the YAML keys of the presets and the ``key=value`` overrides of
    ``elm pretrain``. Paths (``data``, ``out``) are usually given on the command line.

    Attributes
    ----------
    preset : str
        Name of the preset this config came from.
    description : str
        Human-readable summary of the preset.
    data : str or None
        Cache folder written by ``elm preprocess``
        (:func:`braindecode_elm.data.build_cache`).
    out : str or None
        Run folder (checkpoints, metrics, ``final/`` weights).
    variant : {"5s", "60s"}
        EEG tower variant (pooling sizes).
    crop_seconds, drop_first_s, max_minutes : float
        Crop length, seconds skipped at the start and cap per recording.
    text_mode : {"sentence", "paragraph", "report"}
        How reports are segmented into MIL text instances.
    text_model : str
        Language model for :class:`braindecode_elm.models.TextEncoder` (frozen).
    text_max_length : int
        Tokeniser truncation (80 sentences, 150 paragraphs).
    text_cache_dir : str or None
        Disk cache of LM embeddings (default ``<out>/text_cache``).
    n_filters : int
        Branch width of the EEG tower (32 = paper; ``tiny-cpu`` uses 8).
    batch_size, max_eeg, max_text : int
        Recordings per batch (per process), crops per set, segments per set.
    optimizer : {"lars", "adamw"}
        Optimiser. LARS lr is ``base_lr * world * batch_size * max_eeg / 256``;
        AdamW uses ``base_lr`` unscaled.
    base_lr, weight_decay, momentum, eta : float
        Optimiser hyper-parameters.
    epochs, warmup_epochs : int
        Schedule length and linear warm-up (per epoch).
    min_lr_ratio : float
        Warm-up start and cosine floor, as a fraction of the peak.
    temperature : float
        Fixed InfoNCE temperature (0.3).
    positives : {"recording", "text"}
        MIL positives: same recording, or also any identical text in the batch.
    precision : {"fp32", "bf16", "fp16"}
        Autocast precision (fp16 uses a gradient scaler).
    compile : bool
        Wrap the trained module with :func:`torch.compile`.
    device : str
        ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``...
    num_workers, prefetch_factor : int
        DataLoader workers reading the memory-mapped cache.
    val_fraction : float
        Fraction of subjects held out for validation retrieval.
    val_max_crops : int
        Crops per validation recording (first ones, evenly spaced).
    checkpoint_every_steps : int
        Also checkpoint every N optimiser steps (0: only at epoch ends).
    keep_last : int
        Number of checkpoints kept.
    log_every_steps : int
        Progress/CSV logging interval.
    seed : int
        Seed of the sampler, model initialisation and split.
    deterministic : bool
        Ask torch for deterministic kernels (CPU runs are then bit-reproducible).
    sync_bn : bool
        Batch-norm statistics over the global batch under DDP.
    max_recordings : int or None
        Use only the first N training recordings (quick experiments).
    max_steps : int or None
        Stop after this many optimiser steps in total (smoke tests, benchmarks).
    extra : dict
        Free-form notes stored with the run (not used by the loop).
    """

    preset: str = "custom"
    description: str = ""
    data: str | None = None
    out: str | None = None
    variant: str = "5s"
    crop_seconds: float = ELM_CROP_S
    drop_first_s: float = 10.0
    max_minutes: float = 45.0
    text_mode: str = "sentence"
    text_model: str = "minilm"
    text_max_length: int = 80
    text_cache_dir: str | None = None
    n_filters: int = 32
    batch_size: int = 80
    max_eeg: int = 120
    max_text: int = 24
    optimizer: str = "lars"
    base_lr: float = 0.02
    weight_decay: float = 1e-4
    momentum: float = 0.9
    eta: float = 0.001
    epochs: int = 25
    warmup_epochs: int = 2
    min_lr_ratio: float = 0.01
    temperature: float = 0.3
    positives: str = "recording"
    precision: str = "bf16"
    compile: bool = False
    device: str = "auto"
    num_workers: int = 4
    prefetch_factor: int = 4
    val_fraction: float = 0.1
    val_max_crops: int = 120
    checkpoint_every_steps: int = 200
    keep_last: int = 3
    log_every_steps: int = 10
    seed: int = 0
    deterministic: bool = False
    sync_bn: bool = True
    max_recordings: int | None = None
    max_steps: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first inconsistent field."""
        _check_types(self)
        choices = {
            "variant": ("5s", "60s"),
            "text_mode": ("sentence", "paragraph", "report"),
            "optimizer": ("lars", "adamw"),
            "positives": ("recording", "text"),
            "precision": ("fp32", "bf16", "fp16"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"config field {name}={getattr(self, name)!r} is not one of "
                    f"{allowed}"
                )
        for name in ("batch_size", "max_eeg", "max_text", "epochs", "n_filters"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"config field {name} must be >= 1")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(
                f"warmup_epochs={self.warmup_epochs} must be in [0, epochs="
                f"{self.epochs}]: with fewer epochs than the preset's warm-up, "
                f"lower it too (e.g. epochs={self.epochs} warmup_epochs=0)"
            )
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")
        for name in ("num_workers", "warmup_epochs", "checkpoint_every_steps", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"config field {name} must be >= 0")
        for name in ("max_steps", "max_recordings"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"config field {name} must be >= 1 (or null)")
        for name in ("crop_seconds", "base_lr", "max_minutes", "prefetch_factor"):
            if getattr(self, name) <= 0:
                raise ValueError(f"config field {name} must be > 0")
        dev = self.device.strip().lower()
        if not (dev in ("auto", "cpu", "cuda", "mps") or _CUDA_INDEX.match(dev)):
            raise ValueError(
                f"config field device={self.device!r} is not one of auto, cpu, "
                "cuda, cuda:N, mps"
            )

    @property
    def crop_samples(self) -> int:
        """Samples per crop at the ELM rate (:data:`~braindecode_elm.dsp.ELM_SFREQ`)."""
        return int(round(self.crop_seconds * ELM_SFREQ))

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict (YAML/JSON-serialisable) view."""
        return dataclasses.asdict(self)

    def replace(self, **overrides: Any) -> TrainConfig:
        """Copy with some fields changed (unknown names raise ``ValueError``)."""
        _check_names(overrides)
        return dataclasses.replace(self, **overrides)


_CUDA_INDEX = re.compile(r"^cuda:\d+$")


def _check_types(cfg: TrainConfig) -> None:
    """Each scalar field holds a value of its declared type (finite numbers).

    Overrides are read as YAML, so ``base_lr=abc`` gives the string ``"abc"``: it
    is refused here, naming the field, rather than failing deep inside training.
    """
    for f in fields(cfg):
        allowed = {t.strip() for t in str(f.type).split("|")}
        if not allowed <= {"int", "float", "bool", "str", "None"}:
            continue  # containers (extra) are free-form
        value = getattr(cfg, f.name)
        if isinstance(value, str) and allowed & {"int", "float"}:
            # PyYAML reads "1e-4" as a string (YAML 1.1): accept plain numbers.
            for kind in (int, float):
                if kind.__name__ in allowed:
                    try:
                        value = kind(value)
                        setattr(cfg, f.name, value)
                        break
                    except ValueError:
                        pass
        ok = (
            (value is None and "None" in allowed)
            or (isinstance(value, bool) and "bool" in allowed)
            or (
                not isinstance(value, bool)
                and isinstance(value, int)
                and allowed & {"int", "float"}
            )
            or (isinstance(value, float) and "float" in allowed)
            or (isinstance(value, str) and "str" in allowed)
        )
        if not ok:
            want = " or ".join(sorted(allowed))
            raise ValueError(
                f"config field {f.name}={value!r} must be {want}, not "
                f"{type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"config field {f.name}={value!r} must be finite")


def _check_names(overrides: dict[str, Any]) -> None:
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"unknown config field(s) {unknown}; valid fields: {sorted(known)}"
        )


def list_presets() -> list[str]:
    """Names of the bundled presets (``elm-5s``, ``elm-60s``, ``tiny-cpu``)."""
    folder = resources.files(_PRESET_PACKAGE)
    return sorted(
        p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_preset(name: str, **overrides: Any) -> TrainConfig:
    """Load a bundled preset (or a YAML file path) and apply overrides.

    Parameters
    ----------
    name : str
        ``elm-5s``, ``elm-60s``, ``tiny-cpu`` or a path to a YAML file with
        :class:`TrainConfig` keys.
    **overrides
        Field values that replace the preset's.

    Returns
    -------
    TrainConfig
        The validated configuration.
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        raw = yaml.safe_load(path.read_text()) or {}
        preset_name = path.stem
    else:
        res = resources.files(_PRESET_PACKAGE) / f"{name}.yaml"
        if not res.is_file():
            raise ValueError(
                f"unknown preset {name!r}; choose one of {list_presets()} or give a "
                "path to a .yaml file"
            )
        raw = yaml.safe_load(res.read_text()) or {}
        preset_name = name
    if not isinstance(raw, dict):
        raise ValueError(f"preset {name!r} must be a YAML mapping")
    raw = {"preset": preset_name, **raw, **overrides}
    _check_names(raw)
    return TrainConfig(**raw)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are read as YAML scalars.

    Parameters
    ----------
    items : list of str
        E.g. ``["epochs=3", "precision=fp32", "compile=true"]``.

    Returns
    -------
    dict
        Field name to typed value.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        out[key] = yaml.safe_load(value) if value.strip() else None
    _check_names(out)
    return out
