"""The shipped elm-open-5s bundle: offline by name, card and docs from its results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shipped() -> Path:
    from braindecode_elm.models.pretrained import PRETRAINED_DIR

    return PRETRAINED_DIR / "elm-open-5s"


def _eegmat_folder_and_labels(eegmat_dir: Path, tmp_path: Path, subjects) -> tuple:
    """A plain folder of the subjects' eegmat files (links) and their labels CSV
    (``recording_id,state``), as a user would write them."""
    eeg = tmp_path / "eeg"
    eeg.mkdir()
    rows = ["recording_id,state"]
    for subject in subjects:
        for run, state in ((1, "rest"), (2, "arithmetic")):
            name = f"Subject{subject}_{run}"
            (eeg / f"{name}.edf").symlink_to(eegmat_dir / f"{name}.edf")
            rows.append(f"{name},{state}")
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(rows) + "\n")
    return eeg, labels, rows[1:]


def test_bundle_loads_offline_by_name_everywhere():
    from braindecode_elm.evaluation import ELMFeatures
    from braindecode_elm.models import ELM, load_model
    from braindecode_elm.models.pretrained import resolve_bundle, shipped_bundles

    assert "elm-open-5s" in shipped_bundles()
    assert resolve_bundle("elm-open-5s") == _shipped()
    model = ELM.from_pretrained("elm-open-5s")
    assert set(model.prompt_sets) == {"eegmat_rest_arithmetic", "eegbci_rest_task"}
    x = np.random.default_rng(0).normal(0, 2, (3, 20, 500)).astype(np.float32)
    emb = model.embed_eeg(x)
    assert tuple(emb.shape) == (3, 256)
    np.testing.assert_allclose(emb.norm(dim=-1).detach().numpy(), 1.0, atol=1e-5)
    again = load_model("elm-open-5s")
    np.testing.assert_allclose(
        again.embed_eeg(x).detach().numpy(), emb.detach().numpy(), atol=1e-6
    )
    ch = "Fp1 Fp2 F7 F3 Fz F4 F8 T3 C3 Cz C4 T4 T5 P3 Pz P4 T6 O1 O2".split()
    raw = np.random.default_rng(1).normal(0, 20, (3, len(ch), 1250))  # uV, 250 Hz
    feats = ELMFeatures("elm-open-5s", ch_names=ch, sfreq=250.0, units="uV")
    out = feats.fit_transform(raw)
    assert out.shape == (3, 256) and np.isfinite(out).all()
    # the weights are a few MB
    size = sum(p.stat().st_size for p in _shipped().iterdir())
    assert size < 8e6, size


@pytest.mark.realdata
def test_bundle_tower_fine_tunes_with_eegclassifier(eegmat_dir, tmp_path):
    """``ELMEncoder.from_pretrained("elm-open-5s", n_outputs=2)``: the bundle's
    pretrained tower with a new head, fine-tuned by Braindecode's
    ``EEGClassifier`` on real eegmat windows; a bundle folder works as its name
    does, and tower-shape arguments are refused."""
    import torch
    from braindecode import EEGClassifier

    from braindecode_elm.data import EEGMAT
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.models import ELM, ELMEncoder

    bundle = ELM.from_pretrained("elm-open-5s")
    x = torch.from_numpy(
        np.random.default_rng(0).normal(0, 2, (4, 20, 500)).astype(np.float32)
    )
    tower = ELMEncoder.from_pretrained("elm-open-5s")
    assert not tower.training
    torch.testing.assert_close(tower(x), bundle.eeg_encoder(x))
    bundle.save_pretrained(tmp_path / "bundle")
    from_folder = ELMEncoder.from_pretrained(tmp_path / "bundle", n_outputs=2)
    torch.testing.assert_close(
        from_folder(x, return_features=True)["embedding"], tower(x)
    )
    with pytest.raises(TypeError, match=r"takes only .*not \['n_chans'\]"):
        ELMEncoder.from_pretrained("elm-open-5s", n_chans=3)

    corpus = build_labelled_corpus(
        {"eegmat": EEGMAT(path=str(eegmat_dir.parents[2]), subjects=[24, 25])}
    )
    windows, seg = corpus.crops(5.0)
    y = np.array([corpus.segments[i].facts["state"] == "arithmetic" for i in seg])
    assert len(windows) == 48 and y.sum() == 24
    model = ELMEncoder.from_pretrained("elm-open-5s", n_outputs=2)
    before = model.res_blocks[0].conv1_layers[0][-1].weight.detach().clone()
    clf = EEGClassifier(
        model, max_epochs=2, batch_size=16, train_split=None, lr=1e-3, verbose=0
    )
    clf.fit(windows.astype(np.float32), y.astype(np.int64))
    assert clf.predict_proba(windows.astype(np.float32)).shape == (48, 2)
    assert len(clf.history) == 2 and np.isfinite(clf.history[-1, "train_loss"])
    # the pretrained tower itself was trained, not only the new head
    assert not torch.equal(model.res_blocks[0].conv1_layers[0][-1].weight, before)


def test_unknown_bundle_name_lists_the_shipped_ones():
    from braindecode_elm.models import ELM

    with pytest.raises(FileNotFoundError, match="elm-open-5s"):
        ELM.from_pretrained("elm-open-6s")


def test_model_card_and_docs_are_generated_from_the_results():
    import importlib.util

    from braindecode_elm.evaluation.open_recipe import model_card

    res = json.loads((_shipped() / "results.json").read_text())
    assert len(res["seeds"]) >= 3
    card = (_shipped() / "MODEL_CARD.md").read_text()
    config = json.loads((_shipped() / "config.json").read_text())
    offsets = config.get("prompt_offsets")
    assert card == model_card(res, f"seed{res['seeds'][0]}", offsets)
    # the shipped bundle is calibrated on its pretraining windows, and says so
    assert set(offsets) == {"eegmat_rest_arithmetic", "eegbci_rest_task"}
    assert "pretraining windows only" in card
    assert "eegmat zero-shot, recording, uncalibrated" in res["summary"]["elm-open-5s"]
    for text in ("ODC-By", "eegmat", "EEGBCI", "subjects 0-23", "24-35"):
        assert text in card, text
    z = res["summary"]["elm-open-5s"]["eegmat zero-shot, recording"]
    assert f"{z['balanced_accuracy']['mean']:.3f}" in card
    # baselines measured in the same run
    assert {"log band power + LR", "tangent space + LR", "untrained tower"} <= set(
        res["summary"]
    )
    spec = importlib.util.spec_from_file_location(
        "open_bundle", ROOT / "scripts" / "open_bundle.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    doc = (ROOT / "docs" / "labelled_pretraining.rst").read_text()
    block = doc.split(".. results:open-bundle:start\n")[1].split(
        ".. results:open-bundle:end"
    )[0]
    assert block.strip("\n") == mod.rst_table(res).strip("\n")


@pytest.mark.realdata
def test_elm_zeroshot_takes_the_bundles_own_prompt_sets(eegmat_dir, tmp_path, capsys):
    """``elm zeroshot --model elm-open-5s --prompts eegmat_rest_arithmetic``: the
    bundle's prompt set by name gives the same scores as that set written to a JSON
    file; an unknown name lists the model's sets."""
    from braindecode_elm.cli import main
    from braindecode_elm.models import ELM

    # subjects held out of the bundle's training
    eeg, labels, rows = _eegmat_folder_and_labels(eegmat_dir, tmp_path, (24, 25))
    cache = tmp_path / "cache"
    assert main(["preprocess", str(eeg), str(cache)]) == 0
    base = ["zeroshot", "--model", "elm-open-5s", "--cache", str(cache)]
    base += ["--labels", f"{labels}:state", "--device", "cpu", "-q"]

    a, b = tmp_path / "a", tmp_path / "b"
    assert main([*base, "--prompts", "eegmat_rest_arithmetic", "--out", str(a)]) == 0
    by_name = json.loads((a / "zeroshot.json").read_text())
    assert sorted(by_name["ids"]) == sorted(r.split(",")[0] for r in rows)
    assert sorted(by_name["classes"]) == ["arithmetic", "rest"]

    bundle = ELM.from_pretrained("elm-open-5s")
    prompts = bundle.prompt_sets["eegmat_rest_arithmetic"]
    (tmp_path / "p.json").write_text(json.dumps(prompts))
    assert main([*base, "--prompts", str(tmp_path / "p.json"), "--out", str(b)]) == 0
    by_file = json.loads((b / "zeroshot.json").read_text())
    assert by_file["classes"] == by_name["classes"]
    # The set by name uses the bundle's class offsets (a file of prompts does not):
    # raw scores equal the file's, calibrated ones differ by offset / temperature.
    c = tmp_path / "c"
    raw_args = ["--prompts", "eegmat_rest_arithmetic", "--no-calibration"]
    assert main([*base, *raw_args, "--out", str(c)]) == 0
    by_name_raw = json.loads((c / "zeroshot.json").read_text())
    np.testing.assert_allclose(by_file["scores"], by_name_raw["scores"], atol=1e-6)
    off = bundle.prompt_offsets["eegmat_rest_arithmetic"]
    shift = np.array([off[k] for k in by_name["classes"]]) / bundle.temperature
    np.testing.assert_allclose(
        np.asarray(by_file["scores"]) - shift, by_name["scores"], atol=1e-6
    )
    capsys.readouterr()

    assert main([*base, "--prompts", "eegmat_nope"]) == 2
    err = capsys.readouterr().err
    assert "is neither a built-in set" in err
    assert "model's sets ['eegbci_rest_task', 'eegmat_rest_arithmetic']" in err


