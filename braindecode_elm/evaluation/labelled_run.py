"""Pretrain on your own labelled collections and zero-shot the held-out subjects.

The open recipe (:mod:`~braindecode_elm.evaluation.open_recipe`) runs on the
shared eegmat and EEGBCI data with their fixed splits. :func:`run_labelled_recipe`
is the same recipe for any :class:`~braindecode_elm.data.labelled_corpus.
LabelledCorpus` (folders of EDF files with label tables, BIDS trees, TUH without
reports, several at once): a subject-disjoint split per dataset, pretraining on
the training part, one zero-shot prompt set per fact that has two values or
more (every wording of each value), class offsets from the training windows,
and zero-shot scores of every such fact on the held-out subjects. ``elm
pretrain-labelled`` is its command line.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..dsp.recipe import ELM_SFREQ

__all__ = ["run_labelled_recipe"]


def _metrics(z: Mapping[str, Any]) -> dict[str, Any]:
    def num(v: Any) -> float | None:
        v = float(v)
        return None if np.isnan(v) else v

    return {
        "balanced_accuracy": num(z["balanced_accuracy"]),
        "auroc": num(z["auroc"]),
        "n": len(z["ids"]),
    }


def run_labelled_recipe(
    corpus: Any,
    out: str | Path,
    *,
    recipe: Any = None,
    test_size: float = 0.2,
    seed: int = 0,
    builder: Any = None,
    log: Callable[[str], None] | None = print,
    skipped: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Split, pretrain, calibrate and zero-shot the held-out subjects.

    Parameters
    ----------
    corpus : LabelledCorpus
        From :func:`~braindecode_elm.data.labelled_corpus.build_labelled_corpus`.
    out : path
        Folder for the bundle (``bundle/``) and ``results.json``.
    recipe : LabelledRecipe | None
        Settings (default ``LabelledRecipe()``, the shipped bundle's recipe);
        its seed is replaced by ``seed``.
    test_size : float
        Share of each dataset's subjects held out.
    seed : int
        Seed of the split and of the pretraining.
    builder : DescriptionBuilder | None
        Wordings of the facts (the one the corpus was built with).
    log : callable | None
        Progress lines.
    skipped : list of dict | None
        Files and recordings left out before the corpus (stored in the results
        beside the corpus's own :attr:`~LabelledCorpus.skipped`).

    Returns
    -------
    dict
        ``split`` (subjects per part), ``facts`` (per fact with two values or
        more: its values and the zero-shot scores per window and per recording
        on the held-out part, ``None`` where the held-out part has one class),
        ``history`` and ``recipe``; also written to ``out/results.json``.

    Raises
    ------
    ValueError
        When a dataset has too few subjects for a held-out part, or no fact has
        two values in the training part.
    """
    from braindecode_elm.data.descriptions import DescriptionBuilder
    from braindecode_elm.training.labelled import (
        LabelledRecipe,
        fact_prompts,
        pretrain_labelled,
    )

    from .heldout import tower_features, windows_from_labelled, zero_shot_windows
    from .zeroshot import calibrate_bundle

    say = log or (lambda _msg: None)
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    t0 = time.perf_counter()
    out = Path(out)
    builder = builder or DescriptionBuilder()
    recipe = replace(recipe or LabelledRecipe(), seed=seed)
    parts = corpus.split({"train": 1 - test_size, "test": test_size}, seed=seed)
    if not len(parts.get("test", ())) or not len(parts.get("train", ())):
        n_subj = len(set(corpus.subjects))
        raise ValueError(
            f"too few subjects for a train and a held-out part ({n_subj} in "
            f"{len(corpus.datasets)} dataset(s)): give more subjects or another "
            "test_size"
        )
    train, test = parts["train"], parts["test"]
    for ds in corpus.datasets:
        if not any(s.dataset == ds for s in test.segments):
            # Too few subjects: the dataset trains, and nothing of it is scored.
            warnings.warn(
                f"dataset {ds!r} has too few subjects for a held-out part "
                f"({len({s.subject for s in corpus.segments if s.dataset == ds})}); "
                "all of it trains and none of it is scored",
                UserWarning,
                stacklevel=2,
            )
    wanted = recipe.facts
    values: dict[str, set[str]] = {}
    for s in train.segments:
        for fact, value in s.facts.items():
            if wanted is None or fact in wanted:
                values.setdefault(fact, set()).add(value)
    prompts = {
        fact: fact_prompts(builder, fact, sorted(v))
        for fact, v in sorted(values.items())
        if len(v) > 1
    }
    say(f"facts with two values or more: {sorted(prompts) or 'none'}")
    model, history = pretrain_labelled(
        train, recipe, builder=builder, prompt_sets=prompts, log=log
    )
    results: dict[str, Any] = {
        "split": {
            "train": sorted(set(train.subjects)),
            "test": sorted(set(test.subjects)),
        },
        "recipe": asdict(recipe),
        "history": history,
        "facts": {},
        "skipped": list(skipped or []) + list(corpus.skipped),
        # What each recording was taught and in which part: the text a
        # segment's crops were paired with is built from these facts.
        "segments": [
            {
                "part": part,
                "dataset": seg.dataset,
                "subject": seg.subject,
                "recording": seg.recording,
                "start_s": seg.start / ELM_SFREQ,
                "stop_s": seg.stop / ELM_SFREQ,
                "facts": dict(seg.facts),
            }
            for part, segs in (("train", train.segments), ("test", test.segments))
            for seg in segs
        ],
    }
    for fact, classes in prompts.items():

        def label(
            facts: Mapping[str, str], fact: str = fact, known: Any = classes
        ) -> str | None:
            v = facts.get(fact)
            return v if v in known else None

        # Recordings segmented by events (EEGBCI cues) hold several values of
        # a fact: their segments are the units scored.
        mixed = _mixed_recordings(train, fact) or _mixed_recordings(test, fact)
        group = "segment" if mixed else "recording"
        w_train = windows_from_labelled(train, label, group=group)
        calibrate_bundle(
            model, fact, w_train, features=tower_features(model, w_train.x)
        )
        entry: dict[str, Any] = {"values": sorted(classes), "unit": group}
        unseen: dict[str, int] = {}
        for s in test.segments:
            v = s.facts.get(fact)
            if v is not None and v not in classes:
                unseen[v] = unseen.get(v, 0) + 1
        if unseen:
            # Values no training recording has: no prompt to score them with.
            entry["left_out"] = unseen
            say(
                f"{fact}: held-out segments of values the training part lacks are "
                f"not scored: {unseen}"
            )
        try:
            w_test = windows_from_labelled(test, label, group=group)
        except ValueError:
            entry["note"] = (
                "the held-out part's values of this fact are all absent from the "
                "training part: counted in left_out, not scored"
                if unseen
                else "the held-out part has no segment with this fact"
            )
            results["facts"][fact] = entry
            continue
        zs = zero_shot_windows(
            model,
            w_test,
            tower_features(model, w_test.x),
            classes,
            offsets=model.prompt_offsets.get(fact),
        )
        entry.update({level: _metrics(z) for level, z in zs.items()})
        results["facts"][fact] = entry
        rec = entry["recording"]
        ba = rec["balanced_accuracy"]
        say(
            f"zero-shot {fact} on held-out subjects: "
            + (
                f"balanced accuracy {ba:.3f} per {group} (n={rec['n']})"
                if ba is not None
                else f"one class among the {rec['n']} held-out {group}s"
            )
        )
    model.save_pretrained(out / "bundle")
    results["wall_s"] = time.perf_counter() - t0
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results


def _mixed_recordings(part: Any, fact: str) -> bool:
    seen: dict[str, set[str]] = {}
    for s in part.segments:
        if fact in s.facts:
            seen.setdefault(s.recording, set()).add(s.facts[fact])
    return any(len(v) > 1 for v in seen.values())
