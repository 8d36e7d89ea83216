"""One table of our models, driving braindecode registration and the model tests.

Braindecode has no plugin hook: its ``models_dict`` is filled by scanning
``braindecode.models``. :func:`register_in_braindecode` adds our classes there (and
to the mandatory-parameters table used by braindecode's own model checks), so
name-based lookups such as ``EEGClassifier("ELMEncoder", ...)`` work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..dsp.recipe import ELM_CROP_S, ELM_SFREQ
from .eeg_encoder import ELMEncoder

__all__ = [
    "ModelSpec",
    "MODEL_REGISTRY",
    "SUMMARY_COLUMNS",
    "register_in_braindecode",
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
        Whether the class is registered in braindecode's ``models_dict``.
    summary : dict
        The model's row of braindecode's summary table (``Application``,
        ``Type``, ``Sampling Frequency (Hz)``, ``Categorization``, ``Modality``);
        registration adds it to ``braindecode.models.util._summary_table`` so
        braindecode's table-driven checks and docs find the model.
    """

    cls: type
    kwargs: dict[str, Any] = field(default_factory=dict)
    mandatory: tuple[str, ...] = ("n_chans", "n_outputs", "n_times")
    in_braindecode: bool = True
    summary: dict[str, Any] = field(default_factory=dict)


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
}

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
