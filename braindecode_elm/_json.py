"""The one JSON sanitiser of the package (manifests, results files, checkpoints).

Kept at the package root, beside :mod:`braindecode_elm._config`, so every layer
(data, training, evaluation, cli) can use it without importing another layer.
Only numpy is needed; pandas and torch objects are recognised without importing
either.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from typing import Any

import numpy as np

__all__ = ["as_stored", "json_default", "to_jsonable"]


def _is_missing(obj: Any) -> bool:
    # pandas.NA (checked by type name so this module never imports pandas).
    return type(obj).__name__ == "NAType"


def to_jsonable(obj: Any, *, strict: bool = False) -> Any:
    """Convert nested numpy/pandas/path values into JSON-serialisable Python.

    Dicts get string keys, lists/tuples/arrays become lists, numpy scalars
    become Python scalars, NaN and infinities become ``None`` (JSON has no
    such numbers), dates become ISO strings, paths become strings and
    ``pandas.NA`` becomes ``None``.

    Parameters
    ----------
    obj : Any
        The value to convert.
    strict : bool
        Raise ``TypeError`` for a value of another type instead of storing its
        ``str()``.

    Returns
    -------
    Any
        A value :func:`json.dumps` accepts.
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, strict=strict) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), strict=strict)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if obj is None or isinstance(obj, (str, int)):
        return obj
    # pandas.Timestamp is a datetime (and NaT keeps its "NaT" text).
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if _is_missing(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), strict=strict)
    if strict:
        raise TypeError(f"cannot store a {type(obj).__name__} as JSON")
    return str(obj)


def json_default(obj: Any) -> Any:
    """``default=`` hook of :func:`json.dump` for paths, numpy and torch scalars.

    Unlike :func:`to_jsonable` it leaves floats alone (``inf`` stays ``inf``, so
    a state that is written and read back compares equal).

    Raises
    ------
    TypeError
        For a value that is neither a path nor a one-element array or tensor.
    """
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.ndarray) and obj.size != 1:
        return obj.tolist()
    numel = getattr(obj, "numel", None)
    if callable(numel) and numel() != 1:
        raise TypeError(f"cannot store a {type(obj).__name__} of {numel()} elements")
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} as JSON")


def as_stored(obj: Any) -> Any:
    """``obj`` as it reads back from a JSON file (tuples as lists, NaN as None...).

    For comparing fresh values with stored ones: equal values compare equal
    only in the same form.
    """
    return json.loads(json.dumps(to_jsonable(obj), ensure_ascii=False))
