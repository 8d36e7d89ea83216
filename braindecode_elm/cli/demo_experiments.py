"""The experiments of ``elm demo`` (``cli/demo.py`` holds the command plumbing).

:func:`synthetic_part` runs the synthetic TUH-like corpus (known ground truth);
:func:`real_data_part` the open recipe on the shared PhysioNet data (eegmat and
EEGBCI; :mod:`braindecode_elm.evaluation.open_recipe`): pretraining once per
seed, and evaluation on unseen subjects/runs beside baselines computed in the
same process (see :mod:`braindecode_elm.evaluation.heldout`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEMO_DURATION_S",
    "DEMO_PHENOTYPES",
    "DEMO_PRESET",
    "DEMO_SESSIONS",
    "real_data_part",
    "synthetic_part",
]

#: Half normal subjects (as in TUAB), the rest spread over the abnormal
#: phenotypes that a 2-class normal/abnormal task can learn from a few dozen
#: recordings. Focal slowing (one phenotype per side, a few subjects each) is left
#: out: with ~30 subjects it would be one or two recordings per split.
DEMO_PHENOTYPES = {
    "normal": 0.5,
    "diffuse_slowing": 0.2,
    "epileptiform_focal": 0.15,
    "epileptiform_generalized": 0.15,
}

#: Sessions per subject and recording length (s) of the demo corpus: more
#: subjects with fewer, shorter recordings give the subject-disjoint splits more
#: variety for the same compute.
DEMO_SESSIONS = (1, 2)
DEMO_DURATION_S = (120.0, 240.0)

#: Pretraining preset of the demo (tiny-cpu with AdamW, see its description).
DEMO_PRESET = "tiny-cpu-demo"


#: Whether the demo prints its progress lines and bars (``elm demo --quiet``
#: switches them off for one run; see :func:`progress_shown`).
_PROGRESS = {"shown": True}


@contextmanager
def progress_shown(shown: bool) -> Iterator[None]:
    """Show (or hide) the demo's progress lines and bars inside the block."""
    before = _PROGRESS["shown"]
    _PROGRESS["shown"] = shown
    try:
        yield
    finally:
        _PROGRESS["shown"] = before


def log(msg: str, t0: float) -> None:
    """Print ``msg`` with the seconds since ``t0`` (unless progress is hidden)."""
    if _PROGRESS["shown"]:
        print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", flush=True)


def pm(mean: float, std: float) -> str:
    """``mean +- std`` with three decimals."""
    return f"{mean:.3f} +- {std:.3f}"


def pretrain_bundle(
    cache: Path,
    run_dir: Path,
    epochs: int,
    seed: int,
    preset: str = DEMO_PRESET,
    **overrides: Any,
):
    from braindecode_elm.models import load_model
    from braindecode_elm.training import load_preset, pretrain

    cfg = load_preset(
        preset,
        data=str(cache),
        out=str(run_dir),
        epochs=epochs,
        seed=seed,
        device="cpu",
        deterministic=True,
        **overrides,
    )
    result = pretrain(cfg, progress=_PROGRESS["shown"])
    final = Path(getattr(result, "final_dir", None) or run_dir / "final")
    return load_model(final), result, final


def untrained_like(model: Any, seed: int) -> Any:
    """A bundle with the same architecture and text tower, random weights."""
    import torch

    from braindecode_elm.models import ELM

    torch.manual_seed(seed)
    fresh = ELM.from_config(model.config())
    fresh.text_encoder = model.text_encoder
    return fresh.eval()