@pytest.mark.realdata
def test_elm_zeroshot_on_the_test_subjects_reproduces_the_model_card(
    eegmat_dir, tmp_path, capsys
):
    """The user's path (``elm preprocess`` on the eegmat files of the held-out
    subjects 24-35, then ``elm zeroshot --model elm-open-5s --drop-first 0``) gives
    the shipped seed's zero-shot recording figures of the model card; the default
    ``--drop-first 10`` (ELM's recipe for clinical recordings) crops 10 s less of
    every 62 s file."""
    from braindecode_elm.cli import main

    results = json.loads((_shipped() / "results.json").read_text())
    shipped = results["runs"][results["seeds"].index(results["recipe"]["seed"])]
    card = shipped["elm-open-5s"]["eegmat zero-shot, recording"]

    eeg, labels, _ = _eegmat_folder_and_labels(eegmat_dir, tmp_path, range(24, 36))
    cache = tmp_path / "cache"
    assert main(["preprocess", str(eeg), str(cache), "-q"]) == 0
    base = ["zeroshot", "--model", "elm-open-5s", "--cache", str(cache)]
    base += ["--prompts", "eegmat_rest_arithmetic", "--labels", f"{labels}:state"]
    base += ["--device", "cpu", "-q"]

    whole, recipe = tmp_path / "whole", tmp_path / "recipe"
    assert main([*base, "--drop-first", "0", "--out", str(whole)]) == 0
    got = json.loads((whole / "zeroshot.json").read_text())
    assert len(got["ids"]) == 24
    assert got["balanced_accuracy"] == pytest.approx(card["balanced_accuracy"])
    # The cache holds float16 signals, the recipe's windows float32.
    assert got["auroc"] == pytest.approx(card["auroc"], abs=0.01)
    line = f"balanced accuracy {card['balanced_accuracy']:.3f}  AUROC"
    assert line in capsys.readouterr().out

    # The card's window rows, per crop (the command could not give them)
    crops = tmp_path / "crops"
    assert (
        main([*base, "--drop-first", "0", "--level", "crop", "--out", str(crops)]) == 0
    )
    per_crop = json.loads((crops / "zeroshot.json").read_text())
    window = shipped["elm-open-5s"]["eegmat zero-shot, window"]
    assert len(per_crop["ids"]) == 24 * 12
    assert per_crop["balanced_accuracy"] == pytest.approx(
        window["balanced_accuracy"], abs=0.01
    )
    assert per_crop["auroc"] == pytest.approx(window["auroc"], abs=0.01)
    assert per_crop["settings"]["level"] == "crop"
    assert per_crop["crop"][:13] == [*range(12), 0]  # 12 crops per recording
    assert per_crop["settings"]["drop_first_s"] == 0.0
    assert got["settings"]["prompts"] == "eegmat_rest_arithmetic"
    assert got["settings"]["labels"] == f"{labels}:state"
    assert got["settings"]["cache"] == str(cache.resolve())
    assert main([*base, "--out", str(recipe)]) == 0
    default = json.loads((recipe / "zeroshot.json").read_text())
    assert default["ids"] == got["ids"]
    assert not np.allclose(default["scores"], got["scores"])
    # elm benchmark resolves the bundle's prompt set (and its offsets) the same
    # way, per model: same figures as elm zeroshot.
    bench = tmp_path / "bench"
    argv = ["benchmark", "--models", "elm-open-5s", "--datasets", str(cache)]
    argv += ["--tasks", "zeroshot", "--labels", f"{labels}:state", "-q"]
    argv += ["--prompts", "eegmat_rest_arithmetic", "--drop-first", "0"]
    assert main([*argv, "--out", str(bench)]) == 0
    (cell,) = (bench / "cells").glob("*.json")
    cell = json.loads(cell.read_text())
    assert cell["metrics"]["balanced_accuracy"] == pytest.approx(
        got["balanced_accuracy"]
    )
    assert cell["metrics"]["auroc"] == pytest.approx(got["auroc"])
    assert cell["details"]["offsets"] == pytest.approx(got["offsets"])
    # Without -q the command says which crops it used.
    capsys.readouterr()
    assert main([a for a in base if a != "-q"]) == 0
    err = capsys.readouterr().err
    assert "24 recordings, 240 crops of 5 s (10 per recording; the first 10 s" in err


