"""Embed the recordings (crops) and report segments of a cached corpus once.

Every downstream task (zero-shot, retrieval, probing) works from these arrays, so
the EEG tower and the language model run only once per corpus.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dsp.recipe import ELM_CROP_S

__all__ = [
    "EmbeddedCorpus",
    "crop_seconds_of",
    "embed_corpus",
    "l2_normalize",
    "group_mean",
]


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Divide by the L2 norm along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), eps)


def group_mean(
    values: np.ndarray, groups: Sequence[Any], order: Sequence[Any] | None = None
) -> tuple[np.ndarray, list[Any]]:
    """Mean of the rows of ``values`` per group, in ``order`` (first-seen default)."""
    groups = list(groups)
    if order is None:
        order = list(dict.fromkeys(groups))
    index = {g: i for i, g in enumerate(order)}
    values = np.asarray(values, dtype=np.float64)
    sums = np.zeros((len(order),) + values.shape[1:])
    counts = np.zeros(len(order))
    for row, g in zip(values, groups):
        sums[index[g]] += row
        counts[index[g]] += 1
    if (counts == 0).any():
        missing = [g for g, c in zip(order, counts) if c == 0]
        raise ValueError(f"groups without any row: {missing[:5]}")
    return sums / counts.reshape((-1,) + (1,) * (values.ndim - 1)), list(order)


@dataclass
class EmbeddedCorpus:
    """Embeddings of a set of recordings.

    Attributes
    ----------
    ids : list of str
        Recording ids, in order.
    crop_embeddings : np.ndarray
        (n_crops, d) L2-normalised EEG crop embeddings.
    crop_groups : list of str
        Recording id of each crop.
    text_embeddings : np.ndarray | None
        (n_segments, d) L2-normalised report-segment embeddings.
    text_groups : list of str
        Recording id of each segment.
    texts : list of str
        The segments.
    descriptions : dict
        Recording id -> description dict.
    subjects : dict
        Recording id -> subject.
    skipped : list of dict
        Recordings left out (``recording``, ``reason``): too short for one crop.
    """

    ids: list[str]
    crop_embeddings: np.ndarray
    crop_groups: list[str]
    text_embeddings: np.ndarray | None = None
    text_groups: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    descriptions: dict[str, dict] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def recording_embeddings(self) -> np.ndarray:
        """L2-normalised mean crop embedding per recording, (n_recordings, d)."""
        mean, _ = group_mean(self.crop_embeddings, self.crop_groups, self.ids)
        return l2_normalize(mean)

    def subset(self, ids: Sequence[str]) -> EmbeddedCorpus:
        """The same embeddings restricted to ``ids`` (in that order)."""
        keep = set(ids)
        unknown = keep - set(self.ids)
        if unknown:
            raise KeyError(f"unknown recording ids: {sorted(unknown)[:5]}")
        cmask = np.array([g in keep for g in self.crop_groups], dtype=bool)
        tmask = np.array([g in keep for g in self.text_groups], dtype=bool)
        return EmbeddedCorpus(
            ids=list(ids),
            crop_embeddings=self.crop_embeddings[cmask],
            crop_groups=[g for g in self.crop_groups if g in keep],
            text_embeddings=None
            if self.text_embeddings is None
            else self.text_embeddings[tmask],
            text_groups=[g for g in self.text_groups if g in keep],
            texts=[t for t, g in zip(self.texts, self.text_groups) if g in keep],
            descriptions={i: self.descriptions.get(i, {}) for i in ids},
            subjects={i: self.subjects.get(i, i) for i in ids},
            skipped=list(self.skipped),
        )


def _to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu().float().numpy()
    return np.asarray(t, dtype=np.float64)


def embed_eeg_array(model: Any, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """Run ``model.embed_eeg`` over (n, 20, T) crops in batches, no gradient."""
    import torch

    out = []
    if hasattr(model, "eval"):
        model.eval()
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.as_tensor(
                np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)
            )
            out.append(_to_numpy(model.embed_eeg(batch)))
    if not out:
        return np.zeros((0, 0))
    return l2_normalize(np.concatenate(out))


def embed_texts(model: Any, texts: Sequence[str]) -> np.ndarray:
    """``model.embed_text`` as an L2-normalised float64 array, no gradient."""
    import torch

    if len(texts) == 0:
        return np.zeros((0, 0))
    if hasattr(model, "eval"):
        model.eval()
    with torch.no_grad():
        return l2_normalize(_to_numpy(model.embed_text(list(texts))))


def crop_seconds_of(model: Any) -> float:
    """The crop length (s) a model's EEG tower is trained on.

    The length the tower was built for (``n_times / sfreq``) when it says, else
    its variant's (5 s or 60 s), else ELM's 5 s.

    Parameters
    ----------
    model : ELM | ELMEncoder | Any
        A bundle, a tower, or another embedder.

    Returns
    -------
    float
    """
    tower = getattr(model, "eeg_encoder", model)
    try:
        # Braindecode's mixin derives it from n_times and sfreq, and raises
        # when a tower was built without them.
        return float(tower.input_window_seconds)
    except (AttributeError, TypeError, ValueError):
        pass
    return float(getattr(tower, "crop_seconds", ELM_CROP_S))


def embed_corpus(
    model: Any,
    corpus: Any,
    *,
    recording_ids: Sequence[str] | None = None,
    seconds: float | None = None,
    drop_first_s: float = 10.0,
    max_minutes: float = 45.0,
    max_crops: int | None = None,
    segment_mode: str = "sentence",
    with_text: bool = False,
    batch_size: int = 256,
    progress: bool = False,
) -> EmbeddedCorpus:
    """Embed every crop (and optionally every report segment) of a cached corpus.

    Parameters
    ----------
    model : ELM
        Bundle with ``embed_eeg`` and ``embed_text``.
    corpus : CachedCorpus
        From :func:`braindecode_elm.data.open_cache`.
    recording_ids : sequence of str | None
        Restrict to these recordings (default: all OK recordings).
    seconds : float | None
        Crop length; None: the length the model's tower is trained on
        (:func:`crop_seconds_of`).
    drop_first_s, max_minutes : float
        The ELM windowing rules (see ``CachedRecording.crops``).
    max_crops : int | None
        Keep at most this many evenly spaced crops per recording (speed).
    segment_mode : str
        ``"sentence"``, ``"paragraph"`` or ``"report"``.
    with_text : bool
        Also embed the report segments.
    batch_size : int
        Crops per forward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    EmbeddedCorpus
    """
    ids = list(corpus.ids if recording_ids is None else recording_ids)
    if not ids:
        raise ValueError("no recordings to embed (empty corpus or recording_ids)")
    if len(set(ids)) < len(ids):
        # A repeated id weighted its recording twice in every figure.
        twice = sorted(r for r, n in Counter(ids).items() if n > 1)
        warnings.warn(
            f"recording_ids lists {len(twice)} id(s) more than once, embedded once "
            f"each: {twice[:10]}",
            UserWarning,
            stacklevel=2,
        )
        ids = list(dict.fromkeys(ids))
    if seconds is None:
        seconds = crop_seconds_of(model)
    if not 0 < seconds <= max_minutes * 60:
        raise ValueError(
            f"crop length {seconds} s must be > 0 and at most the {max_minutes:g} "
            "minutes of each recording that are used"
        )
    _check_elm_recipe(model, corpus, ids)
    # The tower's reflection padding needs a minimum input length.
    need = getattr(getattr(model, "eeg_encoder", None), "min_n_times", None)
    crops_list, groups = [], []
    texts, tgroups = [], []
    descriptions, subjects = {}, {}
    iterator: Any = ids
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(ids, desc="embedding recordings", unit="rec")
    skipped: list[dict[str, str]] = []
    kept: list[str] = []
    for rid in iterator:
        rec = corpus[rid]
        crops = rec.crops(seconds, drop_first_s=drop_first_s, max_minutes=max_minutes)
        if len(crops) == 0:
            # Left out and said, not fatal: one 65 s recording stopped the 60 s
            # tower from embedding a whole corpus (outside user).
            skipped.append(
                {
                    "recording": rid,
                    "reason": f"recording {rid!r} ({rec.duration_s:.1f} s) yields "
                    f"no {seconds:g} s crop after dropping the first "
                    f"{drop_first_s:g} s",
                }
            )
            continue
        kept.append(rid)
        if isinstance(need, int) and crops.shape[-1] < need:
            raise ValueError(
                f"{seconds} s crops ({crops.shape[-1]} samples) are shorter than "
                f"the {need} samples the EEG tower needs; use crops of at least "
                f"{need / 100:g} s"
            )
        if max_crops is not None and len(crops) > max_crops:
            pick = np.linspace(0, len(crops) - 1, max_crops).round().astype(int)
            crops = crops[pick]
        crops_list.append(np.asarray(crops, dtype=np.float32))
        groups.extend([rid] * len(crops))
        descriptions[rid] = dict(getattr(rec, "description", {}) or {})
        subjects[rid] = str(getattr(rec, "subject", rid))
        if with_text:
            segs = [s for s in rec.segments(mode=segment_mode) if s and s.strip()]
            texts.extend(segs)
            tgroups.extend([rid] * len(segs))
    if skipped:
        hint = (
            "lower drop_first_s (--drop-first of the elm command), use shorter "
            "crops, or leave such recordings out (recording_ids; --recordings)"
        )
        if not kept:
            raise ValueError(f"{skipped[0]['reason']}: {hint}")
        warnings.warn(
            f"{len(skipped)} of {len(ids)} recordings yield no {seconds:g} s crop "
            f"after dropping the first {drop_first_s:g} s and are left out, e.g. "
            f"{[r['recording'] for r in skipped[:3]]}; {hint}",
            UserWarning,
            stacklevel=2,
        )
    ids = kept
    crop_emb = embed_eeg_array(model, np.concatenate(crops_list), batch_size=batch_size)
    text_emb = embed_texts(model, texts) if with_text else None
    return EmbeddedCorpus(
        ids=ids,
        crop_embeddings=crop_emb,
        crop_groups=groups,
        text_embeddings=text_emb,
        text_groups=tgroups,
        texts=texts,
        descriptions=descriptions,
        subjects=subjects,
        skipped=skipped,
    )


def _check_elm_recipe(model: Any, corpus: Any, ids: Sequence[str]) -> None:
    """Refuse a cache whose signals are not in ELM units for an ELM model.

    A cache built with ``--recipe default`` holds volts: an ELM tower reads them
    as near-zero input and still ranks something (an outside user got AUROC
    0.85 and balanced accuracy 0.50 from such a cache, with only a warning).
    """
    from braindecode_elm.dsp import ELM_SCALE
    from braindecode_elm.models import ELM

    if not isinstance(model, ELM):
        return  # other towers read the cache in their own units
    for rid in ids:
        rec = corpus[rid]
        params = getattr(rec, "params", {})
        if "scale" not in params:
            continue  # a cache written before recipes were stored: trusted
        scale = params["scale"]
        if scale is None or not np.isclose(float(scale), ELM_SCALE):
            raise ValueError(
                f"recording {rid!r} was cached with the {rec.recipe!r} recipe "
                f"(scale {scale}), not in ELM units: ELM models read volts x "
                f"{ELM_SCALE:g} clipped at +-80 (recipe 'elm'); build the cache "
                "again with it: elm preprocess SOURCE OUT --recipe elm (or "
                "build_cache(..., recipe='elm'))"
            )
