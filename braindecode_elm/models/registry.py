"""One table of our models: the model factory, braindecode registration, tests.

:func:`create_model` builds any entry of :data:`MODEL_REGISTRY` by name and
:func:`load_model` turns a user's model spec (a saved folder or a registry name
such as ``"random-elm"``) into a model; the CLI, training and evaluation build
models only through these two.

Braindecode has no plugin hook: its ``models_dict`` is filled by scanning
``braindecode.models``. :func:`register_in_braindecode` adds our EEG classes
there (and to the mandatory-parameters table used by braindecode's own model
checks), so name-based lookups such as ``EEGClassifier("ELMEncoder", ...)`` work.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..dsp.recipe import ELM_CROP_S, ELM_SFREQ
from .bundle import ELM
from .eeg_encoder import ELMEncoder
from .projection import TextProjection
from .text_encoder import KNOWN_DIMS, MINILM_ALIAS, TextEncoder

__all__ = [
    "ModelSpec",
    "MODEL_REGISTRY",
    "SUMMARY_COLUMNS",
    "create_model",
    "load_model",
    "register_in_braindecode",
    "register_models",
    "summary_row",
]


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its class, default test kwargs and braindecode role.

    Parameters
    ----------
    cls : type
        The model class.
    kwargs : dict
        Keyword arguments giving a small valid instance (used by the
        cross-cutting tests).
    mandatory : tuple of str
        Signal parameters braindecode must pass (its ``models_mandatory_parameters``
        entry).
    in_braindecode : bool
        Whether the class is registered in braindecode's ``models_dict`` (our
        EEG models; the cross-cutting braindecode model checks run on these).
    summary : dict
        The model's row of braindecode's summary table (``Application``,
        ``Type``, ``Sampling Frequency (Hz)``, ``Categorization``, ``Modality``);
        registration adds it to ``braindecode.models.util._summary_table`` so
        braindecode's table-driven checks and docs find the model.
    build : callable | None
        Builds the model from keywords; ``None`` calls ``cls``.
    """

    cls: type
    kwargs: dict[str, Any] = field(default_factory=dict)
    mandatory: tuple[str, ...] = ("n_chans", "n_outputs", "n_times")
    in_braindecode: bool = True
    summary: dict[str, Any] = field(default_factory=dict)
    build: Callable[..., nn.Module] | None = None


def _random_elm(seed: int = 0) -> ELM:
    """An untrained ELM bundle (the ``random-elm`` baseline), seeded.

    Built on a private copy of torch's random state: building the baseline
    does not reseed the caller (a seed loop around it kept restarting at 0).
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text = TextEncoder(MINILM_ALIAS)
        return ELM(ELMEncoder(), text, TextProjection(text.dim))


#: name -> spec. Every entry is exercised by tests/test_models_registry.py.
MODEL_REGISTRY: dict[str, ModelSpec] = {
    "ELMEncoder": ModelSpec(
        cls=ELMEncoder,
        kwargs={
            "n_chans": 20,
            "n_times": int(ELM_CROP_S * ELM_SFREQ),
            "sfreq": ELM_SFREQ,
        },
        summary={
            "Application": "Clinical phenotyping, Normal Abnormal",
            "Type": "Prediction, Embedding",
            "Sampling Frequency (Hz)": int(ELM_SFREQ),
            "Categorization": "Convolution,Foundation Model",
            "Modality": "EEG",
        },
    ),
    "TextProjection": ModelSpec(
        cls=TextProjection,
        kwargs={"in_dim": KNOWN_DIMS[MINILM_ALIAS]},
        in_braindecode=False,
    ),
    "ELM": ModelSpec(
        cls=ELM,
        kwargs={"text_model": MINILM_ALIAS, "text_dim": KNOWN_DIMS[MINILM_ALIAS]},
        in_braindecode=False,
    ),
    # An untrained bundle with the offline MiniLM text tower: the baseline of
    # the benchmark and the CLI.
    "random-elm": ModelSpec(cls=ELM, in_braindecode=False, build=_random_elm),
}


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registry entry ``name`` with ``kwargs``.

    Parameters
    ----------
    name : str
        A key of :data:`MODEL_REGISTRY` (``"ELMEncoder"``, ``"TextProjection"``,
        ``"ELM"``, ``"random-elm"``).
    **kwargs
        Arguments of the model class (or of the entry's builder).

    Returns
    -------
    torch.nn.Module
        A new model in training mode.
    """
    spec = MODEL_REGISTRY.get(name)
    if spec is None:
        raise ValueError(
            f"unknown model {name!r}; registered models: {sorted(MODEL_REGISTRY)}"
        )
    return (spec.build or spec.cls)(**kwargs)


