"""The ELM bundle: embeddings, save_pretrained / from_pretrained, strict loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from braindecode_elm.models import ELM, ELMEncoder, TextEncoder, TextProjection

torch.set_num_threads(1)

PROMPTS = {"tuab": {"normal": ["normal EEG"], "abnormal": ["abnormal EEG", "slowing"]}}


def _bundle(**kw) -> ELM:
    torch.manual_seed(0)
    model = ELM(ELMEncoder(n_filters=4), prompt_sets=PROMPTS, temperature=0.25, **kw)
    # Non-trivial BN statistics so a lost buffer would show.
    model.train()
    with torch.no_grad():
        model.embed_eeg(torch.randn(8, 20, 500))
        model.embed_text_features(torch.randn(8, 384))
    return model.eval()


def test_embeddings_are_unit_norm() -> None:
    model = _bundle()
    e = model.embed_eeg(torch.randn(3, 20, 500))
    t = model.embed_text(["normal EEG", "focal slowing"])
    assert e.shape == (3, 256) and t.shape == (2, 256)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(t.norm(dim=1), torch.ones(2))
    feats = model.text_encoder.encode(["normal EEG", "focal slowing"])
    torch.testing.assert_close(model.embed_text_features(feats), t)
    torch.testing.assert_close(model.similarity(e, t), e @ t.T / 0.25)
    # float16 numpy (the cache format) is accepted.
    x16 = np.random.default_rng(0).normal(size=(2, 20, 500)).astype(np.float16)
    torch.testing.assert_close(
        model.embed_eeg(x16), model.embed_eeg(torch.from_numpy(x16).float())
    )


def test_text_encoder_is_not_part_of_the_state() -> None:
    model = _bundle()
    model.embed_text(["load the language model"])
    keys = set(model.state_dict())
    assert keys and all(
        k.startswith(("eeg_encoder.", "text_projection.")) for k in keys
    )
    assert not any("text_encoder" in n for n, _ in model.named_parameters())


def test_save_and_load_roundtrip(tmp_path) -> None:
    model = _bundle()
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["prompt_sets"] == PROMPTS
    assert config["temperature"] == 0.25
    assert config["text_model"]["name_or_path"] == "minilm"
    assert config["eeg_encoder"]["kwargs"]["n_filters"] == 4
    weights = load_file(tmp_path / "model.safetensors")
    # The public language model is referenced, never copied.
    assert not any("text_encoder" in k or "embeddings" in k for k in weights)
    assert "text_projection.net.4.running_var" in weights

    loaded = ELM.from_pretrained(tmp_path)
    assert not loaded.training
    assert loaded.prompt_sets == PROMPTS and loaded.temperature == 0.25
    x = torch.randn(4, 20, 500)
    torch.testing.assert_close(loaded.embed_eeg(x), model.embed_eeg(x))
    f = torch.randn(5, 384)
    torch.testing.assert_close(
        loaded.embed_text_features(f), model.embed_text_features(f)
    )
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v, rtol=0, atol=0)


def test_text_reference_records_revision_after_use(tmp_path) -> None:
    enc = TextEncoder("minilm", max_length=40)
    model = ELM(ELMEncoder(n_filters=4), text_encoder=enc)
    assert model.text_projection.in_dim == 384
    model.save_pretrained(tmp_path)
    spec = json.loads((tmp_path / "config.json").read_text())["text_model"]
    assert spec["max_length"] == 40 and spec["pooling"] == "mean"
    assert spec["revision"] == enc.revision
    loaded = ELM.from_pretrained(tmp_path)
    assert loaded.text_encoder.max_length == 40
    assert loaded.text_encoder.revision == enc.revision
    other = TextEncoder("minilm", max_length=20)
    assert ELM.from_pretrained(tmp_path, text_encoder=other).text_encoder is other


def test_strict_loading_names_bad_keys(tmp_path) -> None:
    _bundle().save_pretrained(tmp_path)
    w = load_file(tmp_path / "model.safetensors")
    del w["eeg_encoder.proj.3.weight"]
    w["eeg_encoder.extra.weight"] = torch.zeros(2)
    save_file(w, tmp_path / "model.safetensors")
    with pytest.raises(ValueError) as err:
        ELM.from_pretrained(tmp_path)
    msg = str(err.value)
    assert "missing keys ['eeg_encoder.proj.3.weight']" in msg
    assert "unexpected keys ['eeg_encoder.extra.weight']" in msg


def test_shape_mismatch_is_named(tmp_path) -> None:
    _bundle().save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["eeg_encoder"]["kwargs"]["n_filters"] = 8
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="eeg_encoder.bn1.weight: file \\(12,\\)"):
        ELM.from_pretrained(tmp_path)


def test_missing_files_and_unsafe_config(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not an ELM bundle"):
        ELM.from_pretrained(tmp_path)
    _bundle().save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["eeg_encoder"]["kwargs"]["activation"] = "os.system"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="not a torch.nn class"):
        ELM.from_pretrained(tmp_path)
    cfg["format_version"] = 99
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="format_version 99"):
        ELM.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        # A string in place of the prompt list was read letter by letter.
        (lambda c: c["prompt_sets"]["tuab"].update(normal="normal EEG"), "got str"),
        (lambda c: c["prompt_sets"].update(tuab="x"), "non-empty mapping"),
        (lambda c: c["prompt_sets"]["tuab"].update(normal=[1]), "not non-empty text"),
        (lambda c: c["prompt_sets"]["tuab"].update(normal=[]), "non-empty list"),
        # bool("false") is True
        (lambda c: c.update(has_text_head="false"), "has_text_head must be true"),
        (lambda c: c.update(model_type="bert"), "model_type 'bert'"),
    ],
)
def test_hand_edited_configs_are_refused(tmp_path, edit, match) -> None:
    """An outside user's tampered bundles loaded and scored silently wrong."""
    _bundle().save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    edit(cfg)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=match) as err:
        ELM.from_pretrained(tmp_path)
    assert "config.json" in str(err.value)


