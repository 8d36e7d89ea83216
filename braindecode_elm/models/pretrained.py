"""Bundles shipped inside the package, loadable offline by name.

``ELM.from_pretrained("elm-open-5s")``, ``ELMFeatures("elm-open-5s")`` and
``elm zeroshot --model elm-open-5s`` find the bundle folder through
:func:`resolve_bundle`: an existing folder is used as given; otherwise a name
of :func:`shipped_bundles` maps to ``braindecode_elm/pretrained/<name>``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRETRAINED_DIR", "resolve_bundle", "shipped_bundles"]

#: Folder of the bundles that ship with the package.
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def shipped_bundles() -> list[str]:
    """Names of the bundles that ship with the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(
        p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file()
    )


def resolve_bundle(spec: str | os.PathLike) -> Path:
    """The folder of a bundle given as a folder or as a shipped bundle's name.

    Parameters
    ----------
    spec : str or path-like
        A folder written by ``ELM.save_pretrained``, or a shipped name such as
        ``"elm-open-5s"``.

    Returns
    -------
    pathlib.Path
        The folder (a given folder is returned unchanged, even when it does not
        exist, so that the loader names it in its error).
    """
    path = Path(spec)
    if path.exists() or len(path.parts) != 1:
        return path
    if str(spec) in shipped_bundles():
        return PRETRAINED_DIR / str(spec)
    return path
