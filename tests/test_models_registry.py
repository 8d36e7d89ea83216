"""Registry-driven model checks (like braindecode's) and braindecode registration."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import braindecode_elm
from braindecode_elm.models.registry import MODEL_REGISTRY, register_in_braindecode

torch.set_num_threads(1)

# The braindecode model checks below run on our EEG models (the entries
# registered in braindecode); the other entries are covered further down.
NAMES = sorted(n for n, s in MODEL_REGISTRY.items() if s.in_braindecode)


def _make(name: str, **extra):
    spec = MODEL_REGISTRY[name]
    return spec.cls(**{**spec.kwargs, **extra})


def _input(name: str, batch: int = 2) -> torch.Tensor:
    kw = MODEL_REGISTRY[name].kwargs
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, kw["n_chans"], kw["n_times"], generator=g)


# --- registration in braindecode ------------------------------------------------


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_is_torch_free_and_models_import_registers() -> None:
    out = _run(
        "import sys, braindecode_elm\n"
        "print('torch' in sys.modules, 'braindecode' in sys.modules)\n"
        # No import hook: nothing of ours waits in sys.meta_path.
        "print([f for f in sys.meta_path if 'braindecode_elm' in type(f).__module__])\n"
        "import braindecode_elm.models\n"
        "from braindecode.models.util import _get_model_class\n"
        "print(_get_model_class('ELMEncoder').__module__)\n"
    )
    assert out.splitlines() == [
        "False False",
        "[]",
        "braindecode_elm.models.eeg_encoder",
    ]


@pytest.mark.parametrize(
    "code",
    [
        # braindecode first, then our models package.
        "import braindecode.models\nimport braindecode_elm.models\n",
        # our models first: braindecode.models is imported from inside our package.
        "import braindecode_elm\nimport braindecode_elm.models\n",
        # the explicit call, from the torch-free package root.
        "import braindecode_elm\nprint(braindecode_elm.register_models())\n",
    ],
    ids=["braindecode-first", "models-first", "explicit"],
)
def test_registration_for_any_import_order(code: str) -> None:
    out = _run(
        code + "from braindecode.models.util import models_dict, "
        "models_mandatory_parameters as mp\n"
        "print(models_dict['ELMEncoder'].__name__, "
        "sum(r[0] == 'ELMEncoder' for r in mp))\n"
    )
    assert out.splitlines()[-1] == "ELMEncoder 1"
    if "register_models()" in code:
        assert out.splitlines()[0] == "['ELMEncoder']"


def test_registration_is_idempotent() -> None:
    from braindecode.models import util

    first = braindecode_elm.register_models()
    n_rows = len(util.models_mandatory_parameters)
    second = braindecode_elm.register_models()
    assert first == second == ["ELMEncoder"]
    assert len(util.models_mandatory_parameters) == n_rows
    assert util.models_dict["ELMEncoder"] is MODEL_REGISTRY["ELMEncoder"].cls
    rows = [r for r in util.models_mandatory_parameters if r[0] == "ELMEncoder"]
    assert rows == [("ELMEncoder", ["n_chans", "n_outputs", "n_times"], None)]


def test_registry_layout_change_fails_loudly(monkeypatch) -> None:
    from braindecode.models import util

    monkeypatch.setattr(util, "models_dict", [])
    with pytest.raises(RuntimeError, match="registry layout changed.*models_dict"):
        register_in_braindecode()
    monkeypatch.undo()
    monkeypatch.delattr(util, "models_dict")
    with pytest.raises(RuntimeError, match="registry layout changed"):
        braindecode_elm.register_models()
    monkeypatch.undo()
    monkeypatch.delattr(util, "_get_model_class")
    with pytest.raises(RuntimeError, match="_get_model_class is missing"):
        register_in_braindecode()
    monkeypatch.undo()
    monkeypatch.setattr(util, "models_mandatory_parameters", {})
    with pytest.raises(RuntimeError, match="models_mandatory_parameters"):
        register_in_braindecode()


def test_name_clash_with_other_model_fails(monkeypatch) -> None:
    from braindecode.models import EEGNet, util

    monkeypatch.setitem(util.models_dict, "ELMEncoder", EEGNet)
    with pytest.raises(RuntimeError, match="different model named 'ELMEncoder'"):
        register_in_braindecode()


# --- cross-cutting model checks (one per registry entry) -----------------------


@pytest.mark.parametrize("name", NAMES)
def test_forward_shapes_and_final_layer(name: str) -> None:
    model = _make(name, n_outputs=3).eval()
    assert hasattr(model, "final_layer")
    with torch.no_grad():
        assert model(_input(name)).shape == (2, 3)
    assert model.get_output_shape() == (1, 3)


@pytest.mark.parametrize("name", NAMES)
def test_config_roundtrip(name: str) -> None:
    model = _make(name, n_outputs=2)
    config = json.loads(json.dumps(model.get_config()))
    clone = type(model).from_config(config)
    clone.load_state_dict(model.state_dict())
    x = _input(name)
    with torch.no_grad():
        torch.testing.assert_close(clone.eval()(x), model.eval()(x))


@pytest.mark.parametrize("name", NAMES)
def test_hub_style_save_and_load(name: str, tmp_path) -> None:
    pytest.importorskip("huggingface_hub")
    model = _make(name, n_outputs=2).eval()
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).eval()
    x = _input(name)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    # Asking for another n_outputs rebuilds the head through reset_head.
    other = type(model).from_pretrained(tmp_path, n_outputs=5).eval()
    assert other(x).shape == (2, 5)


@pytest.mark.parametrize("name", NAMES)
def test_hub_id_offline_from_cache_and_strict(
    name: str, tmp_path, monkeypatch, fill_hf_cache
):
    """``from_pretrained("user/repo")`` reads the HF cache offline; loads strictly."""
    pytest.importorskip("huggingface_hub")
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    chs = [{"ch_name": n, "kind": "eeg"} for n in ("C3", "Cz", "C4")]
    kw = {k: v for k, v in MODEL_REGISTRY[name].kwargs.items() if k != "n_chans"}
    torch.manual_seed(0)
    model = MODEL_REGISTRY[name].cls(chs_info=chs, n_outputs=2, **kw).eval()
    model.save_pretrained(tmp_path / "saved")
    cache = tmp_path / "cache"
    fill_hf_cache(cache, "someone/elm-3ch", tmp_path / "saved")
    loaded = type(model).from_pretrained("someone/elm-3ch", cache_dir=cache).eval()
    assert loaded.n_chans == 3
    assert [c["ch_name"] for c in loaded.chs_info] == ["C3", "Cz", "C4"]
    x = torch.randn(2, 3, kw["n_times"])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    # a weight missing from the file is an error, not a silent random init
    weights = load_file(tmp_path / "saved" / "model.safetensors")
    del weights["proj.3.weight"]
    save_file(weights, tmp_path / "saved" / "model.safetensors")
    with pytest.raises(RuntimeError, match="proj.3.weight"):
        type(model).from_pretrained(tmp_path / "saved")
    partial = type(model).from_pretrained(tmp_path / "saved", strict=False)
    assert partial.n_chans == 3


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one_trains(name: str) -> None:
    model = _make(name, n_outputs=2).train()
    out = model(_input(name, batch=1))
    out.sum().backward()
    assert model.training
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize("name", NAMES)
def test_reset_head(name: str) -> None:
    model = _make(name, n_outputs=2)
    model.reset_head(7)
    assert model.eval()(_input(name)).shape == (2, 7)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_torch_compile(name: str) -> None:
    model = _make(name, n_outputs=2, n_filters=4).eval()
    x = _input(name)
    # fullgraph: the forward (and braindecode's batch-of-one guard) has no breaks.
    compiled = torch.compile(model, dynamic=False, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_torch_export(name: str) -> None:
    model = _make(name, n_outputs=2, n_filters=4).eval()
    x = _input(name)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        torch.testing.assert_close(exported.module()(x), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_braindecode_signal_parameter_combinations(name: str) -> None:
    """Every way braindecode may pass the signal parameters builds a working model.

    Uses braindecode's own test helpers and default signals (3 channels with
    ``chs_info``, 1000 samples at 250 Hz), as its ``test_model_integration`` does.
    """
    from braindecode.models import util

    row = next(r for r in util.models_mandatory_parameters if r[0] == name)
    _, required, signal = row
    sp = util._get_signal_params(signal)
    x = torch.randn(2, sp["n_chans"], sp["n_times"])
    combos = util._get_possible_signal_params(sp, required)
    assert any(c["n_chans"] is None and c["chs_info"] for c in combos)
    for kwargs in combos:
        model = MODEL_REGISTRY[name].cls(**kwargs).eval()
        assert model.n_chans == sp["n_chans"], kwargs
        with torch.no_grad():
            assert model(x).shape == (2, sp["n_outputs"]), kwargs


@pytest.mark.parametrize("name", NAMES)
def test_channels_from_chs_info_else_default(name: str) -> None:
    chs = [{"ch_name": n, "kind": "eeg"} for n in ("C3", "Cz", "C4")]
    kw = {k: v for k, v in MODEL_REGISTRY[name].kwargs.items() if k != "n_chans"}
    model = MODEL_REGISTRY[name].cls(chs_info=chs, n_outputs=2, **kw).eval()
    assert model.n_chans == 3 and model.chs_info == chs
    assert model.get_config()["n_chans"] is None  # derived, not stored twice
    assert model.conv1_layers[0][1].in_channels == 3
    with torch.no_grad():
        assert model(torch.randn(2, 3, kw["n_times"])).shape == (2, 2)
    with pytest.raises(ValueError, match="n_chans=4 different from"):
        MODEL_REGISTRY[name].cls(chs_info=chs, n_chans=4, **kw)
    # neither given: the 20 TCP channels of the released model
    assert MODEL_REGISTRY[name].cls(**kw).n_chans == 20


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_outputs", [None, 3])
def test_return_features_has_braindecode_keys(name: str, n_outputs) -> None:
    model = _make(name, n_outputs=n_outputs).eval()
    x = _input(name)
    with torch.no_grad():
        out = model(x, return_features=True)
        plain = model(x)
    # braindecode 1.8's contract: a dict with "features" and "cls_token" (None for
    # models without a class token); ours adds the embedding and logits.
    assert isinstance(out, dict) and {"features", "cls_token"} <= set(out)
    assert out["cls_token"] is None
    assert out["features"].shape == (2, model.n_features)
    assert out["embedding"].shape == (2, 256)
    key = "embedding" if n_outputs is None else "logits"
    assert ("logits" in out) == (n_outputs is not None)
    torch.testing.assert_close(out[key], plain)
    assert isinstance(plain, torch.Tensor)


def _scriptable_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The model rebuilt on a plain ``nn.Module``, the way Braindecode's TorchScript
    test does it: children and attributes copied (signal attributes without their
    leading underscore), public methods re-bound; no class-level hooks survive."""
    import inspect
    from types import MethodType

    plain = torch.nn.Module()
    for child_name, child in model.named_children():
        plain.add_module(child_name, child)
    signal = {"_n_outputs", "_n_chans", "_chs_info", "_n_times", "_sfreq"}
    for attr, value in vars(model).items():
        if attr != "_modules":
            setattr(plain, attr[1:] if attr in signal else attr, value)
    for meth, func in inspect.getmembers(type(model), inspect.isfunction):
        if not meth.startswith("_"):
            setattr(plain, meth, MethodType(func, plain))
    return plain


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_outputs", [None, 2])
def test_torch_jit_script_matches_eager(name: str, n_outputs, tmp_path) -> None:
    torch.manual_seed(0)
    model = _make(name, n_outputs=n_outputs, n_filters=4)
    # non-trivial BatchNorm statistics, so a lost buffer would show
    model.train()
    with torch.no_grad():
        model(_input(name, batch=4) * 3)
    model.eval()
    scripted = torch.jit.script(model)
    assert isinstance(scripted, torch.jit.ScriptModule)
    assert scripted.state_dict().keys() == model.state_dict().keys()
    x = _input(name, batch=3)
    with torch.no_grad():
        ref = model(x)
        feats = model(x, return_features=True)
        torch.testing.assert_close(scripted(x), ref, rtol=0, atol=0)
        # the scripted model keeps the eager API: return_features and forward_dict
        got = scripted(x, True)
        assert set(got) == set(feats) and got["cls_token"] is None
        torch.testing.assert_close(
            scripted.forward_features(x), feats["features"], rtol=0, atol=0
        )
        for k, v in scripted.forward_dict(x).items():
            torch.testing.assert_close(v, feats[k], rtol=0, atol=0)
            torch.testing.assert_close(got[k], feats[k], rtol=0, atol=0)
    # the compiled program survives a save/load round trip (no Python needed)
    scripted.save(str(tmp_path / "model.pt"))
    loaded = torch.jit.load(str(tmp_path / "model.pt"))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ref, rtol=0, atol=0)
    with pytest.raises(Exception, match=r"batch, n_chans, n_times\), got \[20, 500\]"):
        loaded(x[0])


