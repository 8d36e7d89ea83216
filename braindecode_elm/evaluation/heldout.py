"""Held-out-subject evaluation of EEG features beside classical baselines.

The real-data experiments of ``elm demo`` and of the open bundle follow one
protocol, implemented here on plain arrays so every feature extractor is
scored the same way:

* :class:`WindowSet`: the non-overlapping 5 s windows of a set of recordings,
  with the recording, subject and class name of each window;
* feature extractors: a model's EEG tower (:func:`tower_features`), the log
  band power of every channel (:func:`log_band_power`) and the Riemannian
  tangent space of the channel covariance (:class:`TangentSpaceFeatures`);
* :func:`zero_shot_windows`: zero-shot classification from class prompts, at
  window and recording level;
* :func:`probe_windows`: the linear probe (balanced logistic regression, C chosen
  on a subject-disjoint validation part of the training subjects) at 10 % and
  100 % of the training labels, at window or recording level;
* :func:`mean_sd` and :func:`summarize_seeds`: every figure as mean and
  standard deviation over seeds;
* :func:`set_deterministic`: seeds, deterministic torch kernels and a fixed
  thread count, so that two runs on one machine print the same numbers.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dsp.recipe import ELM_CROP_S, ELM_SFREQ
from .embedding import EmbeddedCorpus, embed_eeg_array, l2_normalize
from .probe import PROBE_CS, linear_probe_from_features
from .splits import subject_split

__all__ = [
    "BANDS",
    "TangentSpaceFeatures",
    "WindowSet",
    "center_by_subject",
    "log_band_power",
    "mean_sd",
    "probe_windows",
    "set_deterministic",
    "summarize_seeds",
    "tower_features",
    "windows_from_cache",
    "windows_from_labelled",
    "zero_shot_windows",
]

#: Frequency bands (Hz) of the log band power baseline: delta, theta, alpha,
#: beta, low gamma (the ELM band stops at 49 Hz).
BANDS: tuple[tuple[float, float], ...] = (
    (1.0, 4.0),
    (4.0, 8.0),
    (8.0, 13.0),
    (13.0, 30.0),
    (30.0, 45.0),
)


def set_deterministic(seed: int, threads: int = 2) -> None:
    """Seed every generator and ask torch for deterministic CPU kernels.

    Parameters
    ----------
    seed : int
        Seed of Python's, NumPy's and torch's global generators.
    threads : int
        Torch intra-op threads. A fixed count (not "all cores") keeps the
        reduction order, hence the rounding, the same from run to run.
    """
    import torch

    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    random.seed(seed)
    # Legacy global generator: third-party code (sklearn defaults) may draw on it.
    np.random.seed(seed)  # noqa: NPY002
    torch.manual_seed(seed)
    torch.set_num_threads(int(threads))
    # Only kernels with a deterministic variant exist on the CPU paths used
    # here; warn_only keeps an unforeseen op from aborting a long run.
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


@dataclass
class WindowSet:
    """Non-overlapping windows of labelled recordings.

    Attributes
    ----------
    x : np.ndarray
        (n_windows, n_channels, n_times) float32, in ELM units.
    groups : list of str
        Recording id of each window.
    ids : list of str
        Recording ids, in order.
    subjects : dict
        Recording id -> subject.
    labels : dict
        Recording id -> class name.
    units : dict
        Recording id -> unit that training, validation and test parts must not
        share (default: the subject; the run for within-subject evaluation).
    """

    x: np.ndarray
    groups: list[str]
    ids: list[str]
    subjects: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.x) != len(self.groups):
            raise ValueError(
                f"{len(self.x)} windows but {len(self.groups)} window groups"
            )
        missing = sorted(set(self.ids) - set(self.labels))
        if missing:
            raise ValueError(f"recordings without a label: {missing[:5]}")
        if not self.units:
            self.units = {r: self.subjects.get(r, r) for r in self.ids}

    @property
    def window_labels(self) -> list[str]:
        """Class name of every window."""
        return [self.labels[g] for g in self.groups]


def windows_from_cache(
    corpus: Any,
    label: Callable[[Mapping[str, Any]], str],
    *,
    seconds: float = ELM_CROP_S,
    drop_first_s: float = 0.0,
    max_crops: int | None = None,
) -> WindowSet:
    """The crops of a cached corpus with one class name per recording.

    Parameters
    ----------
    corpus : CachedCorpus
        From :func:`braindecode_elm.data.open_cache`.
    label : callable
        Recording description -> class name.
    seconds, drop_first_s : float
        Crop length and seconds skipped at the start (see
        :meth:`~braindecode_elm.data.cache.CachedRecording.crops`).
    max_crops : int | None
        Keep at most this many evenly spaced crops per recording.

    Returns
    -------
    WindowSet
    """
    xs, groups, subjects, labels = [], [], {}, {}
    ids = list(corpus.ids)
    for rid in ids:
        rec = corpus[rid]
        crops = rec.crops(seconds, drop_first_s=drop_first_s)
        if len(crops) == 0:
            raise ValueError(f"recording {rid!r} yields no {seconds} s crop")
        if max_crops is not None and len(crops) > max_crops:
            crops = crops[np.linspace(0, len(crops) - 1, max_crops).round().astype(int)]
        xs.append(np.asarray(crops, dtype=np.float32))
        groups += [rid] * len(crops)
        subjects[rid] = str(rec.subject)
        labels[rid] = label(dict(rec.description or {}))
    return WindowSet(np.concatenate(xs), groups, ids, subjects, labels)


def windows_from_labelled(
    corpus: Any,
    label: Callable[[Mapping[str, str]], str | None],
    *,
    seconds: float = ELM_CROP_S,
    group: str = "recording",
    unit: str = "subject",
    max_crops: int | None = None,
) -> WindowSet:
    """The crops of a labelled corpus with one class name per group.

    Parameters
    ----------
    corpus : LabelledCorpus
        Segments with facts.
    label : callable
        Segment facts -> class name, or None to leave the segment out.
    seconds : float
        Crop length.
    group : {"recording", "segment"}
        What a "recording" of the window set is: the recording (eegmat files,
        one state each) or each labelled segment (EEGBCI cues).
    unit : {"subject", "recording"}
        What training, validation and test parts must not share (subject for
        cross-subject, recording = run for within-subject evaluation).
    max_crops : int | None
        At most this many crops per segment.

    Returns
    -------
    WindowSet
    """
    keep, spans = [], set()
    for i, s in enumerate(corpus.segments):
        lab = label(s.facts)
        if lab is None:
            continue
        if group == "recording":
            # Segments covering the same span with the same class (one per
            # TUEV annotation class, each spanning its recording) would give
            # the recording's windows several times over.
            span = (s.recording, s.start, s.stop, lab)
            if span in spans:
                continue
            spans.add(span)
        keep.append(i)
    if not keep:
        raise ValueError("no segment has a label")
    sub = corpus.subset(keep)
    x, seg = sub.crops(seconds, max_crops=max_crops)
    groups, subjects, labels, units = [], {}, {}, {}
    # Segments that share a start (one per annotation class of a TUEV
    # recording, each spanning it) are units of their own.
    seen: dict[tuple[str, int], int] = {}
    key = {}
    for k, s in enumerate(sub.segments):
        n = seen.get((s.recording, s.start), 0)
        seen[(s.recording, s.start)] = n + 1
        key[k] = f"{s.recording}@{s.start}" + (f"#{n}" if n else "")
    for i in seg:
        s = sub.segments[int(i)]
        g = s.recording if group == "recording" else key[int(i)]
        groups.append(g)
        subjects[g] = s.subject
        units[g] = s.subject if unit == "subject" else s.recording
        lab = label(s.facts)
        if labels.setdefault(g, lab) != lab:
            raise ValueError(
                f"{g} holds segments of two classes; score per segment "
                "(windows_from_labelled(..., group='segment'))"
            )
    ids = list(dict.fromkeys(groups))
    return WindowSet(x, groups, ids, subjects, labels, units)


def log_band_power(x: np.ndarray, sfreq: float = ELM_SFREQ) -> np.ndarray:
    """Log mean power of every channel in :data:`BANDS` (periodogram).

    Parameters
    ----------
    x : np.ndarray
        (n, n_channels, n_times) windows.
    sfreq : float
        Sampling rate (Hz).

    Returns
    -------
    np.ndarray
        (n, n_channels * len(BANDS)) features.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    power = np.abs(np.fft.rfft(x * np.hanning(x.shape[-1]), axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1.0 / sfreq)
    feats = [
        np.log(power[..., (freqs >= lo) & (freqs < hi)].mean(axis=-1) + 1e-12)
        for lo, hi in BANDS
    ]
    return np.stack(feats, axis=-1).reshape(len(x), -1)


class TangentSpaceFeatures:
    """Tangent-space vectors of shrunk channel covariances (pyriemann).

    The reference point (Riemannian mean) is fitted on training windows only.
    """

    def __init__(self) -> None:
        from pyriemann.estimation import Covariances
        from pyriemann.tangentspace import TangentSpace

        self._cov = Covariances("oas")
        self._ts = TangentSpace(metric="riemann")

    def fit(self, x: np.ndarray) -> TangentSpaceFeatures:
        """Fit the reference point on ``x`` (n, n_channels, n_times)."""
        self._ts.fit(self._cov.transform(np.asarray(x, dtype=np.float64)))
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(n, n_channels * (n_channels + 1) / 2) tangent vectors."""
        return self._ts.transform(self._cov.transform(np.asarray(x, dtype=np.float64)))


def tower_features(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """L2-normalised EEG embeddings of a model (``model.embed_eeg``)."""
    return embed_eeg_array(model, x, batch_size=batch_size)


def center_by_subject(ws: WindowSet, feats: np.ndarray) -> np.ndarray:
    """Subtract each subject's mean feature from its windows.

    A label-free, test-time adaptation to the person: it needs several windows
    of the subject (here all of them, of every condition), so results with it
    answer "given a batch of this person's EEG", not "given one window".
    """
    feats = np.asarray(feats, dtype=np.float64).copy()
    subj = np.array([ws.subjects[g] for g in ws.groups])
    for s in np.unique(subj):
        feats[subj == s] -= feats[subj == s].mean(axis=0)
    return feats


def _embedded(ws: WindowSet, feats: np.ndarray) -> EmbeddedCorpus:
    return EmbeddedCorpus(
        ids=list(ws.ids),
        crop_embeddings=l2_normalize(np.asarray(feats, dtype=np.float64)),
        crop_groups=list(ws.groups),
        descriptions={r: {"label": ws.labels[r]} for r in ws.ids},
        subjects=dict(ws.subjects),
    )


def zero_shot_windows(
    model: Any,
    ws: WindowSet,
    feats: np.ndarray,
    classes: Mapping[str, Sequence[str]],
    offsets: Mapping[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """Zero-shot scores of ``feats`` against class prompts, per window and recording.

    Parameters
    ----------
    model : ELM
        Bundle whose ``embed_text`` embeds the prompts (and whose tower gave
        ``feats``).
    ws : WindowSet
        The windows; their labels must be class names of ``classes``.
    feats : np.ndarray
        (n_windows, d) EEG embeddings of ``ws.x``.
    classes : mapping
        Class name -> prompts.
    offsets : mapping | None
        Class name -> offset subtracted from the cosine similarities (e.g. the
        bundle's ``prompt_offsets`` of this prompt set, from
        :func:`~braindecode_elm.evaluation.zeroshot.calibrate_offsets`); None:
        raw argmax.

    Returns
    -------
    dict
        ``{"window": ..., "recording": ...}``, each the output of
        :func:`~braindecode_elm.evaluation.zeroshot.zero_shot`.
    """
    from .zeroshot import zero_shot

    emb = _embedded(ws, feats)
    return {
        level: zero_shot(
            model,
            emb,
            classes,
            labels=dict(ws.labels),
            aggregate=agg,
            offsets=offsets,
        )
        for level, agg in (("window", "crop"), ("recording", "recording"))
    }


def _level_features(
    ws: WindowSet, feats: np.ndarray, level: str
) -> tuple[np.ndarray, list[str], list[str]]:
    """Features, labels and subjects at window or recording level."""
    if level == "window":
        return np.asarray(feats), ws.window_labels, [ws.units[g] for g in ws.groups]
    if level != "recording":
        raise ValueError(f"level must be 'window' or 'recording', got {level!r}")
    groups = np.asarray(ws.groups)
    mean = np.stack([np.asarray(feats)[groups == r].mean(axis=0) for r in ws.ids])
    return mean, [ws.labels[r] for r in ws.ids], [ws.units[r] for r in ws.ids]


def probe_windows(
    train: WindowSet,
    train_feats: np.ndarray,
    test: WindowSet,
    test_feats: np.ndarray,
    *,
    level: str = "window",
    fractions: Sequence[float] = (0.1, 1.0),
    seeds: Sequence[int] | int = (0,),
    val_size: float = 0.2,
    Cs: Sequence[float] = PROBE_CS,
) -> dict[str, Any]:
    """Linear probe trained on ``train``'s subjects, tested on ``test``'s.

    A subject-disjoint (:attr:`WindowSet.units`), label-stratified ``val_size``
    part of the training subjects (fixed seed 0, the same for every feature
    extractor) chooses C; the label fractions are drawn, nested, from the rest
    with each seed.

    Parameters
    ----------
    train, test : WindowSet
        Training and test windows (disjoint subjects).
    train_feats, test_feats : np.ndarray
        Their features, one row per window.
    level : {"window", "recording"}
        Classify windows, or recordings by their mean feature.
    fractions, seeds, Cs
        See :func:`~braindecode_elm.evaluation.probe.linear_probe_from_features`.
    val_size : float
        Share of the training subjects that chooses C.

    Returns
    -------
    dict
        As :func:`~braindecode_elm.evaluation.probe.linear_probe_from_features`,
        plus ``level``.
    """
    overlap = set(train.units.values()) & set(test.units.values())
    if overlap:
        raise ValueError(
            f"training and test windows share subjects/runs {sorted(overlap)[:5]}; "
            "the probe must be tested on unseen ones"
        )
    X, y, subj = _level_features(train, train_feats, level)
    tr_ids, va_ids = subject_split(
        [str(i) for i in range(len(y))],
        subj,
        [1 - val_size, val_size],
        seed=0,
        stratify=y,
    )
    tr = np.asarray(tr_ids, dtype=int)
    va = np.asarray(va_ids, dtype=int)
    Xt, yt, _ = _level_features(test, test_feats, level)
    y = np.asarray(y)
    out = linear_probe_from_features(
        X[tr], y[tr], X[va], y[va], Xt, yt, fractions=fractions, seeds=seeds, Cs=Cs
    )
    out["level"] = level
    return out


def mean_sd(values: Sequence[float]) -> dict[str, Any]:
    """Mean, (population) standard deviation and the values themselves."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        raise ValueError("mean_sd needs at least one value")
    return {"mean": float(v.mean()), "sd": float(v.std()), "values": v.tolist()}


def summarize_seeds(
    runs: Sequence[Mapping[str, Mapping[str, Mapping[str, float]]]],
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Mean and sd over seeds of ``runs[seed][method][task][metric]``.

    Parameters
    ----------
    runs : sequence of mapping
        One mapping per seed, all with the same methods, tasks and metrics.

    Returns
    -------
    dict
        ``method -> task -> metric ->`` :func:`mean_sd`.
    """
    if not runs:
        raise ValueError("no runs to summarise")
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for method, tasks in runs[0].items():
        for task, metrics in tasks.items():
            for metric in metrics:
                out.setdefault(method, {}).setdefault(task, {})[metric] = mean_sd(
                    [r[method][task][metric] for r in runs]
                )
    return out
