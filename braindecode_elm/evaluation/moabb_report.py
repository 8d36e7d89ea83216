"""Summaries and plots of MOABB results (mean +- sd over seeds, tables, figures)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def plot_moabb_results(results: Any, path: str | os.PathLike) -> Path:
    """Bar plot (mean +- std over subjects/folds) of the score per pipeline."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    g = results.groupby("pipeline")["score"]
    mean, std = g.mean().sort_values(), g.std().fillna(0.0)
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(mean)))
    ax.barh(mean.index, mean.values, xerr=std[mean.index].values, color="tab:blue")
    ax.axvline(0.5, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("score")
    ds = ", ".join(sorted(results["dataset"].astype(str).unique()))
    ax.set_title(f"MOABB: {ds}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def summarize_moabb_results(results: Any) -> Any:
    """Mean +- sd over seeds of each seed's mean score, per comparison and pipeline.

    Parameters
    ----------
    results : pandas.DataFrame
        MOABB result rows with ``comparison``, ``pipeline``, ``seed``, ``score``
        and ``time`` columns (as written by :func:`run_real_data_comparisons`).

    Returns
    -------
    pandas.DataFrame
        One row per comparison and pipeline, best score first.
    """
    import pandas as pd

    rows = []
    for (comp, pipe), g in results.groupby(["comparison", "pipeline"], sort=False):
        per_seed = g.groupby("seed")["score"].mean()
        rows.append(
            dict(
                dataset=comp,
                pipeline=pipe,
                score_mean=float(per_seed.mean()),
                score_sd=float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0,
                n_seeds=int(len(per_seed)),
                n_folds=int(len(g) // len(per_seed)),
                fit_time_s=float(g["time"].mean()),
            )
        )
    summary = pd.DataFrame(rows)
    return summary.sort_values(
        ["dataset", "score_mean"], ascending=[False, False], kind="stable"
    ).reset_index(drop=True)


def moabb_summary_table(summary: Any) -> str:
    """An RST simple table of :func:`summarize_moabb_results` (for the docs).

    ``scores/seed`` is the number of MOABB scores averaged per seed: one per
    cross-subject fold, but one per subject and session for a within-session
    evaluation (MOABB averages its folds into that one score).
    """
    head = (
        "dataset",
        "pipeline",
        "ROC AUC (mean +- sd over seeds)",
        "seeds",
        "scores/seed",
    )
    rows = [
        (
            r.dataset,
            r.pipeline,
            f"{r.score_mean:.3f} +- {r.score_sd:.3f}",
            str(r.n_seeds),
            str(r.n_folds),
        )
        for r in summary.itertuples()
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    rule = "  ".join("=" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [rule, fmt.format(*head), rule]
    lines += [fmt.format(*r) for r in rows]
    lines.append(rule)
    return "\n".join(line.rstrip() for line in lines) + "\n"