@pytest.mark.parametrize("name", NAMES)
def test_torch_jit_script_braindecode_style(name: str, tmp_path) -> None:
    """Braindecode's own TorchScript check, on its default 3-channel signals."""
    from braindecode.models import util

    row = next(r for r in util.models_mandatory_parameters if r[0] == name)
    sp = util._get_signal_params(row[2], row[1])
    model = MODEL_REGISTRY[name].cls(**sp).eval()
    plain = _scriptable_copy(model).eval()
    x = torch.randn(1, model.n_chans, model.n_times)
    with torch.no_grad():
        ref = model(x)
        torch.testing.assert_close(plain(x), ref)
        scripted = torch.jit.script(plain)
        torch.testing.assert_close(scripted(x), ref, rtol=0, atol=0)
    scripted.save(str(tmp_path / "plain.pt"))


# braindecode's categorisation badges (its test_model_categorization) and its
# Modality vocabulary (test_model_modality).
_BADGES = {
    "Convolution": ":bdg-success:`Convolution`",
    "Recurrent": ":bdg-secondary:`Recurrent`",
    "Small Attention": ":bdg-info:`Small Attention`",
    "Filterbank": ":bdg-primary:`Filterbank`",
    "Interpretability": ":bdg-warning:`Interpretability`",
    "Foundation Model": ":bdg-danger:`Foundation Model`",
    "Channel": ":bdg-dark-line:`Channel`",
}
_MODALITIES = {"EEG", "MEG", "iEEG", "ECoG", "sEMG"}