def test_a_folder_of_the_shipped_name_is_said(tmp_path, monkeypatch):
    """./elm-open-5s in the working folder: an empty one gave a self-contradicting
    error, a bundle there was used without a word (outside user)."""
    import torch

    from braindecode_elm.models import load_model
    from braindecode_elm.models.pretrained import PRETRAINED_DIR

    monkeypatch.chdir(tmp_path)
    (tmp_path / "elm-open-5s").mkdir()
    with pytest.warns(UserWarning, match="no bundle .*the shipped bundle"):
        shipped = load_model("elm-open-5s")
    shipped.save_pretrained(tmp_path / "elm-open-5s")
    # the card (data licence and attribution) travels with the weights
    card = (tmp_path / "elm-open-5s" / "MODEL_CARD.md").read_text()
    original = (PRETRAINED_DIR / "elm-open-5s" / "MODEL_CARD.md").read_text()
    # the original card, under a note that its figures are the loaded bundle's
    assert card.startswith("> Saved from a loaded bundle") and card.endswith(original)
    assert "ODC-By" in card
    with pytest.warns(UserWarning, match="working directory is loaded, not the"):
        local = load_model("elm-open-5s")
    x = torch.zeros(1, 20, 500)
    with torch.no_grad():
        assert torch.allclose(local.embed_eeg(x + 1), shipped.embed_eeg(x + 1))
    assert (PRETRAINED_DIR / "elm-open-5s" / "config.json").is_file()
