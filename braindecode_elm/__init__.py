"""braindecode-elm: ELM, the EEG-Language Model, for Braindecode and MOABB.

Importing this package is cheap (no torch): the DSP engine in
:mod:`braindecode_elm.dsp` works on its own. The torch-based parts
(:mod:`~braindecode_elm.models`, :mod:`~braindecode_elm.losses`,
:mod:`~braindecode_elm.training`, :mod:`~braindecode_elm.evaluation`) load on first
use. Our EEG models join braindecode's model registry when
:mod:`braindecode_elm.models` is imported, or on an explicit
:func:`braindecode_elm.register_models` call.
"""

from __future__ import annotations

import lazy_loader as _lazy

from . import _rust
from ._config import data_dir

__version__: str = _rust.__version__

# PEP 562 through MNE's lazy_loader: subpackages (and register_models, which
# needs torch) load on first attribute access, so `import braindecode_elm`
# stays torch-free.
__getattr__, __dir__, _ = _lazy.attach(
    __name__,
    submodules=["cli", "data", "dsp", "evaluation", "losses", "models", "training"],
    submod_attrs={"models": ["register_models"]},
)

__all__ = ["__version__", "data_dir", "register_models"]
