"""``elm preprocess`` on a BIDS root written by MNE-BIDS from the real eegmat EDFs.

Subjects and sessions come from the BIDS entities, labels from
``participants.tsv``; derivatives are not recordings, and a recording in a
format the cache does not read is a manifest row with its reason.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from braindecode_elm.cli import main
from braindecode_elm.data import open_cache

mne_bids = pytest.importorskip("mne_bids")

pytestmark = pytest.mark.realdata

TASKS = {1: "rest", 2: "arithmetic"}


def _write_bids(eegmat_dir: Path, root: Path) -> pd.DataFrame:
    """Subjects 1-2 (one session), 3 (two sessions), 4 (BrainVision, unread)."""
    import mne

    info = pd.read_csv(eegmat_dir / "subject-info.csv")
    layout = {1: ["01"], 2: ["01"], 3: ["01", "02"]}
    for sub, sessions in layout.items():
        for ses in sessions:
            for k, task in TASKS.items():
                raw = mne.io.read_raw_edf(
                    eegmat_dir / f"Subject{sub - 1:02d}_{k}.edf", verbose="error"
                )
                bp = mne_bids.BIDSPath(
                    subject=f"{sub:02d}", session=ses, task=task, root=root,
                    datatype="eeg",
                )  # fmt: skip
                mne_bids.write_raw_bids(raw, bp, overwrite=True, verbose="error")
    raw = mne.io.read_raw_edf(eegmat_dir / "Subject03_1.edf", preload=True)
    bp = mne_bids.BIDSPath(
        subject="04", session="01", task="rest", root=root, datatype="eeg"
    )
    mne_bids.write_raw_bids(
        raw, bp, format="BrainVision", allow_preload=True, verbose="error"
    )
    # a processed copy under derivatives/ is not a recording of the dataset
    deriv = root / "derivatives" / "clean" / "sub-01" / "ses-01" / "eeg"
    deriv.mkdir(parents=True)
    src = root / "sub-01" / "ses-01" / "eeg" / "sub-01_ses-01_task-rest_eeg.edf"
    (deriv / "sub-01_ses-01_task-rest_desc-clean_eeg.edf").write_bytes(src.read_bytes())
    # the labels a user adds to participants.tsv
    part = pd.read_csv(root / "participants.tsv", sep="\t")
    quality = {
        f"sub-{int(s[-2:]) + 1:02d}": ("good" if q == 1 else "bad")
        for s, q in zip(info["Subject"], info["Count quality"])
    }
    part["counting"] = part["participant_id"].map(quality)
    part.to_csv(root / "participants.tsv", sep="\t", index=False)
    return part


def test_preprocess_bids_root(eegmat_dir, tmp_path, capsys):
    root = tmp_path / "bids"
    part = _write_bids(eegmat_dir, root)
    assert set(part["counting"]) == {"good", "bad"}  # both labels are exercised
    assert main(["preprocess", str(root), str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "8 recordings OK (3 subjects" in out
    assert "unsupported_format" in out

    corpus = open_cache(tmp_path / "cache")
    assert sorted(corpus.ids) == sorted(
        f"sub-{s:02d}_ses-{ses}_task-{t}_eeg"
        for s, sessions in {1: ["01"], 2: ["01"], 3: ["01", "02"]}.items()
        for ses in sessions
        for t in TASKS.values()
    )
    labels = dict(zip(part["participant_id"], part["counting"]))
    for rid, subject in zip(corpus.ids, corpus.subjects):
        desc = corpus[rid].description
        sub, ses, task = rid.split("_")[:3]
        assert subject == desc["subject"] == sub
        assert desc["session"] == ses and desc["task"] == task[len("task-") :]
        assert desc["counting"] == labels[sub]
        assert "derivatives" not in desc["path"]
    skipped = corpus.skipped
    assert list(skipped["reason"]) == ["unsupported_format"]
    assert skipped["subject"].tolist() == ["sub-04"]
    assert "write_raw_bids" in skipped["detail"].iloc[0]


def test_bids_events_segment_the_recordings(eegmat_dir, tmp_path):
    """BIDS *_events.tsv files were never read: --events on a BIDS source
    failed with 'no known fact in its labels/metadata or annotations'
    (outside user). They become annotations of each Raw, at their times."""
    import shutil
    import warnings

    from braindecode_elm.data import TUHReports
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.data.tuh import bids_events

    root = tmp_path / "bids"
    for sub in (1, 2):
        eeg = root / f"sub-0{sub}" / "eeg"
        eeg.mkdir(parents=True)
        shutil.copy(
            eegmat_dir / f"Subject0{sub}_1.edf", eeg / f"sub-0{sub}_task-mixed_eeg.edf"
        )
        (eeg / f"sub-0{sub}_task-mixed_events.tsv").write_text(
            "onset\tduration\ttrial_type\tvalue\n0\t30\trest\t1\n30.5\t25\tarithmetic\t2\n"
            "58\tn/a\tn/a\t3\n"
        )
    (root / "participants.tsv").write_text(
        "participant_id\tage\nsub-01\t21\nsub-02\t35\n"
    )
    ann = bids_events(root / "sub-01" / "eeg" / "sub-01_task-mixed_eeg.edf")
    assert list(ann.onset) == [0.0, 30.5] and list(ann.duration) == [30.0, 25.0]
    assert list(ann.description) == ["rest", "arithmetic"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        corpus = build_labelled_corpus({"b": TUHReports(root)}, events=True)
    got = sorted(
        (s.subject, s.facts["state"], s.start, s.stop) for s in corpus.segments
    )
    assert got == [
        ("b/sub-01", "arithmetic", 3050, 5550),
        ("b/sub-01", "rest", 0, 3000),
        ("b/sub-02", "arithmetic", 3050, 5550),
        ("b/sub-02", "rest", 0, 3000),
    ], got
    bad = root / "sub-02" / "eeg" / "sub-02_task-mixed_events.tsv"
    bad.write_text("onset\ttrial_type\nsoon\trest\n")
    with pytest.raises(ValueError, match=r"events.tsv: onset and duration must be"):
        bids_events(root / "sub-02" / "eeg" / "sub-02_task-mixed_eeg.edf")


def test_bids_events_never_cost_the_recording_nor_double(eegmat_dir, tmp_path):
    """An events.tsv without trial_type (valid BIDS) or with an n/a onset made
    the recording unreadable ('corrupt_edf'); a folder written by
    mne_bids.write_raw_bids, whose EDF holds the same events, got every event
    twice (diff review)."""
    import shutil
    import warnings

    import mne

    from braindecode_elm.data import TUHReports
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.data.tuh import bids_events

    root = tmp_path / "bids"
    eeg = root / "sub-01" / "eeg"
    eeg.mkdir(parents=True)
    edf = eeg / "sub-01_task-mixed_eeg.edf"
    shutil.copy(eegmat_dir / "Subject01_1.edf", edf)
    events = eeg / "sub-01_task-mixed_events.tsv"
    events.write_text("onset\tduration\tvalue\n0\t30\trest\nn/a\tn/a\trest\n")
    ann = bids_events(edf)  # the name from 'value', the n/a row left out
    assert list(ann.description) == ["rest"] and list(ann.onset) == [0.0]
    events.write_text("onset\tduration\nsoon\t1\n")  # no name column, bad onset
    with pytest.warns(UserWarning, match="events.tsv: BIDS events need an onset"):
        ds = TUHReports(root)
    assert len(ds.datasets) == 1 and len(ds.datasets[0].raw.annotations) == 0

    # written by MNE-BIDS: the events sit in the EDF and in events.tsv
    raw = mne.io.read_raw_edf(eegmat_dir / "Subject02_1.edf", verbose="error")
    raw.set_annotations(
        mne.Annotations([0.0, 30.0], [30.0, 25.0], ["rest", "arithmetic"])
    )
    root2 = tmp_path / "bids2"
    bp = mne_bids.BIDSPath(subject="01", task="mixed", root=root2, datatype="eeg")
    mne_bids.write_raw_bids(
        raw, bp, format="EDF", allow_preload=True, overwrite=True, verbose="error"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        corpus = build_labelled_corpus({"b": TUHReports(root2)}, events=True)
    got = sorted((s.facts["state"], s.start, s.stop) for s in corpus.segments)
    assert got == [("arithmetic", 3000, 5500), ("rest", 0, 3000)], got
