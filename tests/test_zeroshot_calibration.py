"""Zero-shot class offsets: computed from labelled (pretraining) windows, shipped
with the bundle, used by ``zero_shot`` and ``elm zeroshot``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.cli import main
from braindecode_elm.evaluation import (
    EmbeddedCorpus,
    calibrate_bundle,
    calibrate_offsets,
    zero_shot,
)
from braindecode_elm.evaluation.zeroshot import zero_shot_from_embeddings

R = np.sqrt


class Text:
    """A text tower with fixed embeddings: each prompt names its direction."""

    temperature = 0.5
    DIRS = {"north": [0.0, 1.0], "east": [1.0, 0.0], "northeast": [1.0, 1.0]}

    def embed_text(self, texts):
        return np.array([self.DIRS[t] for t in texts], dtype=float)


def test_calibrate_offsets_by_hand():
    """beta_c is the mean over classes of the mean cosine to class c."""
    classes = {"A": ["east"], "B": ["north", "northeast"]}
    # class B's embedding: mean of (0, 1) and (1, 1)/sqrt2, normalised
    b = np.array([R(0.5), 1 + R(0.5)])
    b = b / np.linalg.norm(b)
    # two windows of A, one of B (not normalised: the cosine normalises them)
    eeg = np.array([[3.0, 1.0], [1.0, 1.0], [1.0, 2.0]])
    unit = eeg / np.linalg.norm(eeg, axis=1, keepdims=True)
    cos_a, cos_b = unit[:, 0], unit @ b
    beta_a = ((3 / R(10) + 1 / R(2)) / 2 + 1 / R(5)) / 2
    assert cos_a[0] == pytest.approx(3 / R(10)) and cos_a[2] == pytest.approx(1 / R(5))
    beta_b = ((cos_b[0] + cos_b[1]) / 2 + cos_b[2]) / 2
    out = calibrate_offsets(Text(), eeg, ["A", "A", "B"], classes)
    assert list(out) == ["A", "B"]
    assert out["A"] == pytest.approx(beta_a, abs=1e-12)
    assert out["B"] == pytest.approx(beta_b, abs=1e-12)
    # class-balanced: not the plain mean over windows (2 A windows, 1 B window)
    assert out["A"] != pytest.approx(cos_a.mean(), abs=1e-3)
    # labels in any order, window order does not matter
    again = calibrate_offsets(Text(), eeg[::-1], ["B", "A", "A"], classes)
    assert again == pytest.approx(out)


def test_two_class_threshold_is_midway_between_the_class_means():
    rng = np.random.default_rng(0)
    classes = {"A": ["east"], "B": ["north"]}
    eeg = rng.normal(size=(50, 2)) + [0.3, 1.0]
    labels = ["A"] * 35 + ["B"] * 15
    off = calibrate_offsets(Text(), eeg, labels, classes)
    unit = eeg / np.linalg.norm(eeg, axis=1, keepdims=True)
    d = unit[:, 1] - unit[:, 0]  # s_B - s_A
    lab = np.array(labels)
    midway = (d[lab == "A"].mean() + d[lab == "B"].mean()) / 2
    assert off["B"] - off["A"] == pytest.approx(midway, abs=1e-12)


def _biased():
    """Embeddings whose raw argmax says "A" for nearly every window although
    the B windows lean towards B: a class bias, not a lack of information."""
    rng = np.random.default_rng(1)
    n = 40
    angle_a = rng.normal(0.15, 0.05, n)  # radians from "east" (class A)
    angle_b = rng.normal(0.55, 0.05, n)  # still closer to east than to north
    angles = np.concatenate([angle_a, angle_b])
    eeg = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    labels = ["A"] * n + ["B"] * n
    groups = [f"r{i // 4}" for i in range(2 * n)]  # 4 windows per recording
    return eeg, labels, groups


def test_offsets_change_predictions_not_the_auroc():
    eeg, labels, groups = _biased()
    classes = {"A": ["east"], "B": ["north"]}
    model = Text()
    corpus = EmbeddedCorpus(
        ids=list(dict.fromkeys(groups)),
        crop_embeddings=eeg,
        crop_groups=groups,
        descriptions={g: {"label": lab} for g, lab in zip(groups, labels)},
    )
    off = calibrate_offsets(model, eeg, labels, classes)
    for aggregate in ("crop", "recording"):
        raw = zero_shot(model, corpus, classes, labels="label", aggregate=aggregate)
        cal = zero_shot(
            model, corpus, classes, labels="label", aggregate=aggregate, offsets=off
        )
        assert "offsets" not in raw and cal["offsets"] == off
        assert set(raw["predictions"]) == {"A"}
        assert raw["balanced_accuracy"] == 0.5
        assert cal["balanced_accuracy"] == 1.0
        # offsets subtracted in cosine units, before the temperature
        shift = np.array([off["A"], off["B"]]) / model.temperature
        np.testing.assert_allclose(cal["scores"], raw["scores"] - shift, atol=1e-12)
        # a shift of the score difference does not change its ranking
        assert 0.9 < cal["auroc"] == raw["auroc"]


def test_zero_shot_from_embeddings_subtracts_before_temperature_and_mean():
    cls = np.array([[1.0, 0.0], [0.0, 1.0]])
    eeg = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    scores, order = zero_shot_from_embeddings(
        eeg, cls, ["r1", "r1", "r2"], temperature=0.5, offsets=[0.2, -0.1]
    )
    assert order == ["r1", "r2"]
    s = R(0.5)
    expected = [
        [(0.5 - 0.2) / 0.5, (0.5 + 0.1) / 0.5],
        [(s - 0.2) / 0.5, (s + 0.1) / 0.5],
    ]
    np.testing.assert_allclose(scores, expected, atol=1e-12)


def test_zero_shot_windows_passes_offsets():
    from braindecode_elm.evaluation.heldout import WindowSet, zero_shot_windows

    eeg, labels, groups = _biased()
    ids = list(dict.fromkeys(groups))
    ws = WindowSet(
        np.zeros((len(eeg), 1, 1), dtype=np.float32),
        groups,
        ids,
        labels={g: lab for g, lab in zip(groups, labels)},
    )
    classes = {"A": ["east"], "B": ["north"]}
    off = calibrate_offsets(Text(), eeg, ws.window_labels, classes)
    raw = zero_shot_windows(Text(), ws, eeg, classes)
    cal = zero_shot_windows(Text(), ws, eeg, classes, offsets=off)
    for level in ("window", "recording"):
        assert "offsets" not in raw[level] and cal[level]["offsets"] == off
        assert raw[level]["balanced_accuracy"] == 0.5
        assert cal[level]["balanced_accuracy"] == 1.0


# -- a real (small) bundle --------------------------------------------------------

OWN = {
    "normal": ["the EEG is normal", "a normal record"],
    "abnormal": ["the EEG is abnormal", "slowing is present"],
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from eval_helpers import build_small_bundle, build_small_cache

    root = tmp_path_factory.mktemp("calib")
    corpus, labels, raw = build_small_cache(root, n_subjects=8, seed=3)
    return corpus, labels, raw, build_small_bundle(root), root


def test_calibrate_bundle_saves_loads_and_cards_the_offsets(setup, tmp_path):
    from braindecode_elm.evaluation.heldout import tower_features
    from braindecode_elm.models import ELM, ModelCard, TrainingData

    _, _, _, model_dir, _ = setup
    model = ELM.from_pretrained(model_dir)
    assert model.prompt_offsets == {}
    model.prompt_sets = {"own": OWN}
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (12, 20, 500)).astype(np.float32)
    labels = ["normal", "abnormal"] * 6
    with pytest.raises(ValueError, match="'nope' is not one of the bundle's"):
        calibrate_bundle(model, "nope", x, labels)
    off = calibrate_bundle(model, "own", x, labels)
    feats = tower_features(model, x)
    assert off == pytest.approx(calibrate_offsets(model, feats, labels, OWN))
    assert model.prompt_offsets == {"own": off}
    assert list(off) == ["normal", "abnormal"]
    # precomputed features give the same offsets without the tower
    assert calibrate_bundle(model, "own", None, labels, features=feats) == off

    card = ModelCard(
        title="t",
        summary="s",
        training_data=[TrainingData("synthetic", subjects=[0, 1])],
        preprocessing={"recipe": "elm"},
        license="bsd-3-clause",
    )
    model.save_pretrained(tmp_path / "m", model_card=card)
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["prompt_offsets"] == {"own": off}
    back = ELM.from_pretrained(tmp_path / "m")
    assert back.prompt_offsets == {"own": off}
    readme = (tmp_path / "m" / "README.md").read_text()
    own = readme.split("**own**", 1)[1]
    line = f"`normal` {off['normal']:+.4f}, `abnormal` {off['abnormal']:+.4f}"
    assert f"Class offsets (pretraining windows): {line}" in own
    assert "no test data" in readme

    # a bundle written before offsets existed (no key) loads with none
    del cfg["prompt_offsets"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    assert ELM.from_pretrained(tmp_path / "m").prompt_offsets == {}


def _bundle_with_offsets(model_dir, tmp_path, sets, offsets):
    from braindecode_elm.models import ELM

    model = ELM.from_pretrained(model_dir)
    model.prompt_sets = sets
    for name, off in offsets.items():
        model.set_prompt_offsets(name, off)
    return model.save_pretrained(tmp_path / "bundle")


def test_elm_zeroshot_uses_the_bundles_offsets(setup, tmp_path, capsys):
    corpus, _, raw, model_dir, _ = setup
    # Offsets of +-1 (cosines lie in [-1, 1]) send every recording to "abnormal":
    # a visible effect of the offsets on the predictions.
    off = {"normal": 1.0, "abnormal": -1.0}
    bundle = _bundle_with_offsets(
        model_dir,
        tmp_path,
        {"own": OWN, "normal_abnormal": OWN},
        {"own": off, "normal_abnormal": off},
    )
    lab = f"{raw / 'ground_truth.csv'}:abnormal"
    base = ["zeroshot", "--model", str(bundle), "--cache", str(corpus.cache_dir)]
    base += ["--max-crops", "3", "--labels", lab, "--device", "cpu", "-q"]

    def run(*extra):
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        assert main([*base, *extra, "--out", str(out)]) == 0
        csv = out / "p.csv"
        assert main([*base, *extra, "--predictions", str(csv)]) == 0
        stdout = capsys.readouterr().out
        return stdout, json.loads((out / "zeroshot.json").read_text()), pd.read_csv(csv)

    # config.json is written with sorted keys: classes come back in that order
    said = "class offsets from the bundle's pretraining windows: abnormal -1.0000, "
    said += "normal +1.0000"
    out, cal, cal_csv = run("--prompts", "own")
    assert out.count(said) == 2, out
    assert cal["offsets"] == off
    assert set(cal["predictions"]) == {"abnormal"}
    assert set(cal_csv["prediction"]) == {"abnormal"}

    out, rawres, raw_csv = run("--prompts", "own", "--no-calibration")
    assert "class offsets" not in out
    assert "offsets" not in rawres
    # same columns, scores differ exactly by offset / temperature
    assert list(raw_csv.columns) == list(cal_csv.columns)
    assert list(raw_csv.columns) == [
        "recording_id", "prediction", "label", "score_abnormal", "score_normal"
    ]  # fmt: skip
    t = json.loads((bundle / "config.json").read_text())["temperature"]
    np.testing.assert_allclose(
        cal_csv["score_normal"], raw_csv["score_normal"] - 1.0 / t, atol=1e-5
    )
    np.testing.assert_allclose(
        cal_csv["score_abnormal"], raw_csv["score_abnormal"] + 1.0 / t, atol=1e-5
    )
    assert cal["auroc"] == pytest.approx(rawres["auroc"], abs=1e-12)

    # The same prompts from a JSON file, and a built-in set that shares the
    # bundle set's name but not its wording, get no offsets.
    (tmp_path / "own.json").write_text(json.dumps(OWN))
    out, res, _ = run("--prompts", str(tmp_path / "own.json"))
    assert "class offsets" not in out and "offsets" not in res
    cols = [res["classes"].index(c) for c in rawres["classes"]]
    np.testing.assert_allclose(
        np.array(res["scores"])[:, cols], rawres["scores"], atol=1e-6
    )
    out, res, _ = run("--prompts", "normal_abnormal")
    assert "class offsets" not in out and "offsets" not in res


@pytest.mark.realdata
def test_open_bundle_calibrated_on_its_training_subjects(
    shared_data, eegmat_dir, tmp_path, capsys
):
    """elm-open-5s with offsets from its own pretraining windows (eegmat subjects
    0-23) prints them when ``elm zeroshot`` classifies held-out subjects 24-35."""
    from braindecode_elm.evaluation.heldout import windows_from_labelled
    from braindecode_elm.evaluation.open_recipe import (
        EEGMAT_TEST_SUBJECTS,
        EEGMAT_TRAIN_SUBJECTS,
        build_shared_corpus,
    )
    from braindecode_elm.models import ELM

    model = ELM.from_pretrained("elm-open-5s")
    classes = set(model.prompt_sets["eegmat_rest_arithmetic"])

    def state(facts):
        return facts.get("state") if facts.get("state") in classes else None

    train = build_shared_corpus(
        str(shared_data), eegmat_subjects=EEGMAT_TRAIN_SUBJECTS, eegbci_runs=()
    )
    ws = windows_from_labelled(train, state)
    assert {int(ws.subjects[r].rsplit("-", 1)[1]) for r in ws.ids} == set(range(24))
    off = calibrate_bundle(model, "eegmat_rest_arithmetic", ws)
    assert set(off) == {"rest", "arithmetic"}
    bundle = model.save_pretrained(tmp_path / "calibrated")

    eeg = tmp_path / "eeg"
    eeg.mkdir()
    rows = ["recording_id,state"]
    for subject in EEGMAT_TEST_SUBJECTS:
        assert subject >= 24
        for run, st in ((1, "rest"), (2, "arithmetic")):
            name = f"Subject{subject}_{run}"
            (eeg / f"{name}.edf").symlink_to(eegmat_dir / f"{name}.edf")
            rows.append(f"{name},{st}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    cache = tmp_path / "cache"
    assert main(["preprocess", str(eeg), str(cache)]) == 0
    capsys.readouterr()
    base = ["zeroshot", "--model", str(bundle), "--cache", str(cache), "-q"]
    base += ["--labels", f"{tmp_path / 'labels.csv'}:state", "--device", "cpu"]
    base += ["--prompts", "eegmat_rest_arithmetic"]
    assert main([*base, "--out", str(tmp_path / "cal")]) == 0
    out = capsys.readouterr().out
    said = "class offsets from the bundle's pretraining windows: " + ", ".join(
        f"{c} {off[c]:+.4f}" for c in ("arithmetic", "rest")
    )
    assert said in out, out
    cal = json.loads((tmp_path / "cal" / "zeroshot.json").read_text())
    assert len(cal["ids"]) == 2 * len(EEGMAT_TEST_SUBJECTS)
    assert cal["offsets"] == pytest.approx(off)
    assert main([*base, "--no-calibration", "--out", str(tmp_path / "raw")]) == 0
    assert "class offsets" not in capsys.readouterr().out
    raw = json.loads((tmp_path / "raw" / "zeroshot.json").read_text())
    assert cal["auroc"] == pytest.approx(raw["auroc"], abs=1e-9)
    shift = np.array([off[c] for c in cal["classes"]]) / model.temperature
    np.testing.assert_allclose(
        np.array(cal["scores"]), np.array(raw["scores"]) - shift, atol=1e-5
    )
