"""Re-running ``elm preprocess`` on a folder that changed since the first run.

What a user does between two runs on real eegmat EDF files: replaces a source
file under the same name, touches one, adds a labels table, lists recording
ids that are not there. The cache must serve the new data and descriptions,
stay cheap to resume, and refuse ids that name nothing, before any work.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.cli import main
from braindecode_elm.data import apply_metadata, build_cache, open_cache


def _put(src: Path, dst: Path) -> None:
    """Copy ``src`` over ``dst`` as a user would (the shared files are read-only)."""
    dst.unlink(missing_ok=True)
    shutil.copyfile(src, dst)


@pytest.fixture
def src(eegmat_dir, tmp_path) -> Path:
    """A folder with recordings ``A`` (Subject00_1) and ``B`` (Subject00_2)."""
    folder = tmp_path / "src"
    folder.mkdir()
    _put(eegmat_dir / "Subject00_1.edf", folder / "A.edf")
    _put(eegmat_dir / "Subject00_2.edf", folder / "B.edf")
    return folder


def _preprocess(capsys, *args: str | Path) -> tuple[int, str, str]:
    rc = main(["preprocess", *map(str, args), "-q"])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _rows(cache: Path) -> list[dict]:
    return [
        json.loads(ln)
        for ln in (cache / "manifest.jsonl").read_text().split("\n")
        if ln
    ]


# --------------------------------------------------------------- replaced sources
def test_replaced_source_is_preprocessed_again(eegmat_dir, src, tmp_path, capsys):
    cache = tmp_path / "cache"
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "2 cached, 0 already done" in out
    old_a = np.array(open_cache(cache)["A"].data)
    # Same name, other recording (eegmat files all have the same size, so
    # only the hash tells them apart).
    _put(eegmat_dir / "Subject09_2.edf", src / "A.edf")
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0
    assert "1 cached (1 redone: source file changed), 1 already done" in out
    ref = tmp_path / "ref"
    (ref / "src").mkdir(parents=True)
    _put(eegmat_dir / "Subject09_2.edf", ref / "src" / "A.edf")
    assert _preprocess(capsys, ref / "src", ref / "cache")[0] == 0
    new_a = open_cache(cache)["A"].data
    np.testing.assert_array_equal(new_a, open_cache(ref / "cache")["A"].data)
    assert not np.array_equal(new_a, old_a)
    latest = [r for r in _rows(cache) if r["recording_id"] == "A"][-1]
    assert latest["sha256"] == _rows(ref / "cache")[0]["sha256"]
    # Resume stays cheap: unchanged files are neither redone nor rewritten.
    n_rows = len(_rows(cache))
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "0 cached, 2 already done, 0 skipped" in out
    assert len(_rows(cache)) == n_rows


def test_touched_source_is_hashed_once_not_redone(src, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    before = (cache / "recordings" / "B.npy").stat().st_mtime_ns
    st = (src / "B.edf").stat()
    os.utime(src / "B.edf", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    n_rows = len(_rows(cache))
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "0 cached, 2 already done, 0 skipped" in out
    assert (cache / "recordings" / "B.npy").stat().st_mtime_ns == before
    # The new modification time is stored, so the next run hashes nothing.
    rows = _rows(cache)
    assert len(rows) == n_rows + 1
    assert rows[-1]["source_mtime_ns"] == st.st_mtime_ns + 10**9
    assert len(open_cache(cache)) == 2
    _preprocess(capsys, src, cache)
    assert len(_rows(cache)) == n_rows + 1


def test_rows_of_older_caches_are_trusted_not_rehashed(
    eegmat_dir, src, tmp_path, capsys, monkeypatch
):
    """Rows written before sizes and times were stored: trusted as before (no
    hashing of a whole corpus on the first rerun), then watched."""
    import braindecode_elm.data.cache_build as cb

    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    rows = _rows(cache)
    for r in rows:
        del r["source_size"], r["source_mtime_ns"]
    (cache / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def no_hash(path):
        raise AssertionError(f"hashed {path}")

    monkeypatch.setattr(cb, "_sha256", no_hash)
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "0 cached, 2 already done" in out
    latest_b = [r for r in _rows(cache) if r["recording_id"] == "B"][-1]
    assert latest_b["source_size"] == (src / "B.edf").stat().st_size
    # from now on a replaced source is seen (by its size, without hashing it;
    # the new row's own sha256 is computed as usual)
    monkeypatch.undo()
    _put(eegmat_dir / "Subject09_2.edf", src / "A.edf")
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "1 cached (1 redone: source file changed), 1 already" in out


def test_without_hashes_a_changed_time_redoes(eegmat_dir, src, tmp_path):
    cache = tmp_path / "cache"
    s = build_cache(src, cache, hash_source=False, progress=False, require_report=False)
    assert s.n_cached == 2 and "sha256" not in _rows(cache)[0]
    _put(eegmat_dir / "Subject09_2.edf", src / "A.edf")
    s = build_cache(src, cache, hash_source=False, progress=False, require_report=False)
    assert (s.n_cached, s.n_changed, s.n_already) == (1, 1, 1)


def test_a_source_gone_since_keeps_its_cached_array(src, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    (src / "B.edf").unlink()
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "0 cached, 1 already done" in out
    assert open_cache(cache).ids == ["A", "B"]


# --------------------------------------------------------------- metadata on re-run
def test_metadata_on_a_rerun_updates_cached_descriptions(src, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        dict(recording_id=["A", "B"], state=["rest", "task"], subject=["p1", "p1"])
    ).to_csv(labels, index=False)
    rc, out, _ = _preprocess(capsys, src, cache, "--metadata", labels)
    assert rc == 0
    assert "0 cached, 2 already done (2 with descriptions updated" in out
    corpus = open_cache(cache)
    assert [corpus[i].description["state"] for i in ("A", "B")] == ["rest", "task"]
    assert corpus.subjects == ["p1", "p1"]
    assert corpus.description["state"].tolist() == ["rest", "task"]
    # The same table again changes nothing and writes nothing.
    n_rows = len(_rows(cache))
    s = build_cache(src, cache, metadata=labels, progress=False, require_report=False)
    assert (s.n_cached, s.n_already, s.n_updated) == (0, 2, 0)
    assert len(_rows(cache)) == n_rows
    # A later table updates its own fields only: subjects and labels stay.
    more = pd.DataFrame(dict(recording_id=["A", "B"], report=["eyes closed", "math"]))
    s = build_cache(src, cache, metadata=more, progress=False, require_report=False)
    assert s.n_updated == 2
    rec = open_cache(cache)["B"]
    assert (rec.report, rec.subject, rec.description["state"]) == ("math", "p1", "task")
    # A column spelled in another case fills the header's field: the EDF header
    # of A (Subject00_1) says "M", of B "F"; the table says "F" for both (as
    # eegmat's subject-info.csv): A's row is updated, B's already agrees.
    assert open_cache(cache)["A"].description["gender"] == "M"
    sexes = pd.DataFrame(dict(recording_id=["A", "B"], Gender=["F", "F"]))
    s = build_cache(src, cache, metadata=sexes, progress=False, require_report=False)
    assert s.n_updated == 1
    desc = open_cache(cache)["A"].description
    assert desc["gender"] == "F" and "Gender" not in desc


# --------------------------------------------------------------- unknown ids
def test_unknown_recording_ids_are_an_error_before_any_work(src, tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_text("A\nnope\n")
    cache = tmp_path / "cache"
    rc, _, err = _preprocess(capsys, src, cache, "--recordings", ids)
    assert rc == 2
    assert "1 of the 2 recording ids" in err and "'nope'" in err
    assert "EDF file names without '.edf'" in err and "'A'" in err
    assert not cache.exists()
    ids.write_text("\n".join(f"x{i}" for i in range(8)) + "\n")
    rc, _, err = _preprocess(capsys, src, cache, "--recordings", ids)
    assert rc == 2 and "'x4' and 3 more" in err and "'x5'" not in err
    with pytest.raises(ValueError, match="positions \\[7\\]"):
        build_cache(
            src, cache, recording_ids=[0, 7], progress=False, require_report=False
        )


# --------------------------------------------------------------- metadata warning
def test_missing_rows_warning_names_the_unmatched_recordings(src, tmp_path):
    descs = [
        dict(recording_id=r, subject=r, path=str(src / f"{r}.edf"))
        for r in ("Subject24_1", "Subject24_2", "Subject25_1", "Subject25_2")
    ]
    table = pd.DataFrame(dict(recording_id=["Subject24_1", "Subject25_1"], y=[0, 1]))
    with pytest.warns(UserWarning, match="2 of 4 recordings have no row") as rec:
        assert apply_metadata(descs, table) == 2
    msg = str(rec[0].message)
    assert "Subject24_2" in msg and "Subject25_2" in msg and "Subject24_1" not in msg
    # The same warning through a build from a folder.
    labels = tmp_path / "labels.csv"
    pd.DataFrame(dict(recording_id=["A"], y=[1])).to_csv(labels, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_cache(
            src,
            tmp_path / "cache",
            metadata=labels,
            progress=False,
            require_report=False,
        )
    [w] = [w for w in caught if "have no row" in str(w.message)]
    assert "['B']" in str(w.message)


def test_an_id_taken_by_another_file_is_said_so(eegmat_dir, tmp_path, capsys, caplog):
    # Files of one name in several folders share the id; a new one that sorts
    # first takes it. The cache then holds that file, as a fresh build would,
    # and the run says so (it used to call it "source file changed").
    src = tmp_path / "src"
    (src / "p1").mkdir(parents=True)
    _put(eegmat_dir / "Subject00_1.edf", src / "p1" / "rest.edf")
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    (src / "a0").mkdir()
    _put(eegmat_dir / "Subject09_1.edf", src / "a0" / "rest.edf")
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0
    assert "1 cached (1 redone: the id names another file now)" in out
    assert "duplicate_id=1" in out
    assert any("now names" in r.getMessage() and "duplicate_id" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    fresh = tmp_path / "fresh"
    assert _preprocess(capsys, src, fresh)[0] == 0
    np.testing.assert_array_equal(
        open_cache(cache)["rest"].data, open_cache(fresh)["rest"].data
    )


def test_participants_tsv_edits_reach_cached_recordings(src, tmp_path, capsys):
    # participants.tsv is read on every run, like a --metadata table.
    table = src / "participants.tsv"
    table.write_text("participant_id\tgroup\nA\tbad\nB\tbad\n")
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    assert open_cache(cache)["A"].description["group"] == "bad"
    table.write_text("participant_id\tgroup\nA\tchanged\nB\tbad\n")
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "(1 with descriptions updated from the metadata)" in out
    assert open_cache(cache)["A"].description["group"] == "changed"


# ------------------------------------------------ reports and rules on a rerun
def test_edited_added_and_removed_reports_reach_cached_recordings(
    src, tmp_path, capsys
):
    """A report written, corrected or deleted after caching reaches the cache on
    the next run (an outside user's corrected report stayed stale: "0 cached,
    2 already done"); the arrays are kept."""
    cache = tmp_path / "cache"
    (src / "A.txt").write_text(
        "CLINICAL HISTORY: 30 year old woman.\nIMPRESSION: Normal EEG."
    )
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0 and "2 cached" in out
    arr = np.array(open_cache(cache)["A"].data)
    assert open_cache(cache)["A"].description["age"] == 30
    (src / "A.txt").write_text(
        "CLINICAL HISTORY: 31 year old woman.\nIMPRESSION: Abnormal EEG."
    )
    (src / "B.txt").write_text("IMPRESSION: Late report for B.")
    rc, out, _ = _preprocess(capsys, src, cache)
    assert rc == 0
    assert "0 cached, 2 already done (2 with reports updated from their files)" in out
    c = open_cache(cache)
    assert c["A"].report.endswith("Abnormal EEG.")
    assert c["A"].description["age"] == 31
    assert c["B"].report == "IMPRESSION: Late report for B."
    assert c["B"].description["report_status"] == "ok"
    np.testing.assert_array_equal(np.array(c["A"].data), arr)
    # Nothing changed: nothing rewritten.
    n_rows = len(_rows(cache))
    rc, out, _ = _preprocess(capsys, src, cache)
    assert "0 cached, 2 already done, 0 skipped" in out and len(_rows(cache)) == n_rows
    (src / "B.txt").unlink()
    rc, out, _ = _preprocess(capsys, src, cache)
    assert "(1 with reports updated from their files)" in out
    c = open_cache(cache)
    assert c["B"].report is None and c["B"].description["report_status"] == "missing"


def test_stricter_rules_on_a_rerun_are_said_not_applied(src, tmp_path, capsys):
    """--min-duration and --require-reports given on a rerun would skip
    recordings cached before (they stayed "OK" with no word): they stay, since a
    rerun cannot tell a rule given now from a default an earlier run overrode,
    and a warning names them."""
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    (src / "A.txt").write_text("IMPRESSION: Normal EEG.")
    rc, out, err = _preprocess(capsys, src, cache, "--require-reports")
    assert rc == 0 and "0 cached, 2 already done" in out, out
    assert (
        "warning: 1 recordings cached before would be skipped by this run's rules "
        "(missing_report: 1) and stay in the cache, e.g. ['B']" in err
    ), err
    rc, out, err = _preprocess(capsys, src, cache, "--min-duration", "100")
    assert "(too_short: 2)" in err, err
    assert set(open_cache(cache).ids) == {"A", "B"}


def test_a_source_truncated_since_is_skipped_not_served(src, tmp_path, capsys):
    """A cached recording whose file is now truncated gets the skip a fresh build
    gives (its old array was served as "OK"), also when the runs spell the
    folder relative to different working directories (second review)."""
    old_cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert _preprocess(capsys, "src", "cache")[0] == 0
        with open(src / "B.edf", "r+b") as f:
            f.truncate(600_000)
        os.chdir(src)
        rc, out, _ = _preprocess(capsys, ".", "../cache")
    finally:
        os.chdir(old_cwd)
    assert "1 redone: source file changed" in out and "truncated_edf=1" in out, out
    assert set(open_cache(tmp_path / "cache").ids) == {"A"}


def test_wrong_units_and_flat_electrodes_are_named(
    eegmat_dir, tmp_path, capsys, monkeypatch
):
    """Real eegmat signals written with a wrong unit or a flat electrode are
    cached, but each recording is named with what looks wrong, and the notes
    stay in its manifest row (an outside user's 'counts' and 'V'-for-microvolts
    files were cached as OK with no name, 1000x off)."""
    from braindecode_elm.data import (
        cache_recording,
        read_edf_data,
        read_edf_header,
        write_edf,
    )
    from braindecode_elm.dsp import engine

    counted: list[int] = []
    count = engine.clip_fraction

    def counting(y, clip):
        counted.append(y.size)
        return count(y, clip)

    # The build runs in this process (one job): every count of the clip shows.
    monkeypatch.setattr(engine, "clip_fraction", counting)
    monkeypatch.setattr(cache_recording, "clip_fraction", counting)

    h = read_edf_header(eegmat_dir / "Subject01_1.edf")
    keep = [i for i, lbl in enumerate(h.labels) if lbl != "EDF Annotations"]
    x = read_edf_data(h, keep)  # volts
    labels = [h.labels[i] for i in keep]
    sfreq = float(h.sfreqs[keep[0]])
    folder = tmp_path / "src"
    write_edf(folder / "good.edf", x, labels, sfreq)
    write_edf(folder / "uv_as_v.edf", x * 1e6, labels, sfreq, units="V")
    counts = write_edf(folder / "counts.edf", x, labels, sfreq)
    raw = bytearray(counts.read_bytes())
    n_sig = len(labels)
    dim = 256 + n_sig * (16 + 80)  # the physical dimension fields
    raw[dim : dim + 8 * n_sig] = b"counts  " * n_sig
    counts.write_bytes(bytes(raw))
    write_edf(folder / "tiny.edf", x * 1e-3, labels, sfreq)  # mV read as uV
    flat = x.copy()
    flat[labels.index("EEG Fp1")] = 0.0
    write_edf(folder / "flat.edf", flat, labels, sfreq)
    cache = tmp_path / "cache"
    rc, out, err = _preprocess(capsys, folder, cache)
    assert rc == 0 and "5 cached" in out
    lines = [ln for ln in err.splitlines() if ln.startswith("warning: recording ")]
    said = {ln.split()[2].rstrip(":"): ln for ln in lines}
    assert "good" not in said, lines
    assert "at the clip +-80" in said["uv_as_v"]
    assert "['counts']" in " ".join(ln for ln in lines if "counts:" in ln)
    assert "far below scalp EEG" in said["tiny"]
    assert "flat electrodes ['FP1']" in said["flat"]
    rows = {r["recording_id"]: r for r in _rows(cache)}
    assert "warnings" not in rows["good"] and rows["good"]["clip_fraction"] < 0.01
    assert rows["uv_as_v"]["clip_fraction"] > 0.5
    assert len(rows["counts"]["warnings"]) == 1
    # The engine's own clip note (which names no file) is not repeated.
    assert "preprocess: over" not in err
    # Each output is counted once: for its note, not again for the warning.
    assert len(counted) == 5, counted


def test_a_report_that_cannot_be_decoded_is_named(src, tmp_path, capsys):
    """A UTF-16 report without a byte-order mark became "no report" with no
    word (only --require-reports said it)."""
    (src / "A.txt").write_bytes("IMPRESSION: Normal EEG.".encode("utf-16-le"))
    cache = tmp_path / "cache"
    rc, out, err = _preprocess(capsys, src, cache)
    assert rc == 0 and "2 cached" in out
    said = [ln for ln in err.splitlines() if ln.startswith("warning: recording A:")]
    assert len(said) == 1 and "A.txt could not be decoded" in said[0], err
    assert open_cache(cache)["A"].report is None


def test_another_file_of_the_same_id_does_not_drop_a_cached_recording(
    src, tmp_path, capsys
):
    """A skip of another file with the cached id (``A.bdf`` beside ``A.edf``)
    superseded the cached recording on every other rerun (review of the
    truncation rule, which is for the cached file itself)."""
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    (src / "A.bdf").write_bytes(b"0" * 256)
    for _ in range(2):
        rc, out, _ = _preprocess(capsys, src, cache)
        assert "redone" not in out, out
        assert set(open_cache(cache).ids) == {"A", "B"}


def test_report_updates_follow_the_file_not_the_path_spelling(src, tmp_path, capsys):
    """A rerun through a symlinked or relative spelling of the folder rewrote
    every row as 'reports updated' (paths are stored as given: relative ones
    to the first run's working directory); a report fixed since kept its
    'could not be decoded' note (reviews)."""
    (src / "A.txt").write_bytes("IMPRESSION: Normal EEG.".encode("utf-16-le"))
    (src / "B.txt").write_text("IMPRESSION: Normal EEG.")
    cache = tmp_path / "cache"
    old_cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert _preprocess(capsys, "src", "cache")[0] == 0
        n_rows = len(_rows(cache))
        os.chdir(src)
        rc, out, _ = _preprocess(capsys, ".", "../cache")
    finally:
        os.chdir(old_cwd)
    link = tmp_path / "link"
    link.symlink_to(src)
    rc, out2, _ = _preprocess(capsys, link, cache)
    assert "updated" not in out + out2 and len(_rows(cache)) == n_rows, out + out2
    (src / "A.txt").write_text("IMPRESSION: Normal EEG, fixed.")
    rc, out, _ = _preprocess(capsys, src, cache)
    assert "(1 with reports updated from their files)" in out
    row = [r for r in _rows(cache) if r["recording_id"] == "A"][-1]
    assert row["report"] == "IMPRESSION: Normal EEG, fixed." and "warnings" not in row


def test_cached_subjects_other_than_this_runs_are_said(eegmat_dir, tmp_path, capsys):
    """A cache built when a date in the file name made the subject kept it on
    every rerun, silently mixing two id schemes (review); subjects an earlier
    table or --subjects folder set are not warned about on every rerun, and a
    table without a row for a recording leaves its cached subject (second
    review)."""
    src = tmp_path / "src"
    src.mkdir()
    _put(eegmat_dir / "Subject00_1.edf", src / "P01_20230115.edf")
    _put(eegmat_dir / "Subject01_1.edf", src / "P02_20230115.edf")
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache)[0] == 0
    rows = _rows(cache)
    for r in rows:
        r["subject"] = "20230115"  # as the old rule read the names
    (cache / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc, out, err = _preprocess(capsys, src, cache)
    assert rc == 0
    assert "2 recordings cached before have other subjects" in err, err
    assert "P01_20230115: '20230115' -> 'P01'" in err
    # Subjects from a table: no warning on plain reruns; a second table with a
    # row for one recording leaves the other's.
    cache2 = tmp_path / "cache2"
    table = tmp_path / "meta.csv"
    table.write_text("recording_id,subject\nP01_20230115,alice\nP02_20230115,bob\n")
    assert _preprocess(capsys, src, cache2, "--metadata", table)[0] == 0
    rc, out, err = _preprocess(capsys, src, cache2)
    assert "other subjects" not in err, err
    part = tmp_path / "part.csv"
    part.write_text("recording_id,subject\nP02_20230115,carol\n")
    rc, out, err = _preprocess(capsys, src, cache2, "--metadata", part)
    subjects = {r["recording_id"]: r["subject"] for r in _rows(cache2)}
    assert subjects == {"P01_20230115": "alice", "P02_20230115": "carol"}


def test_a_plain_rerun_says_nothing_about_rules_an_earlier_run_relaxed(
    src, tmp_path, capsys
):
    """A cache built with --min-duration 10 holds recordings shorter than the
    default 60 s: a plain rerun (adding files) must not warn about them every
    time (second review); an explicit stricter rule still does."""
    cache = tmp_path / "cache"
    assert _preprocess(capsys, src, cache, "--min-duration", "10")[0] == 0
    rows = _rows(cache)
    for r in rows:
        r["duration_s"] = 30.0  # as short recordings would be
    (cache / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc, out, err = _preprocess(capsys, src, cache)
    assert "would be skipped" not in err, err
    rc, out, err = _preprocess(capsys, src, cache, "--min-duration", "40")
    assert "(too_short: 2)" in err, err


def _edf_plus(path: Path, x, labels, sfreq: int, onsets, reserved: str) -> None:
    """An EDF+ file with 1 s records and a time-keeping annotation signal."""
    import numpy as np

    n_ann = 30  # int16 samples of annotation per record (60 bytes)
    names = [*labels, "EDF Annotations"]
    ns = len(names)

    def f(v, n):
        return str(v).ljust(n).encode("ascii")

    eeg = [lbl != "EDF Annotations" for lbl in names]
    hdr = f(0, 8) + f("X X X X", 80) + f("Startdate 01-JAN-2000 X X X", 80)
    hdr += f("01.01.00", 8) + f("00.00.00", 8) + f(256 * (ns + 1), 8)
    hdr += f(reserved, 44) + f(len(onsets), 8) + f(1, 8) + f(ns, 4)
    hdr += b"".join(f(lbl, 16) for lbl in names) + b"".join(f("", 80) for _ in names)
    hdr += b"".join(f("uV" if e else "", 8) for e in eeg)
    hdr += b"".join(f(-3200 if e else -1, 8) for e in eeg)
    hdr += b"".join(f(3200 if e else 1, 8) for e in eeg)
    hdr += b"".join(f(-32768, 8) for _ in names) + b"".join(f(32767, 8) for _ in names)
    hdr += b"".join(f("", 80) for _ in names)
    hdr += b"".join(f(sfreq if e else n_ann, 8) for e in eeg)
    hdr += b"".join(f("", 32) for _ in names)
    dig = np.clip(np.round(x * 1e6 / 3200 * 32767), -32768, 32767).astype("<i2")
    with open(path, "wb") as fh:
        fh.write(hdr)
        for r, onset in enumerate(onsets):
            fh.write(dig[:, r * sfreq : (r + 1) * sfreq].tobytes())
            fh.write(f"+{onset:g}\x14\x14\x00".encode().ljust(n_ann * 2, b"\x00"))


def test_edf_plus_d_with_time_gaps_is_skipped(eegmat_dir, tmp_path, capsys):
    """An EDF+D file with a 300 s gap between its records was cached as one
    continuous signal, the 0.1 Hz filter running across the join (outside
    user). Files marked EDF+D whose records follow each other are cached."""
    from braindecode_elm.data import read_edf_data, read_edf_header, record_onsets

    h = read_edf_header(eegmat_dir / "Subject01_1.edf")
    keep = [i for i, lbl in enumerate(h.labels) if lbl.startswith("EEG ")][:19]
    x = read_edf_data(h, keep)[:, : 500 * 62]
    labels = [h.labels[i] for i in keep]
    src = tmp_path / "src"
    src.mkdir()
    gap = [*range(31), *range(331, 362)]
    _edf_plus(src / "gap.edf", x, labels, 500, gap, "EDF+D")
    _edf_plus(src / "nogap.edf", x, labels, 500, range(62), "EDF+D")
    _edf_plus(src / "cont.edf", x, labels, 500, range(62), "EDF+C")
    assert list(record_onsets(src / "gap.edf")[29:33]) == [29.0, 30.0, 331.0, 332.0]
    rc, out, err = _preprocess(capsys, src, tmp_path / "cache")
    assert rc == 0 and "2 cached" in out, out + err
    rows = {r["recording_id"]: r for r in _rows(tmp_path / "cache")}
    assert rows["nogap"]["status"] == rows["cont"]["status"] == "ok"
    gap = rows["gap"]
    assert gap["status"] == "skipped" and gap["reason"] == "discontinuous_edf", gap
    assert "1 time gap(s)" in gap["detail"]
    assert "next starts at 331 s instead of 31 s" in gap["detail"]
