"""ELM models: the EEG tower, text tower, projections and the ``ELM`` bundle.

Importing this package also registers our EEG models in braindecode's model
registry (idempotent; see :func:`braindecode_elm.register_models`).
"""

from __future__ import annotations

from .bundle import ELM
from .eeg_encoder import ELMEncoder, count_parameters
from .embedding_cache import EmbeddingCache
from .model_card import Metric, ModelCard, TrainingData, write_model_card
from .projection import TextProjection
from .registry import MODEL_REGISTRY, create_model, load_model
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
    "minilm_path",
]


def _register() -> None:
    # The braindecode import hook may have fired while this package was only
    # partly initialised (its registration then cannot see ELMEncoder yet);
    # registering here, at the end of our own import, covers that order.
    from .._registration import register_models

    register_models()


_register()
