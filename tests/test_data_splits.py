"""Subject-level splits and the leakage check; ELM windowing rules."""

from __future__ import annotations

import mne
import numpy as np
import pandas as pd
import pytest
from braindecode.datasets import BaseConcatDataset, RawDataset

from braindecode_elm.data import (
    SubjectLeakageError,
    check_no_subject_overlap,
    create_probe_windows,
    crop_bounds,
    crop_view,
    exclude_subjects,
    subject_kfold,
    subject_split,
    subjects_of,
)

SUBJECTS = [f"s{i // 3:02d}" for i in range(60)]  # 20 subjects x 3 recordings


def test_subject_split_no_overlap_complete_and_stable():
    out = subject_split(SUBJECTS, {"train": 0.7, "valid": 0.1, "test": 0.2}, seed=1)
    idx = np.concatenate(list(out.values()))
    assert sorted(idx.tolist()) == list(range(60))
    subj = {k: {SUBJECTS[i] for i in v} for k, v in out.items()}
    assert [len(subj[k]) for k in ("train", "valid", "test")] == [14, 2, 4]
    assert not (subj["train"] & subj["test"]) and not (subj["train"] & subj["valid"])
    again = subject_split(SUBJECTS, {"train": 0.7, "valid": 0.1, "test": 0.2}, seed=1)
    assert all(np.array_equal(out[k], again[k]) for k in out)
    # Order of recordings does not matter, only subject ids and the seed.
    rev = subject_split(
        SUBJECTS[::-1], {"train": 0.7, "valid": 0.1, "test": 0.2}, seed=1
    )
    assert {SUBJECTS[::-1][i] for i in rev["test"]} == subj["test"]
    other = subject_split(SUBJECTS, {"train": 0.7, "valid": 0.1, "test": 0.2}, seed=2)
    assert {SUBJECTS[i] for i in other["test"]} != subj["test"]
    assert set(subject_split(SUBJECTS, (0.8, 0.2))) == {"train", "test"}
    # Every split with a positive share gets a subject.
    tiny = subject_split(["a", "b", "c"], {"train": 0.98, "test": 0.01, "v": 0.01})
    assert all(len(v) == 1 for v in tiny.values())
    with pytest.raises(ValueError, match="non-negative"):
        subject_split(SUBJECTS, (-1, 2))


def test_kfold_each_subject_tested_once():
    folds = subject_kfold(SUBJECTS, 5, seed=0)
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested.tolist()) == list(range(60))
    for tr, te in folds:
        assert not {SUBJECTS[i] for i in tr} & {SUBJECTS[i] for i in te}
    with pytest.raises(ValueError, match="n_splits"):
        subject_kfold(SUBJECTS, 21)


def test_leakage_check_fails_loudly():
    pretrain = pd.DataFrame({"subject": ["a", "b", "c", "d"]})
    tuab_eval = ["x", "c", "d", "y"]
    with pytest.raises(SubjectLeakageError) as err:
        check_no_subject_overlap({"pretrain": pretrain, "tuab_eval": tuab_eval})
    msg = str(err.value)
    assert (
        "'pretrain' and 'tuab_eval' share 2 subject(s)" in msg and "['c', 'd']" in msg
    )
    assert err.value.overlap == {("pretrain", "tuab_eval"): ["c", "d"]}
    check_no_subject_overlap({"a": ["a"], "b": ["b"]})
    check_no_subject_overlap({"a": ["a"], "b": ["a"]}, allow=[("b", "a")])
    keep = exclude_subjects(pretrain, tuab_eval)
    assert keep.tolist() == [0, 1]
    check_no_subject_overlap({"pretrain": pretrain.iloc[keep], "tuab_eval": tuab_eval})
    with pytest.raises(TypeError):
        subjects_of("abc")


def test_subjects_of_braindecode_dataset():
    info = mne.create_info(["C3"], 100.0, "eeg")
    parts = [
        RawDataset(mne.io.RawArray(np.zeros((1, 10)), info, verbose="error"),
                   pd.Series({"subject": s}))
        for s in ("p", "q", "p")
    ]  # fmt: skip
    assert subjects_of(BaseConcatDataset(parts)) == ["p", "q", "p"]