def test_unknown_config_keys_are_said(tmp_path) -> None:
    _bundle().save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["tokenizer_extra"] = 1
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.warns(UserWarning, match=r"\['tokenizer_extra'\] are not read"):
        ELM.from_pretrained(tmp_path)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="temperature"):
        ELM(temperature=0)
    with pytest.raises(ValueError, match="text_dim=768"):
        ELM(text_projection=TextProjection(384), text_dim=768)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        ELM(prompt_sets={"x": {1, 2}})
    assert ELM(text_model="medcpt").text_projection.in_dim == 768
    model = ELM(text_dim=32)
    assert model.text_projection.in_dim == 32
    with pytest.raises(TypeError, match="must be a TextEncoder"):
        model.text_encoder = "minilm"


def test_from_pretrained_hub_id_offline_from_cache(
    tmp_path, monkeypatch, fill_hf_cache
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = _bundle()
    model.save_pretrained(tmp_path / "bundle")
    cache = tmp_path / "hf-cache"
    fill_hf_cache(cache, "someone/elm-test", tmp_path / "bundle")
    loaded = ELM.from_pretrained("someone/elm-test", cache_dir=cache)
    x = torch.randn(3, 20, 500)
    torch.testing.assert_close(loaded.embed_eeg(x), model.embed_eeg(x))
    assert loaded.prompt_sets == PROMPTS
    # not cached and no download allowed: a clear error, not a network attempt
    with pytest.raises(FileNotFoundError, match="neither a folder nor in the Hugging"):
        ELM.from_pretrained("someone/not-cached", cache_dir=cache)
    # a missing local path keeps the local-folder message
    with pytest.raises(FileNotFoundError, match="not an ELM bundle"):
        ELM.from_pretrained(tmp_path / "missing" / "bundle")


def test_encoder_from_pretrained_takes_a_bundle_hub_id(
    tmp_path, monkeypatch, fill_hf_cache
) -> None:
    """``ELMEncoder.from_pretrained("user/bundle", n_outputs=2)`` on a bundle
    pushed with ``ELM.push_to_hub``: its tower with a new head, offline from the
    Hugging Face cache; a tower repo still loads the Braindecode way."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = _bundle()
    model.save_pretrained(tmp_path / "bundle")
    cache = tmp_path / "hf-cache"
    fill_hf_cache(cache, "someone/elm-test", tmp_path / "bundle")
    x = torch.randn(3, 20, 500)
    tower = ELMEncoder.from_pretrained("someone/elm-test", cache_dir=cache)
    torch.testing.assert_close(tower(x), model.eeg_encoder.eval()(x))
    head = ELMEncoder.from_pretrained("someone/elm-test", cache_dir=cache, n_outputs=2)
    assert head(x).shape == (3, 2)
    torch.testing.assert_close(head(x, return_features=True)["embedding"], tower(x))
    with pytest.raises(TypeError, match=r"is an ELM bundle.*not \['n_chans'\]"):
        ELMEncoder.from_pretrained("someone/elm-test", cache_dir=cache, n_chans=3)
    model.eeg_encoder.save_pretrained(tmp_path / "tower")
    fill_hf_cache(cache, "someone/tower", tmp_path / "tower")
    plain = ELMEncoder.from_pretrained("someone/tower", cache_dir=cache)
    torch.testing.assert_close(plain(x), tower(x))


def test_bundle_without_text_head_refuses_text(tmp_path) -> None:
    model = ELM(ELMEncoder(n_filters=4), text_dim=384, has_text_head=False)
    model.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["has_text_head"] is False
    loaded = ELM.from_pretrained(tmp_path)
    assert loaded.has_text_head is False
    assert loaded.embed_eeg(torch.randn(2, 20, 500)).shape == (2, 256)
    with pytest.raises(ValueError, match="no trained text head.*zero-shot"):
        loaded.embed_text(["normal EEG"])
    with pytest.raises(ValueError, match="no trained text head"):
        loaded.embed_text_features(torch.randn(2, 384))
    # bundles written before the flag existed have a text head
    del cfg["has_text_head"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert ELM.from_pretrained(tmp_path).has_text_head is True


def test_push_to_hub_uploads_bundle_with_card(tmp_path, monkeypatch) -> None:
    """push_to_hub creates the repo and uploads config, weights and README.md."""
    import huggingface_hub

    from braindecode_elm.models import ModelCard, TrainingData

    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, **kw):
            calls["create"] = (repo_id, kw)

        def upload_folder(self, *, repo_id, folder_path, **kw):
            from pathlib import Path

            folder = Path(folder_path)
            calls["files"] = sorted(p.name for p in folder.iterdir())
            calls["readme"] = (folder / "README.md").read_text()
            calls["upload"] = (repo_id, kw)
            # what the Hub would then serve: the folder loads as a bundle
            calls["loaded"] = ELM.from_pretrained(folder)
            return type("Info", (), {"commit_url": "https://hub/commit/1"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    card = ModelCard(
        title="elm-test",
        summary="test",
        training_data=[TrainingData("EEGMAT", subjects=[1, 2])],
        preprocessing={"recipe": "elm"},
        license="mit",
    )
    url = _bundle().push_to_hub("me/elm-test", model_card=card, token="t0k")
    assert url == "https://hub/commit/1"
    assert calls["token"] == "t0k"
    assert calls["create"] == (
        "me/elm-test",
        {"private": None, "exist_ok": True, "repo_type": "model"},
    )
    assert calls["files"] == ["README.md", "config.json", "model.safetensors"]
    assert "# elm-test" in calls["readme"] and "**tuab**" in calls["readme"]
    assert calls["upload"][1]["repo_type"] == "model"
    assert calls["loaded"].prompt_sets == PROMPTS


def test_bundle_of_a_chs_info_encoder_round_trips(tmp_path) -> None:
    """An encoder sized by chs_info (3 channels) reloads with 3 channels."""
    chs = [{"ch_name": n, "kind": "eeg"} for n in ("C3", "Cz", "C4")]
    torch.manual_seed(0)
    model = ELM(ELMEncoder(chs_info=chs, n_filters=4), text_dim=384).eval()
    model.save_pretrained(tmp_path)
    assert (
        json.loads((tmp_path / "config.json").read_text())["eeg_encoder"]["kwargs"][
            "n_chans"
        ]
        == 3
    )
    loaded = ELM.from_pretrained(tmp_path)
    assert loaded.eeg_encoder.n_chans == 3
    x = torch.randn(2, 3, 500)
    torch.testing.assert_close(loaded.embed_eeg(x), model.embed_eeg(x))


def test_benchmark_reads_bundle_prompt_sets_with_the_same_checks(tmp_path) -> None:
    """elm benchmark read other bundles' prompt sets from config.json without the
    load's checks: a string list was scored letter by letter (review)."""
    from braindecode_elm.evaluation.benchmark import bundle_prompt_sets

    _bundle().save_pretrained(tmp_path)
    assert bundle_prompt_sets([str(tmp_path)])[str(tmp_path)] == PROMPTS
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["prompt_sets"]["tuab"]["normal"] = "normal EEG"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"config.json prompt_sets\['tuab'\].*got str"):
        bundle_prompt_sets([str(tmp_path)])