@pytest.mark.parametrize("name", NAMES)
def test_in_braindecode_summary_table(name: str) -> None:
    from braindecode.models.util import _summary_table, get_summary_table

    from braindecode_elm.models.registry import SUMMARY_COLUMNS, summary_row

    braindecode_elm.register_models()
    # braindecode's checks read this very object and its columns
    assert list(_summary_table.columns) == list(SUMMARY_COLUMNS)
    assert list(get_summary_table().columns) == list(SUMMARY_COLUMNS)
    assert name in _summary_table.index
    row = _summary_table.loc[name]
    assert row["Modality"] in _MODALITIES
    n_params = sum(p.numel() for p in _make(name, n_outputs=2).parameters())
    assert row["#Parameters"] == n_params == summary_row(name)["#Parameters"]
    assert row["Hyperparameters"] == ", ".join(MODEL_REGISTRY[name].mandatory)
    # the "get_#Parameters" cell is a call that builds that model
    ns = {name: MODEL_REGISTRY[name].cls}
    built = eval(row["get_#Parameters"], ns)  # noqa: S307 - our own table
    assert sum(p.numel() for p in built.parameters()) == n_params
    doc = MODEL_REGISTRY[name].cls.__doc__
    for category in row["Categorization"].split(","):
        assert _BADGES[category.strip()] in doc, category
    # registering again adds no second row
    braindecode_elm.register_models()
    assert list(_summary_table.index).count(name) == 1