def test_crop_rules():
    # 10 s dropped, aligned 5-s crops, remainder dropped.
    assert crop_bounds(100 * 73, 100.0, 5.0) == (1000, 12, 500)
    assert crop_bounds(100 * 73, 100.0, 60.0) == (1000, 1, 6000)
    # 45 min cap.
    assert crop_bounds(100 * 3600 * 2, 100.0, 60.0) == (1000, 45, 6000)
    assert crop_bounds(100 * 3600 * 2, 100.0, 60.0, max_minutes=None)[1] == 119
    # Preprocessing that already dropped 10 s drops nothing more.
    assert crop_bounds(6000, 100.0, 5.0, start_s=10.0) == (0, 12, 500)
    assert crop_bounds(500, 100.0, 5.0) == (1000, 0, 500)
    with pytest.raises(ValueError, match="whole number"):
        crop_bounds(1000, 100.0, 0.003)
    x = np.arange(2 * 2000, dtype=np.float32).reshape(2, 2000)
    v = crop_view(x, 100.0, 5.0, drop_first_s=2.0)
    assert v.shape == (3, 2, 500) and np.shares_memory(v, x)
    np.testing.assert_array_equal(v[1], x[:, 700:1200])


@pytest.mark.realdata
def test_probe_windows_from_raw(eegmat_dir):
    from braindecode_elm.data import EEGMAT

    ds = EEGMAT(eegmat_dir, subjects=[3], download=False)
    win = create_probe_windows(ds, 5.0, drop_first_s=0.0)
    assert len(win.datasets) == 2
    X, y, inds = win[0]
    assert X.shape == (20, 500) and y == 0
    assert len(win) == 24
    assert win.datasets[1].description["label"] == "arithmetic"
    assert np.abs(X).max() <= 80.0


@pytest.mark.realdata
def test_probe_windows_drop_and_cap(eegmat_dir):
    from braindecode_elm.data import EEGMAT

    ds = EEGMAT(eegmat_dir, subjects=[4], states=["rest"], download=False)
    win = create_probe_windows(ds, 5.0, drop_first_s=10.0, max_minutes=0.5)
    assert len(win) == 6  # 30 s after the first 10 s
    ds = EEGMAT(eegmat_dir, subjects=[4], states=["rest"], download=False)
    full = create_probe_windows(ds, 5.0, drop_first_s=0.0)
    np.testing.assert_allclose(win[0][0], full[2][0], atol=1e-6)


def _eegmat_recordings(eegmat_dir):
    """(recording ids, subjects, count-quality label) of the real eegmat files."""
    info = pd.read_csv(eegmat_dir / "subject-info.csv").set_index("Subject")
    ids = sorted(f.stem for f in eegmat_dir.glob("Subject*_*.edf"))
    subjects = [r.rsplit("_", 1)[0] for r in ids]
    quality = [int(info.loc[s, "Count quality"]) for s in subjects]
    return ids, subjects, quality


@pytest.mark.parametrize("stratified", [False, True])
def test_one_subject_split_for_every_entry_point(eegmat_dir, stratified):
    """Data, training and evaluation split the real eegmat subjects identically."""
    from braindecode_elm.evaluation.splits import subject_split as eval_split
    from braindecode_elm.training.loader import subject_split as train_split

    ids, subjects, quality = _eegmat_recordings(eegmat_dir)
    assert len(ids) == 72 and len(set(subjects)) == 36
    strat = quality if stratified else None
    held_by_seed = []
    for seed in range(4):
        data = subject_split(subjects, (0.8, 0.2), seed=seed, stratify=strat)
        ev_train, ev_held = eval_split(
            ids, subjects, [0.8, 0.2], seed=seed, stratify=strat
        )
        held = {subjects[i] for i in data["test"]}
        # 36 subjects at 20 %: 7 held out, every recording of them and only them.
        assert len(held) == 7
        assert {r.rsplit("_", 1)[0] for r in ev_held} == held
        assert ev_held == [ids[i] for i in data["test"]]
        assert ev_train == [ids[i] for i in data["train"]]
        assert not held & {r.rsplit("_", 1)[0] for r in ev_train}
        assert sorted(ev_train + ev_held) == ids
        if not stratified:
            tr, va = train_split(subjects, 0.2, seed=seed)
            assert va == data["test"].tolist() and tr == data["train"].tolist()
        else:
            # 10 of 36 subjects are bad counters: 2 of the 7 held out, 8 of 29
            # kept (the same 28 % in both parts, to one subject).
            bad = {s for s, q in zip(subjects, quality) if q == 0}
            assert len(held & bad) == 2
        held_by_seed.append(held)
    # Seeds change the split.
    assert len({frozenset(h) for h in held_by_seed}) == 4
    # Subject k-fold cuts the same seeded order: each subject tested once.
    folds = subject_kfold(subjects, 4, seed=0, stratify=strat)
    tested = [subjects[i] for _, te in folds for i in te]
    assert sorted(tested) == sorted(subjects)
    for tr, te in folds:
        assert not {subjects[i] for i in tr} & {subjects[i] for i in te}