def test_weights_are_written_with_the_umask_and_unreadable_ones_named(
    tmp_path, monkeypatch
) -> None:
    """safetensors wrote every bundle and checkpoint 0600 whatever the umask,
    so a bundle in a shared folder failed to load for everyone else, and the
    error said 'No such file or directory' (outside user)."""
    import os

    import braindecode_elm.models.bundle as bundle_mod
    from braindecode_elm._files import save_safetensors

    old = os.umask(0o027)
    try:
        folder = _bundle().save_pretrained(tmp_path / "b")
        save_safetensors({"a": torch.zeros(2)}, tmp_path / "x.safetensors")
    finally:
        os.umask(old)
    for path in (folder / "model.safetensors", tmp_path / "x.safetensors"):
        assert path.stat().st_mode & 0o777 == 0o640, oct(path.stat().st_mode)
    assert (folder / "config.json").stat().st_mode & 0o777 == 0o640

    # What a user without read permission meets (root reads any file, so the
    # refusal is simulated as safetensors reports it).
    def unreadable(*args, **kwargs):
        raise OSError("No such file or directory: " + str(args[0]))

    monkeypatch.setattr("safetensors.safe_open", unreadable)
    monkeypatch.setattr(bundle_mod.os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match=r"cannot be read: permission denied"):
        ELM.from_pretrained(folder)
