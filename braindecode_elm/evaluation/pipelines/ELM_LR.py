"""ELM embeddings + logistic regression, as a ``moabb.benchmark`` pipeline file.

The model is the ELM bundle folder named by the ``ELM_MOABB_MODEL`` environment
variable (``ELM.save_pretrained`` output, e.g. a pretraining run's ``final/``);
unset, it is an untrained ELM tower with seed 0, a baseline that tells how much
of a score the pretraining earns. The ELM paradigms hand the pipeline the ELM
electrodes in a fixed order at 100 Hz, in microvolts (MOABB's ``unit_factor``).
"""

import os

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from braindecode_elm.evaluation.features import ELMFeatures
from braindecode_elm.evaluation.moabb_paradigms import ELM_ELECTRODES, ELM_SFREQ

PIPELINE = {
    "name": "ELM+LR",
    "paradigms": ["ELMRestingState", "ELMMotorImagery"],
    "pipeline": make_pipeline(
        ELMFeatures(
            os.environ.get("ELM_MOABB_MODEL") or None,
            ch_names=list(ELM_ELECTRODES),
            sfreq=ELM_SFREQ,
            units="uV",
            seed=0,
        ),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=2000),
    ),
}
