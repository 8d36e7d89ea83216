"""Strict mapping of the released ELM checkpoints onto :class:`ELMEncoder`.

The official ``model_0_checkpoint.pt`` files are plain ``torch.save`` state dicts
with 151 entries and no ``module.`` prefix. We never ship them (no licence is
stated); users pass their own copy.
"""

from __future__ import annotations

import hashlib
from os import PathLike
from pathlib import Path

from ._official_keys import (
    OFFICIAL_N_KEYS,
    load_official_state_dict,
    official_key_map,
)

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
