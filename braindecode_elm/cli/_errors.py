"""Argument validators of the ``elm`` command, and its error handler.

The handler (:func:`run_command`: user mistakes end in one line
``elm CMD: error: ...`` with exit status 2, bugs in one line with a hint to
rerun with ``--debug``) lives in :mod:`braindecode_elm._errors` and is
re-exported here.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

# The handler lives at the package root so that the training entry point (which
# may not import the CLI layer) uses the same one.
from .._errors import BUG_ERROR, USAGE_ERROR, is_user_error, run_command

__all__ = [
    "USAGE_ERROR",
    "BUG_ERROR",
    "positive_int",
    "nonnegative_int",
    "positive_float",
    "nonnegative_float",
    "finite_float",
    "open_fraction",
    "fraction_list",
    "nonempty_str",
    "comma_list",
    "is_user_error",
    "run_command",
]


def _number(kind: Callable[[str], float | int], text: str, what: str) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Argparse type: an integer >= 1."""
    value = int(_number(int, text, "a positive integer"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """Argparse type: an integer >= 0."""
    value = int(_number(int, text, "an integer >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """Argparse type: a finite number (no nan/inf)."""
    return float(_number(float, text, "a finite number"))


def positive_float(text: str) -> float:
    """Argparse type: a finite number > 0."""
    value = float(_number(float, text, "a finite number > 0"))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def positive_float_or_none(text: str) -> float | None:
    """Argparse type: a finite number > 0, or ``none`` (no limit)."""
    if text.strip().lower() == "none":
        return None
    return positive_float(text)


def nonnegative_float(text: str) -> float:
    """Argparse type: a finite number >= 0."""
    value = float(_number(float, text, "a finite number >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def open_fraction(text: str) -> float:
    """Argparse type: a number strictly between 0 and 1."""
    value = float(_number(float, text, "a number between 0 and 1"))
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a number between 0 and 1 (exclusive), got {text!r}"
        )
    return value


def fraction_list(text: str) -> list[float]:
    """Argparse type: comma-separated label fractions, each in (0, 1]."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    try:
        values = [float(t) for t in items]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated fractions in (0, 1], e.g. 0.1,1, got {text!r}"
        )
    return values


def nonempty_str(text: str) -> str:
    """Argparse type: a string that is not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def comma_list(text: str) -> str:
    """Argparse type: a comma-separated list with at least one item (kept as
    text; the command splits it)."""
    if not [t for t in text.split(",") if t.strip()]:
        raise argparse.ArgumentTypeError(
            f"must be a comma-separated list of at least one item, got {text!r}"
        )
    return text
