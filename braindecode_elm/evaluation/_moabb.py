"""MOABB's base classes for the evaluation modules, with a clear error without it.

Importing MOABB here, once, gives every MOABB evaluation module the same message
naming the extra to install instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

try:
    from moabb.datasets.base import BaseDataset
    from moabb.paradigms.base import BaseParadigm
except ImportError as _err:  # pragma: no cover - exercised without moabb only
    raise ImportError(
        "MOABB evaluations need MOABB: pip install braindecode-elm[moabb]"
    ) from _err

__all__ = ["BaseDataset", "BaseParadigm"]
