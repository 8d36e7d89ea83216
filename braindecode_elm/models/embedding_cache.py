"""On-disk cache of frozen language-model embeddings (numpy ``.npy``, no pickle).

Pretraining revisits the same report segments every epoch; since the language
model is frozen, each text is embedded once and read back afterwards. Entries are
keyed by everything that changes the vector: model id, revision, pooling,
max_length and the text itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache"]


class EmbeddingCache:
    """A folder of one ``.npy`` file per (model setting, text).

    Parameters
    ----------
    root : str or path-like
        Cache folder (created on first write).
    model_id : str
        Name or path of the language model.
    revision : str
        Revision (hub) or content fingerprint (local folder) of the model.
    pooling : str
        Pooling mode.
    max_length : int
        Tokenizer truncation length.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        model_id: str,
        revision: str,
        pooling: str,
        max_length: int,
    ):
        self.root = Path(root)
        setting = {
            "model_id": model_id,
            "revision": revision,
            "pooling": pooling,
            "max_length": int(max_length),
        }
        blob = json.dumps(setting, sort_keys=True).encode()
        self.setting = setting
        self.folder = self.root / hashlib.sha256(blob).hexdigest()[:24]

    @staticmethod
    def text_key(text: str) -> str:
        """SHA-256 hex digest of ``text`` (UTF-8)."""
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, text: str) -> Path:
        key = self.text_key(text)
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, text: str) -> np.ndarray | None:
        """Cached embedding of ``text`` or None."""
        path = self._path(text)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            # A truncated file from a killed writer: treat as a miss.
            return None

    def put(self, text: str, vector: np.ndarray) -> None:
        """Store ``vector`` for ``text`` atomically (write then rename)."""
        path = self._path(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "setting.json"
        if not meta.exists():
            meta.write_text(json.dumps(self.setting, indent=1, sort_keys=True))
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.ascontiguousarray(vector, dtype=np.float32))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def __len__(self) -> int:
        if not self.folder.is_dir():
            return 0
        return sum(1 for _ in self.folder.glob("*/*.npy"))
