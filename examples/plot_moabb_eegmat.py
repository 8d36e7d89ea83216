"""
ELM features in a MOABB evaluation on real EEG (eegmat, offline)
================================================================

Compare ELM embeddings + logistic regression with CSP + LDA and tangent space +
logistic regression in MOABB's ``CrossSubjectEvaluation`` on two subjects of the
PhysioNet *EEG during mental arithmetic* dataset (rest vs arithmetic, 5 s windows),
read from the local data folder (nothing is downloaded). The ELM tower is untrained
here to keep the docs build fast; pass a pretrained bundle folder as ``model=``.
"""

# %%
import torch

from braindecode_elm import data_dir
from braindecode_elm.data.moabb_datasets import EEGMATMOABB
from braindecode_elm.evaluation.moabb_eval import (
    WindowParadigm,
    run_moabb_comparison,
)

torch.set_num_threads(1)
if not (data_dir() / "eegmat").is_dir():
    print(f"eegmat not found under {data_dir()}; set ELM_DATA_DIR to run this example")
else:
    dataset = EEGMATMOABB(download=False)
    paradigm = WindowParadigm(["rest", "arithmetic"], tmin=0.0, tmax=5.0)
    results = run_moabb_comparison(
        dataset,
        paradigm,
        subjects=[1, 2],
        pipelines=["ELM+LR", "CSP+LDA", "TS+LR"],
    )
    print(results[["pipeline", "subject", "score", "samples", "time"]])
    print(results.groupby("pipeline")["score"].mean())
