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
