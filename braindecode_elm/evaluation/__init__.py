"""Downstream evaluation of ELM: zero-shot, retrieval, linear probes, MOABB.

The metric functions work on plain arrays (``*_from_similarity``,
``*_from_embeddings``, ``*_from_features``); the model-facing wrappers
(:func:`zero_shot`, :func:`retrieval_metrics`, :func:`linear_probe`) embed a cached
corpus with an :class:`~braindecode_elm.models.ELM` bundle first. MOABB pieces load
lazily (``pip install braindecode-elm[moabb]``).
"""

from __future__ import annotations

import lazy_loader as lazy

from .embedding import EmbeddedCorpus, embed_corpus, group_mean, l2_normalize
from .probe import (
    PROBE_CS,
    fit_probe,
    linear_probe,
    linear_probe_from_features,
    nested_label_subsets,
    probe_pipeline,
)
from .prompts import PROMPT_LABEL_MAPS, PROMPT_SETS, default_label_map, get_prompts
from .retrieval import retrieval_from_similarity, retrieval_metrics
from .zeroshot import (
    calibrate_bundle,
    calibrate_offsets,
    classification_metrics,
    ensemble_class_embeddings,
    labels_to_indices,
    zero_shot,
    zero_shot_from_embeddings,
)

_LAZY = {
    "ELMFeatures": ".features",
    "RecordingPhenotype": ".moabb_eval",
    "CorpusPhenotypeDataset": ".moabb_eval",
    "run_moabb_comparison": ".moabb_eval",
    "moabb_pipelines": ".moabb_eval",
    "run_real_data_comparisons": ".moabb_eval",
    "WindowParadigm": ".moabb_eval",
    "ELMRestingState": ".moabb_paradigms",
    "ELMMotorImagery": ".moabb_paradigms",
    "pipelines_dir": ".moabb_paradigms",
    "run_benchmark": ".benchmark",
    "elm_classifier": ".finetune",
}

__all__ = [
    "EmbeddedCorpus",
    "PROBE_CS",
    "PROMPT_LABEL_MAPS",
    "PROMPT_SETS",
    "calibrate_bundle",
    "calibrate_offsets",
    "classification_metrics",
    "default_label_map",
    "embed_corpus",
    "ensemble_class_embeddings",
    "fit_probe",
    "get_prompts",
    "group_mean",
    "l2_normalize",
    "labels_to_indices",
    "linear_probe",
    "linear_probe_from_features",
    "nested_label_subsets",
    "probe_pipeline",
    "retrieval_from_similarity",
    "retrieval_metrics",
    "zero_shot",
    "zero_shot_from_embeddings",
    *sorted(_LAZY),
]


_by_module: dict[str, list[str]] = {}
for _name, _module in _LAZY.items():
    _by_module.setdefault(_module.lstrip("."), []).append(_name)
# sklearn/moabb-heavy parts load on first use so importing this package is cheap.
__getattr__, _lazy_dir, _ = lazy.attach(__name__, submod_attrs=_by_module)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_lazy_dir()))
