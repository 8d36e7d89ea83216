"""Strict mapping of the released ELM checkpoints onto :class:`ELMEncoder`.

The official ``model_0_checkpoint.pt`` files are plain ``torch.save`` state dicts
with 151 entries and no ``module.`` prefix. We never ship them (no licence is
stated); users pass their own copy.
"""

from __future__ import annotations

import hashlib
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .eeg_encoder import ELMEncoder

__all__ = [
    "official_key_map",
    "load_official_state_dict",
    "convert_official_checkpoint",
    "file_sha256",
    "OFFICIAL_N_KEYS",
    "OFFICIAL_URLS",
]

#: Where the released checkpoints are, pinned to the commits that hold them.
OFFICIAL_URLS: dict[str, str] = {
    "5s": "https://github.com/SamGijsen/ELM/raw/"
    "7d33b68df5a859b6746a759eee86291fccf60ac7/pretrained/5s/model_0_checkpoint.pt",
    "60s": "https://github.com/SamGijsen/ELM/raw/"
    "df2bfd250869502b30ed6961774cc60cb0a27e85/pretrained/60s/model_0_checkpoint.pt",
}

#: Number of entries in a released checkpoint.
OFFICIAL_N_KEYS = 151
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _conv_keys(prefix: str, padded: bool) -> list[str]:
    # Padded branches are Sequential(pad, conv): the conv sits at index 1.
    mid = ".1" if padded else ""
    return [f"{prefix}.{j}{mid}.{w}" for j in range(3) for w in ("weight", "bias")]


def _bn_keys(prefix: str) -> list[str]:
    return [f"{prefix}.{w}" for w in _BN]


def official_key_map() -> dict[str, str]:
    """Map each key of an official checkpoint to our parameter/buffer name.

    Our module names deliberately mirror the official ones, so the map is the
    identity on names; it is spelled out here from the released layout so a
    checkpoint is validated key by key rather than trusted.

    Returns
    -------
    dict of str to str
        The 151 official keys and the :class:`ELMEncoder` state-dict key each one
        fills.
    """
    keys = _conv_keys("conv1_layers", True) + _bn_keys("bn1")
    for i in range(4):
        b = f"res_blocks.{i}"
        keys += _conv_keys(f"{b}.conv1_layers", True) + _bn_keys(f"{b}.bn1")
        keys += _conv_keys(f"{b}.conv2_layers", True) + _bn_keys(f"{b}.bn2")
        keys += _conv_keys(f"{b}.stream_conv_layers", False)
        keys += _bn_keys(f"{b}.stream_bn")
    keys += ["proj.0.weight", "proj.0.bias"] + _bn_keys("proj.1") + ["proj.3.weight"]
    assert len(keys) == OFFICIAL_N_KEYS
    return {k: k for k in keys}


def load_official_state_dict(
    model: ELMEncoder,
    path: str | PathLike | dict[str, torch.Tensor],
    *,
    map_location: str | torch.device = "cpu",
) -> None:
    """Fill ``model`` from an official checkpoint, strictly.

    Parameters
    ----------
    model : ELMEncoder
        A default-width (``n_filters=32``) encoder of the matching variant.
    path : str or path-like or dict
        The checkpoint file, or an already loaded state dict.
    map_location : str or torch.device
        Passed to :func:`torch.load`.

    Raises
    ------
    ValueError
        If the model is not default width, or any key is missing, unexpected or
        has the wrong shape (all offending keys are listed).
    """
    if model.n_filters != 32 or model.n_chans != 20:
        raise ValueError(
            "official ELM checkpoints need the default architecture (n_chans=20, "
            f"n_filters=32); got n_chans={model.n_chans}, n_filters={model.n_filters}"
        )
    if isinstance(path, dict):
        state = path
    else:
        # weights_only=True: a checkpoint can never execute code on load.
        state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(
            f"{path!s} does not hold a state dict (got {type(state).__name__})"
        )
    # Tolerate a DistributedDataParallel prefix; the released files have none.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}

    key_map = official_key_map()
    ours = model.state_dict()
    missing = sorted(set(key_map) - set(state))
    unexpected = sorted(set(state) - set(key_map))
    bad_shape = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model "
        f"{tuple(ours[key_map[k]].shape)}"
        for k in key_map
        if k in state and tuple(state[k].shape) != tuple(ours[key_map[k]].shape)
    ]
    # Every parameter/buffer of the tower and projection must be filled.
    unfilled = sorted(
        k
        for k in ours
        if not k.startswith("final_layer.") and k not in set(key_map.values())
    )
    if missing or unexpected or bad_shape or unfilled:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {missing}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {unexpected}")
        if bad_shape:
            parts.append(f"shape mismatches ({len(bad_shape)}): {bad_shape}")
        if unfilled:
            parts.append(f"model entries with no checkpoint key: {unfilled}")
        raise ValueError(
            f"not an official ELM {model.variant} checkpoint layout: "
            + "; ".join(parts)
        )
    mapped = {key_map[k]: v for k, v in state.items()}
    # Keep the (fresh) head, everything else comes from the checkpoint.
    for k, v in ours.items():
        if k.startswith("final_layer."):
            mapped[k] = v
    model.load_state_dict(mapped, strict=True)


