"""Model cards of ELM bundles: README.md with data, recipe, metrics, licence."""

from __future__ import annotations

import pytest
import torch

from braindecode_elm.models import (
    ELM,
    ELMEncoder,
    Metric,
    ModelCard,
    TrainingData,
    write_model_card,
)
from braindecode_elm.models.model_card import ELM_CITATION, read_model_card

torch.set_num_threads(1)

PROMPTS = {"rest_task": {"rest": ["Resting EEG."], "task": ["Mental arithmetic."]}}


def _card(**kw) -> ModelCard:
    args = dict(
        title="elm-test-5s",
        summary="A tiny ELM bundle for tests.",
        training_data=[
            TrainingData("EEGMAT (PhysioNet)", subjects=[0, 1, 2], n_recordings=6),
            TrainingData(
                "EEGBCI", subjects=["S001"], role="evaluation", notes="runs 4, 8, 12"
            ),
        ],
        preprocessing={"recipe": "elm", "band (Hz)": (0.1, 49.0), "sfreq (Hz)": 100},
        license="cc-by-4.0",
        metrics=[
            Metric(
                "EEGMAT rest vs task",
                "balanced accuracy",
                values=[0.6, 0.7, 0.8],
                seeds=[0, 1, 2],
                baselines={"TS+LR": [0.5, 0.5, 0.5]},
            )
        ],
    )
    args.update(kw)
    return ModelCard(**args)


def test_card_written_with_bundle_lists_everything(tmp_path) -> None:
    torch.manual_seed(0)
    model = ELM(ELMEncoder(n_filters=4), prompt_sets=PROMPTS)
    model.save_pretrained(tmp_path, model_card=_card())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    meta, body = read_model_card(tmp_path)
    assert meta["license"] == "cc-by-4.0"
    assert meta["library_name"] == "braindecode-elm"
    assert meta["datasets"] == ["EEGMAT (PhysioNet)", "EEGBCI"]
    assert {"eeg", "braindecode"} <= set(meta["tags"])
    # subjects per dataset, the recipe, mean +- sample sd over the named seeds
    assert "| EEGMAT (PhysioNet) | pretraining | 0, 1, 2 | 6 |" in body
    assert "| EEGBCI | evaluation | S001 |" in body and "runs 4, 8, 12" in body
    assert "| band (Hz) | 0.1, 49.0 |" in body
    assert "| 0.700 +- 0.100 | TS+LR: 0.500 +- 0.000 | 0, 1, 2 |" in body
    # the prompt sets come from the bundle, so card and config.json agree
    assert "**rest_task**" in body and '- `task`: "Mental arithmetic."' in body
    assert ELM_CITATION in body
    # the card does not get in the way of loading
    loaded = ELM.from_pretrained(tmp_path)
    assert loaded.prompt_sets == PROMPTS


def test_card_nonstandard_licence_and_no_prompts(tmp_path) -> None:
    path = write_model_card(
        tmp_path, _card(license="No licence stated by the authors.", metrics=())
    )
    meta, body = read_model_card(tmp_path)
    assert path.name == "README.md"
    assert meta["license"] == "other"
    assert meta["license_name"] == "No licence stated by the authors."
    assert "No metrics were recorded" in body
    assert "ships no prompt sets" in body


def test_card_rejects_missing_facts(tmp_path) -> None:
    with pytest.raises(ValueError, match="at least one dataset"):
        _card(training_data=[])
    with pytest.raises(ValueError, match="non-empty list of subject ids"):
        TrainingData("EEGMAT", subjects=[])
    with pytest.raises(ValueError, match="recipe"):
        _card(preprocessing={})
    with pytest.raises(ValueError, match="licen"):
        _card(license=" ")
    with pytest.raises(ValueError, match="one value per seed: got 2 values for 3"):
        Metric("t", "acc", values=[0.5, 0.6], seeds=[0, 1, 2])
    with pytest.raises(ValueError, match="repeats a seed"):
        Metric("t", "acc", values=[0.5, 0.6], seeds=[1, 1])
    with pytest.raises(ValueError, match="baseline 'LR' has 1 values for 2 seeds"):
        Metric("t", "acc", values=[0.5, 0.6], seeds=[0, 1], baselines={"LR": [0.5]})
    with pytest.raises(ValueError, match="non-finite"):
        Metric("t", "acc", values=[float("nan")], seeds=[0])
    with pytest.raises(TypeError, match="ModelCard"):
        write_model_card(tmp_path, {"title": "x"})
    with pytest.raises(FileNotFoundError, match="no model card"):
        read_model_card(tmp_path / "nowhere")