def synthetic_part(
    out: Path,
    table: Any,
    *,
    n_subjects: int,
    epochs: int,
    seed: int,
    seeds: int,
    t0: float,
    max_crops: int | None,
) -> dict[str, Any]:
    import pandas as pd

    from braindecode_elm.data import (
        TUHReports,
        build_cache,
        make_synthetic_tuh,
        open_cache,
    )
    from braindecode_elm.evaluation import (
        embed_corpus,
        get_prompts,
        linear_probe,
        retrieval_metrics,
        zero_shot,
    )
    from braindecode_elm.evaluation.splits import subject_split

    from . import plots

    raw_dir = out / "synthetic" / "raw"
    log(f"synthetic corpus: {n_subjects} subjects -> {raw_dir}", t0)
    make_synthetic_tuh(
        raw_dir,
        n_subjects,
        seed=seed,
        phenotype_weights=DEMO_PHENOTYPES,
        sessions_per_subject=DEMO_SESSIONS,
        duration_s=DEMO_DURATION_S,
        overwrite=True,
        progress=_PROGRESS["shown"],
    )
    truth = pd.read_csv(raw_dir / "ground_truth.csv")
    truth["recording_id"] = truth["recording_id"].astype(str)
    truth["subject"] = truth["subject"].astype(str)
    pre_ids, held_ids = subject_split(
        truth["recording_id"],
        truth["subject"],
        [0.65, 0.35],
        seed=seed,
        # Stratify by phenotype, not just normal/abnormal: otherwise one split
        # can get all the slowing and the other all the spikes, and a probe or
        # zero-shot threshold learnt on one does not transfer to the other.
        stratify=truth["phenotype"],
    )
    caches = {}
    for name, ids in (("pretrain", pre_ids), ("heldout", held_ids)):
        (out / "synthetic" / f"{name}_ids.txt").write_text("\n".join(ids) + "\n")
        log(f"Rust preprocessing of {len(ids)} {name} recordings into the cache", t0)
        ds = TUHReports(raw_dir, recording_ids=ids)
        build_cache(
            ds,
            out / "synthetic" / f"cache_{name}",
            recipe="elm",
            n_jobs=1,
            progress=_PROGRESS["shown"],
        )
        caches[name] = open_cache(out / "synthetic" / f"cache_{name}")
    log(f"pretraining {DEMO_PRESET} ELM-MIL for {epochs} epoch(s)", t0)
    model, _, final = pretrain_bundle(
        out / "synthetic" / "cache_pretrain", out / "synthetic" / "run", epochs, seed
    )
    labels = dict(zip(truth["recording_id"], truth["abnormal"].astype(int)))
    classes = get_prompts("normal_abnormal")
    results: dict[str, Any] = {"model_dir": str(final)}
    summaries = {}
    for mname, m in (
        ("ELM tiny-cpu", model),
        ("untrained", untrained_like(model, seed)),
    ):
        log(f"evaluating {mname} on {len(caches['heldout'])} held-out recordings", t0)
        held = embed_corpus(m, caches["heldout"], with_text=True, max_crops=max_crops)
        train = embed_corpus(m, caches["pretrain"], max_crops=max_crops)
        zs = zero_shot(m, held, classes, labels=labels)
        table.add(
            "synthetic",
            mname,
            "zero-shot normal/abnormal",
            "balanced acc",
            f"{zs['balanced_accuracy']:.3f}",
        )
        table.add(
            "synthetic",
            mname,
            "zero-shot normal/abnormal",
            "AUROC",
            f"{zs['auroc']:.3f}",
        )
        rt = retrieval_metrics(m, held)
        e2t, t2e = rt["eeg_to_text"], rt["text_to_eeg"]
        table.add(
            "synthetic",
            mname,
            "EEG->report retrieval",
            "R@1 / R@5 / mAP",
            f"{e2t['R@1']:.3f} / {e2t['R@5']:.3f} / {e2t['mAP']:.3f}"
            f" (chance R@1 {e2t['chance_R@1']:.3f}; texts ranked by how many "
            f"reports hold them, no EEG: R@1 {e2t['text_frequency_R@1']:.3f})",
        )
        table.add(
            "synthetic",
            mname,
            "report->EEG retrieval",
            "R@1 / R@5 / mAP",
            f"{t2e['R@1']:.3f} / {t2e['R@5']:.3f} / {t2e['mAP']:.3f}"
            # Each direction's own chance: the top-level figure is EEG->report's.
            f" (chance R@1 {t2e['chance_R@1']:.3f})",
        )
        pr = linear_probe(
            m, train, held, labels=labels, fractions=(0.1, 1.0), seeds=seeds
        )
        s10 = pr["summary"][0.1]
        table.add(
            "synthetic",
            mname,
            "probe, 10 % labels",
            "balanced acc",
            pm(s10["balanced_accuracy_mean"], s10["balanced_accuracy_std"]),
        )
        table.add(
            "synthetic",
            mname,
            "probe, 10 % labels",
            "AUROC",
            pm(s10["auroc_mean"], s10["auroc_std"]),
        )
        summaries[mname] = pr["summary"]
        results[mname] = {"zero_shot": zs, "retrieval": rt, "probe": pr}
        if mname == "ELM tiny-cpu":
            plots.confusion_matrix(
                zs["confusion_matrix"],
                zs["classes"],
                out / "synthetic_zeroshot_confusion.png",
                title="synthetic held-out: zero-shot normal vs abnormal",
            )
            _heatmap_and_examples(m, held, out)
    plots.probe_curves(
        summaries,
        out / "synthetic_probe_curves.png",
        title="synthetic held-out: linear probe",
    )
    return results


