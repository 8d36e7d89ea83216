"""Where braindecode-elm finds things on disk (one place, used by every module)."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at the folder holding ``eegmat/`` and ``eegbci/``.
DATA_ENV = "ELM_DATA_DIR"


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder with the shared real EEG data.

    Resolution order: the explicit ``path``; the ``ELM_DATA_DIR`` environment
    variable; the ``ELM_DATA_DIR`` key of MNE's config file (set it once with
    ``mne.set_config("ELM_DATA_DIR", "/path/to/data")``, as for MNE's
    ``MNE_DATASETS_*_PATH`` keys); ``../shared/data`` next to a source
    checkout; ``../shared/data`` relative to the working directory. The folder
    may not exist: callers decide whether to skip, fetch or raise.

    Parameters
    ----------
    path : str | os.PathLike | None
        Explicit location; wins over everything else.

    Returns
    -------
    pathlib.Path
        The resolved (absolute) folder.
    """
    if path is not None:
        return Path(path).expanduser().resolve()
    env = os.environ.get(DATA_ENV) or _mne_config(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[2] / "shared" / "data"
    if checkout.is_dir():
        return checkout
    return (Path.cwd() / ".." / "shared" / "data").resolve()


def _mne_config(key: str) -> str | None:
    """``key`` from MNE's config file (``~/.mne/mne-python.json``), or None."""
    try:
        import mne
    except ImportError:  # pragma: no cover - mne is a dependency
        return None
    value = mne.get_config(key, default=None, use_env=False)
    return str(value) if value else None
