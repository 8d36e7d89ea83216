"""Unit tests of the pretraining engine: MIL sampler, LARS, schedule, config, ckpt."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from braindecode_elm.training import (
    LARS,
    DistributedMILBatchSampler,
    MILBatchSampler,
    identical_text_mask,
    latest_checkpoint,
    list_presets,
    load_checkpoint,
    load_preset,
    n_sets_for,
    parse_overrides,
    save_checkpoint,
    scaled_lr,
    warmup_cosine_lr,
)
from braindecode_elm.training.distributed import _GlobalBatchNorm, convert_sync_bn
from braindecode_elm.training.loader import (
    MILBatchDataset,
    PretrainCorpus,
    subject_split,
)

# --------------------------------------------------------------------------- sampler


def test_n_sets_rule_by_hand():
    # ceil(max(n_crops / max_eeg, n_segments / max_text)), at least 1
    assert n_sets_for(300, 30, 120, 24) == 3  # 2.5 crops-wise
    assert n_sets_for(10, 49, 120, 24) == 3  # 2.04 text-wise
    assert n_sets_for(120, 24, 120, 24) == 1
    assert n_sets_for(121, 1, 120, 24) == 2
    assert n_sets_for(1, 1, 120, 24) == 1


def _counts(rng, n=30):
    return [(int(rng.integers(1, 400)), int(rng.integers(1, 60))) for _ in range(n)]


def test_sampler_sets_follow_elm_rule():
    rng = np.random.default_rng(0)
    counts = _counts(rng)
    # batch_size 1: every set is its own batch and nothing is dropped
    s = MILBatchSampler(counts, batch_size=1, max_eeg=120, max_text=24, seed=3)
    sets = [b[0] for b in s]
    per_rec = np.bincount([st.recording for st in sets], minlength=len(counts))
    expected = [n_sets_for(c, t, 120, 24) for c, t in counts]
    np.testing.assert_array_equal(per_rec, expected)
    for st in sets:
        n_crops, n_seg = counts[st.recording]
        assert len(st.crops) == min(n_crops, 120)
        assert len(st.segments) == min(n_seg, 24)
        assert len(np.unique(st.crops)) == len(st.crops)  # without replacement
        assert len(np.unique(st.segments)) == len(st.segments)
        assert np.all(np.diff(st.crops) > 0)  # sorted for forward memmap reads
        assert st.crops.min() >= 0 and st.crops.max() < n_crops
        assert st.segments.min() >= 0 and st.segments.max() < n_seg


def test_sampler_batches_distinct_and_half_full_rule():
    # one recording with 10 sets and 12 with one: the tail holds only recording 0
    counts = [(1200, 5)] + [(50, 5)] * 12
    s = MILBatchSampler(counts, batch_size=4, max_eeg=120, max_text=24, seed=0)
    batches = list(s)
    for b in batches:
        recs = [st.recording for st in b]
        assert len(set(recs)) == len(recs)  # distinct recordings
        assert 2 <= len(b) <= 4  # never less than half full
    total = sum(len(b) for b in batches)
    assert total < 10 + 12  # the epoch ended at the first under-half batch
    # by hand: 22 sets; recording 0 appears at most once per batch, so once the 12
    # singles are used up it is alone (batch of 1 < 2) and the epoch ends.
    n0 = sum(st.recording == 0 for b in batches for st in b)
    assert n0 < 10
    assert sum(st.recording != 0 for b in batches for st in b) == 12


def test_sampler_rebuilt_each_epoch_and_deterministic():
    counts = _counts(np.random.default_rng(1), 20)
    s = MILBatchSampler(counts, 5, 120, 24, seed=7)
    e0 = [[(st.recording, st.crops.tolist()) for st in b] for b in s]
    s.set_epoch(1)
    e1 = [[(st.recording, st.crops.tolist()) for st in b] for b in s]
    assert e0 != e1
    again = MILBatchSampler(counts, 5, 120, 24, seed=7)
    assert [[(st.recording, st.crops.tolist()) for st in b] for b in again] == e0
    # resume in the middle of an epoch: the remaining batches are the same
    again.set_epoch(0, position=3)
    rest = [[(st.recording, st.crops.tolist()) for st in b] for b in again]
    assert rest == e0[3:]
    assert again.state_dict() == {"seed": 7, "epoch": 0, "position": len(e0)}


def test_distributed_sampler_matches_global_single_process_plan():
    counts = _counts(np.random.default_rng(2), 40)
    single = MILBatchSampler(counts, 8, 120, 24, seed=5).epoch_batches()
    ranks = [
        DistributedMILBatchSampler(
            counts, 4, 120, 24, rank=r, world_size=2, seed=5
        ).epoch_batches()
        for r in range(2)
    ]
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    for g, b0, b1 in zip(single, *ranks):
        merged = b0 + b1
        assert [st.recording for st in merged] == [st.recording for st in g]
        assert all(np.array_equal(a.crops, b.crops) for a, b in zip(merged, g))
        assert len(b0) >= 1 and len(b1) >= 1
        recs = [st.recording for st in merged]
        assert len(set(recs)) == len(recs)  # distinct across the global batch


def test_sampler_bad_input():
    with pytest.raises(ValueError, match="no crops or no text"):
        MILBatchSampler([(10, 2), (0, 3)], 2, 120, 24)
    with pytest.raises(ValueError, match="batch_size"):
        MILBatchSampler([(10, 2)], 0, 120, 24)
    s = MILBatchSampler([(10, 2)], 1, 120, 24, seed=1)
    with pytest.raises(ValueError, match="seed"):
        s.load_state_dict({"seed": 2, "epoch": 0, "position": 0})


# ----------------------------------------------------------------------------- LARS


def _lars_reference(params, grads_seq, lr, momentum=0.9, eta=1e-3, wd=1e-4):
    """Hand-written LARS (official ELM/Barlow Twins update) in float64 NumPy."""
    p = [x.copy() for x in params]
    mu = [np.zeros_like(x) for x in p]
    for grads in grads_seq:
        for i, g in enumerate(grads):
            if p[i].ndim > 1:
                d = g + wd * p[i]
                pn, dn = np.linalg.norm(p[i]), np.linalg.norm(d)
                q = eta * pn / dn if (pn > 0 and dn > 0) else 1.0
                d = d * q
            else:
                d = g  # 1-D: no weight decay, no adaptation
            mu[i] = momentum * mu[i] + d
            p[i] = p[i] - lr * mu[i]
    return p


def test_lars_matches_hand_reference():
    rng = np.random.default_rng(0)
    init = [rng.normal(size=(6, 4)), rng.normal(size=6), np.zeros((3, 2))]
    grads = [[rng.normal(size=x.shape) for x in init] for _ in range(3)]
    params = [nn.Parameter(torch.tensor(x, dtype=torch.float64)) for x in init]
    opt = LARS(params, lr=0.75)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g)
        opt.step()
    ref = _lars_reference(init, grads, lr=0.75)
    for p, r in zip(params, ref):
        np.testing.assert_allclose(p.detach().numpy(), r, rtol=1e-12, atol=1e-14)
    # the zero matrix has ||p|| = 0 -> trust ratio 1 (plain momentum SGD + wd)
    assert not np.allclose(ref[2], 0)


def test_lars_trust_ratio_bounds_update():
    p = nn.Parameter(torch.full((10, 10), 2.0, dtype=torch.float64))
    p.grad = torch.full((10, 10), 1e3, dtype=torch.float64)
    LARS([p], lr=1.0, momentum=0.0, weight_decay=0.0).step()
    # update norm = eta * ||p|| regardless of the gradient scale
    assert math.isclose(float((p.detach() - 2.0).norm()), 1e-3 * 20.0, rel_tol=1e-5)


# ------------------------------------------------------------------------- schedule


def test_lr_scaling_and_schedule():
    assert math.isclose(scaled_lr(0.02, world_size=1, batch_size=80, max_eeg=120), 0.75)
    assert math.isclose(scaled_lr(0.06, world_size=1, batch_size=30, max_eeg=32), 0.225)
    assert math.isclose(scaled_lr(0.02, world_size=4, batch_size=20, max_eeg=120), 0.75)
    kw = dict(peak_lr=0.75, warmup_epochs=2, epochs=25)
    assert math.isclose(warmup_cosine_lr(0, **kw), 0.0075)  # warm-up from 1 %
    assert math.isclose(warmup_cosine_lr(1, **kw), 0.375 + 0.0075)
    assert math.isclose(warmup_cosine_lr(2, **kw), 0.75)  # peak after warm-up
    e = 13
    ref = 0.0075 + 0.5 * (1 + math.cos(math.pi * (e - 2) / 23)) * (0.75 - 0.0075)
    assert math.isclose(warmup_cosine_lr(e, **kw), ref)
    lrs = [warmup_cosine_lr(i, **kw) for i in range(2, 25)]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))  # cosine decays
    assert 0.0075 < lrs[-1] < 0.012  # last epoch just above the 1 % floor
    with pytest.raises(ValueError, match="epoch"):
        warmup_cosine_lr(25, **kw)


# --------------------------------------------------------------------------- config


def test_presets_follow_the_paper():
    assert set(list_presets()) >= {"elm-5s", "elm-60s", "tiny-cpu"}
    c5 = load_preset("elm-5s")
    assert (c5.batch_size, c5.max_eeg, c5.max_text) == (80, 120, 24)
    assert (c5.optimizer, c5.base_lr, c5.epochs, c5.warmup_epochs) == (
        "lars",
        0.02,
        25,
        2,
    )
    assert (c5.crop_seconds, c5.text_mode, c5.temperature) == (5.0, "sentence", 0.3)
    assert (c5.weight_decay, c5.momentum, c5.eta) == (1e-4, 0.9, 1e-3)
    c60 = load_preset("elm-60s")
    assert (c60.batch_size, c60.max_eeg, c60.max_text) == (30, 32, 8)
    assert (c60.base_lr, c60.epochs, c60.warmup_epochs) == (0.06, 50, 5)
    assert (c60.crop_seconds, c60.text_mode, c60.variant) == (60.0, "paragraph", "60s")
    tiny = load_preset("tiny-cpu", epochs=3)
    assert tiny.n_filters < 32 and "narrow" in tiny.description.lower()
    assert tiny.epochs == 3


def test_config_errors_and_overrides():
    with pytest.raises(ValueError, match="unknown preset"):
        load_preset("elm-7s")
    with pytest.raises(ValueError, match="unknown config field"):
        load_preset("tiny-cpu", batchsize=3)
    with pytest.raises(ValueError, match="precision"):
        load_preset("tiny-cpu", precision="fp8")
    ov = parse_overrides(["epochs=3", "compile=true", "base_lr=0.5", "device=cpu"])
    assert ov == {"epochs": 3, "compile": True, "base_lr": 0.5, "device": "cpu"}
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["epochs"])


# ----------------------------------------------------------------------- checkpoint


def _tiny_module():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))


def test_checkpoint_roundtrip_and_pruning(tmp_path):
    m = _tiny_module()
    opt = LARS(list(m.parameters()), lr=0.1)
    for _ in range(2):
        m(torch.randn(5, 4)).sum().backward()
        opt.step()
    for step in (1, 2, 3):
        save_checkpoint(
            tmp_path,
            step=step,
            module=m,
            optimizer=opt,
            state={"epoch": 0, "position": step},
            keep_last=2,
        )
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["latest", "step_00000002", "step_00000003"]
    assert latest_checkpoint(tmp_path).name == "step_00000003"
    state = json.loads((tmp_path / "checkpoints/step_00000003/state.json").read_text())
    assert state["position"] == 3 and state["optimizer"]["class"] == "LARS"
    m2 = _tiny_module()
    for p in m2.parameters():
        nn.init.zeros_(p)
    opt2 = LARS(list(m2.parameters()), lr=0.5)
    load_checkpoint(latest_checkpoint(tmp_path), module=m2, optimizer=opt2)
    for (k, a), b in zip(m.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    assert opt2.param_groups[0]["lr"] == 0.1
    for p, q in zip(m.parameters(), m2.parameters()):
        assert torch.equal(opt.state[p]["mu"], opt2.state[q]["mu"])
    with pytest.raises(ValueError, match="does not match the model"):
        load_checkpoint(latest_checkpoint(tmp_path), module=nn.Linear(4, 2))
    # no torn checkpoint is ever visible: only complete folders are listed
    (tmp_path / "checkpoints" / ".tmp-step_00000009-1").mkdir()
    assert latest_checkpoint(tmp_path).name == "step_00000003"


# ------------------------------------------------------------------------ data side


def test_identical_text_mask():
    eeg_rec = torch.tensor([0, 0, 1, 2])
    text_rec = torch.tensor([0, 1, 2, 2])
    uid = torch.tensor([5, 5, 7, 8])  # recordings 0 and 1 share a caption
    mask = identical_text_mask(eeg_rec, text_rec, uid)
    expected = torch.tensor(
        [
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(mask, expected)


def test_batch_dataset_reads_planned_crops():
    rng = np.random.default_rng(0)
    items = [
        (f"r{i}", f"s{i % 3}", rng.normal(size=(7 + i, 2, 5)).astype(np.float16), t)
        for i, t in enumerate([["a", "b"], ["b"], ["c", "d", "a"], ["e"]])
    ]
    corpus = PretrainCorpus.from_arrays(items)
    assert corpus.texts == ["a", "b", "c", "d", "e"]
    s = MILBatchSampler(corpus.counts, 2, max_eeg=3, max_text=2, seed=0)
    ds = MILBatchDataset(corpus, s.epoch_batches())
    item = ds[0]
    batch = s.epoch_batches()[0]
    expect = np.concatenate(
        [corpus.recordings[st.recording].crops[st.crops] for st in batch]
    )
    np.testing.assert_array_equal(item["x"].numpy(), expect)
    assert item["eeg_rec"].tolist() == [st.recording for st in batch for _ in st.crops]
    uids = [corpus.segment_uids[st.recording][k] for st in batch for k in st.segments]
    assert item["text_uid"].tolist() == uids
    tr, va = subject_split(corpus.subjects, 0.34, seed=0)
    assert not {corpus.subjects[i] for i in tr} & {corpus.subjects[i] for i in va}
    assert sorted(tr + va) == list(range(4))


def test_corpus_skips_empty_and_rejects_mixed_shapes():
    ok = np.zeros((3, 2, 5), np.float16)
    c = PretrainCorpus.from_arrays(
        [("a", "s", ok, ["x"]), ("b", "s", ok, [" "]), ("c", "s", ok[:0], ["y"])]
    )
    assert [r.id for r in c.recordings] == ["a"]
    assert dict(c.skipped) == {"b": "no text segments", "c": "no crops"}
    with pytest.raises(ValueError, match="share"):
        PretrainCorpus.from_arrays(
            [("a", "s", ok, ["x"]), ("b", "s", np.zeros((3, 2, 6), np.float16), ["y"])]
        )


def test_global_batchnorm_is_batchnorm_when_single_process():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4))
    ref = nn.Sequential(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4))
    ref.load_state_dict(net.state_dict())
    convert_sync_bn(net, torch.device("cpu"))
    assert isinstance(net[1], _GlobalBatchNorm)
    assert set(net.state_dict()) == set(ref.state_dict())
    x = torch.randn(6, 3, 9)
    torch.testing.assert_close(net(x), ref(x))


def test_mil_step_text_positives_flag_uses_identical_text_mask():
    """positives="text": the step's loss equals MILInfoNCE with that mask."""
    from braindecode_elm.losses import MILInfoNCE
    from braindecode_elm.training.step import MILTrainModule, mil_step

    torch.manual_seed(0)
    eeg = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5, 6))
    proj = nn.Linear(3, 6)
    module = MILTrainModule(eeg, proj)
    x = torch.randn(4, 2, 5)
    feats = torch.randn(3, 3)
    eeg_rec = torch.tensor([0, 0, 1, 2])
    text_rec = torch.tensor([0, 1, 2])
    uid = torch.tensor([9, 9, 4])  # recordings 0 and 1 share a caption
    loss_fn = MILInfoNCE(0.3)
    with torch.no_grad():
        e, t = module(x, feats)
        mask = identical_text_mask(eeg_rec, text_rec, uid)
        want_text = loss_fn(e, t, eeg_rec, text_rec, mask)
        want_rec = loss_fn(e, t, eeg_rec, text_rec)
    assert not torch.isclose(want_text, want_rec)  # the flag changes the loss
    opt = torch.optim.SGD(module.parameters(), lr=0.0)
    got = mil_step(module, loss_fn, opt, x, feats, eeg_rec, text_rec, uid)
    torch.testing.assert_close(got, want_text)
    got = mil_step(module, loss_fn, opt, x, feats, eeg_rec, text_rec, None)
    torch.testing.assert_close(got, want_rec)


def test_python_m_training_quiet_silences_third_parties(monkeypatch):
    # python -m braindecode_elm.training / torchrun do not pass through the elm
    # command line: its -q must still switch off other packages' noise.
    from braindecode_elm import _logging
    from braindecode_elm.training import cli as training_cli

    seen = []
    monkeypatch.setattr(
        _logging, "quiet_third_parties", lambda quiet: seen.append(quiet)
    )
    with pytest.raises(SystemExit):  # the unknown preset, after the set-up
        training_cli.main(
            ["-q", "--preset", "no-such-preset", "--data", "x", "--out", "y"]
        )
    assert seen == [True]


def test_short_run_of_a_preset_says_to_lower_its_warmup():
    """`--preset elm-5s epochs=1` failed with the bare range (outside user)."""
    from braindecode_elm.training import load_preset

    with pytest.raises(
        ValueError, match=r"lower it too \(e.g. epochs=1 warmup_epochs=0\)"
    ):
        load_preset("elm-5s", epochs=1)
    assert load_preset("elm-5s", epochs=1, warmup_epochs=0).epochs == 1