def test_split_parts_from_different_seeds_are_caught(eegmat_dir):
    ids, subjects, _ = _eegmat_recordings(eegmat_dir)
    a = subject_split(subjects, (0.8, 0.2), seed=0)
    b = subject_split(subjects, (0.8, 0.2), seed=1)
    # Training on seed 0's part and testing on seed 1's held-out part leaks.
    with pytest.raises(SubjectLeakageError, match="'train' and 'test' share"):
        check_no_subject_overlap(
            {
                "train": [subjects[i] for i in a["train"]],
                "test": [subjects[i] for i in b["test"]],
            }
        )


def test_small_splits_every_part_filled_and_disjoint():
    """Tiny shares on few subjects: each part gets a subject, none gets two parts."""
    from braindecode_elm.evaluation.splits import subject_split as eval_split

    for n_subj in range(3, 9):
        subj = [f"s{i}" for i in range(n_subj) for _ in range(2)]
        ids = [f"r{i}" for i in range(len(subj))]
        labels = [i % 3 for i in range(len(subj))]
        for fractions in ([0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.34, 0.33, 0.33]):
            for seed in range(5):
                for strat in (None, labels):
                    parts = eval_split(ids, subj, fractions, seed=seed, stratify=strat)
                    owners = [{subj[ids.index(r)] for r in p} for p in parts]
                    assert all(owners), (n_subj, fractions, seed)
                    assert sum(len(o) for o in owners) == n_subj
                    assert set().union(*owners) == set(subj)
                    assert sorted(r for p in parts for r in p) == sorted(ids)
    with pytest.raises(ValueError, match="2 subjects cannot fill 3"):
        eval_split(["a", "b"], ["x", "y"], [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="one label per recording"):
        subject_split(SUBJECTS, (0.5, 0.5), stratify=[0, 1])


def test_stratified_split_keeps_label_mix():
    subj = [f"s{i:02d}" for i in range(40)]
    lab = ["a"] * 30 + ["b"] * 10
    for seed in range(5):
        out = subject_split(subj, {"train": 0.5, "test": 0.5}, seed=seed, stratify=lab)
        # Exactly half of each label per part (unstratified splits drift).
        for idx in out.values():
            assert sorted(lab[i] for i in idx).count("b") == 5
    # Same subject counts with or without stratification.
    plain = subject_split(subj, (0.7, 0.3), seed=3)
    strat = subject_split(subj, (0.7, 0.3), seed=3, stratify=lab)
    assert [len(v) for v in plain.values()] == [len(v) for v in strat.values()]


@pytest.mark.realdata
def test_probe_windows_without_a_target_are_refused(eegmat_dir):
    """Recordings without a target gave every window the target -1 (a MOABB
    dataset read by braindecode; outside user)."""
    from braindecode.datasets import BaseConcatDataset, RawDataset

    from braindecode_elm.data import EEGMAT

    src = EEGMAT(eegmat_dir, subjects=[5], download=False)
    bare = BaseConcatDataset(
        [RawDataset(d.raw, d.description) for d in src.datasets]  # no target_name
    )
    with pytest.raises(ValueError, match="2 of 2 recordings have no target"):
        create_probe_windows(bare, 5.0)
    win = create_probe_windows(bare, 5.0, target_name="label")
    assert {win[i][1] for i in range(len(win))} == {"rest", "arithmetic"}
    with pytest.raises(KeyError, match="target_name='nope'"):
        create_probe_windows(bare, 5.0, target_name="nope")
