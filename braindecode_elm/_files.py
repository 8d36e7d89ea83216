"""Files the package writes: permissions as the user's umask asks.

Kept at the package root, beside :mod:`braindecode_elm._json`, so that models
and training can share it without importing each other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["save_safetensors", "umask"]


def umask() -> int:
    """The process's umask, read without changing it where the OS allows."""
    try:
        # Linux >= 4.7 states it; os.umask can only read it by setting it,
        # which another thread creating a file at that moment would see.
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_safetensors(
    tensors: Mapping[str, Any], path: str | os.PathLike, metadata: dict | None = None
) -> None:
    """``safetensors.torch.save_file`` with the permissions of any other file.

    safetensors writes its files readable by their owner only (mode 0600,
    whatever the umask): a bundle shared through a group folder then failed to
    load for everyone else. The file gets ``0666 & ~umask``, as ``open`` gives
    config.json beside it.
    """
    from safetensors.torch import save_file

    save_file(dict(tensors), str(path), metadata=metadata)
    os.chmod(path, 0o666 & ~umask())
