"""ELM embeddings + logistic regression, as a ``moabb.benchmark`` pipeline file.

The model is named by the ``ELM_MOABB_MODEL`` environment variable: a bundle
folder (``ELM.save_pretrained`` output, e.g. a pretraining run's ``final/``) or a
bundle shipped with the package (``elm-open-5s``); unset, it is an untrained ELM
tower with seed 0, a baseline that tells how much of a score the pretraining
earns. The pipeline is ``ELM+LR`` for that baseline and ``ELM[<model>]+LR``
for a model (``ELM[elm-open-5s]+LR``), so rows of both stay apart in one
results table. The ELM paradigms hand the pipeline the ELM
electrodes in a fixed order at 100 Hz, in microvolts (MOABB's ``unit_factor``).
"""

import os

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from braindecode_elm.evaluation.features import ELMFeatures
from braindecode_elm.evaluation.moabb_paradigms import ELM_ELECTRODES, ELM_SFREQ

_MODEL = os.environ.get("ELM_MOABB_MODEL") or None
_NAME = f"ELM[{os.path.basename(os.path.normpath(_MODEL))}]+LR" if _MODEL else "ELM+LR"

PIPELINE = {
    "name": _NAME,
    "paradigms": ["ELMRestingState", "ELMMotorImagery"],
    "pipeline": make_pipeline(
        ELMFeatures(
            _MODEL,
            ch_names=list(ELM_ELECTRODES),
            sfreq=ELM_SFREQ,
            units="uV",
            seed=0,
        ),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2000),
    ),
}
