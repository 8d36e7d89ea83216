"""ELM models: the EEG tower, text tower, projections and the ``ELM`` bundle.

Importing this package also registers our EEG models in braindecode's model
registry (idempotent; see :func:`register_models`).
"""

from __future__ import annotations

from .bundle import ELM
from .eeg_encoder import ELMEncoder, count_parameters
from .embedding_cache import EmbeddingCache
from .model_card import Metric, ModelCard, TrainingData, write_model_card
from .projection import TextProjection
from .registry import MODEL_REGISTRY, create_model, load_model, register_models
from .text_encoder import DEFAULT_MAX_LENGTH, TextEncoder, minilm_path

__all__ = [
    "ELM",
    "ELMEncoder",
    "MODEL_REGISTRY",
    "EmbeddingCache",
    "Metric",
    "ModelCard",
    "TrainingData",
    "write_model_card",
    "TextEncoder",
    "TextProjection",
    "DEFAULT_MAX_LENGTH",
    "count_parameters",
    "create_model",
    "load_model",
    "register_models",
    "minilm_path",
]


# Importing this package registers our EEG models in braindecode (idempotent).
register_models()
