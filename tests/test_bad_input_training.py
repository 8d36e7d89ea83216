"""Bad input and faults in pretraining (issue 16): NaN, empty epochs, resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from braindecode_elm.training import PretrainCorpus, load_preset, pretrain
from braindecode_elm.training.checkpoint import latest_checkpoint


def _corpus(n=6, prefix="r", nan_in=None):
    rng = np.random.default_rng(0)
    recs = []
    for i in range(n):
        x = rng.normal(size=(6, 20, 500)).astype(np.float16)
        if nan_in == i:
            x[2, 3, 100] = np.nan
        recs.append((f"{prefix}{i}", f"s{i}", x, [f"t{i}"]))
    return PretrainCorpus.from_arrays(recs)


def _cfg(tmp_path, **kw):
    base = dict(
        out=str(tmp_path / "run"),
        val_fraction=0.0,
        batch_size=4,
        max_eeg=4,
        epochs=1,
        text_cache_dir=str(tmp_path / "tc"),
    )
    return load_preset("tiny-cpu", **{**base, **kw})


def test_nan_loss_stops_at_once_naming_step_and_recordings(tmp_path):
    torch.set_num_threads(1)
    with pytest.raises(FloatingPointError, match=r"non-finite training loss") as ei:
        pretrain(_cfg(tmp_path), corpus=_corpus(nan_in=3), progress=False)
    msg = str(ei.value)
    assert "step " in msg and "batch " in msg and "'r3'" in msg
    # No final weights (they would be NaN), no checkpoint after the NaN step.
    assert not (tmp_path / "run" / "final").exists()


def test_zero_batch_epoch_has_its_own_error(tmp_path):
    torch.set_num_threads(1)
    with pytest.raises(ValueError, match="smaller than one batch"):
        pretrain(
            _cfg(tmp_path, batch_size=64, max_eeg=64),
            corpus=_corpus(2),
            progress=False,
        )


def test_resume_against_another_corpus_is_refused(tmp_path):
    torch.set_num_threads(1)
    first = pretrain(_cfg(tmp_path, max_steps=1), corpus=_corpus(), progress=False)
    assert first.step == 1
    with pytest.raises(ValueError, match="another corpus"):
        pretrain(
            _cfg(tmp_path, max_steps=2),
            corpus=_corpus(prefix="other"),
            resume="latest",
            progress=False,
        )
    # The same corpus resumes.
    again = pretrain(
        _cfg(tmp_path, max_steps=2), corpus=_corpus(), resume="latest", progress=False
    )
    assert again.resumed_from is not None and again.step == 2


def test_resume_with_other_recipe_settings_is_said(tmp_path, caplog):
    """More epochs on --resume silently changed the learning-rate schedule of
    the rest of the run; another text tower is refused outright."""
    torch.set_num_threads(1)
    pretrain(_cfg(tmp_path, max_steps=1), corpus=_corpus(), progress=False)
    with caplog.at_level("WARNING", logger="braindecode_elm"):
        again = pretrain(
            _cfg(tmp_path, max_steps=2, epochs=3),
            corpus=_corpus(),
            resume="latest",
            progress=False,
        )
    assert again.step == 2
    said = [
        r.getMessage() for r in caplog.records if "other than the" in r.getMessage()
    ]
    assert len(said) == 1 and "'epochs': (1, 3)" in said[0], said
    import shutil

    from braindecode_elm.models.text_encoder import minilm_path

    # The same MiniLM by its folder is the same text model ...
    again = pretrain(
        _cfg(tmp_path, max_steps=3, epochs=3, text_model=str(minilm_path())),
        corpus=_corpus(),
        resume="latest",
        progress=False,
    )
    assert again.step == 3
    # ... a copy elsewhere is another one (its weights may differ).
    other = shutil.copytree(minilm_path(), tmp_path / "other_lm")
    with pytest.raises(ValueError, match="text_model"):
        pretrain(
            _cfg(tmp_path, max_steps=4, epochs=3, text_model=str(other)),
            corpus=_corpus(),
            resume="latest",
            progress=False,
        )


def test_recordings_left_out_of_training_are_said(tmp_path, caplog):
    """Recordings without text were dropped with no word (only versions.json
    listed them)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    recs = [
        (f"r{i}", f"s{i}", rng.normal(size=(6, 20, 500)).astype(np.float16), [f"t{i}"])
        for i in range(6)
    ]
    recs += [("mute", "s9", rng.normal(size=(6, 20, 500)).astype(np.float16), [])]
    with caplog.at_level("WARNING", logger="braindecode_elm"):
        pretrain(
            _cfg(tmp_path, max_steps=1),
            corpus=PretrainCorpus.from_arrays(recs),
            progress=False,
        )
    said = [
        r.getMessage() for r in caplog.records if "not trained on" in r.getMessage()
    ]
    assert len(said) == 1 and "no text segments: 1" in said[0] and "'mute'" in said[0]


@pytest.mark.parametrize("name", ["../../elsewhere", "/etc", "..", "a/b"])
def test_latest_pointer_outside_its_folder_is_refused(tmp_path, name):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "latest").write_text(name)
    with pytest.raises(ValueError, match="not a checkpoint folder inside"):
        latest_checkpoint(tmp_path)


def test_fresh_run_into_a_finished_run_keeps_its_final_weights(tmp_path):
    """A second run without --resume in the same folder used to overwrite the
    first run's final/ silently: it is moved aside, bit for bit."""
    from safetensors.torch import load_file

    torch.set_num_threads(1)
    pretrain(_cfg(tmp_path, max_steps=1), corpus=_corpus(), progress=False)
    first = load_file(tmp_path / "run" / "final" / "model.safetensors")
    pretrain(_cfg(tmp_path, max_steps=1, seed=1), corpus=_corpus(), progress=False)
    kept = list((tmp_path / "run").glob("final.old-*"))
    assert len(kept) == 1
    moved = load_file(kept[0] / "model.safetensors")
    assert all(torch.equal(first[k], moved[k]) for k in first)
    new = load_file(tmp_path / "run" / "final" / "model.safetensors")
    assert any(not torch.equal(first[k], new[k]) for k in first)  # seed 1


@pytest.mark.parametrize(
    "damage", ["state.json", "model.safetensors", "optimizer.safetensors"]
)
def test_resume_from_a_damaged_checkpoint_names_it(tmp_path, damage):
    torch.set_num_threads(1)
    pretrain(_cfg(tmp_path, max_steps=1), corpus=_corpus(), progress=False)
    ckpt = latest_checkpoint(tmp_path / "run")
    target = ckpt / damage
    target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    with pytest.raises(ValueError, match="is damaged") as err:
        pretrain(
            _cfg(tmp_path, max_steps=2),
            corpus=_corpus(),
            resume="latest",
            progress=False,
        )
    assert ckpt.name in str(err.value) and "--resume PATH" in str(err.value)
