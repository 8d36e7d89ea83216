"""Shared helpers of the evaluation/CLI tests: a tiny synthetic corpus, its cache
and a small ELM bundle."""

from __future__ import annotations

from pathlib import Path

_BUILT: dict[str, tuple] = {}

BALANCED = {
    "normal": 0.5,
    "diffuse_slowing": 0.25,
    "epileptiform_generalized": 0.25,
}


def build_small_cache(root: Path, n_subjects: int = 8, seed: int = 3):
    """Synthetic corpus (70-90 s recordings) + its cache; built once per session."""
    key = f"{n_subjects}-{seed}"
    if key in _BUILT:
        return _BUILT[key]
    import pandas as pd

    from braindecode_elm.data import (
        TUHReports,
        build_cache,
        make_synthetic_tuh,
        open_cache,
    )

    raw = root / f"raw-{key}"
    make_synthetic_tuh(
        raw,
        n_subjects,
        seed=seed,
        duration_s=(70.0, 90.0),
        sessions_per_subject=(1, 2),
        phenotype_weights=BALANCED,
        progress=False,
    )
    build_cache(TUHReports(raw), root / f"cache-{key}", progress=False)
    truth = pd.read_csv(raw / "ground_truth.csv")
    labels = dict(zip(truth["recording_id"].astype(str), truth["abnormal"]))
    corpus = open_cache(root / f"cache-{key}")
    corpus.cache_dir = root / f"cache-{key}"  # for the CLI tests
    out = (corpus, labels, raw)
    _BUILT[key] = out
    return out


def build_small_bundle(root: Path) -> Path:
    """An untrained small ELM bundle (8-filter tower, MiniLM text) in ``root/model``.

    Seeded, so the CLI tests that share it see the same weights.
    """
    import torch

    from braindecode_elm.models import ELM, ELMEncoder, TextProjection
    from braindecode_elm.models.text_encoder import TextEncoder

    torch.manual_seed(0)
    text = TextEncoder("minilm")
    model_dir = root / "model"
    ELM(ELMEncoder(n_filters=8), text, TextProjection(text.dim)).save_pretrained(
        model_dir
    )
    return model_dir


def boilerplate_corpus(eeg: str, lone: bool = False):
    """Six recordings whose reports share a boilerplate line, as an EmbeddedCorpus.

    Every report holds ``"MEDICATIONS: None."`` (embedded along e2) and its state's
    caption (``"rest"`` along e0 for r0/r2/r4, ``"task"`` along e1 for r1/r3/r5).
    ``eeg="state"``: each recording's EEG points at its caption, tilted towards the
    boilerplate (a model that tells the states apart). ``eeg="blind"``: every crop
    is the same vector, along the boilerplate (a model that ignores the EEG).
    ``lone=True`` adds r6, whose report is the boilerplate line only.
    """
    import numpy as np

    from braindecode_elm.evaluation import EmbeddedCorpus

    e = np.eye(4)
    cap = {"rest": e[0], "task": e[1], "MEDICATIONS: None.": e[2]}
    state = ["rest", "task"] * 3 + (["MEDICATIONS: None."] if lone else [])
    ids = [f"r{i}" for i in range(len(state))]
    if eeg == "state":
        crops = np.stack(
            [cap[s] + 0.9 * e[2] + 0.01 * i * e[3] for i, s in enumerate(state)]
        )
    elif eeg == "blind":
        crops = np.tile(e[2], (len(state), 1))
    else:
        raise ValueError(eeg)
    texts, groups = [], []
    for rid, s in zip(ids, state):
        for t in dict.fromkeys([s, "MEDICATIONS: None."]):
            texts.append(t)
            groups.append(rid)
    return EmbeddedCorpus(
        ids=ids,
        crop_embeddings=crops / np.linalg.norm(crops, axis=1, keepdims=True),
        crop_groups=ids,
        text_embeddings=np.stack([cap[t] for t in texts]),
        text_groups=groups,
        texts=texts,
    )
