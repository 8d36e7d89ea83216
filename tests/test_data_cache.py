"""Preprocessed cache: values, manifest, crops, resume, shards, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import mne
import numpy as np
import pandas as pd
import pytest

from braindecode_elm import dsp
from braindecode_elm.data import (
    SKIP_REASONS,
    CacheError,
    TUHReports,
    build_cache,
    make_synthetic_tuh,
    open_cache,
    segment_report,
    shard_of,
    write_edf,
)
from braindecode_elm.data.edf import read_edf_header

TCP_NAMES = [f"{a}-{b}" for a, b in dsp.TCP_PAIRS]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return make_synthetic_tuh(
        root, 4, seed=11, duration_s=(70, 95), sessions_per_subject=(1, 2),
        progress=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cache(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache")
    summary = build_cache(TUHReports(corpus.root), out, progress=False)
    return out, summary


def test_cache_values_match_engine_on_mne_data(corpus, cache):
    out, summary = cache
    assert summary.n_cached == corpus.n_recordings and summary.n_skipped == 0
    c = open_cache(out)
    gt = corpus.ground_truth.set_index("recording_id")
    assert c.ids == sorted(gt.index)
    rid = c.ids[0]
    rec = c[rid]
    assert isinstance(rec.data, np.memmap) and rec.data.dtype == np.float16
    assert rec.ch_names == TCP_NAMES and rec.sfreq == 100.0
    # Reference: MNE's reader + the engine in float64.
    raw = mne.io.read_raw_edf(corpus.root / gt.loc[rid, "edf_path"], verbose="error")
    ref, names = dsp.preprocess(
        raw.get_data(),
        raw.ch_names,
        raw.info["sfreq"],
        scale=dsp.ELM_SCALE,
        clip=dsp.ELM_CLIP,
        dtype=np.float64,
    )
    assert names == TCP_NAMES and rec.data.shape == ref.shape
    assert rec.n_times == int(np.ceil(gt.loc[rid, "duration_s"] * 100))
    err = np.abs(rec.data.astype(np.float64) - ref)
    # float16 rounding: relative 2^-11, plus EDF 16-bit quantisation in the source.
    assert err.max() <= 2e-3 * np.abs(ref).max() + 1e-3
    assert np.abs(rec.data).max() <= dsp.ELM_CLIP
    assert 0.5 < float(np.std(rec.data.astype(np.float32))) < 10.0  # ~10-60 uV


def test_manifest_rows(corpus, cache):
    out, _ = cache
    c = open_cache(out)
    m = c.manifest.set_index("recording_id")
    gt = corpus.ground_truth.set_index("recording_id")
    for rid in c.ids:
        row = m.loc[rid]
        src = corpus.root / gt.loc[rid, "edf_path"]
        assert row["source"] == str(src)
        assert row["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
        assert row["status"] == "ok" and pd.isna(row["reason"])
        assert row["shape"] == [20, c[rid].n_times]
        assert row["sfreq"] == 100.0 and row["ch_names"] == TCP_NAMES
        assert row["source_sfreq"] == gt.loc[rid, "sfreq"]
        assert row["params"]["l_freq"] == 0.1 and row["params"]["h_freq"] == 49.0
        assert row["params"]["scale"] == 1e5 and row["params"]["clip"] == 80.0
        assert row["recipe"] == "elm"
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len(c.ids) and all(json.loads(x) for x in lines)


def test_crops_are_zero_copy_aligned_views(cache):
    c = open_cache(cache[0])
    rec = c[0]
    x5 = rec.crops(5.0)
    n = (rec.n_times - 1000) // 500
    assert x5.shape == (n, 20, 500) and x5.dtype == np.float16
    assert np.shares_memory(x5, rec.data) and not x5.flags.writeable
    for k in (0, n - 1):
        np.testing.assert_array_equal(
            x5[k], rec.data[:, 1000 + 500 * k : 1500 + 500 * k]
        )
    assert rec.n_crops(5.0) == n
    assert rec.crops(60.0).shape == ((rec.n_times - 1000) // 6000, 20, 6000)
    assert rec.crops(5.0, drop_first_s=0).shape[0] == rec.n_times // 500
    assert rec.crops(5.0, max_minutes=0.5).shape[0] == 6
    assert c.n_crops(5.0).tolist() == [r.n_crops(5.0) for r in c]


def test_segments_description_and_subjects(corpus, cache):
    c = open_cache(cache[0])
    gt = corpus.ground_truth.set_index("recording_id")
    assert c.subjects == [gt.loc[i, "subject"] for i in c.ids]
    for rec in c:
        assert rec.subject == gt.loc[rec.id, "subject"]
        assert rec.segments() == segment_report(rec.report)
        assert any("IMPRESSION" in p for p in rec.segments("paragraph"))
        assert rec.description["age"] == gt.loc[rec.id, "age"]
        assert rec.description["gender"] == gt.loc[rec.id, "gender"]
        # The ground truth never enters the cache except through the report.
        assert "phenotype" not in rec.description
    assert c.description["recording_id"].tolist() == c.ids


def test_rerun_skips_done_and_resumes(corpus, cache, tmp_path):
    out, _ = cache
    first = {p.name: p.stat().st_mtime_ns for p in (out / "recordings").iterdir()}
    again = build_cache(TUHReports(corpus.root), out, progress=False)
    assert again.n_cached == 0 and again.n_already == corpus.n_recordings
    assert {
        p.name: p.stat().st_mtime_ns for p in (out / "recordings").iterdir()
    } == first
    # Resume: a cache missing one array redoes only that one.
    part = tmp_path / "part"
    shutil.copytree(out, part)
    victim = sorted((part / "recordings").iterdir())[0]
    victim.unlink()
    resumed = build_cache(TUHReports(corpus.root), part, progress=False)
    assert resumed.n_cached == 1 and resumed.n_already == corpus.n_recordings - 1
    assert len(open_cache(part)) == corpus.n_recordings


def test_shards_partition_the_corpus_and_parallel_matches(corpus, cache, tmp_path):
    ds = TUHReports(corpus.root)
    ids = sorted(corpus.ground_truth["recording_id"])
    s0 = build_cache(ds, tmp_path, shard=(0, 2), progress=False)
    s1 = build_cache(ds, tmp_path, shard=(1, 2), n_jobs=2, progress=False)
    assert s0.n_cached + s1.n_cached == len(ids)
    assert sorted(p.name for p in tmp_path.glob("manifest*.jsonl")) == [
        "manifest.shard-0000-of-0002.jsonl",
        "manifest.shard-0001-of-0002.jsonl",
    ]
    c = open_cache(tmp_path)
    assert c.ids == ids
    for rid in ids:
        shard = shard_of(rid, 2)
        assert c.manifest.set_index("recording_id").loc[rid, "shard"] == f"{shard}/2"
    ref = open_cache(cache[0])
    for rid in ids:
        np.testing.assert_array_equal(c[rid].data, ref[rid].data)
    with pytest.raises(ValueError, match="shard must be"):
        build_cache(ds, tmp_path, shard=(2, 2), progress=False)


def test_windows_dataset_matches_crops(cache):
    c = open_cache(cache[0])
    sub = c.select(c.ids[:2])
    assert len(sub) == 2
    win = sub.to_windows_dataset(5.0, target_name="age")
    x, y, _ = win[0]
    np.testing.assert_allclose(x, sub[0].crops(5.0)[0].astype(np.float32))
    assert y == sub[0].description["age"]
    assert len(win) == sum(r.n_crops(5.0) for r in sub)


# --------------------------------------------------------------------------- bad input
def _patch_field(path, offset, text):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(text.ljust(8).encode("ascii"))


def _bad_corpus(root):
    """A small corpus with one file of each broken kind; returns expected reasons."""
    make_synthetic_tuh(
        root, 3, seed=2, duration_s=(65, 70), sessions_per_subject=(1, 1),
        progress=False,
    )  # fmt: skip
    good = sorted(root.rglob("*.edf"))
    src = good[0]
    report = next(src.parent.parent.glob("*.txt")).read_text()
    expected = {}

    def add(subject, reason, *, names=None, report_text=report, seconds=None):
        folder = root / "edf" / "001" / subject / "s001_2012_01_01" / "01_tcp_ar"
        path = folder / f"{subject}_s001_t000.edf"
        if names is not None or seconds is not None:
            names = names or [f"EEG {e}-REF" for e in
                              ["FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1",
                               "O2", "F7", "F8", "T3", "T4", "T5", "T6", "FZ", "CZ",
                               "PZ", "A1", "A2"]]  # fmt: skip
            data = 20e-6 * np.random.default_rng(0).standard_normal(
                (len(names), int((70 if seconds is None else seconds) * 250))
            )
            write_edf(path, data, names, 250.0)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, path)
        if report_text is not None:
            (folder.parent / f"{subject}_s001.txt").write_bytes(
                report_text if isinstance(report_text, bytes) else report_text.encode()
            )
        expected[f"{subject}_s001_t000"] = reason
        return path

    # Truncated: the header promises more records than the file holds.
    p = add("bbbbbbba", "truncated_edf")
    os.truncate(p, p.stat().st_size // 2)
    # Corrupt header.
    p = add("bbbbbbbb", "corrupt_edf")
    with open(p, "r+b") as f:
        f.write(b"NOT AN EDF FILE AT ALL")
    # Missing TCP electrodes (no T3, no C3).
    names = [f"EEG {e}-REF" for e in ["FP1", "FP2", "F3", "F4", "C4", "P3", "P4",
                                      "O1", "O2", "F7", "F8", "T4", "T5", "T6", "FZ",
                                      "CZ", "PZ", "A1", "A2"]]  # fmt: skip
    add("bbbbbbbc", "missing_tcp_electrodes", names=names)
    # Zero-length: a valid header with no data record.
    add("bbbbbbbd", "empty_data", seconds=0)
    # NaN data: a degenerate calibration (digital min == max) of one signal.
    p = add("bbbbbbbe", "non_finite_data")
    ns = len(read_edf_header(p).labels)
    _patch_field(p, 256 + ns * (16 + 80 + 8 + 8 + 8 + 8), "-32767")
    # Reports: missing, empty, binary; a cp1252 report is fine (good recording).
    add("bbbbbbbf", "missing_report", report_text=None)
    add("bbbbbbbg", "empty_report", report_text="  \n")
    add("bbbbbbbh", "unreadable_report", report_text=b"\x00\x01\x02\xff")
    add(
        "bbbbbbbi",
        "ok",
        report_text=report.replace("EEG", "EEG – café").encode("cp1252"),
    )
    # Too short for ELM (< 60 s).
    add("bbbbbbbj", "too_short", seconds=30)
    # Duplicate recording id: the same stem in another folder.
    dup = root / "edf" / "002" / "copies" / src.name
    dup.parent.mkdir(parents=True)
    shutil.copy(src, dup)
    expected[f"{src.stem}@{dup}"] = "duplicate_id"
    # Unreadable file: a dangling link.
    link = root / "edf" / "003" / "bbbbbbbk_s001_t000.edf"
    link.parent.mkdir(parents=True)
    link.symlink_to(root / "does-not-exist.edf")
    expected["bbbbbbbk_s001_t000"] = "unreadable_file"
    for g in good:
        expected[g.stem] = "ok"
    return expected


def test_bad_input_corpus_nothing_silently_lost(tmp_path):
    expected = _bad_corpus(tmp_path / "corpus")
    ds = TUHReports(tmp_path / "corpus")
    summary = build_cache(ds, tmp_path / "cache", progress=False)
    c = open_cache(tmp_path / "cache")
    n_files = len(list((tmp_path / "corpus").rglob("*.edf")))
    assert len(c.manifest) == n_files == len(expected)
    got = {}
    for _, row in c.manifest.iterrows():
        key = row["recording_id"]
        if row["reason"] == "duplicate_id":
            key = f"{key}@{row['source']}"
        got[key] = row["status"] if row["status"] == "ok" else row["reason"]
    assert got == expected
    assert set(got.values()) - {"ok"} <= set(SKIP_REASONS)
    good = sorted(k for k, v in expected.items() if v == "ok")
    assert c.ids == good
    assert summary.n_cached == len(good)
    assert summary.n_skipped == len(expected) - len(good)
    assert all(c.skipped["detail"].map(lambda d: isinstance(d, str) and len(d) > 5))
    assert c["bbbbbbbi_s001_t000"].report is not None
    assert "café" in c["bbbbbbbi_s001_t000"].report
    assert (
        c.manifest.set_index("recording_id").loc[
            "bbbbbbbi_s001_t000", "report_encoding"
        ]
        == "cp1252"
    )
    with pytest.raises(KeyError, match="truncated_edf"):
        c["bbbbbbba_s001_t000"]
    # Re-running keeps the picture (skipped retried, same reasons, no new arrays).
    again = build_cache(ds, tmp_path / "cache", progress=False)
    assert again.n_cached == 0 and again.reasons == summary.reasons
    assert len(open_cache(tmp_path / "cache").manifest) == len(expected)
    # Strict mode raises on the first bad recording.
    with pytest.raises(CacheError) as err:
        build_cache(ds, tmp_path / "strict", strict=True, progress=False)
    assert err.value.reason in SKIP_REASONS


def test_in_memory_raws_with_nan_and_no_report(tmp_path):
    from braindecode.datasets import BaseConcatDataset, RawDataset

    rng = np.random.default_rng(0)
    chans = sorted({e for p in dsp.TCP_PAIRS for e in p})
    info = mne.create_info(chans, 200.0, ch_types="eeg")
    good = rng.standard_normal((len(chans), 200 * 70)) * 20e-6
    bad = good.copy()
    bad[3, 100:110] = np.nan
    parts = [
        RawDataset(mne.io.RawArray(good, info, verbose="error"),
                   pd.Series({"recording_id": "good", "subject": "s1",
                              "report": "Caption. Two."})),
        RawDataset(mne.io.RawArray(bad, info, verbose="error"),
                   pd.Series({"recording_id": "nan", "subject": "s2", "report": "X."})),
        RawDataset(mne.io.RawArray(good, info, verbose="error"),
                   pd.Series({"recording_id": "norep", "subject": "s3"})),
    ]  # fmt: skip
    s = build_cache(BaseConcatDataset(parts), tmp_path, progress=False)
    c = open_cache(tmp_path)
    assert c.ids == ["good"] and s.reasons == {
        "non_finite_data": 1,
        "missing_report": 1,
    }
    assert c["good"].segments() == ["Caption.", "Two."]
    assert c.skipped_reason("nan") == "non_finite_data"
    # Lower length limits for short evaluation data; no report needed.
    s = build_cache(
        BaseConcatDataset(parts[2:]),
        tmp_path / "b",
        require_report=False,
        min_duration_s=80.0,
        progress=False,
    )
    assert s.reasons == {"too_short": 1}
    with pytest.raises(FileNotFoundError, match="no cache manifest"):
        open_cache(tmp_path / "empty")


def test_official_and_default_recipes(tmp_path):
    from braindecode.datasets import BaseConcatDataset, RawDataset

    rng = np.random.default_rng(1)
    chans = sorted({e for p in dsp.TCP_PAIRS for e in p})
    info = mne.create_info(chans, 200.0, ch_types="eeg")
    x = rng.standard_normal((len(chans), 200 * 70)) * 20e-6
    raw = mne.io.RawArray(x, info, verbose="error")
    ds = BaseConcatDataset(
        [RawDataset(raw, pd.Series({"recording_id": "r", "report": "A caption."}))]
    )
    build_cache(ds, tmp_path / "off", recipe="elm_official", progress=False)
    rec = open_cache(tmp_path / "off")["r"]
    ref = dsp.preprocess_raw(raw, recipe="elm_official").get_data()
    # The official recipe already dropped the first 10 s: crops start at 0.
    assert rec.start_s == 10.0 and rec.n_times == ref.shape[1] == 6000
    np.testing.assert_allclose(rec.data, ref, atol=2e-3 * np.abs(ref).max())
    assert rec.crops(5.0).shape == (12, 20, 500)
    np.testing.assert_array_equal(rec.crops(5.0)[0], rec.data[:, :500])
    build_cache(ds, tmp_path / "volts", recipe="default", progress=False)
    rec = open_cache(tmp_path / "volts")["r"]
    assert rec.data.dtype == np.float32 and np.abs(rec.data).max() < 1e-3
    with pytest.raises(ValueError, match="recipe must be one of"):
        build_cache(ds, tmp_path / "x", recipe="fast", progress=False)
    # Shorter than the official recipe's dropped start: too_short, as a length
    # problem (it was preprocessing_failed).
    short = mne.io.RawArray(x[:, : 200 * 9], info, verbose="error")
    ds = BaseConcatDataset(
        [RawDataset(short, pd.Series({"recording_id": "s", "report": "A caption."}))]
    )
    s = build_cache(
        ds, tmp_path / "short", recipe="elm_official", min_duration_s=0,
        progress=False,
    )  # fmt: skip
    assert s.reasons == {"too_short": 1}
    assert "drops the first 10 s" in open_cache(tmp_path / "short").skipped.detail[0]


def test_reading_a_cache_does_not_import_torch(cache):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from braindecode_elm.data import open_cache\n"
        f"c = open_cache({str(cache[0])!r})\n"
        "x = c[0].crops(5.0)\n"
        "assert x.shape[1:] == (20, 500)\n"
        "bad = [m for m in ('torch', 'braindecode', 'braindecode_elm.models',"
        " 'braindecode_elm.training') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ids_with_odd_characters_stay_inside_the_cache(tmp_path):
    from braindecode.datasets import BaseConcatDataset, RawDataset

    chans = sorted({e for p in dsp.TCP_PAIRS for e in p})
    info = mne.create_info(chans, 100.0, ch_types="eeg")
    x = np.random.default_rng(2).standard_normal((len(chans), 100 * 65)) * 2e-5
    ds = BaseConcatDataset(
        [
            RawDataset(
                mne.io.RawArray(x, info, verbose="error"),
                pd.Series({"recording_id": "../a b/c", "report": "R."}),
            )
        ]
    )
    build_cache(ds, tmp_path / "c", progress=False)
    rec = open_cache(tmp_path / "c")["../a b/c"]
    assert rec.path.parent == tmp_path / "c" / "recordings"
    assert rec.path.name.startswith(".._a_b_c-") and rec.data.shape[0] == 20
