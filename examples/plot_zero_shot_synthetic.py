"""
Zero-shot classification and retrieval on a tiny synthetic corpus
=================================================================

Write a few synthetic TUH-like recordings with reports, preprocess them with the
Rust engine into the ELM cache, and run zero-shot classification (normal vs
abnormal, with a prompt ensemble), EEG <-> report retrieval and a similarity
heatmap. To stay fast in the docs build the model here is *untrained* (a narrow
tower and the offline MiniLM text tower), so the numbers are at chance level:
``elm demo`` shows the same steps after pretraining.
"""

# %%
# A small corpus and its cache
# ----------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from braindecode_elm.data import TUHReports, build_cache, make_synthetic_tuh, open_cache
from braindecode_elm.evaluation import (
    embed_corpus,
    get_prompts,
    retrieval_metrics,
    zero_shot,
)
from braindecode_elm.models import ELM, ELMEncoder, TextEncoder, TextProjection

torch.set_num_threads(1)
root = Path(tempfile.mkdtemp())
make_synthetic_tuh(
    root / "raw",
    6,
    seed=3,
    duration_s=(70.0, 90.0),
    sessions_per_subject=(1, 1),
    phenotype_weights={"normal": 0.5, "diffuse_slowing": 0.5},
    progress=False,
)
build_cache(TUHReports(root / "raw"), root / "cache", progress=False)
corpus = open_cache(root / "cache")
truth = pd.read_csv(root / "raw" / "ground_truth.csv")
labels = dict(zip(truth["recording_id"], truth["abnormal"]))
print(f"{len(corpus)} recordings cached")

# %%
# An (untrained) ELM bundle and the embeddings
# --------------------------------------------
torch.manual_seed(0)
text = TextEncoder("minilm")
model = ELM(ELMEncoder(n_filters=8), text, TextProjection(text.dim)).eval()
emb = embed_corpus(model, corpus, with_text=True, max_crops=6)
print(emb.crop_embeddings.shape, len(emb.texts), "report sentences")

# %%
# Zero-shot with a prompt ensemble
# --------------------------------
classes = get_prompts("normal_abnormal")
res = zero_shot(model, emb, classes, labels=labels)
for rid, pred in zip(res["ids"], res["predictions"]):
    print(rid, "->", pred, "(truth:", ["normal", "abnormal"][labels[rid]], ")")
print(f"balanced accuracy {res['balanced_accuracy']:.2f}, AUROC {res['auroc']:.2f}")

# %%
# Retrieval: EEG -> report and report -> EEG
# ------------------------------------------
rt = retrieval_metrics(model, emb)
print({k: round(v, 3) for k, v in rt["eeg_to_text"].items()})
print("chance R@1:", round(rt["chance_R@1"], 3))

# %%
# Crops x report sentences of one recording
# -----------------------------------------
rid = emb.ids[0]
crops = emb.crop_embeddings[[g == rid for g in emb.crop_groups]]
mask = [g == rid for g in emb.text_groups]
sim = crops @ emb.text_embeddings[mask].T
fig, ax = plt.subplots(figsize=(7, 3))
im = ax.imshow(sim.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xlabel("5 s crop")
ax.set_ylabel("report sentence")
fig.colorbar(im, ax=ax)
ax.set_title(f"{rid}: cosine similarity (untrained model)")
print(np.round(sim.mean(0), 2))
