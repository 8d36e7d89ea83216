"""Argument validators and the one place where command errors become messages.

A user mistake (a bad value, a missing file, a folder that cannot be written)
ends in one line ``elm CMD: error: ...`` and exit status 2, like an argparse
error. Anything else is a bug: it is reported as such on one line with a hint
to rerun with ``--debug``, which shows the traceback.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from collections.abc import Callable

__all__ = [
    "USAGE_ERROR",
    "BUG_ERROR",
    "positive_int",
    "nonnegative_int",
    "positive_float",
    "finite_float",
    "open_fraction",
    "fraction_list",
    "nonempty_str",
    "comma_list",
    "is_user_error",
    "run_command",
]

#: Exit status of a user error (what argparse uses).
USAGE_ERROR = 2
#: Exit status of an unexpected exception (a bug).
BUG_ERROR = 1


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


def _user_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [
        ValueError,  # includes EDFError, ManifestError, SubjectLeakageError
        OSError,  # missing files, read-only or full disks, existing folders
        KeyError,
        ImportError,
        MemoryError,  # an impossible size asked for (the engine names it)
        FloatingPointError,  # training stopped at a non-finite loss
        pickle.UnpicklingError,  # a corrupt or unsafe (code-running) checkpoint
    ]
    # Package errors that are not ValueErrors, if their module was used at all
    # (importing it here would slow down every error message).
    cache = sys.modules.get("braindecode_elm.data.cache")
    if cache is not None and hasattr(cache, "CacheError"):
        types.append(cache.CacheError)
    return tuple(types)


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` reports a mistake in the command's input or environment."""
    if isinstance(err, RuntimeError) and "CUDA is not available" in str(err):
        return True
    return isinstance(err, _user_error_types())


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and len(err.args) == 1:
        text = str(err.args[0])  # str(KeyError) would add quotes
    elif isinstance(err, FileExistsError) and err.filename is not None:
        text = f"{err.filename} already exists and is not a folder that can be used"
    elif isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.strerror}: {err.filename}"
    else:
        text = str(err) or type(err).__name__
    # One line: the first line carries the message, the rest joins with "; ".
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines) if lines else type(err).__name__


def run_command(
    name: str, func: Callable[[], int | None], *, debug: bool = False
) -> int:
    """Run one subcommand and turn its exceptions into one-line messages.

    Parameters
    ----------
    name : str
        Subcommand name, used in the message (``elm NAME: error: ...``).
    func : callable
        The command; returns its exit status (None means 0).
    debug : bool
        Re-raise every exception (full traceback) instead of a message.

    Returns
    -------
    int
        The command's status, 2 for a user error, 1 for a bug.
    """
    try:
        return int(func() or 0)
    except KeyboardInterrupt:
        print(f"elm {name}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as err:
        if debug:
            raise
        if is_user_error(err):
            print(f"elm {name}: error: {_message(err)}", file=sys.stderr)
            return USAGE_ERROR
        print(
            f"elm {name}: internal error (a bug, please report it): "
            f"{type(err).__name__}: {_message(err)}; rerun with --debug for the "
            "traceback",
            file=sys.stderr,
        )
        return BUG_ERROR