def _three_channel_epochs(n_epochs: int = 16, n_times: int = 500):
    import mne

    rng = np.random.default_rng(0)
    sfreq = 100.0
    t = np.arange(n_times) / sfreq
    y = np.arange(n_epochs) % 2
    X = rng.normal(0, 1.0, (n_epochs, 3, n_times))
    X[y == 1] += 3 * np.sin(2 * np.pi * 10 * t)  # a strong 10 Hz rhythm
    info = mne.create_info(["C3", "Cz", "C4"], sfreq, "eeg")
    return mne.EpochsArray(X.astype(np.float32), info, verbose="error"), y


@pytest.mark.parametrize("name", NAMES)
def test_eegclassifier_by_name_on_three_channel_epochs(name: str) -> None:
    """``EEGClassifier(name).fit(epochs, y)``: signal parameters from the epochs."""
    from braindecode import EEGClassifier

    epochs, y = _three_channel_epochs()
    torch.manual_seed(0)
    clf = EEGClassifier(
        name,
        module__n_filters=4,
        optimizer=torch.optim.Adam,
        optimizer__lr=3e-3,
        train_split=None,
        batch_size=8,
        max_epochs=5,
        classes=[0, 1],
        verbose=0,
    )
    clf.fit(epochs, y=y)
    assert clf.module_.n_chans == 3
    assert [c["ch_name"] for c in clf.module_.chs_info] == ["C3", "Cz", "C4"]
    assert clf.module_.n_times == 500 and clf.module_.n_outputs == 2
    assert list(clf.module_.named_children())[-1][0] == "final_layer"
    losses = clf.history[:, "train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert clf.predict(epochs).shape == (len(y),)


# --- EEGClassifier on a braindecode windows dataset ------------------------------


def test_eegclassifier_by_name_trains_on_windows_dataset() -> None:
    from braindecode import EEGClassifier
    from braindecode.datasets import create_from_X_y

    rng = np.random.default_rng(0)
    sfreq, n_times = 100.0, 500
    t = np.arange(n_times) / sfreq
    X, y = [], []
    for i in range(24):
        label = i % 2
        sig = rng.normal(0, 1.0, (20, n_times))
        if label:
            sig += 3 * np.sin(2 * np.pi * 10 * t)  # a strong 10 Hz rhythm
        X.append(sig.astype(np.float32))
        y.append(label)
    ch_names = [f"C{i}" for i in range(20)]
    windows = create_from_X_y(
        X, y, drop_last_window=True, sfreq=sfreq, ch_names=ch_names
    )
    torch.manual_seed(0)
    clf = EEGClassifier(
        "ELMEncoder",
        module__n_filters=4,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        optimizer__lr=3e-3,
        train_split=None,
        batch_size=8,
        max_epochs=6,
        classes=[0, 1],
        verbose=0,
    )
    clf.fit(windows, y=None)
    assert type(clf.module_).__name__ == "ELMEncoder"
    assert clf.module_.n_outputs == 2
    assert clf.module_.n_times == n_times
    losses = clf.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    acc = float((clf.predict(windows) == np.array(y)).mean())
    assert acc >= 0.9, acc


@pytest.mark.realdata
def test_eegclassifier_elmencoder_on_eegbci_three_channels(eegbci_dir) -> None:
    """The Braindecode user's journey on real data: MNE epochs of 3 electrodes."""
    import mne
    from braindecode import EEGClassifier
    from mne.datasets import eegbci

    files = eegbci.load_data(
        1, runs=[4, 8, 12], path=str(eegbci_dir), update_path=False, verbose="error"
    )
    raws = [mne.io.read_raw_edf(f, preload=True, verbose="error") for f in files]
    raw = mne.concatenate_raws(raws, verbose="error")
    eegbci.standardize(raw)
    raw.pick(["C3", "Cz", "C4"]).filter(8.0, 30.0, verbose="error")
    events, _ = mne.events_from_annotations(
        raw, event_id={"T1": 0, "T2": 1}, verbose="error"
    )
    epochs = mne.Epochs(
        raw,
        events,
        tmin=0.0,
        tmax=4.0 - 1 / raw.info["sfreq"],
        baseline=None,
        preload=True,
        verbose="error",
    )
    y = epochs.events[:, 2]
    assert len(epochs) == 45 and set(y) == {0, 1}
    # volts -> microvolts, the usual scaling before a braindecode network
    epochs.apply_function(lambda x: x * 1e6, verbose="error")

    torch.manual_seed(0)
    clf = EEGClassifier(
        "ELMEncoder",
        module__n_filters=8,
        optimizer=torch.optim.AdamW,
        optimizer__lr=1e-3,
        train_split=None,
        batch_size=16,
        max_epochs=8,
        classes=[0, 1],
        verbose=0,
    )
    clf.fit(epochs, y=y)
    module = clf.module_
    assert type(module).__name__ == "ELMEncoder"
    assert module.n_chans == 3 and module.n_times == 640
    assert [c["ch_name"] for c in module.chs_info] == ["C3", "Cz", "C4"]
    assert module.sfreq == 160.0
    losses = clf.history[:, "train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
    proba = clf.predict_proba(epochs)
    assert proba.shape == (45, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    x = torch.as_tensor(epochs.get_data()[:4], dtype=torch.float32)
    with torch.no_grad():
        out = module.eval()(x, return_features=True)
    assert out["cls_token"] is None and out["embedding"].shape == (4, 256)
    assert out["features"].shape == (4, 24) and out["logits"].shape == (4, 2)


# --- the model factory -----------------------------------------------------------


def test_create_model_builds_every_entry_by_name() -> None:
    from braindecode_elm.models import ELM, ELMEncoder, TextProjection, create_model

    assert isinstance(create_model("ELMEncoder", n_filters=4), ELMEncoder)
    proj = create_model("TextProjection", in_dim=384)
    assert isinstance(proj, TextProjection) and proj.in_dim == 384
    bundle = create_model("ELM", **MODEL_REGISTRY["ELM"].kwargs)
    assert isinstance(bundle, ELM) and bundle.text_projection.in_dim == 384
    with pytest.raises(ValueError, match=r"unknown model 'nope'.*'random-elm'"):
        create_model("nope")


def test_load_model_random_elm_is_seeded_and_folder_round_trips(tmp_path) -> None:
    from braindecode_elm.models import load_model

    a, b = load_model("random-elm"), load_model("random-elm")
    assert not a.training
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    a.save_pretrained(tmp_path / "m")
    c = load_model(tmp_path / "m")
    x = _input("ELMEncoder")
    with torch.no_grad():
        torch.testing.assert_close(c.embed_eeg(x), a.embed_eeg(x))
    with pytest.raises(FileNotFoundError, match="model folder .*save_pretrained"):
        load_model(tmp_path / "missing")
    with pytest.raises(ValueError, match="create_model"):
        load_model("TextProjection")


@pytest.mark.parametrize("name", NAMES)
def test_float64_input_as_mne_gives_it(name: str) -> None:
    """MNE arrays are float64: the tower casts them to its weights' dtype (an
    outside user fine-tuning from ELMEncoder got torch's dtype mismatch)."""
    model = _make(name, n_outputs=2).eval()
    x = _input(name).double()
    with torch.no_grad():
        got = model(x)
        want = model(x.float())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want)


def test_loading_a_bundle_keeps_the_callers_random_stream():
    # Loading builds modules (random init under the saved weights): it moved
    # torch's global generator, so a seeded experiment changed with whether a
    # model was loaded first (outside user, through ELMFeatures.fit).
    import numpy as np
    import torch

    from braindecode_elm.evaluation import ELMFeatures
    from braindecode_elm.models import ELM, ELMEncoder, load_model

    def draw(load) -> torch.Tensor:
        torch.manual_seed(0)
        load()
        return torch.rand(4)

    want = draw(lambda: None)
    x = np.random.default_rng(0).normal(size=(2, 19, 500)) * 10
    names = "Fp1 Fp2 F7 F3 Fz F4 F8 T3 C3 Cz C4 T4 T5 P3 Pz P4 T6 O1 O2".split()
    for load in (
        lambda: load_model("elm-open-5s"),
        lambda: ELM.from_pretrained("elm-open-5s"),
        lambda: ELMEncoder.from_pretrained("elm-open-5s"),
        lambda: ELMFeatures("elm-open-5s", ch_names=names, sfreq=100.0).fit(x),
    ):
        assert torch.equal(draw(load), want)