def file_sha256(path: str | PathLike) -> str:
    """SHA-256 (hex) of a file, read in chunks.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_official_checkpoint(
    checkpoint: str | PathLike,
    out_dir: str | PathLike,
    variant: str,
    *,
    expected_sha256: str | None = None,
) -> Path:
    """Turn a released ``model_0_checkpoint.pt`` into an ``ELM`` bundle folder.

    The bundle holds the official EEG tower (strictly mapped, see
    :func:`load_official_state_dict`), an untrained text projection flagged
    ``has_text_head=False`` (the release has no text head, so zero-shot and
    retrieval refuse to run), no prompt sets, and a model card recording the
    source file's SHA-256, the release URL and the preprocessing the weights
    expect.

    Parameters
    ----------
    checkpoint : str or path-like
        Your copy of the official file (see :data:`OFFICIAL_URLS`).
    out_dir : str or path-like
        Bundle folder to write (created; existing bundle files are replaced).
    variant : {"5s", "60s"}
        Which checkpoint this is; the file itself does not say (both have the
        same shapes, only the pooling differs), so a wrong value would give
        wrong features silently.
    expected_sha256 : str or None
        If given, the file's SHA-256 must match (a check against a corrupted
        or different download).

    Returns
    -------
    pathlib.Path
        The bundle folder, loadable with ``ELM.from_pretrained``.

    Raises
    ------
    FileNotFoundError
        If ``checkpoint`` does not exist.
    ValueError
        If ``variant`` is unknown, the hash differs, or the file is not an
        official checkpoint layout (every offending key named).
    """
    from .bundle import ELM
    from .eeg_encoder import POOL_SIZES, ELMEncoder
    from .model_card import ModelCard, TrainingData

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: download the official checkpoint first "
            f"({OFFICIAL_URLS.get(variant, OFFICIAL_URLS['5s'])})"
        )
    if variant not in POOL_SIZES:
        raise ValueError(
            f"variant must be one of {sorted(POOL_SIZES)}, got {variant!r}"
        )
    sha = file_sha256(path)
    if expected_sha256 is not None and sha != expected_sha256.strip().lower():
        raise ValueError(
            f"{path} has SHA-256 {sha}, expected {expected_sha256}: the file is "
            "not the one you meant (corrupted or different download)"
        )
    encoder = ELMEncoder.from_official_checkpoint(str(path), variant)
    # text_dim of the default language model, so nothing is downloaded here.
    bundle = ELM(eeg_encoder=encoder, prompt_sets={}, text_dim=384, has_text_head=False)
    seconds = 5 if variant == "5s" else 60
    card = ModelCard(
        title=f"elm-official-{variant}",
        summary=(
            f"The EEG tower of the official ELM release ({variant} windows; Gijsen "
            "& Ritter, ICML 2025), converted into a braindecode-elm bundle. It "
            "embeds EEG windows for linear probes and MOABB pipelines. The release "
            "has no text head, so this bundle cannot do zero-shot classification "
            "or text retrieval."
        ),
        training_data=[
            TrainingData(
                "Temple University Hospital EEG Corpus (TUEG) with clinical reports",
                subjects=["not released by the authors; see the paper"],
                role="EEG-language pretraining (by the authors)",
                source="https://isip.piconepress.com/projects/nedc/html/tuh_eeg/",
            )
        ],
        preprocessing={
            "recipe": "elm_official (braindecode_elm.dsp)",
            "montage": "20-channel longitudinal bipolar TCP (Fp1-F7 ... P4-O2)",
            "band-pass (Hz)": "0.1-49",
            "output rate (Hz)": 100,
            "scale": "volts x 1e5 (units of 10 uV)",
            "clip": "+-80 (= +-800 uV)",
            "window": f"{seconds} s ({seconds * 100} samples)",
        },
        license=(
            "No licence is stated for the released checkpoints; ask the authors "
            "before redistributing this bundle."
        ),
        training_recipe={
            "source file": path.name,
            "source SHA-256": sha,
            "release URL": OFFICIAL_URLS[variant],
            "variant": variant,
        },
        limitations=(
            "No text head: `embed_text`, zero-shot and retrieval raise. Inputs must "
            "follow the preprocessing above (20 TCP channels at 100 Hz)."
        ),
        tags=("official-checkpoint",),
    )
    return bundle.save_pretrained(out_dir, model_card=card)
