"""PNG plots of the evaluation results (matplotlib, headless)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "confusion_matrix",
    "similarity_heatmap",
    "retrieval_examples",
    "probe_curves",
]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def confusion_matrix(
    cm: np.ndarray, classes: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Confusion matrix with counts (rows: true, columns: predicted)."""
    plt = _plt()
    cm = np.asarray(cm)
    vmax = max(int(cm.max()), 1)
    fig, ax = plt.subplots(figsize=(2.8 + 1.1 * len(classes), 1.8 + 1.0 * len(classes)))
    # vmin=0 so equal counts are not all drawn as the palest colour.
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=vmax)
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            color = "white" if cm[i, j] > 0.6 * vmax else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color)
    ax.set_title(title or "zero-shot confusion matrix", fontsize=9)
    return _save(fig, path)


def similarity_heatmap(
    sim: np.ndarray, sentences: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Crops (x) x report sentences (y) cosine similarity for one recording."""
    plt = _plt()
    sim = np.asarray(sim)
    labels = [textwrap.shorten(s, 60) for s in sentences]
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.32 * len(labels)))
    im = ax.imshow(sim.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("5 s crop index")
    fig.colorbar(im, ax=ax, label="cosine similarity")
    ax.set_title(title or "crops x report sentences")
    return _save(fig, path)


def retrieval_examples(
    examples: Sequence[Mapping[str, Any]], path: str | Path, title: str = ""
) -> Path:
    """Text figure: for each query recording, its top retrieved sentences.

    Each example is ``{"query": str, "hits": [(text, score, correct: bool), ...]}``.
    """
    plt = _plt()
    n_lines = sum(1 + len(e["hits"]) for e in examples)
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.28 * n_lines))
    ax.axis("off")
    y = 1.0
    step = 1.0 / max(n_lines, 1)
    for e in examples:
        ax.text(0, y, f"EEG of {e['query']}:", fontweight="bold", va="top", fontsize=8)
        y -= step
        for rank, (text, score, ok) in enumerate(e["hits"], 1):
            mark = "correct" if ok else "other"
            ax.text(
                0.02,
                y,
                f"{rank}. [{score:+.2f}] ({mark}) {textwrap.shorten(text, 95)}",
                va="top",
                fontsize=8,
                color="tab:green" if ok else "tab:red",
            )
            y -= step
    ax.set_title(title or "EEG -> report retrieval examples", fontsize=9)
    return _save(fig, path)


def probe_curves(
    summaries: Mapping[str, Mapping[float, Mapping[str, float]]],
    path: str | Path,
    metric: str = "balanced_accuracy",
    title: str = "",
) -> Path:
    """Mean +- std of a probe metric across label fractions, one line per setting."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, summary in summaries.items():
        fr = sorted(float(f) for f in summary)
        by = {float(k): v for k, v in summary.items()}
        mean = np.array([by[f][f"{metric}_mean"] for f in fr])
        std = np.array([by[f][f"{metric}_std"] for f in fr])
        x = np.array(fr) * 100
        ax.errorbar(x, mean, yerr=std, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training data (%)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.legend(fontsize=8)
    ax.set_title(title or "linear probe across label fractions")
    return _save(fig, path)
