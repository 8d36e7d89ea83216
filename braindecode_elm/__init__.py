"""braindecode-elm: ELM, the EEG-Language Model, for Braindecode and MOABB.

Importing this package is cheap (no torch): the DSP engine in
:mod:`braindecode_elm.dsp` works on its own. The torch-based parts
(:mod:`~braindecode_elm.models`, :mod:`~braindecode_elm.losses`,
:mod:`~braindecode_elm.training`, :mod:`~braindecode_elm.evaluation`) load on first
use. Our models are registered in braindecode's model registry as soon as
``braindecode.models`` is imported (see :func:`braindecode_elm.register_models`).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import _rust
from ._config import data_dir
from ._registration import install_registration_hook, register_models

__version__: str = _rust.__version__

__all__ = ["__version__", "data_dir", "register_models"]

_LAZY = {"dsp", "data", "models", "losses", "training", "evaluation", "cli"}


def __getattr__(name: str) -> Any:
    # PEP 562: subpackages load on first attribute access so `import braindecode_elm`
    # stays torch-free.
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


install_registration_hook()
