"""ELMEncoder: architecture, parameter count, official checkpoint layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from braindecode_elm.models import ELMEncoder, count_parameters
from braindecode_elm.models.official_checkpoint import (
    OFFICIAL_N_KEYS,
    load_official_state_dict,
)

torch.set_num_threads(1)

KS = (4, 8, 16)
POOLS = {"5s": (3, 2, 2, 2), "60s": (4, 4, 4, 4)}


def test_parameter_count_is_papers() -> None:
    model = ELMEncoder()
    assert count_parameters(model) == 928_416
    # Same for 60 s: only the pooling differs.
    assert count_parameters(ELMEncoder(variant="60s")) == 928_416
    # The linear head adds 256 * n + n parameters.
    assert count_parameters(ELMEncoder(n_outputs=2)) == 928_416 + 514


@pytest.mark.parametrize("variant,n_times", [("5s", 500), ("60s", 6000)])
def test_output_shapes(variant: str, n_times: int) -> None:
    model = ELMEncoder(variant=variant, n_times=n_times).eval()
    x = torch.randn(2, 20, n_times)
    with torch.no_grad():
        emb = model(x)
        out = model(x, return_features=True)
    assert emb.shape == (2, 256)
    assert out["features"].shape == (2, 96)
    assert out["embedding"].shape == (2, 256)
    assert "logits" not in out
    torch.testing.assert_close(out["embedding"], emb)


def test_head_and_reset_head() -> None:
    model = ELMEncoder(n_outputs=3, n_times=500).eval()
    x = torch.randn(4, 20, 500)
    with torch.no_grad():
        logits = model(x)
        out = model(x, return_features=True)
    assert logits.shape == (4, 3)
    torch.testing.assert_close(out["logits"], logits)
    torch.testing.assert_close(out["logits"], model.final_layer(out["embedding"]))
    model.reset_head(5)
    assert model.n_outputs == 5
    assert model.final_layer.out_features == 5
    assert model(x).shape == (4, 5)
    assert model.get_config()["n_outputs"] == 5


def test_narrow_tower() -> None:
    model = ELMEncoder(n_filters=8).eval()
    out = model(torch.randn(2, 20, 500), return_features=True)
    assert out["features"].shape == (2, 24)
    assert out["embedding"].shape == (2, 256)
    assert count_parameters(model) < 928_416 / 4


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="variant must be one of"):
        ELMEncoder(variant="10s")
    with pytest.raises(ValueError, match="n_filters"):
        ELMEncoder(n_filters=0)
    with pytest.raises(ValueError, match="drop_prob"):
        ELMEncoder(drop_prob=1.5)
    with pytest.raises(ValueError, match="too short"):
        ELMEncoder(n_times=50)
    with pytest.raises(ValueError, match="batch, n_chans, n_times"):
        ELMEncoder()(torch.randn(20, 500))


def test_min_n_times_is_tight() -> None:
    model = ELMEncoder().eval()
    n = model.min_n_times
    with torch.no_grad():
        assert model(torch.randn(1, 20, n)).shape == (1, 256)
        # shorter input is refused up front, naming the minimum ...
        for call in (model, model.forward_features, model.forward_dict):
            with pytest.raises(ValueError, match=f"at least {n} samples"):
                call(torch.randn(1, 20, n - 1))
        # ... and the network itself fails there (the check is not too strict)
        model.input_check.min_len = 0
        with pytest.raises(RuntimeError, match="[Pp]adding size"):
            model(torch.randn(1, 20, n - 1))


def test_wrong_channel_count_names_the_montage() -> None:
    model = ELMEncoder().eval()
    with torch.no_grad(), pytest.raises(ValueError) as err:
        model(torch.randn(2, 19, 500))
    msg = str(err.value)
    assert "expected 20 channels, got 19" in msg and "recipe='elm'" in msg


def test_length_is_kept_by_reflection_padding() -> None:
    model = ELMEncoder()
    for branch, k in zip(model.conv1_layers, KS):
        pad = branch[0].padding
        assert tuple(pad) == (k // 2, (k - 1) // 2)
        assert branch(torch.randn(1, 20, 37)).shape[-1] == 37


# --- official checkpoint layout -------------------------------------------------


def _bn(sd: dict, prefix: str, n: int, g: torch.Generator) -> None:
    sd[f"{prefix}.weight"] = 1 + 0.1 * torch.randn(n, generator=g)
    sd[f"{prefix}.bias"] = 0.1 * torch.randn(n, generator=g)
    sd[f"{prefix}.running_mean"] = 0.1 * torch.randn(n, generator=g)
    sd[f"{prefix}.running_var"] = 0.5 + torch.rand(n, generator=g)
    sd[f"{prefix}.num_batches_tracked"] = torch.tensor(123)


def _branches(sd: dict, prefix: str, c_in: int, g, kernels, padded=True) -> None:
    for j, k in enumerate(kernels):
        mid = ".1" if padded else ""
        sd[f"{prefix}.{j}{mid}.weight"] = 0.1 * torch.randn(32, c_in, k, generator=g)
        sd[f"{prefix}.{j}{mid}.bias"] = 0.1 * torch.randn(32, generator=g)


def official_layout_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict in exactly the layout the issue describes."""
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    _branches(sd, "conv1_layers", 20, g, KS)
    _bn(sd, "bn1", 96, g)
    for i in range(4):
        b = f"res_blocks.{i}"
        _branches(sd, f"{b}.conv1_layers", 96, g, KS)
        _bn(sd, f"{b}.bn1", 96, g)
        _branches(sd, f"{b}.conv2_layers", 96, g, KS)
        _bn(sd, f"{b}.bn2", 96, g)
        _branches(sd, f"{b}.stream_conv_layers", 96, g, (1, 1, 1), padded=False)
        _bn(sd, f"{b}.stream_bn", 96, g)
    sd["proj.0.weight"] = 0.1 * torch.randn(512, 96, generator=g)
    sd["proj.0.bias"] = 0.1 * torch.randn(512, generator=g)
    _bn(sd, "proj.1", 512, g)
    sd["proj.3.weight"] = 0.05 * torch.randn(256, 512, generator=g)
    return sd


