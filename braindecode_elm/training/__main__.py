"""``python -m braindecode_elm.training`` (also the torchrun entry point).

Errors end the way they do for ``elm pretrain``: a user mistake in one line
``elm pretrain: error: ...`` with exit status 2, a bug in one line with a hint;
``--debug`` (or ``ELM_DEBUG=1``) shows the traceback instead.
"""

import sys

from braindecode_elm._errors import debug_requested, run_command
from braindecode_elm.training.cli import main

_argv = sys.argv[1:]
raise SystemExit(
    run_command(
        "pretrain",
        lambda: main([a for a in _argv if a != "--debug"]),
        debug=debug_requested(_argv),
    )
)
