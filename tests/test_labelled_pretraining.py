"""Pretraining on text from labels (the recipe of elm-open-5s), on synthetic TUH."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_pretrain_labelled_on_synthetic_tuh_without_reports(tmp_path):
    """TUAB label + header age/sex -> facts -> a bundle that zero-shots pathology."""
    import torch

    from braindecode_elm.data import TUHReports, make_synthetic_tuh
    from braindecode_elm.data.descriptions import DescriptionBuilder
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.evaluation.heldout import (
        tower_features,
        windows_from_labelled,
        zero_shot_windows,
    )
    from braindecode_elm.models import ELM
    from braindecode_elm.training.labelled import (
        LabelledRecipe,
        fact_prompts,
        pretrain_labelled,
    )

    torch.set_num_threads(1)
    make_synthetic_tuh(tmp_path / "raw", 4, seed=2, duration_s=(40.0, 40.0))
    # The TUAB normal/abnormal label comes from a label table (the synthetic
    # corpus writes its ground truth next to the EDF files), age/sex from headers.
    raw = tmp_path / "raw"
    tuab = TUHReports(raw, metadata=raw / "ground_truth.csv")
    corpus = build_labelled_corpus({"tuh": tuab})
    facts = {f for s in corpus.segments for f in s.facts}
    assert {"pathology", "age_group", "sex"} <= facts
    b = DescriptionBuilder()
    prompts = {"pathology": fact_prompts(b, "pathology", ["normal", "abnormal"])}
    recipe = LabelledRecipe(n_filters=4, epochs=2, batch_size=8, text_hidden=32)
    # The 4 synthetic recordings share one sex: that fact is left out, said.
    with pytest.warns(UserWarning, match=r"teach nothing .* \{'sex'"):
        model, hist = pretrain_labelled(
            corpus, recipe, builder=b, prompt_sets=prompts, log=None
        )
    assert len(hist["loss"]) == 2 and all(np.isfinite(hist["loss"]))
    # Facts with one value in these 4 recordings teach nothing and are left out.
    values = {f: {g.facts[f] for g in corpus.segments if f in g.facts} for f in facts}
    multi = {f for f, v in values.items() if len(v) > 1}
    assert "pathology" in multi and set(hist["facts"]) == multi
    # every wording of every fact value present is a training sentence
    n = len(
        {
            (s.fact, s.text)
            for g in corpus.segments
            for s in b.sentences({k: g.facts[k] for k in multi & set(g.facts)}, "all")
        }
    )
    assert hist["n_sentences"] == n
    model.save_pretrained(tmp_path / "bundle")
    again = ELM.from_pretrained(tmp_path / "bundle")
    assert again.prompt_sets == prompts
    ws = windows_from_labelled(corpus, lambda f: f.get("pathology"))
    feats = tower_features(again, ws.x)
    np.testing.assert_allclose(feats, tower_features(model, ws.x), atol=1e-5)
    zs = zero_shot_windows(again, ws, feats, prompts["pathology"])
    assert zs["recording"]["scores"].shape == (len(ws.ids), 2)
    assert set(zs["window"]["predictions"]) <= {"normal", "abnormal"}


def test_pretrain_labelled_errors_name_the_problem(tmp_path):
    from braindecode_elm.data.labelled_corpus import LabelledCorpus, Segment
    from braindecode_elm.training.labelled import LabelledRecipe, pretrain_labelled

    sig = {"d/r1": np.zeros((20, 1000), np.float32)}
    seg = [Segment("d", "d/s1", "d/r1", 0, 1000, {"state": "rest"})]
    with pytest.raises(ValueError, match="none of the facts"):
        pretrain_labelled(
            LabelledCorpus(sig, seg), LabelledRecipe(facts=("pathology",)), log=None
        )


def test_facts_with_one_value_teach_nothing_and_are_said(tmp_path):
    """A corpus of one class trained to loss 0 without a word; now it is refused,
    and a fact with one value beside others is left out with a warning."""
    from braindecode_elm.data.labelled_corpus import LabelledCorpus, Segment
    from braindecode_elm.training.labelled import LabelledRecipe, pretrain_labelled

    rng = np.random.default_rng(0)
    sig = {
        f"d/r{i}": rng.standard_normal((20, 600)).astype(np.float32) for i in range(4)
    }
    rest = [
        Segment("d", f"d/s{i}", f"d/r{i}", 0, 600, {"state": "rest", "sex": "female"})
        for i in range(4)
    ]
    recipe = LabelledRecipe(n_filters=2, epochs=1, batch_size=4, text_hidden=16)
    with pytest.raises(ValueError, match="every fact has one value"):
        pretrain_labelled(LabelledCorpus(sig, rest), recipe, log=None)
    mixed = [
        Segment(
            "d", f"d/s{i}", f"d/r{i}", 0, 600,
            {"state": ("rest", "arithmetic")[i % 2], "sex": "female"},
        )
        for i in range(4)
    ]  # fmt: skip
    with pytest.warns(UserWarning, match=r"left out: \{'sex': 'female'\}"):
        _, hist = pretrain_labelled(LabelledCorpus(sig, mixed), recipe, log=None)
    assert hist["facts"] == ["state"] and hist["loss"][0] > 0


def test_labelled_recipe_on_tuev_recordings_with_two_classes(tmp_path):
    """A recording with spikes and eye movements gives two segments spanning it;
    scoring per segment crashed on their shared start after training (outside
    user)."""
    import json

    import torch

    from braindecode_elm.data import TUHReports, make_synthetic_tuh
    from braindecode_elm.data.descriptions import tuh_annotation_facts
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.evaluation.labelled_run import run_labelled_recipe
    from braindecode_elm.training.labelled import LabelledRecipe

    torch.set_num_threads(1)
    raw = tmp_path / "raw"
    make_synthetic_tuh(raw, 6, seed=4, duration_s=(30.0, 30.0))
    ds = TUHReports(raw)
    codes = ["1\n", "4\n", "1\n1,3.0,4.0,5\n", "5\n", "1\n1,3.0,4.0,4\n", "4\n"]
    for d, code in zip(ds.datasets, codes):
        Path(d.description["path"]).with_suffix(".rec").write_text("0,1.0,2.0," + code)
    corpus = build_labelled_corpus({"tuev": ds}, facts_of=tuh_annotation_facts)
    recipe = LabelledRecipe(n_filters=2, epochs=1, batch_size=8, text_hidden=16)
    res = run_labelled_recipe(
        corpus, tmp_path / "run", recipe=recipe, test_size=0.34, seed=0, log=None
    )
    assert res["facts"]["finding"]["unit"] == "segment"
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["facts"]
    # Each segment with its part, time and facts: the file says what was taught.
    segs = saved["segments"]
    assert len(segs) == len(corpus.segments)
    assert {s["part"] for s in segs} == {"train", "test"}
    for part in ("train", "test"):
        subjects = {s["subject"] for s in segs if s["part"] == part}
        assert subjects == set(res["split"][part])
    events = [s for s in segs if s["facts"].get("finding") not in (None, "background")]
    assert events and all(s["stop_s"] > s["start_s"] >= 0 for s in segs)
    assert {(s["start_s"], s["stop_s"]) for s in events} <= {(1.0, 2.0), (3.0, 4.0)}
    assert (tmp_path / "run" / "bundle" / "config.json").is_file()