def load_model(
    spec: str | os.PathLike[str], *, hub: bool = False, **kwargs: Any
) -> ELM:
    """An ELM bundle from a model spec, in eval mode.

    Parameters
    ----------
    spec : str | os.PathLike
        A folder written by ``ELM.save_pretrained`` (e.g. ``RUN_DIR/final``),
        the name of a bundle shipped with the package (``"elm-open-5s"``), or
        the name of a registry entry that builds a bundle (``"random-elm"``).
    hub : bool
        Read a ``spec`` that is not a local folder as a Hugging Face Hub id
        (see :meth:`ELM.from_pretrained`). Off by default so that a mistyped
        run folder is reported as missing rather than looked up online.
    **kwargs
        Passed to :meth:`ELM.from_pretrained` (``map_location``,
        ``text_encoder`` ...) or to the registry entry.

    Returns
    -------
    ELM
    """
    if isinstance(spec, str) and spec in MODEL_REGISTRY:
        if MODEL_REGISTRY[spec].cls is not ELM:
            raise ValueError(
                f"{spec!r} is a part of a model, not an ELM bundle; build it with "
                f"create_model({spec!r}, ...)"
            )
        if MODEL_REGISTRY[spec].build is None:
            # The bare architecture: untrained and unseeded, it would give
            # another random answer on every run.
            raise ValueError(
                f"{spec!r} is the architecture, not a model: load a bundle folder "
                "(ELM.save_pretrained), a bundle shipped with the package "
                f"({', '.join(_shipped()) or 'none'}), or 'random-elm' for an "
                "untrained, seeded baseline"
            )
        return create_model(spec, **kwargs).eval()
    from .pretrained import resolve_bundle, shipped_bundles

    path = resolve_bundle(spec)
    if not path.is_dir() and hub:
        return ELM.from_pretrained(spec, **kwargs).eval()
    if not path.is_dir():
        bundles = sorted(
            n for n, s in MODEL_REGISTRY.items() if s.cls is ELM and s.build
        )
        raise FileNotFoundError(
            f"model folder {path} not found; pass a folder written by "
            f"ELM.save_pretrained (e.g. RUN_DIR/final), a bundle shipped with the "
            f"package ({', '.join(shipped_bundles()) or 'none'}) or one of {bundles}"
        )
    return ELM.from_pretrained(path, **kwargs).eval()


#: Columns of braindecode's ``models/summary.csv`` (braindecode 1.8).
SUMMARY_COLUMNS = (
    "Application",
    "Type",
    "Sampling Frequency (Hz)",
    "Hyperparameters",
    "#Parameters",
    "get_#Parameters",
    "Categorization",
    "Modality",
)


def summary_row(name: str) -> dict[str, Any]:
    """The braindecode summary-table row of a registered model.

    ``Hyperparameters`` are the mandatory signal parameters, ``#Parameters`` the
    trainable parameter count of the instance built by ``get_#Parameters``
    (the registry's test kwargs with a 2-class head), as braindecode's own rows
    give them.

    Parameters
    ----------
    name : str
        A key of :data:`MODEL_REGISTRY`.

    Returns
    -------
    dict
        Column name -> value, for every column of :data:`SUMMARY_COLUMNS`.
    """
    spec = MODEL_REGISTRY[name]
    kwargs = {**spec.kwargs, "n_outputs": 2}
    model = spec.cls(**kwargs)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    call = ", ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items()))
    row = {
        **spec.summary,
        "Hyperparameters": ", ".join(spec.mandatory),
        "#Parameters": n_params,
        "get_#Parameters": f"{name}({call})",
    }
    missing = [c for c in SUMMARY_COLUMNS if c not in row]
    if missing:
        raise ValueError(f"registry entry {name!r} lacks summary columns {missing}")
    return {c: row[c] for c in SUMMARY_COLUMNS}


