"""Bundles shipped inside the package, loadable offline by name.

``ELM.from_pretrained("elm-open-5s")``, ``ELMFeatures("elm-open-5s")`` and
``elm zeroshot --model elm-open-5s`` find the bundle folder through
:func:`resolve_bundle`: an existing folder is used as given; otherwise a name
of :func:`shipped_bundles` maps to ``braindecode_elm/pretrained/<name>``.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

__all__ = [
    "PRETRAINED_DIR",
    "looks_like_repo_id",
    "read_config",
    "resolve_bundle",
    "shipped_bundles",
]

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
    if len(path.parts) != 1 or str(spec) not in shipped_bundles():
        return path
    if (path / "config.json").is_file():
        # A bundle of the shipped name in the working folder (e.g. one saved
        # after recalibrating): the local folder wins, as a path would, but
        # the user learns which one was loaded.
        warnings.warn(
            f"{spec!r}: the folder ./{spec} in the working directory is loaded, "
            f"not the shipped bundle of that name ({PRETRAINED_DIR / str(spec)}); "
            "rename the folder to use the shipped one",
            UserWarning,
            stacklevel=3,
        )
        return path
    if path.exists():
        warnings.warn(
            f"{spec!r}: ./{spec} in the working directory is no bundle (no "
            "config.json); the shipped bundle of that name is loaded",
            UserWarning,
            stacklevel=3,
        )
    return PRETRAINED_DIR / str(spec)


def looks_like_repo_id(name: str) -> bool:
    """True for the Hugging Face Hub's ``"user/name"`` form (one slash, no
    leading ``./``, ``/`` or ``~``, no backslash)."""
    parts = name.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not name.startswith((".", "~"))
        and "\\" not in name
        and all(not p.startswith(".") for p in parts)
    )


def read_config(
    spec: str | os.PathLike, *, hub: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The ``config.json`` of a saved model, or None when there is none to read.

    Parameters
    ----------
    spec : str or path-like
        A folder or a shipped bundle's name (see :func:`resolve_bundle`); with
        ``hub``, also a Hub id (``"user/name"``) that is not a local path.
    hub : dict or None
        ``hf_hub_download`` arguments (``revision``, ``cache_dir``,
        ``local_files_only``, ``token`` ...) to read a Hub id's ``config.json``
        (from the Hugging Face cache when offline); None reads local folders only.

    Returns
    -------
    dict or None
        The config, or None when it is missing, unreadable or not a JSON object
        (the caller's own loading then reports what is wrong).
    """
    folder = resolve_bundle(spec)
    try:
        if folder.is_dir():
            path = folder / "config.json"
        elif hub is not None and not folder.exists() and looks_like_repo_id(str(spec)):
            import huggingface_hub

            path = Path(
                huggingface_hub.hf_hub_download(
                    repo_id=str(spec), filename="config.json", **hub
                )
            )
        else:
            return None
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        # OSError: missing file, Hub/network errors (HTTP and offline errors
        # derive from it); ValueError: bad JSON or text, an invalid repo id.
        return None
    return config if isinstance(config, dict) else None
