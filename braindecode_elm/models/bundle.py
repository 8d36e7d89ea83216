"""The ``ELM`` bundle: EEG tower, text tower reference, projections, prompts."""

from __future__ import annotations

import importlib
import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import eeg_encoder as _eeg_encoder_module
from ._digest import keeps_torch_rng
from .eeg_encoder import ELMEncoder, _with_new_head
from .model_card import ModelCard, write_model_card
from .projection import TextProjection
from .text_encoder import KNOWN_DIMS, MINILM_ALIAS, TextEncoder

__all__ = [
    "ELM",
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "FORMAT_VERSION",
    "check_prompt_offsets",
    "ModelCard",
    "write_model_card",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 1


def _activation_name(cls: type[nn.Module]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _resolve_activation(name: str) -> type[nn.Module]:
    # Only torch.nn classes: a config file must not be able to import arbitrary code.
    module, _, attr = name.rpartition(".")
    if not module.startswith("torch.nn"):
        raise ValueError(
            f"activation {name!r} is not a torch.nn class; only torch.nn activations "
            "can be restored from a config"
        )
    cls = getattr(importlib.import_module(module), attr, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"activation {name!r} does not name a torch.nn.Module class")
    return cls


def _check_json(obj: Any, what: str) -> None:
    try:
        json.dumps(obj)
    except TypeError as err:
        raise TypeError(f"{what} must be JSON-serialisable: {err}") from err


#: Top-level keys of a bundle's config.json (what :meth:`ELM.config` writes).
_CONFIG_KEYS = frozenset(
    {
        "format_version",
        "model_type",
        "eeg_encoder",
        "text_model",
        "text_projection",
        "temperature",
        "prompt_sets",
        "prompt_offsets",
        "has_text_head",
    }
)


def check_prompt_set(prompts: Any, what: str) -> dict[str, list[str]]:
    """Validate one prompt set ``{class: [prompt, ...]}``.

    Parameters
    ----------
    prompts : Any
        The set as read (from a bundle's ``config.json`` or a prompts file).
    what : str
        Where it comes from, for the error (``"config.json prompt_sets['x']"``).

    Returns
    -------
    dict
        Class name -> list of prompts (copies).

    Raises
    ------
    ValueError
        When it is not a mapping of classes to non-empty lists of non-empty
        strings (a string in place of the list would be read letter by letter).
    """
    shape = "{class: [prompt, ...]}"
    if not isinstance(prompts, Mapping) or not prompts:
        raise ValueError(
            f"{what} must be a non-empty mapping {shape}, got {type(prompts).__name__}"
        )
    out: dict[str, list[str]] = {}
    for cls, phrases in prompts.items():
        if not isinstance(phrases, (list, tuple)) or not phrases:
            raise ValueError(
                f"{what}: class {cls!r} must have a non-empty list of prompts, got "
                f"{type(phrases).__name__} {phrases!r}"[:300]
            )
        bad = [p for p in phrases if not isinstance(p, str) or not p.strip()]
        if bad:
            raise ValueError(
                f"{what}: class {cls!r} has prompts that are not non-empty text: "
                f"{bad!r}"[:300]
            )
        out[str(cls)] = list(phrases)
    return out


def check_prompt_offsets(
    offsets: Any, prompt_sets: Mapping[str, Any]
) -> dict[str, dict[str, float]]:
    """Validate zero-shot class offsets against the prompt sets they belong to.

    Parameters
    ----------
    offsets : mapping or None
        Set name -> class name -> offset (cosine units), as computed by
        :func:`~braindecode_elm.evaluation.zeroshot.calibrate_offsets`.
    prompt_sets : mapping
        The bundle's prompt sets (set name -> class name -> prompts).

    Returns
    -------
    dict
        The offsets as plain floats, each set's classes in the prompt set's order.

    Raises
    ------
    ValueError
        When a set is not one of ``prompt_sets``, its classes are not exactly the
        set's classes, or a value is not a finite number.
    """
    fix = (
        "recompute them with braindecode_elm.evaluation.zeroshot.calibrate_bundle "
        "(or drop them from prompt_offsets)"
    )
    if offsets is None:
        return {}
    if not isinstance(offsets, Mapping):
        raise ValueError(
            "prompt_offsets must be a mapping {prompt set: {class: offset}}, got "
            f"{type(offsets).__name__}; {fix}"
        )
    out: dict[str, dict[str, float]] = {}
    for name, per_class in offsets.items():
        if name not in prompt_sets:
            raise ValueError(
                f"prompt_offsets names the prompt set {name!r}, which is not one of "
                f"the bundle's prompt sets {sorted(prompt_sets)}: offsets belong to "
                f"a prompt set of the bundle; {fix}"
            )
        prompts = prompt_sets[name]
        classes = [str(c) for c in prompts] if isinstance(prompts, Mapping) else []
        if not isinstance(per_class, Mapping):
            raise ValueError(
                f"prompt_offsets[{name!r}] must be a mapping {{class: offset}}, got "
                f"{type(per_class).__name__}; {fix}"
            )
        got = [str(c) for c in per_class]
        if sorted(got) != sorted(classes) or len(set(got)) != len(got):
            missing = sorted(set(classes) - set(got))
            extra = sorted(set(got) - set(classes))
            raise ValueError(
                f"prompt_offsets[{name!r}] has classes {got} but the prompt set "
                f"{name!r} has classes {classes} (missing {missing}, not in the set "
                f"{extra}): give exactly one offset per class of the set; {fix}"
            )
        values: dict[str, float] = {}
        for cls in classes:
            value = per_class[cls]
            ok = isinstance(value, (int, float, np.integer, np.floating))
            if (
                not ok
                or isinstance(value, (bool, np.bool_))
                or not math.isfinite(float(value))
            ):
                raise ValueError(
                    f"prompt_offsets[{name!r}][{cls!r}] = {value!r} is not a finite "
                    f"number; {fix}"
                )
            values[cls] = float(value)
        out[str(name)] = values
    return out


def _check_weight_shapes(path: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """Compare a safetensors file's header with the expected shapes (no tensor
    is read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError) as err:
        if path.is_file() and not os.access(path, os.R_OK):
            # safetensors says "No such file or directory" for a file it may
            # not read.
            raise PermissionError(
                f"{path} cannot be read: permission denied (its mode is "
                f"{path.stat().st_mode & 0o777:o}); ask its owner to make it "
                "readable (chmod a+r)"
            ) from err
        raise ValueError(f"{path} is not a readable safetensors file: {err}") from err
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    bad = [
        f"{k}: file {found[k]} vs model {expected[k]}"
        for k in expected
        if k in found and found[k] != expected[k]
    ]
    if missing or unexpected or bad:
        raise ValueError(
            f"weights in {path} do not match its config: missing keys "
            f"{missing}, unexpected keys {unexpected}, shape mismatches {bad}"
        )


def _check_elm_units(x: torch.Tensor, n_chans: int | None = None) -> None:
    """Refuse NaN or infinite input (its amplitude is checked by the tower's
    input check, which warns on volts or microvolts given as ELM units)."""
    if x.dim() != 3 or (n_chans is not None and x.shape[1] != n_chans):
        # The tower's own shape error says what it expects.
        return
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).flatten(1).any(1).sum())
        raise ValueError(
            f"embed_eeg: x has NaN or infinite values in {bad} of {len(x)} windows; "
            "drop or interpolate them first"
        )


def _derived_card(text: str) -> str:
    """A loaded bundle's card, saved with weights that may have changed since.

    The card keeps the data's licence and attribution with the weights; a note
    says that its figures are the loaded bundle's (after a recalibration or
    fine-tuning they are not these weights'). The note goes after a Hugging
    Face front matter, which must stay first.
    """
    note = (
        "> Saved from a loaded bundle: the card below is that bundle's. Its data, "
        "licence and attribution apply to these weights; its figures are the "
        "loaded bundle's, not necessarily these weights' (recalibrated or "
        "fine-tuned since?).\n\n"
    )
    if note in text:
        return text
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            cut = (
                text.index("\n", end + 4) + 1 if "\n" in text[end + 4 :] else len(text)
            )
            return text[:cut] + "\n" + note + text[cut:]
    return note + text


#: Model-card files a loaded bundle carries over to ``save_pretrained``.
_CARD_FILES = ("README.md", "MODEL_CARD.md")


class ELM(nn.Module):
    """ELM: EEG tower + text tower reference + projections + temperature + prompts.

    ``embed_eeg`` and ``embed_text`` map EEG windows and texts into the shared
    256-d space (L2-normalised), so cosine similarity / temperature gives the
    zero-shot and retrieval scores.

    The (frozen, public) language model is referenced by name and revision, not
    stored: it is kept outside this module's parameters and state dict (so it is
    never saved, and ``DistributedDataParallel`` does not see it) and is loaded on
    first use of :meth:`embed_text`.

    Parameters
    ----------
    eeg_encoder : ELMEncoder or None
        EEG tower; None builds the paper's default 5 s tower.
    text_encoder : TextEncoder or None
        Language model wrapper; None creates one lazily from ``text_model``.
    text_projection : TextProjection or None
        Trained text projection; None builds ``TextProjection(text_dim)``.
    temperature : float
        Softmax temperature of the similarity scores (0.3 in the paper).
    prompt_sets : dict or None
        Named prompt sets for zero-shot classification, e.g.
        ``{"tuab": {"normal": [...], "abnormal": [...]}}``; stored in the config.
    text_model : str or dict or None
        Name/path of the language model (``"minilm"``, ``"medcpt"``, hub name or
        folder), or a dict of :class:`TextEncoder` arguments (as saved by
        :meth:`save_pretrained`). Ignored when ``text_encoder`` is given; defaults
        to ``"minilm"``.
    text_dim : int or None
        Language-model feature size; inferred from the text model when None.
    has_text_head : bool
        False for bundles whose text projection was never trained, such as one
        converted from the official ELM release (which ships only the EEG tower):
        :meth:`embed_text` then raises instead of returning meaningless
        embeddings, so zero-shot classification and retrieval refuse to run.
    prompt_offsets : dict or None
        Class offsets of zero-shot classification per prompt set, e.g.
        ``{"tuab": {"normal": 0.12, "abnormal": 0.08}}``: zero-shot predicts the
        class with the largest cosine similarity minus its offset. Computed from
        the bundle's own labelled pretraining windows
        (:func:`~braindecode_elm.evaluation.zeroshot.calibrate_bundle`), never
        from test data; stored in the config. Every set must be one of
        ``prompt_sets`` with exactly its classes and finite values.

    Raises
    ------
    ValueError
        For a temperature that is not finite and positive, or offsets that do not
        match the prompt sets.
    """

    def __init__(
        self,
        eeg_encoder: ELMEncoder | None = None,
        text_encoder: TextEncoder | None = None,
        text_projection: TextProjection | None = None,
        temperature: float = 0.3,
        prompt_sets: dict[str, Any] | None = None,
        text_model: str | dict[str, Any] | None = None,
        *,
        text_dim: int | None = None,
        has_text_head: bool = True,
        prompt_offsets: dict[str, dict[str, float]] | None = None,
    ):
        super().__init__()
        if not (math.isfinite(float(temperature)) and float(temperature) > 0):
            raise ValueError(f"temperature must be finite and > 0, got {temperature!r}")
        self.eeg_encoder = eeg_encoder if eeg_encoder is not None else ELMEncoder()
        if text_encoder is not None:
            spec = text_encoder.spec()
        elif isinstance(text_model, dict):
            spec = dict(text_model)
        else:
            # The full reference (a local folder made absolute, its fingerprint):
            # building a TextEncoder reads no weights.
            spec = TextEncoder(text_model or MINILM_ALIAS).spec()
        self.text_model: dict[str, Any] = spec
        # Kept out of the module tree on purpose (see class docstring).
        self.__dict__["_text_encoder"] = text_encoder
        if text_projection is None:
            if text_dim is None:
                text_dim = self._infer_text_dim()
            text_projection = TextProjection(int(text_dim))
        elif text_dim is not None and text_dim != text_projection.in_dim:
            raise ValueError(
                f"text_dim={text_dim} but text_projection.in_dim="
                f"{text_projection.in_dim}"
            )
        self.text_projection = text_projection
        self.temperature = float(temperature)
        prompt_sets = {} if prompt_sets is None else dict(prompt_sets)
        _check_json(prompt_sets, "prompt_sets")
        for name, prompts in prompt_sets.items():
            check_prompt_set(prompts, f"prompt_sets[{name!r}]")
        self.prompt_sets: dict[str, Any] = prompt_sets
        self.prompt_offsets: dict[str, dict[str, float]] = check_prompt_offsets(
            prompt_offsets, prompt_sets
        )
        self.has_text_head = bool(has_text_head)

    def set_prompt_offsets(self, name: str, offsets: Mapping[str, float]) -> None:
        """Attach (validated) zero-shot class offsets to one of the prompt sets.

        Parameters
        ----------
        name : str
            A key of :attr:`prompt_sets`.
        offsets : mapping
            Class name -> offset (cosine units), one per class of the set.

        Raises
        ------
        ValueError
            When ``name`` is not a prompt set of the bundle, the classes differ
            from the set's, or a value is not finite.
        """
        checked = check_prompt_offsets({name: offsets}, self.prompt_sets)
        self.prompt_offsets = {**self.prompt_offsets, **checked}

    # -- text tower ------------------------------------------------------------
    def _infer_text_dim(self) -> int:
        enc = self.__dict__["_text_encoder"]
        if enc is not None:
            return enc.dim
        name = str(self.text_model.get("model_id", self.text_model["name_or_path"]))
        if name.lower() in KNOWN_DIMS:
            return KNOWN_DIMS[name.lower()]
        if name in KNOWN_DIMS:
            return KNOWN_DIMS[name]
        return self.text_encoder.dim

    @property
    def text_encoder(self) -> TextEncoder:
        """The text tower (created from ``text_model`` on first access)."""
        enc = self.__dict__["_text_encoder"]
        if enc is None:
            spec = self.text_model
            enc = TextEncoder(
                spec["name_or_path"],
                pooling=spec.get("pooling"),
                max_length=spec.get("max_length"),
                segment_mode=spec.get("segment_mode", "sentence"),
                revision=spec.get("revision")
                if not str(spec.get("revision", "")).startswith("local-")
                else None,
            )
            stored = str(spec.get("revision", ""))
            # Only for a folder the user named: the shipped MiniLM and a MedCPT
            # copy (ELM_MEDCPT_PATH, or the Hub cache elsewhere) are the same
            # model whatever their folder's other files.
            own_folder = Path(str(spec["name_or_path"])).is_dir()
            if own_folder and stored.startswith("local-") and enc.revision != stored:
                import warnings

                # The text projection was trained on the features of the model
                # with the stored fingerprint; another one gives other features.
                warnings.warn(
                    f"the text model {spec['name_or_path']!r} is not the one this "
                    f"bundle was trained with (fingerprint {enc.revision}, trained "
                    f"with {stored}): zero-shot and retrieval scores may be wrong; "
                    "use the original model folder (or package version)",
                    UserWarning,
                    stacklevel=2,
                )
            self.__dict__["_text_encoder"] = enc
        return enc

    @text_encoder.setter
    def text_encoder(self, enc: TextEncoder) -> None:
        if not isinstance(enc, TextEncoder):
            raise TypeError(f"text_encoder must be a TextEncoder, got {type(enc)}")
        self.__dict__["_text_encoder"] = enc
        self.text_model = enc.spec()

    def __setattr__(self, name: str, value: Any) -> None:
        # nn.Module.__setattr__ would register a TextEncoder as a submodule and
        # bypass the property; route it to the setter instead.
        if name == "text_encoder":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # -- embedding -------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.text_projection.parameters()).device

    def embed_eeg(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """L2-normalised EEG embeddings.

        Like a module's forward (and open_clip's ``encode_image``) it keeps the
        autograd graph: embed under ``torch.no_grad()`` for inference. In eval
        mode the input is checked first: NaN or infinite values are refused, and
        signals below 0.01 uV rms (volts or microvolts where ELM units are
        expected) give a warning, since they embed to nearly one vector, and
        so do signals above 60 uV rms (median over channels: microvolts given
        as ELM units, which are microvolts / 10).

        Parameters
        ----------
        x : torch.Tensor or numpy.ndarray
            EEG windows (N, 20, T) in ELM units, volts x 1e5, as
            ``braindecode_elm.dsp.preprocess(..., recipe="elm")`` returns them
            (float16 arrays are converted).

        Returns
        -------
        torch.Tensor
            (N, 256) unit-norm embeddings.
        """
        ref = next(self.eeg_encoder.parameters())
        if not torch.is_tensor(x):
            x = np.asarray(x)
            if not x.flags.writeable:
                # A read-only array (a cache's memory map): torch would warn
                # that writing to the tensor is undefined; a copy is cheap.
                x = x.copy()
        x = torch.as_tensor(x)
        x = x.to(device=ref.device, dtype=ref.dtype)
        if not self.training:
            _check_elm_units(x, getattr(self.eeg_encoder, "n_chans", None))
        emb = self.eeg_encoder(x, return_features=True)["embedding"]
        return F.normalize(emb, dim=-1)

    def _require_text_head(self) -> None:
        if not self.has_text_head:
            raise ValueError(
                "this ELM bundle has no trained text head (e.g. it was converted "
                "from the official ELM release, which ships only the EEG tower): "
                "zero-shot classification and text retrieval need a bundle "
                "pretrained with text (elm pretrain); EEG embeddings (embed_eeg, "
                "ELMFeatures, linear probes) work"
            )

    def embed_text_features(self, feats: torch.Tensor) -> torch.Tensor:
        """Project precomputed language-model features, L2-normalised.

        Parameters
        ----------
        feats : torch.Tensor
            (M, text_dim) features from :meth:`TextEncoder.encode`.

        Returns
        -------
        torch.Tensor
            (M, 256) unit-norm embeddings.
        """
        self._require_text_head()
        ref = next(self.text_projection.parameters())
        feats = feats.to(device=ref.device, dtype=ref.dtype)
        return F.normalize(self.text_projection(feats), dim=-1)

    def embed_text(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Embed texts with the text tower and projection, L2-normalised.

        As :meth:`embed_eeg`, it keeps the autograd graph of the (trainable)
        projection, the frozen language model's features carry none: embed
        under ``torch.no_grad()`` for inference (the evaluation functions do).

        Parameters
        ----------
        texts : list of str
            Texts to embed.
        batch_size : int
            Language-model batch size.

        Returns
        -------
        torch.Tensor
            (M, 256) unit-norm embeddings.
        """
        self._require_text_head()  # before loading the language model
        enc = self.text_encoder.to(self._device())
        return self.embed_text_features(enc.encode(texts, batch_size=batch_size))

    def similarity(self, eeg_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """Temperature-scaled cosine similarities (N, M)."""
        return (
            F.normalize(eeg_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T
        ) / self.temperature

    # -- persistence -----------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The JSON config written by :meth:`save_pretrained`."""
        enc = self.eeg_encoder
        eeg_kwargs: dict[str, Any] = {
            "n_outputs": enc._n_outputs,
            # The resolved count: an encoder built from chs_info has _n_chans None,
            # and rebuilding it without chs_info would give the 20-channel default.
            "n_chans": enc.n_chans,
            "n_times": enc._n_times,
            "sfreq": enc._sfreq,
            "variant": enc.variant,
            "drop_prob": enc.drop_prob,
        }
        eeg_kwargs["n_filters"] = enc.n_filters
        eeg_kwargs["activation"] = _activation_name(enc.activation)
        proj = self.text_projection
        return {
            "format_version": FORMAT_VERSION,
            "model_type": "elm",
            "eeg_encoder": {"class": type(enc).__name__, "kwargs": eeg_kwargs},
            "text_model": self._text_spec(),
            "text_projection": {
                "in_dim": proj.in_dim,
                "hidden": proj.hidden,
                "out_dim": proj.out_dim,
            },
            "temperature": self.temperature,
            "prompt_sets": self.prompt_sets,
            # Validated again: the dict may have been edited after construction.
            "prompt_offsets": check_prompt_offsets(
                self.prompt_offsets, self.prompt_sets
            ),
            "has_text_head": self.has_text_head,
        }

    def _text_spec(self) -> dict[str, Any]:
        enc = self.__dict__["_text_encoder"]
        return enc.spec() if enc is not None else dict(self.text_model)

    def _state_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for prefix, mod in (
            ("eeg_encoder.", self.eeg_encoder),
            ("text_projection.", self.text_projection),
        ):
            for k, v in mod.state_dict().items():
                out[prefix + k] = v
        return out

    def weights(self) -> dict[str, torch.Tensor]:
        """Tensors saved by :meth:`save_pretrained` (EEG tower + text projection)."""
        out = {}
        for prefix, mod in (
            ("eeg_encoder.", self.eeg_encoder),
            ("text_projection.", self.text_projection),
        ):
            for k, v in mod.state_dict().items():
                out[prefix + k] = v.detach().cpu().contiguous()
        return out

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        model_card: ModelCard | None = None,
    ) -> Path:
        """Write ``model.safetensors`` and ``config.json`` to a folder.

        Parameters
        ----------
        save_directory : str or path-like
            Target folder (created if needed).
        model_card : ModelCard or None
            If given, also write it as ``README.md`` (training data and subjects,
            preprocessing recipe, metrics over seeds, licence, citation and the
            bundle's prompt sets); see
            :func:`~braindecode_elm.models.model_card.write_model_card`. If not,
            a bundle loaded with :meth:`from_pretrained` writes the card files
            it was loaded with (``README.md``, ``MODEL_CARD.md``) where the
            folder has none, so that its licence and attribution stay with
            the weights.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        from .._files import save_safetensors

        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        config = self.config()
        _check_json(config, "ELM config")
        save_safetensors(
            self.weights(), folder / WEIGHTS_NAME, metadata={"format": "pt"}
        )
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True))
        if model_card is not None:
            write_model_card(folder, model_card, model=self)
        else:
            # A loaded bundle saved again (e.g. after calibrate_bundle) keeps its
            # card, which states the data's licence and attribution.
            for name, text in getattr(self, "_cards", {}).items():
                if not (folder / name).exists():
                    (folder / name).write_text(_derived_card(text), encoding="utf-8")
        return folder

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ELM:
        """Build an (untrained) bundle from a config dict."""
        version = config.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported ELM config format_version {version!r} (this version "
                f"reads {FORMAT_VERSION})"
            )
        if config.get("model_type", "elm") != "elm":
            raise ValueError(
                f"model_type {config.get('model_type')!r} is not an ELM bundle's "
                "('elm')"
            )
        eeg = config["eeg_encoder"]
        if eeg.get("class") != "ELMEncoder":
            raise ValueError(f"unknown EEG encoder class {eeg.get('class')!r}")
        kwargs = dict(eeg["kwargs"])
        kwargs["activation"] = _resolve_activation(kwargs["activation"])
        proj = config["text_projection"]
        head = config.get("has_text_head", True)
        if not isinstance(head, bool):
            # bool("false") is True: a hand-edited string must not flip it.
            raise ValueError(
                f"has_text_head must be true or false (JSON booleans), got {head!r}"
            )
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            # A newer writer's keys, or a typo: this version ignores them.
            warnings.warn(
                f"ELM config keys {unknown} are not read by this version and are "
                f"ignored (known: {sorted(_CONFIG_KEYS)})",
                UserWarning,
                stacklevel=3,
            )
        return cls(
            eeg_encoder=ELMEncoder(**kwargs),
            text_projection=TextProjection(
                proj["in_dim"], hidden=proj["hidden"], out_dim=proj["out_dim"]
            ),
            temperature=config["temperature"],
            prompt_sets=config.get("prompt_sets"),
            text_model=config["text_model"],
            has_text_head=head,
            # Bundles written before offsets existed have no key: no offsets.
            prompt_offsets=config.get("prompt_offsets"),
        )

    @classmethod
    @keeps_torch_rng
    def from_pretrained(
        cls,
        directory: str | os.PathLike,
        *,
        text_encoder: TextEncoder | None = None,
        map_location: str | torch.device = "cpu",
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
    ) -> ELM:
        """Load a bundle from a folder or the Hugging Face Hub (strict, no pickle).

        Parameters
        ----------
        directory : str or path-like
            A folder with ``config.json`` and ``model.safetensors`` (as written by
            :meth:`save_pretrained`), the name of a bundle shipped with the
            package (``"elm-open-5s"``, offline; see
            :func:`~braindecode_elm.models.pretrained.shipped_bundles`), or a Hub
            repository id such as ``"user/elm-open-5s"``. A repository is read
            from the local Hugging Face cache when it is there (with
            ``HF_HUB_OFFLINE=1`` only from the cache), else downloaded.
        text_encoder : TextEncoder or None
            Use this text tower instead of creating one from the saved reference.
        map_location : str or torch.device
            Device for the weights.
        revision : str or None
            Hub branch, tag or commit (Hub ids only).
        cache_dir : str or path-like or None
            Hugging Face cache folder (Hub ids only; default the standard cache).
        local_files_only : bool
            Never download (Hub ids only).
        token : str or bool or None
            Hub token for private repositories (Hub ids only).

        Returns
        -------
        ELM
            The bundle, in eval mode.

        Raises
        ------
        FileNotFoundError
            If a file is missing.
        ValueError
            If the weights do not match the config (missing/unexpected keys or
            shapes, all named).
        """
        from safetensors.torch import load_file

        folder = _bundle_folder(
            directory,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
        cfg_path, w_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for p in (cfg_path, w_path):
            if not p.is_file():
                from .pretrained import shipped_bundles

                raise FileNotFoundError(
                    f"{p} not found: {folder} is not an ELM bundle written by "
                    "ELM.save_pretrained, nor the name of a bundle shipped with "
                    f"the package ({', '.join(shipped_bundles()) or 'none'})"
                )
        try:
            config = json.loads(cfg_path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{cfg_path} is not a JSON config: {err}") from err
        if not isinstance(config, dict):
            raise ValueError(f"{cfg_path} must hold a JSON object")
        # Compare the config's shapes with the file's header before anything is
        # allocated: a config asking for a huge layer must not allocate it. The
        # model is built on the meta device (shapes only, no memory) for this.
        try:
            with torch.device("meta"):
                shapes = {
                    k: tuple(v.shape)
                    for k, v in cls.from_config(config)._state_tensors().items()
                }
        except (KeyError, TypeError) as err:
            raise ValueError(
                f"{cfg_path} is not a valid ELM config ({type(err).__name__}: {err})"
            ) from err
        except ValueError as err:
            raise ValueError(f"{cfg_path}: {err}") from err
        _check_weight_shapes(w_path, shapes)
        model = cls.from_config(config)
        if text_encoder is not None:
            model.text_encoder = text_encoder
        state = load_file(str(w_path), device=str(map_location))
        bad_values = [
            k
            for k, v in state.items()
            if v.is_floating_point() and not bool(torch.isfinite(v).all())
        ]
        if bad_values:
            raise ValueError(
                f"weights in {w_path} hold NaN or Inf values in {bad_values[:10]}"
                f"{' ...' if len(bad_values) > 10 else ''}; the bundle is corrupt "
                "(e.g. saved after a diverged training run): use an earlier "
                "checkpoint"
            )
        for prefix, mod in (
            ("eeg_encoder.", model.eeg_encoder),
            ("text_projection.", model.text_projection),
        ):
            sub = {
                k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)
            }
            mod.load_state_dict(sub, strict=True)
        # The model card travels with the weights (it carries the data's
        # licence and attribution, e.g. ODC-By for elm-open-5s): kept for
        # save_pretrained.
        model._cards = {
            name: (folder / name).read_text(encoding="utf-8")
            for name in _CARD_FILES
            if (folder / name).is_file()
        }
        return model.to(map_location).eval()

    def push_to_hub(
        self,
        repo_id: str,
        *,
        model_card: ModelCard | None = None,
        commit_message: str = "Upload ELM bundle",
        private: bool | None = None,
        token: str | None = None,
        revision: str | None = None,
    ) -> str:
        """Upload the bundle (``save_pretrained`` folder) to the Hugging Face Hub.

        Parameters
        ----------
        repo_id : str
            Target repository, e.g. ``"user/elm-open-5s"`` (created if needed).
        model_card : ModelCard or None
            Written as the repository's ``README.md``.
        commit_message : str
            Commit message on the Hub.
        private : bool or None
            Visibility of a newly created repository.
        token : str or None
            Hub token (default: the logged-in user's).
        revision : str or None
            Branch to push to.

        Returns
        -------
        str
            URL of the commit.
        """
        import tempfile

        try:
            from huggingface_hub import HfApi
        except ImportError as err:  # pragma: no cover - installed with braindecode
            raise ImportError(
                "ELM.push_to_hub needs huggingface_hub: pip install huggingface_hub"
            ) from err
        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp, model_card=model_card)
            info = api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                commit_message=commit_message,
                revision=revision,
                repo_type="model",
            )
        return str(getattr(info, "commit_url", info))


def bundle_eeg_tower(
    folder: str | os.PathLike,
    *,
    n_outputs: int | None = None,
    drop_prob: float | None = None,
    map_location: str | torch.device = "cpu",
    **hub: Any,
) -> ELMEncoder:
    """The EEG tower of an ELM bundle, optionally with a new classification head.

    Parameters
    ----------
    folder : str or path-like
        A bundle folder, a shipped bundle's name or a Hub repository id (see
        :meth:`ELM.from_pretrained`, which validates the weights).
    n_outputs : int or None
        Add a freshly initialised ``final_layer`` with this many outputs.
    drop_prob : float or None
        Dropout before the head (default the bundle's).
    map_location : str or torch.device
        Device for the weights.
    **hub
        ``revision``, ``cache_dir``, ``local_files_only``, ``token`` for a Hub id
        (passed to :meth:`ELM.from_pretrained`).

    Returns
    -------
    ELMEncoder
        The pretrained tower (every weight but the new head), in eval mode.
    """
    tower = ELM.from_pretrained(folder, map_location=map_location, **hub).eeg_encoder
    if n_outputs is None and drop_prob is None:
        return tower
    changes = {} if drop_prob is None else {"drop_prob": drop_prob}
    return _with_new_head(tower, n_outputs, **changes)


# ELMEncoder.from_pretrained hands ELM bundles to this (see eeg_encoder).
_eeg_encoder_module._bundle_tower_loader = bundle_eeg_tower


def _bundle_folder(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None,
    cache_dir: str | os.PathLike | None,
    local_files_only: bool,
    token: str | bool | None,
) -> Path:
    """A local folder as is; a shipped bundle's name (``"elm-open-5s"``) as its
    folder inside the package; a Hub id resolved through the Hugging Face cache."""
    from .pretrained import looks_like_repo_id, resolve_bundle

    folder = resolve_bundle(name_or_path)
    if folder.exists() or not looks_like_repo_id(str(name_or_path)):
        return folder
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as err:  # pragma: no cover - installed with braindecode
        raise ImportError(
            f"{name_or_path!r} is not a folder; loading it from the Hugging Face Hub "
            "needs huggingface_hub: pip install huggingface_hub"
        ) from err
    try:
        path = snapshot_download(
            str(name_or_path),
            revision=revision,
            cache_dir=None if cache_dir is None else str(cache_dir),
            local_files_only=local_files_only,
            token=token,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, "README.md"],
        )
    except LocalEntryNotFoundError as err:
        raise FileNotFoundError(
            f"{name_or_path!r} is neither a folder nor in the Hugging Face cache"
            f"{'' if cache_dir is None else f' at {cache_dir}'}, and downloading is "
            "off (HF_HUB_OFFLINE=1 or local_files_only=True): pass the folder "
            "written by ELM.save_pretrained, or download the repository first"
        ) from err
    except HfHubHTTPError as err:
        raise FileNotFoundError(
            f"{name_or_path!r} is not a folder and could not be fetched from the "
            f"Hugging Face Hub: {err}"
        ) from err
    return Path(path)