def _braindecode_tables() -> tuple[dict, list | None]:
    """Return braindecode's registry objects or fail loudly if they moved."""
    try:
        from braindecode.models import util
    except ImportError as err:  # pragma: no cover - braindecode is a dependency
        raise ImportError(
            "registering ELM models needs braindecode: pip install braindecode"
        ) from err
    models_dict = getattr(util, "models_dict", None)
    if not isinstance(models_dict, dict):
        raise RuntimeError(
            "braindecode's model registry layout changed: expected a dict "
            "braindecode.models.util.models_dict, found "
            f"{type(models_dict).__name__}. This braindecode-elm release supports "
            "braindecode>=1.8,<1.9; pin braindecode or upgrade braindecode-elm."
        )
    table = getattr(util, "_summary_table", None)
    if table is not None and not hasattr(table, "loc"):
        raise RuntimeError(
            "braindecode's model registry layout changed: "
            "braindecode.models.util._summary_table is not a DataFrame. Supported: "
            "braindecode>=1.8,<1.9."
        )
    getter = getattr(util, "_get_model_class", None)
    if not callable(getter):
        raise RuntimeError(
            "braindecode's model registry layout changed: "
            "braindecode.models.util._get_model_class is missing, so name lookups "
            "like EEGClassifier('ELMEncoder') cannot be served. Supported: "
            "braindecode>=1.8,<1.9."
        )
    mandatory = getattr(util, "models_mandatory_parameters", None)
    if mandatory is not None and not isinstance(mandatory, list):
        raise RuntimeError(
            "braindecode's model registry layout changed: "
            "models_mandatory_parameters is not a list. Supported: "
            "braindecode>=1.8,<1.9."
        )
    return models_dict, mandatory


def _add_summary_row(name: str) -> None:
    # In place: braindecode's checks import the table object itself
    # (``from braindecode.models.util import _summary_table``).
    from braindecode.models import util

    table = getattr(util, "_summary_table", None)
    if table is None or name in table.index:
        return
    row = summary_row(name)
    table.loc[name] = [row.get(c) for c in table.columns]


def register_in_braindecode() -> list[str]:
    """Add every ``in_braindecode`` entry of :data:`MODEL_REGISTRY` to braindecode.

    Idempotent: re-registering replaces nothing and adds no duplicates.

    Returns
    -------
    list of str
        The registered names.

    Raises
    ------
    RuntimeError
        If braindecode's registry layout is not the one we know, or a different
        class is already registered under one of our names.
    """
    models_dict, mandatory = _braindecode_tables()
    names = []
    for name, spec in MODEL_REGISTRY.items():
        if not spec.in_braindecode:
            continue
        current = models_dict.get(name)
        if current is not None and current is not spec.cls:
            # A reloaded module gives a new class object with the same identity.
            same = (current.__module__, current.__qualname__) == (
                spec.cls.__module__,
                spec.cls.__qualname__,
            )
            if not same:
                raise RuntimeError(
                    f"braindecode already has a different model named {name!r} "
                    f"({current.__module__}.{current.__qualname__})"
                )
        models_dict[name] = spec.cls
        _add_summary_row(name)
        if mandatory is not None and not any(
            isinstance(row, tuple) and row and row[0] == name for row in mandatory
        ):
            mandatory.append((name, list(spec.mandatory), None))
        names.append(name)
    return names


def register_models() -> list[str]:
    """Register every braindecode-elm EEG model in braindecode's model registry.

    Importing :mod:`braindecode_elm.models` calls it; call it yourself only
    when you need the names registered before that import (e.g.
    ``EEGClassifier("ELMEncoder")`` after ``import braindecode_elm``). Idempotent.

    Returns
    -------
    list of str
        The names registered.

    Raises
    ------
    RuntimeError
        If braindecode's registry layout changed (see
        :func:`register_in_braindecode`).
    """
    return register_in_braindecode()


def _shipped() -> list[str]:
    from .pretrained import shipped_bundles

    return list(shipped_bundles())
