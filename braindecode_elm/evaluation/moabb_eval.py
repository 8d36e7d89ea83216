"""MOABB evaluations of ELM features against classical and deep baselines.

Everything runs offline on local data: the datasets are MOABB ``BaseDataset``
subclasses whose ``data_path`` never downloads (the data layer's EEGMAT/EEGBCI
adapters, and :class:`CorpusPhenotypeDataset` below for TUH-like corpora).
Requires ``pip install braindecode-elm[moabb]``.

The pieces live in :mod:`~braindecode_elm.evaluation.moabb_windows` (window
paradigms), :mod:`~braindecode_elm.evaluation.moabb_corpus` (the corpus
adapter), :mod:`~braindecode_elm.evaluation.braindecode_classifier` (the deep
baselines), :mod:`~braindecode_elm.evaluation.moabb_runner` (pipelines and runs)
and :mod:`~braindecode_elm.evaluation.moabb_report` (summaries and plots); this
module gathers their public names.
"""

from __future__ import annotations

from .braindecode_classifier import (
    BraindecodeClassifier,
)
from .moabb_corpus import (
    CorpusPhenotypeDataset,
)
from .moabb_report import (
    moabb_summary_table,
    plot_moabb_results,
    summarize_moabb_results,
)
from .moabb_runner import (
    DEFAULT_PIPELINES,
    moabb_pipelines,
    run_moabb_comparison,
    run_real_data_comparisons,
)
from .moabb_windows import (
    RecordingPhenotype,
    WindowParadigm,
)

__all__ = [
    "WindowParadigm",
    "RecordingPhenotype",
    "CorpusPhenotypeDataset",
    "BraindecodeClassifier",
    "moabb_pipelines",
    "run_moabb_comparison",
    "plot_moabb_results",
    "run_real_data_comparisons",
    "summarize_moabb_results",
    "moabb_summary_table",
    "DEFAULT_PIPELINES",
]
