"""Replace generated blocks in README/docs with text produced from results files.

A generated block sits between two HTML comment markers::

    <!-- results:NAME:start -->
    ... generated text, never edited by hand ...
    <!-- results:NAME:end -->

In reStructuredText the markers are written as comments (``.. results:NAME:start``
and ``.. results:NAME:end``), because an HTML comment would be printed. Scripts
that publish numbers (``scripts/demo_tables.py``, the benchmarks) call
:func:`replace_block` so that every figure in README/docs comes from a results file.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["replace_block", "markers"]


def markers(name: str, path: str | Path) -> tuple[str, str]:
    """Start and end marker lines of block ``name`` for the file type of ``path``."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(
            f"block name {name!r}: use letters, digits, '_', '-' or '.' only"
        )
    if Path(path).suffix == ".rst":
        return f".. results:{name}:start", f".. results:{name}:end"
    return f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"


def replace_block(path: str | Path, name: str, text: str) -> bool:
    """Replace the text between the markers of block ``name`` in ``path``.

    Parameters
    ----------
    path : str | Path
        The Markdown or reStructuredText file (``.rst`` uses comment markers).
    name : str
        Block name, as in ``<!-- results:NAME:start -->``.
    text : str
        New content, placed on its own lines between the markers.

    Returns
    -------
    bool
        True when the file changed.

    Raises
    ------
    ValueError
        When the markers are missing, repeated or out of order (the message names
        the file and the marker lines to add).
    """
    path = Path(path)
    start, end = markers(name, path)
    old = path.read_text(encoding="utf-8")
    lines = old.splitlines(keepends=True)
    i_start = [i for i, ln in enumerate(lines) if ln.strip() == start]
    i_end = [i for i, ln in enumerate(lines) if ln.strip() == end]
    if len(i_start) != 1 or len(i_end) != 1 or i_end[0] < i_start[0]:
        raise ValueError(
            f"{path}: expected exactly one {start!r} line followed by one {end!r} "
            f"line (found {len(i_start)} start and {len(i_end)} end markers); add "
            "them around the generated block"
        )
    body = text if text.endswith("\n") else text + "\n"
    if path.suffix == ".rst":
        # A blank line after the start comment and before the end comment keeps
        # the generated text out of the comments.
        body = "\n" + body.strip("\n") + "\n\n"
    new = "".join(lines[: i_start[0] + 1]) + body + "".join(lines[i_end[0] :])
    if new == old:
        return False
    path.write_text(new, encoding="utf-8")
    return True