def _f_bn(x: torch.Tensor, sd: dict, prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x,
        sd[f"{prefix}.running_mean"],
        sd[f"{prefix}.running_var"],
        sd[f"{prefix}.weight"],
        sd[f"{prefix}.bias"],
        training=False,
        eps=1e-5,
    )


def _f_multi(x: torch.Tensor, sd: dict, prefix: str, padded: bool = True):
    outs = []
    for j, k in enumerate(KS if padded else (1, 1, 1)):
        if padded:
            xp = F.pad(x, (k // 2, (k - 1) // 2), mode="reflect")
            w, b = sd[f"{prefix}.{j}.1.weight"], sd[f"{prefix}.{j}.1.bias"]
        else:
            xp = x
            w, b = sd[f"{prefix}.{j}.weight"], sd[f"{prefix}.{j}.bias"]
        outs.append(F.conv1d(xp, w, b))
    return torch.cat(outs, dim=1)


def functional_elm(x: torch.Tensor, sd: dict, variant: str) -> dict[str, torch.Tensor]:
    """The issue's architecture written directly with torch.nn.functional."""
    h = F.elu(_f_bn(_f_multi(x, sd, "conv1_layers"), sd, "bn1"))
    for i, p in enumerate(POOLS[variant]):
        b = f"res_blocks.{i}"
        a = F.elu(_f_bn(_f_multi(h, sd, f"{b}.conv1_layers"), sd, f"{b}.bn1"))
        c = _f_bn(_f_multi(a, sd, f"{b}.conv2_layers"), sd, f"{b}.bn2")
        s = _f_bn(
            _f_multi(h, sd, f"{b}.stream_conv_layers", False), sd, f"{b}.stream_bn"
        )
        h = F.max_pool1d(c + s, kernel_size=p, stride=p)
    feats = h.mean(dim=-1)
    z = F.linear(feats, sd["proj.0.weight"], sd["proj.0.bias"])
    z = F.elu(_f_bn(z, sd, "proj.1"))
    return {"features": feats, "embedding": F.linear(z, sd["proj.3.weight"])}


def test_official_layout_has_151_keys() -> None:
    assert len(official_layout_state_dict()) == OFFICIAL_N_KEYS == 151


@pytest.mark.parametrize("variant,n_times", [("5s", 500), ("60s", 6000)])
def test_official_checkpoint_matches_functional(tmp_path, variant, n_times) -> None:
    sd = official_layout_state_dict(seed=1)
    path = tmp_path / "model_0_checkpoint.pt"
    torch.save(sd, path)
    model = ELMEncoder.from_official_checkpoint(str(path), variant)
    assert not model.training
    x = 3 * torch.randn(2, 20, n_times, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = model(x, return_features=True)
    ref = functional_elm(x, sd, variant)
    torch.testing.assert_close(got["features"], ref["features"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got["embedding"], ref["embedding"], rtol=1e-4, atol=1e-5)
    # Every checkpoint tensor landed in the model unchanged.
    ours = model.state_dict()
    for k, v in sd.items():
        torch.testing.assert_close(ours[k], v, rtol=0, atol=0)


def test_official_checkpoint_with_head_keeps_fresh_head(tmp_path) -> None:
    path = tmp_path / "ckpt.pt"
    torch.save(official_layout_state_dict(), path)
    model = ELMEncoder.from_official_checkpoint(str(path), "5s", n_outputs=2)
    assert model(torch.randn(3, 20, 500)).shape == (3, 2)


def test_official_checkpoint_mismatches_are_listed(tmp_path) -> None:
    sd = official_layout_state_dict()
    del sd["res_blocks.2.bn2.running_var"]
    sd["head.weight"] = torch.zeros(2, 256)
    sd["proj.3.weight"] = torch.zeros(128, 512)
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    with pytest.raises(ValueError) as err:
        ELMEncoder.from_official_checkpoint(str(path), "5s")
    msg = str(err.value)
    assert "missing keys (1): ['res_blocks.2.bn2.running_var']" in msg
    assert "unexpected keys (1): ['head.weight']" in msg
    assert "proj.3.weight: checkpoint (128, 512) vs model (256, 512)" in msg


def test_official_checkpoint_needs_default_width() -> None:
    with pytest.raises(ValueError, match="n_filters=32"):
        load_official_state_dict(ELMEncoder(n_filters=8), official_layout_state_dict())


def test_official_checkpoint_refuses_pickled_objects(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"conv1_layers.0.1.weight": nn.ELU()}, path)
    with pytest.raises(Exception, match="[Ww]eights only load failed|weights_only"):
        ELMEncoder.from_official_checkpoint(str(path), "5s")


def test_official_checkpoint_damage_is_named_before_conversion(tmp_path) -> None:
    """NaN weights converted into a bundle that then refused to load; a plain
    int entry and a wrapped checkpoint crashed as internal errors; an empty file
    said '(EOFError: )'."""
    sd = official_layout_state_dict()
    sd["bn1.weight"][0] = float("nan")
    torch.save(sd, tmp_path / "nan.pt")
    with pytest.raises(ValueError, match=r"NaN or Inf values: \['bn1.weight'\]"):
        ELMEncoder.from_official_checkpoint(str(tmp_path / "nan.pt"), "5s")
    sd = official_layout_state_dict()
    sd["bn1.num_batches_tracked"] = 5
    torch.save(sd, tmp_path / "int.pt")
    with pytest.raises(ValueError, match=r"not tensors: \['bn1.num_batches_tracked"):
        ELMEncoder.from_official_checkpoint(str(tmp_path / "int.pt"), "5s")
    torch.save(
        {"model_state_dict": official_layout_state_dict(), "epoch": 3},
        tmp_path / "wrapped.pt",
    )
    with pytest.raises(ValueError, match=r"under \['model_state_dict'\]"):
        ELMEncoder.from_official_checkpoint(str(tmp_path / "wrapped.pt"), "5s")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"EOFError: empty file"):
        ELMEncoder.from_official_checkpoint(str(tmp_path / "empty.pt"), "5s")


def test_official_checkpoint_ddp_prefix_tolerated(tmp_path) -> None:
    sd = {f"module.{k}": v for k, v in official_layout_state_dict().items()}
    path = tmp_path / "ddp.pt"
    torch.save(sd, path)
    model = ELMEncoder.from_official_checkpoint(str(path), "60s")
    torch.testing.assert_close(
        model.state_dict()["proj.3.weight"], sd["module.proj.3.weight"]
    )


def test_activation_is_used_everywhere() -> None:
    model = ELMEncoder(activation=nn.GELU)
    acts = [m for m in model.modules() if isinstance(m, nn.GELU)]
    # stem + one per block + projection head
    assert len(acts) == 1 + 4 + 1
    assert not any(isinstance(m, nn.ELU) for m in model.modules())


def test_convert_official_cli_writes_bundle_without_text_head(tmp_path, capsys):
    """``elm convert-official CKPT OUT --variant 5s`` -> a loadable ELM bundle."""
    import hashlib

    import torch.nn.functional as F  # noqa: N812

    from braindecode_elm.cli import main
    from braindecode_elm.models import ELM
    from braindecode_elm.models.model_card import read_model_card

    sd = official_layout_state_dict(seed=3)
    ckpt = tmp_path / "model_0_checkpoint.pt"
    torch.save(sd, ckpt)
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    out = tmp_path / "elm-official-5s"
    assert main(["convert-official", str(ckpt), str(out), "--variant", "5s"]) == 0
    assert f"source SHA-256: {sha}" in capsys.readouterr().out

    bundle = ELM.from_pretrained(out)
    assert bundle.has_text_head is False and bundle.prompt_sets == {}
    x = 3 * torch.randn(2, 20, 500, generator=torch.Generator().manual_seed(4))
    ref = functional_elm(x, sd, "5s")["embedding"]
    torch.testing.assert_close(
        bundle.embed_eeg(x), F.normalize(ref, dim=-1), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="no trained text head"):
        bundle.embed_text(["normal EEG"])
    meta, card = read_model_card(out)
    assert meta["license"] == "other" and "official-checkpoint" in meta["tags"]
    assert sha in card and "0.1-49" in card and "20-channel" in card
    assert "github.com/SamGijsen/ELM" in card and "no text head" in card.lower()

    # a hash that does not match, a wrong file, a missing file: exit 2, named
    args = ["convert-official", str(ckpt), str(tmp_path / "x"), "--variant", "5s"]
    assert main([*args, "--sha256", "0" * 64]) == 2
    assert f"has SHA-256 {sha}, expected" in capsys.readouterr().err
    torch.save({"something.else": torch.zeros(2)}, tmp_path / "other.pt")
    args[1] = str(tmp_path / "other.pt")
    assert main(args) == 2
    assert "not an official ELM 5s checkpoint layout" in capsys.readouterr().err
    args[1] = str(tmp_path / "missing.pt")
    assert main(args) == 2
    assert "download the official checkpoint first" in capsys.readouterr().err


def test_from_pretrained_adds_a_head_to_a_tower_saved_without_one(tmp_path) -> None:
    """Braindecode swaps the head of a tower saved with one; a tower saved as an
    embedding model (no head) gets a fresh head, every other weight loaded
    strictly; ``drop_prob`` of a bundle's tower is validated."""
    pytest.importorskip("huggingface_hub")
    torch.manual_seed(0)
    tower = ELMEncoder(n_filters=4).eval()
    tower.save_pretrained(tmp_path / "tower")
    x = torch.randn(2, 20, 500)
    with_head = ELMEncoder.from_pretrained(tmp_path / "tower", n_outputs=3)
    assert not with_head.training
    with torch.no_grad():
        assert with_head(x).shape == (2, 3)
        torch.testing.assert_close(
            with_head(x, return_features=True)["embedding"], tower(x)
        )
        torch.testing.assert_close(
            ELMEncoder.from_pretrained(tmp_path / "tower")(x), tower(x)
        )
    # A saved tower missing a weight still fails (strict), head or not.
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "tower" / "model.safetensors"
    state = load_file(str(weights))
    state.pop("bn1.weight")
    save_file(state, str(weights))
    with pytest.raises(RuntimeError, match="bn1.weight"):
        ELMEncoder.from_pretrained(tmp_path / "tower", n_outputs=3)
    with pytest.raises(ValueError, match=r"drop_prob must be in \[0, 1\)"):
        ELMEncoder.from_pretrained("elm-open-5s", drop_prob=1.5)
    assert ELMEncoder.from_pretrained("elm-open-5s", drop_prob=0.3).drop_prob == 0.3


def test_whole_module_pickle_from_before_the_input_checks_loads() -> None:
    import pickle

    model = ELMEncoder().eval()
    del model.input_check  # as pickled before it existed
    again = pickle.loads(pickle.dumps(model))
    check = again.input_check
    assert (check.n_chans, check.min_len) == (20, model.min_n_times)
    with torch.no_grad():
        assert again(torch.randn(1, 20, 500)).shape == (1, 256)


def test_tower_warns_once_on_input_far_from_elm_units():
    """Raw windows in volts (or microvolts) trained an EEGClassifier silently
    (outside user); the tower now says so, once per tower."""
    import warnings

    import torch

    from braindecode_elm.models import ELMEncoder

    torch.manual_seed(0)
    enc = ELMEncoder(n_filters=4).eval()
    x = torch.randn(2, 20, 500)  # ~10 uV rms in ELM units
    with torch.no_grad():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            enc(x)
        with pytest.warns(UserWarning, match="Data in volts"):
            enc(x * 1e-5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            enc(x * 1e-5)  # said once per tower
        with pytest.warns(UserWarning, match=r"Microvolts\? .*divide by 10"):
            enc(x * 10)
        # a tower pickled before the check (no record of warnings) still warns
        old = ELMEncoder(n_filters=4).eval()
        del old.input_check._warned
        with pytest.warns(UserWarning, match="Data in volts"):
            old(x * 1e-5)
    # in training, only the first steps are checked (no GPU sync every step)
    train = ELMEncoder(n_filters=4).train()
    for _ in range(3):
        train(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(x * 1e-5)


def test_pretrained_tower_names_its_channels_and_has_no_dense_form():
    from braindecode_elm.dsp import preprocess
    from braindecode_elm.models import ELMEncoder

    tower = ELMEncoder.from_pretrained("elm-open-5s", n_outputs=2)
    rng = np.random.default_rng(0)
    names = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4"]
    names += ["T4", "T5", "P3", "Pz", "P4", "T6", "O1", "O2"]
    _, out_names = preprocess(rng.normal(0, 2e-5, (19, 2560)), names, 256.0)
    assert [c["ch_name"] for c in tower.chs_info] == out_names  # FP1-F7 ...
    with pytest.raises(NotImplementedError, match="no dense-prediction form"):
        tower.to_dense_prediction_model()
    with pytest.raises(ValueError, match="chs_info not specified"):
        _ = ELMEncoder(n_chans=3).chs_info


def test_variant_is_named_and_fixed_at_load(tmp_path) -> None:
    """A 60 s tower said it was 'trained on 5 s'; a saved 5 s tower loaded with
    variant='60s' (or another rate) was accepted and pooled differently without
    a word; n_outputs=0 built an empty head (outside user)."""
    from braindecode_elm.models import create_model

    enc = ELMEncoder(variant="60s").eval()
    assert enc.crop_seconds == 60.0 and ELMEncoder().crop_seconds == 5.0
    with torch.no_grad(), pytest.raises(ValueError, match="trained on 60 s at 100 Hz"):
        enc(torch.randn(1, 20, 500))
    with pytest.raises(ValueError, match=r"need at least 576 samples \(ELM's 60s"):
        ELMEncoder(variant="60s", n_times=500)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_outputs must be a positive int"):
            ELMEncoder(n_outputs=bad)
    assert ELMEncoder(n_outputs=np.int64(3)).final_layer.out_features == 3
    ELMEncoder().save_pretrained(tmp_path / "t5")
    for kw in ({"variant": "60s"}, {"sfreq": 250.0}, {"n_filters": 16}):
        with pytest.raises(ValueError, match="saved as a tower with other settings"):
            ELMEncoder.from_pretrained(tmp_path / "t5", **kw)
    assert ELMEncoder.from_pretrained(tmp_path / "t5", variant="5s").variant == "5s"
    torch.manual_seed(7)
    ref = torch.rand(3)
    torch.manual_seed(7)
    a = create_model("random-elm", seed=1)
    assert torch.equal(torch.rand(3), ref)  # the caller's generator is untouched
    b = create_model("random-elm", seed=1)
    c = create_model("random-elm", seed=2)
    first = next(a.eeg_encoder.parameters())
    assert torch.equal(first, next(b.eeg_encoder.parameters()))
    assert not torch.equal(first, next(c.eeg_encoder.parameters()))
    # a 60 s tower pickled before its check named the variant says 60 s
    import pickle

    del enc.input_check.trained_on
    old = pickle.loads(pickle.dumps(enc))
    with torch.no_grad(), pytest.raises(ValueError, match="trained on 60 s"):
        old(torch.randn(1, 20, 300))


@pytest.mark.parametrize("blob", [b".", b"G", b"hello\n", b"\x80\x02}q\x00."[:3]])
def test_official_checkpoint_garbage_is_named(tmp_path, blob) -> None:
    """One-byte files made the weights-only unpickler raise IndexError,
    KeyError or struct.error, which reached the user raw (outside user)."""
    path = tmp_path / "junk.pt"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match="is not a readable checkpoint of tensors"):
        ELMEncoder.from_official_checkpoint(str(path), "5s")


def test_official_checkpoint_call_errors_are_not_the_files(tmp_path) -> None:
    """A bad map_location and a path under a file were reported as a damaged
    checkpoint (diff review)."""
    path = tmp_path / "ok.pt"
    torch.save(official_layout_state_dict(), path)
    with pytest.raises(TypeError, match="map_location must be a device name"):
        ELMEncoder.from_official_checkpoint(str(path), "5s", map_location=5)
    with pytest.raises(NotADirectoryError):
        ELMEncoder.from_official_checkpoint(str(path / "x.pt"), "5s")
    assert ELMEncoder.from_official_checkpoint(str(path), "5s").variant == "5s"
