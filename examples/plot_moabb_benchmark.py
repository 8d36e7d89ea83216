"""
``moabb.benchmark`` with the ELM pipeline files (eegmat, offline)
=================================================================

MOABB's ``benchmark`` runs every pipeline file of a folder on every dataset its
paradigm accepts. braindecode-elm ships two pipeline files (ELM embeddings +
logistic regression, and tangent space + logistic regression) for its
paradigms, which hand every pipeline the 17 ELM electrodes in one order at
100 Hz. Here they run leave-one-subject-out on three subjects of the PhysioNet
*EEG during mental arithmetic* dataset (rest vs arithmetic), read from the
local data folder. Set ``ELM_MOABB_MODEL`` to a pretrained bundle folder to
evaluate it; unset, the ELM tower is untrained (a baseline).
"""

# %%
import tempfile
from pathlib import Path

import moabb
import torch
from moabb.paradigms import MotorImagery

from braindecode_elm import data_dir
from braindecode_elm.data.moabb_datasets import EEGMATMOABB
from braindecode_elm.evaluation.moabb_paradigms import (
    ELM_ELECTRODES,
    ELMRestingState,
    pipelines_dir,
)

torch.set_num_threads(1)
print(sorted(p.name for p in Path(pipelines_dir()).iterdir() if p.suffix != ".lock"))
print("ELM electrodes:", ELM_ELECTRODES)

# %%
# Rest vs mental arithmetic is not motor imagery: MOABB's ``MotorImagery``
# refuses EEGMAT, the resting-state paradigm takes it.
dataset = EEGMATMOABB()
print("MotorImagery accepts EEGMAT:", MotorImagery().is_valid(dataset))
print("ELMRestingState accepts EEGMAT:", ELMRestingState().is_valid(dataset))

# %%
# ``moabb.benchmark`` builds datasets with their defaults (all 36 subjects); the
# contexts file gives the paradigm its events and the three subjects to use.
if not (data_dir() / "eegmat").is_dir():
    print(f"eegmat not found under {data_dir()}; set ELM_DATA_DIR to run this part")
else:
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp) / "context.yml"
        context.write_text(
            "ELMRestingState:\n  events: [rest, arithmetic]\n  subjects: [1, 2, 3]\n"
        )
        results = moabb.benchmark(
            pipelines=pipelines_dir(),
            evaluations=["CrossSubject"],
            paradigms=["ELMRestingState"],
            contexts=str(context),
            include_datasets=["EEGMAT-MOABB"],
            results=str(Path(tmp) / "results"),
            output=str(Path(tmp) / "benchmark"),
            n_jobs=1,
        )
    print(results[["pipeline", "subject", "score", "samples"]])
    print(results.groupby("pipeline")["score"].mean())