def _heatmap_and_examples(model: Any, held: Any, out: Path) -> None:
    from . import plots

    rid = held.ids[0]
    crops = held.crop_embeddings[[g == rid for g in held.crop_groups]]
    tmask = [g == rid for g in held.text_groups]
    sents = [t for t, k in zip(held.texts, tmask) if k]
    sim = crops @ held.text_embeddings[tmask].T
    plots.similarity_heatmap(
        sim,
        sents,
        out / "synthetic_similarity_heatmap.png",
        title=f"{rid}: 5 s crops x its report sentences",
    )
    rec = held.recording_embeddings()
    examples = []
    for i in range(min(3, len(held.ids))):
        s = held.text_embeddings @ rec[i]
        own = {t for t, g in zip(held.texts, held.text_groups) if g == held.ids[i]}
        hits, seen = [], set()
        # Reports share boiler-plate sentences: show distinct texts; a hit is
        # "correct" when the query recording's own report contains it.
        for j in np.argsort(-s):
            if held.texts[j] in seen:
                continue
            seen.add(held.texts[j])
            hits.append((held.texts[j], float(s[j]), held.texts[j] in own))
            if len(hits) == 3:
                break
        examples.append({"query": held.ids[i], "hits": hits})
    plots.retrieval_examples(examples, out / "synthetic_retrieval_examples.png")


def real_data_part(
    out: Path,
    table: Any,
    *,
    data_dir: str | None,
    epochs: int,
    seeds: Sequence[int],
    t0: float,
    threads: int,
    eegmat_subjects: Sequence[int] = tuple(range(36)),
    eegbci_runs: Sequence[int] = tuple(range(3, 15)),
) -> dict[str, Any]:
    """The open recipe on the shared real data, once per seed, beside baselines.

    Pretrains on text made from the labels of eegmat subjects 0-23 and EEGBCI
    subject 1 runs 3-10 (:func:`~braindecode_elm.evaluation.open_recipe.\
run_open_recipe`), then scores zero-shot and linear probes on eegmat subjects
    24-35 and EEGBCI runs 11-14, next to the same tower untrained, log band
    power + LR and tangent space + LR on the same windows.

    Parameters
    ----------
    out : Path
        Output folder (bundles of every seed under ``out/real``).
    table : DemoTable
        Rows are appended here (mean +- sd over seeds).
    data_dir : str | None
        Folder holding ``eegmat/`` and ``eegbci/``.
    epochs : int
        Pretraining epochs of the recipe.
    seeds : sequence of int
        One pretraining run per seed (at least 3 for the published table).
    t0 : float
        Start time (log lines).
    threads : int
        Torch threads (fixed, for run-to-run identical numbers).
    eegmat_subjects, eegbci_runs : sequence of int
        Data used (the split into pretraining and test parts is fixed: eegmat
        subjects 0-23 / 24-35, EEGBCI runs 3-10 / 11-14); fewer for tests.

    Returns
    -------
    dict
        :func:`~braindecode_elm.evaluation.open_recipe.run_open_recipe`'s
        results, plus ``model_dirs``.
    """
    from dataclasses import replace

    from braindecode_elm.evaluation.open_recipe import (
        OPEN_RECIPE,
        build_shared_corpus,
        run_open_recipe,
    )

    from . import plots

    log("real data: preprocessing eegmat and EEGBCI (Rust engine)", t0)
    corpus = build_shared_corpus(
        data_dir, eegmat_subjects=eegmat_subjects, eegbci_runs=eegbci_runs
    )
    res = run_open_recipe(
        out / "real",
        seeds=seeds,
        recipe=replace(OPEN_RECIPE, epochs=epochs),
        corpus=corpus,
        threads=threads,
        log=lambda msg: log(msg, t0),
    )
    res["model_dirs"] = [str(out / "real" / f"seed{s}") for s in seeds]
    d = res["data"]
    mat, bci = d["eegmat_test_subjects"], d["eegbci_test_runs"]
    parts = {"eegmat": f"eegmat {min(mat)}-{max(mat)}"}
    if bci:
        parts["eegbci"] = f"eegbci S1 runs {min(bci)}-{max(bci)}"
    for method, tasks in res["summary"].items():
        for task, metrics in tasks.items():
            ds, name = task.split(" ", 1)
            ba, auc = metrics["balanced_accuracy"], metrics["auroc"]
            table.add(
                parts[ds],
                method,
                name,
                "balanced acc / AUROC",
                f"{pm(ba['mean'], ba['sd'])} / {pm(auc['mean'], auc['sd'])}",
            )
    curves = {
        method: {
            frac: {
                "balanced_accuracy_mean": tasks[f"eegmat window probe, {p} labels"][
                    "balanced_accuracy"
                ]["mean"],
                "balanced_accuracy_std": tasks[f"eegmat window probe, {p} labels"][
                    "balanced_accuracy"
                ]["sd"],
            }
            for frac, p in ((0.1, "10%"), (1.0, "100%"))
        }
        for method, tasks in res["summary"].items()
    }
    plots.probe_curves(
        curves,
        out / "eegmat_probe_curves.png",
        title=f"{parts['eegmat']}: window-level probe (mean +- sd over "
        f"{len(seeds)} seeds)",
    )
    return res
