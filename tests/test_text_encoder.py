"""TextEncoder (MiniLM offline), pooling, truncation, embedding cache, projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from braindecode_elm.models import (
    DEFAULT_MAX_LENGTH,
    EmbeddingCache,
    TextEncoder,
    TextProjection,
    count_parameters,
    minilm_path,
)

torch.set_num_threads(1)

TEXTS = [
    "Normal EEG.",
    "There is intermittent focal slowing over the left temporal region.",
    "Generalized spike and wave discharges are seen.",
]


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    return TextEncoder("minilm")


def test_minilm_defaults(minilm: TextEncoder) -> None:
    assert minilm.model_id == "minilm"
    assert minilm.pooling == "mean"
    assert minilm.max_length == 80
    assert minilm.dim == 384
    assert minilm.trust_remote_code is False
    assert (minilm_path() / "config.json").is_file()
    assert DEFAULT_MAX_LENGTH == {"sentence": 80, "paragraph": 150, "report": 512}
    assert TextEncoder(segment_mode="paragraph").max_length == 150
    assert TextEncoder(segment_mode="report").max_length == 512
    assert TextEncoder(max_length=33, segment_mode="report").max_length == 33


def test_minilm_matches_sentence_transformers(minilm: TextEncoder) -> None:
    st = pytest.importorskip("sentence_transformers")
    ref = torch.from_numpy(
        st.SentenceTransformer(str(minilm_path()), device="cpu").encode(TEXTS)
    )
    got = minilm.encode(TEXTS)
    assert got.shape == (3, 384) and got.dtype == torch.float32
    # sentence-transformers' all-MiniLM-L6-v2 = mean pooling + L2 normalisation.
    torch.testing.assert_close(F.normalize(got, dim=-1), ref, rtol=1e-4, atol=1e-5)


def test_mean_pooling_ignores_padding(minilm: TextEncoder) -> None:
    batched = minilm.encode(TEXTS)
    for i, text in enumerate(TEXTS):
        torch.testing.assert_close(
            batched[i], minilm.encode([text])[0], rtol=1e-4, atol=1e-5
        )
    # Reference: mean over the non-padding hidden states, computed by hand.
    tok = minilm._tokenizer(TEXTS[1], return_tensors="pt")
    with torch.no_grad():
        hidden = minilm.model(**tok).last_hidden_state[0]
    torch.testing.assert_close(batched[1], hidden.mean(0), rtol=1e-4, atol=1e-5)


def test_cls_pooling(minilm: TextEncoder) -> None:
    enc = TextEncoder("minilm", pooling="cls")
    got = enc.encode(TEXTS[:1])
    tok = minilm._tokenizer(TEXTS[:1], return_tensors="pt")
    with torch.no_grad():
        ref = minilm.model(**tok).last_hidden_state[:, 0]
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_truncation_uses_max_length() -> None:
    a = "the background rhythm is well organised " * 3 + "and normal"
    b = "the background rhythm is well organised " * 3 + "but slow"
    short = TextEncoder("minilm", max_length=8).encode([a, b])
    torch.testing.assert_close(short[0], short[1])
    longer = TextEncoder("minilm", max_length=80).encode([a, b])
    assert not torch.allclose(longer[0], longer[1])


def test_frozen_by_default(minilm: TextEncoder) -> None:
    out = minilm.encode(TEXTS[:2])
    assert not out.requires_grad
    assert not any(p.requires_grad for p in minilm.model.parameters())
    minilm.train()
    assert not minilm.model.training
    unfrozen = TextEncoder("minilm", freeze=False)
    feats = unfrozen.encode(TEXTS[:2])
    assert feats.requires_grad
    feats.sum().backward()
    assert unfrozen.model.embeddings.word_embeddings.weight.grad is not None


def test_embedding_cache_roundtrip(tmp_path, monkeypatch) -> None:
    enc = TextEncoder("minilm", cache_dir=tmp_path)
    first = enc.encode(TEXTS + [TEXTS[0]])  # duplicate embedded once
    assert len(enc.cache) == 3
    torch.testing.assert_close(first[0], first[3])
    files = sorted(tmp_path.rglob("*.npy"))
    assert len(files) == 3
    arr = np.load(files[0], allow_pickle=False)
    assert arr.shape == (384,) and arr.dtype == np.float32

    # A fresh encoder with the same setting never runs the language model.
    again = TextEncoder("minilm", cache_dir=tmp_path)

    def boom(texts):
        raise AssertionError(f"language model called on cached texts {texts}")

    monkeypatch.setattr(again, "forward_batch", boom)
    torch.testing.assert_close(again.encode(TEXTS), first[:3])

    # A different max_length (or pooling) is a different key: computed afresh.
    other = TextEncoder("minilm", cache_dir=tmp_path, max_length=12)
    calls = []
    real = other.forward_batch
    monkeypatch.setattr(other, "forward_batch", lambda t: calls.append(t) or real(t))
    other.encode(TEXTS[:1])
    assert calls == [TEXTS[:1]]
    assert other.cache.folder != enc.cache.folder
    assert len(list(tmp_path.glob("*/setting.json"))) == 2


def test_cache_key_depends_on_everything(tmp_path) -> None:
    base = EmbeddingCache(tmp_path, "m", "r1", "mean", 80)
    for changed in (
        EmbeddingCache(tmp_path, "m2", "r1", "mean", 80),
        EmbeddingCache(tmp_path, "m", "r2", "mean", 80),
        EmbeddingCache(tmp_path, "m", "r1", "cls", 80),
        EmbeddingCache(tmp_path, "m", "r1", "mean", 81),
    ):
        assert changed.folder != base.folder
    base.put("hello", np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(base.get("hello"), np.arange(4))
    assert base.get("hello!") is None
    # A truncated file (killed writer) reads as a miss, not a crash.
    path = next(tmp_path.rglob("*.npy"))
    path.write_bytes(b"\x93NUMPY")
    assert base.get("hello") is None


def test_medcpt_defaults_and_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ELM_MEDCPT_PATH", str(tmp_path))  # an empty "local copy"
    enc = TextEncoder("medcpt")
    assert enc.model_id == "ncbi/MedCPT-Query-Encoder"
    assert enc.pooling == "cls"
    assert enc.dim == 768
    with pytest.raises(OSError, match="ELM_MEDCPT_PATH"):
        enc.encode(["normal"])


def test_trust_remote_code_off_by_default(monkeypatch) -> None:
    import transformers

    seen = []

    def fake(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        raise OSError("stop here")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    with pytest.raises(OSError, match="could not load text model"):
        TextEncoder("minilm").encode(["x"])
    with pytest.raises(OSError):
        TextEncoder("minilm", trust_remote_code=True).encode(["x"])
    assert seen == [False, True]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="pooling"):
        TextEncoder(pooling="max")
    with pytest.raises(ValueError, match="segment_mode"):
        TextEncoder(segment_mode="word")
    with pytest.raises(TypeError, match="list of str"):
        TextEncoder().encode("just one string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        TextEncoder().encode(["ok", 3])
    assert TextEncoder().encode([]).shape == (0, 384)


def test_text_projection() -> None:
    proj = TextProjection(384)
    layers = [type(m).__name__ for m in proj.net]
    assert layers == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d"]
    assert proj.net[4].affine is False and proj.net[1].affine is True
    expected = 384 * 1024 + 1024 + 2 * 1024 + 1024 * 256 + 256
    assert count_parameters(proj) == expected
    out = proj.train()(torch.randn(16, 384))
    assert out.shape == (16, 256)
    # Final BN without affine: batch-standardised outputs in training mode.
    torch.testing.assert_close(out.mean(0), torch.zeros(256), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"\(M, 384\)"):
        proj(torch.randn(4, 768))


def test_local_folder_is_stored_absolute_and_checked(tmp_path, monkeypatch) -> None:
    import shutil
    import warnings

    from braindecode_elm.models import ELM, create_model

    copy = tmp_path / "mylm"
    shutil.copytree(minilm_path(), copy)
    monkeypatch.chdir(tmp_path)
    enc = TextEncoder("mylm")  # relative, as a user types it
    assert enc.name_or_path == str(copy.resolve()) == enc.spec()["name_or_path"]
    # a bundle trained with it, read from another folder, finds the same model
    model = create_model("ELM", text_model="mylm")
    model.save_pretrained(tmp_path / "bundle")
    monkeypatch.chdir(tmp_path.parent)
    loaded = ELM.from_pretrained(tmp_path / "bundle")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert loaded.text_encoder.name_or_path == str(copy.resolve())
    # the folder changed since: the fingerprint says so
    cfg = copy / "config.json"
    cfg.write_text(cfg.read_text().replace('"gelu"', '"relu"'))
    again = ELM.from_pretrained(tmp_path / "bundle")
    with pytest.warns(UserWarning, match="not the one this bundle was trained with"):
        assert again.text_encoder.name_or_path == str(copy.resolve())
    # a path that is not there is named as such, not taken for a Hub id
    for missing in (str(tmp_path / "nope"), "./nope", "~/nope"):
        with pytest.raises(FileNotFoundError, match="text model folder .* does not"):
            TextEncoder(missing)
