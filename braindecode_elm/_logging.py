"""Logging set-up for the command lines (library modules only call ``getLogger``).

Every module logs through ``logging.getLogger(__name__)`` under the
``braindecode_elm`` logger and never configures handlers, as a library should;
the ``elm`` entry points call :func:`configure_logging` so messages reach the
terminal (stderr) at the level ``-v``/``--quiet`` choose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

__all__ = [
    "configure_logging",
    "plain_warnings",
    "quiet_third_parties",
    "verbosity_level",
]

_HANDLER_FLAG = "_braindecode_elm_cli"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (redirections, pytest)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D401
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def verbosity_level(verbose: int = 0, quiet: bool = False) -> int:
    """The logging level of ``-v`` (repeatable) and ``--quiet``.

    Parameters
    ----------
    verbose : int
        Number of ``-v`` flags: 0 -> INFO, 1 or more -> DEBUG.
    quiet : bool
        Only warnings and errors (wins over ``verbose``).

    Returns
    -------
    int
        A :mod:`logging` level.
    """
    if quiet:
        return logging.WARNING
    return logging.DEBUG if verbose > 0 else logging.INFO


class _ConsoleFormatter(logging.Formatter):
    """Plain messages; warnings and errors start with ``warning:``/``error:``,
    as the console script prints this package's Python warnings."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        if record.levelno >= logging.WARNING:
            return f"warning: {text}"
        return text


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    """Send the package's log records to stderr at ``level`` (idempotent).

    Parameters
    ----------
    level : int
        A :mod:`logging` level.

    Returns
    -------
    logging.Logger
        The ``braindecode_elm`` logger.
    """
    logger = logging.getLogger("braindecode_elm")
    logger.setLevel(level)
    handler = next(
        (h for h in logger.handlers if getattr(h, _HANDLER_FLAG, False)), None
    )
    if handler is None:
        handler = _StderrHandler()
        handler.setFormatter(_ConsoleFormatter("%(message)s"))
        setattr(handler, _HANDLER_FLAG, True)
        logger.addHandler(handler)
    # One handler is enough: records also reaching the root logger would print
    # twice wherever an application configured the root.
    logger.propagate = False
    handler.setLevel(level)
    return logger


def quiet_third_parties(quiet: bool) -> None:
    """Keep other packages' noise that says nothing about this run off stderr.

    Importing Braindecode's model zoo warns that its EEGPT model uses an MNE
    montage name deprecated for MNE 1.14; this package pins ``mne<1.14`` and no
    ``elm`` command uses EEGPT, yet every command printed it. With ``--quiet``
    (no progress bars) the Hugging Face loading bar of the text tower is
    switched off as well.
    """
    warnings.filterwarnings(
        "ignore",
        message=r"Montage name 'standard_1020' is deprecated",
        category=FutureWarning,
        # MNE issues it through its own warn(), which names the module "mne".
        module=r"mne$",
    )
    if quiet:
        # Read by huggingface_hub when it is imported (not yet, at this point
        # of a command-line run); transformers' own switch when it already is.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()


@contextlib.contextmanager
def plain_warnings() -> Iterator[None]:
    """Show this package's warnings as ``warning: <message>`` lines.

    A terminal user of ``elm`` reads what to do, not the file and line of the
    library call that warned (``.../cache_build.py:448: UserWarning:`` followed
    by the source line). Other packages' warnings keep Python's format (they
    may be about this package's use of them). Only the console script uses it:
    replacing ``warnings.showwarning`` inside a test's ``catch_warnings`` would
    keep the warnings from being recorded.
    """
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        # UserWarnings only: a numpy RuntimeWarning raised in the package's code
        # keeps its file and line (the cache's ManifestWarning is both).
        if "braindecode_elm" in str(filename) and issubclass(category, UserWarning):
            (file or sys.stderr).write(f"warning: {message}\n")
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = default
