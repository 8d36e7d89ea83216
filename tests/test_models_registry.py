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

NAMES = sorted(MODEL_REGISTRY)


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


def test_import_is_torch_free_and_hook_registers_on_braindecode_import() -> None:
    out = _run(
        "import sys, braindecode_elm\n"
        "print('torch' in sys.modules, 'braindecode' in sys.modules)\n"
        "from braindecode.models.util import _get_model_class\n"
        "print(_get_model_class('ELMEncoder').__module__)\n"
    )
    assert out.splitlines() == ["False False", "braindecode_elm.models.eeg_encoder"]


@pytest.mark.parametrize(
    "code",
    [
        # braindecode first: registration happens at `import braindecode_elm`.
        "import braindecode.models\nimport braindecode_elm\n",
        # our models first: braindecode.models is imported from inside our package.
        "import braindecode_elm\nimport braindecode_elm.models\n",
    ],
    ids=["braindecode-first", "models-first"],
)
def test_registration_for_any_import_order(code: str) -> None:
    out = _run(
        code + "from braindecode.models.util import models_dict, "
        "models_mandatory_parameters as mp\n"
        "print(models_dict['ELMEncoder'].__name__, "
        "sum(r[0] == 'ELMEncoder' for r in mp))\n"
    )
    assert out == "ELMEncoder 1"


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
