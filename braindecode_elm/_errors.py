"""The one place where command errors become one-line messages.

A user mistake (a bad value, a missing file, a folder that cannot be written)
ends in one line ``elm CMD: error: ...`` and exit status 2, like an argparse
error. Anything else is a bug: it is reported as such on one line with a hint
to rerun with ``--debug`` (or ``ELM_DEBUG=1``), which shows the traceback.

It sits at the package root (standard library only) so that every entry point
uses it: the ``elm`` command and ``python -m braindecode_elm.training`` (the
torchrun entry), which may not import from the CLI layer.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable

__all__ = [
    "USAGE_ERROR",
    "BUG_ERROR",
    "debug_requested",
    "is_user_error",
    "run_command",
]

#: Exit status of a user error (what argparse uses).
USAGE_ERROR = 2
#: Exit status of an unexpected exception (a bug).
BUG_ERROR = 1

#: Exit status when stdout was closed by its reader (128 + SIGPIPE, as a shell
#: reports a tool killed by it).
BROKEN_PIPE = 141


def debug_requested(argv: list[str]) -> bool:
    """Whether ``--debug`` is among ``argv`` or ``ELM_DEBUG`` is set (not 0)."""
    return "--debug" in argv or os.environ.get("ELM_DEBUG", "") not in ("", "0")


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


#: What to do after Ctrl-C, per command (said with "interrupted").
_INTERRUPT_HINTS = {
    "pretrain": "; to continue from the last checkpoint, run the same command "
    "with --resume latest (the steps since that checkpoint are redone)",
}


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
        status = int(func() or 0)
        # Output still buffered goes out here, where a closed pipe is caught,
        # not at interpreter exit (which would end with status 120).
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        hint = _INTERRUPT_HINTS.get(name, "")
        print(f"elm {name}: interrupted{hint}", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except BrokenPipeError as err:
        if debug or not _stdout_gone():
            # Another pipe (a worker, a socket): an error like any other.
            return _report(name, err, debug)
        # The reader of stdout went away (``elm ... | head``): stop quietly, as
        # Unix tools do, and keep Python's exit-time flush from failing again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return BROKEN_PIPE
    except Exception as err:
        return _report(name, err, debug)


def _report(name: str, err: Exception, debug: bool) -> int:
    """One line for an exception (re-raised with ``debug``); the exit status."""
    if debug:
        raise err
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


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone (POLLERR on its fd)."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        # No poll (Windows) or no real stdout: take the broken pipe for it.
        return True
