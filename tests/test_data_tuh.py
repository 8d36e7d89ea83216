"""TUH indexer: path parsing by name for every release layout, reports, metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.data import (
    TUHReports,
    find_report,
    make_synthetic_tuh,
    parse_age_gender,
    parse_tuh_path,
    write_edf,
)
from braindecode_elm.dsp import TCP_PAIRS

ELECTRODES = sorted({e for p in TCP_PAIRS for e in p}) + ["A1", "A2"]


def _edf(path, seconds=4, sfreq=250.0, patient="X M 01-JAN-1970 X Age:51"):
    rng = np.random.default_rng(0)
    data = 20e-6 * rng.standard_normal((len(ELECTRODES), int(seconds * sfreq)))
    names = [f"EEG {e}-REF" for e in ELECTRODES]
    return write_edf(path, data, names, sfreq, patient=patient)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # TUEG v2.x
        (
            "tueg/v2.0.1/edf/000/aaaaaaab/s001_2015_12_30/01_tcp_ar/"
            "aaaaaaab_s001_t000.edf",
            dict(
                subject="aaaaaaab",
                session="s001",
                segment="t000",
                montage="01_tcp_ar",
                year=2015,
                date="2015-12-30",
                pathological=None,
                split=None,
            ),
        ),
        # TUEG v1.x: montage first, 8-digit subject ids
        (
            "tueg/v1.1.0/edf/02_tcp_le/002/00000258/s002_2003_07_21/"
            "00000258_s002_t001.edf",
            dict(
                subject="00000258",
                session="s002",
                segment="t001",
                montage="02_tcp_le",
                year=2003,
                date="2003-07-21",
            ),
        ),
        # TUAB v3 flat layout
        (
            "tuab/v3.0.1/edf/eval/abnormal/01_tcp_ar/aaaaamnk_s002_t000.edf",
            dict(
                subject="aaaaamnk",
                session="s002",
                segment="t000",
                montage="01_tcp_ar",
                pathological=True,
                split="eval",
                train=False,
            ),
        ),
        # TUAB v2 (montage folder and session folder with year only)
        (
            "tuab/v2.0.0/edf/train/normal/01_tcp_ar/000/00000021/s004_2013_02_23/"
            "00000021_s004_t000.edf",
            dict(subject="00000021", pathological=False, split="train", train=True),
        ),
        # TUEV: no session token
        (
            "tuev/v2.0.1/edf/train/aaaaaaar/aaaaaaar_00000001.edf",
            dict(subject="aaaaaaar", session=None, segment=None, split="train"),
        ),
        # TUSZ v2: session folder with year only, 03_tcp_ar_a montage
        (
            "tusz/v2.0.0/edf/dev/aaaaaajy/s001_2003/03_tcp_ar_a/aaaaaajy_s001_t000.edf",
            dict(
                subject="aaaaaajy",
                session="s001",
                montage="03_tcp_ar_a",
                year=2003,
                date=None,
                split="dev",
            ),
        ),
    ],
)
def test_parse_tuh_path_by_name(path, expected):
    info = parse_tuh_path(path)
    for key, value in expected.items():
        assert info[key] == value, (key, info)
    assert info["recording_id"] == path.rsplit("/", 1)[1][:-4]


def test_parse_path_subject_of_physionet_and_own_folder_layouts(tmp_path):
    """PhysioNet's motor imagery layout (``files/eegmmidb/1.0.0/S001/S001R03.edf``)
    gives subject S001 and run 03; the 8-letter database folder above it is not
    a TUH subject folder; a file named after its own folder takes that folder's
    name as subject, inside the root only."""
    root = tmp_path / "eegbci"
    edf = root / "MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R03.edf"
    info = parse_tuh_path(edf, root)
    assert (info["subject"], info["run"]) == ("S001", "03")
    # Flat copies of the files still group the runs by subject.
    assert parse_tuh_path(tmp_path / "S002R14.edf", tmp_path)["subject"] == "S002"
    # An 8-letter folder counts as a TUH subject only above a session folder or
    # the file itself.
    other = root / "eegmmidb" / "1.0.0" / "rest_a.edf"
    assert parse_tuh_path(other, root)["subject"] == "rest"
    tuh = root / "aaaaaaab" / "s001_2010_01_02" / "01_tcp_ar" / "rec.edf"
    assert parse_tuh_path(tuh, root)["subject"] == "aaaaaaab"
    assert parse_tuh_path(root / "abcdefgh" / "rec.edf", root)["subject"] == "abcdefgh"
    # Own folder: p07/p07_rest.edf -> p07; not when the name does not start
    # with it, and never for the root itself or without a root.
    assert parse_tuh_path(root / "p07" / "p07_rest.edf", root)["subject"] == "p07"
    assert parse_tuh_path(root / "p07" / "rest_b.edf", root)["subject"] == "rest"
    assert parse_tuh_path(root / "p07_rest.edf", root)["subject"] == "p07"
    assert parse_tuh_path(tmp_path / "p07" / "p07x.edf")["subject"] == "p07x"


def test_parse_path_tuh_subject_code_only_opens_the_name(tmp_path):
    """An 8-letter word or an 8-digit date later in a plain file name is not a
    TUH subject code (an outside user's ``P01_20230115.edf`` made the date the
    subject, merging P01 and P02 and splitting P01)."""
    subject = {
        name: parse_tuh_path(tmp_path / f"{name}.edf", tmp_path)["subject"]
        for name in (
            "P01_20230115",
            "P01_20230220",
            "P02_20230115",
            "sub01_baseline",
            "sub02_baseline",
            "sub02_Baseline2",
            "Subject31_shortrec",
            "aaaaaaar_00000001",
            "00000258_s002_t001",
        )
    }
    assert subject == {
        "P01_20230115": "P01",
        "P01_20230220": "P01",
        "P02_20230115": "P02",
        "sub01_baseline": "sub01",
        "sub02_baseline": "sub02",
        "sub02_Baseline2": "sub02",
        "Subject31_shortrec": "Subject31",
        "aaaaaaar_00000001": "aaaaaaar",
        "00000258_s002_t001": "00000258",
    }


def test_find_report_never_takes_another_recordings_report(tmp_path):
    """Without a session only ``<subject>.txt`` is shared; names match whole
    tokens; a report named after another EDF file is that file's own (an
    outside user saw ``p1_rest`` take ``p10_rest.txt`` and ``Subject04_2`` take
    ``Subject04_1.txt``)."""
    for stem in ("p1_rest", "p10_rest", "Subject04_1", "Subject04_2", "S05_1", "S05_2"):
        _edf(tmp_path / f"{stem}.edf")
    (tmp_path / "p10_rest.txt").write_text("IMPRESSION: p10's report")
    (tmp_path / "Subject04_1.txt").write_text("IMPRESSION: 04_1's report")
    (tmp_path / "S05.txt").write_text("IMPRESSION: shared by S05's recordings")

    def found(stem):
        edf = tmp_path / f"{stem}.edf"
        hit = find_report(edf, parse_tuh_path(edf, tmp_path))
        return None if hit is None else hit.name

    assert found("p1_rest") is None
    assert found("p10_rest") == "p10_rest.txt"
    assert found("Subject04_2") is None
    assert found("Subject04_1") == "Subject04_1.txt"
    assert found("S05_1") == found("S05_2") == "S05.txt"
    # In a TUH session a per-session report with a suffix is found, and one
    # named after a sibling EDF file stays that file's.
    sess = tmp_path / "aaaaaaab" / "s001_2010_01_02"
    t0 = _edf(sess / "aaaaaaab_s001_t000.edf")
    t1 = _edf(sess / "aaaaaaab_s001_t001.edf")
    t0.with_suffix(".txt").write_text("IMPRESSION: t000 only")
    assert find_report(t1, parse_tuh_path(t1)) is None
    (sess / "aaaaaaab_s001_report.txt").write_text("IMPRESSION: the session's")
    assert find_report(t1, parse_tuh_path(t1)).name == "aaaaaaab_s001_report.txt"
    (sess / "aaaaaaab_s0010.txt").write_text("x")  # not the same session token
    (sess / "aaaaaaab_s001_report.txt").unlink()
    assert find_report(t1, parse_tuh_path(t1)) is None


def test_find_report_beside_and_in_session_folder(tmp_path):
    sess = tmp_path / "edf" / "000" / "aaaaaaab" / "s001_2010_01_02"
    edf = _edf(sess / "01_tcp_ar" / "aaaaaaab_s001_t000.edf")
    assert find_report(edf, parse_tuh_path(edf)) is None
    (sess / "aaaaaaab_s001.txt").write_text("IMPRESSION: normal")
    assert find_report(edf, parse_tuh_path(edf)) == sess / "aaaaaaab_s001.txt"
    # A report with the EDF's own stem beside it wins.
    beside = edf.with_suffix(".txt")
    beside.write_text("IMPRESSION: abnormal")
    assert find_report(edf, parse_tuh_path(edf)) == beside
    # The search stops at the session folder: another session's report is ignored.
    other = tmp_path / "edf" / "000" / "aaaaaaab" / "aaaaaaab_s001.txt"
    other.write_text("x")
    beside.unlink()
    (sess / "aaaaaaab_s001.txt").unlink()
    assert find_report(edf, parse_tuh_path(edf)) is None


def test_parse_age_gender_report_then_header():
    assert parse_age_gender("CLINICAL HISTORY: 72 year old woman with falls.") == (
        72.0,
        "F",
    )
    assert parse_age_gender("History: 45-year-old man.") == (45.0, "M")
    assert parse_age_gender("This 8 yo boy has spells.") == (8.0, "M")
    assert parse_age_gender("HISTORY: 63 y.o. female.") == (63.0, "F")
    assert parse_age_gender("HISTORY: 70 y/o gentleman.") == (70.0, "M")
    assert parse_age_gender("HISTORY: 5-yr-old girl.") == (5.0, "F")
    assert parse_age_gender("HISTORY: 19 years old man.") == (19.0, "M")
    # Numbers that are not ages are not taken for ages.
    assert parse_age_gender("HISTORY: 3 seizures in 2010.")[0] is None
    # A duration is not the age (an outside user's report gave 2.0).
    assert parse_age_gender(
        "History: Patient on Lamictal 100 mg for 2 years. 45 year old woman."
    ) == (45.0, "F")
    assert parse_age_gender("HISTORY: seizures for 10 years.")[0] is None
    # Shorthand sex after the age; the explicit forms first, then "age N".
    assert parse_age_gender("HISTORY: 61 y/o F with seizures") == (61.0, "F")
    assert parse_age_gender("HISTORY: 45 yo M, spells") == (45.0, "M")
    assert parse_age_gender("HISTORY: 30 years of age, woman")[0] == 30.0
    assert parse_age_gender("Patient age: 52. Spells since age 3.")[0] == 52.0
    # Onsets, gestational ages and months are not the age; the header fills in.
    header = "X M 01-JAN-1950 X Age:66"
    assert parse_age_gender("History of seizures since age 12.", header)[0] == 66.0
    assert parse_age_gender("febrile seizures at age 2", "X F X X Age:40")[0] == 40.0
    assert parse_age_gender("gestational age: 38 weeks")[0] is None
    assert parse_age_gender("Age: 2 months")[0] is None
    assert parse_age_gender("45 yrs. old woman") == (45.0, "F")
    # "Age 45" without a colon is a field too; a mother's age or months are not
    # the patient's (second review).
    assert parse_age_gender("CLINICAL HISTORY: Age 45, male, with headaches.") == (
        45.0,
        "M",
    )
    assert parse_age_gender("age 45 male with spells")[0] == 45.0
    assert parse_age_gender("Mother's age: 35. 3 day old neonate.")[0] is None
    assert parse_age_gender("Age: 3 m. old")[0] is None
    assert parse_age_gender("45 yr. old man") == (45.0, "M")
    assert parse_age_gender("Febrile seizures at age 2. Now a 40 year old man.") == (
        40.0,
        "M",
    )
    # Header fills what the report lacks.
    assert parse_age_gender("IMPRESSION: normal.", "abc F 01-JAN-1950 abc Age:66") == (
        66.0,
        "F",
    )
    assert parse_age_gender(None, None) == (None, None)


def test_tuhreports_flat_tuab_layout_with_cp1252_report(tmp_path):
    base = tmp_path / "edf" / "train" / "abnormal" / "01_tcp_ar"
    edf = _edf(base / "aaaaaaav_s004_t000.edf")
    edf.with_suffix(".txt").write_bytes(
        "CLINICAL HISTORY: 61 year old woman, café.\nIMPRESSION: Abnormal.".encode(
            "cp1252"
        )
    )
    normal = tmp_path / "edf" / "eval" / "normal" / "01_tcp_ar"
    _edf(normal / "aaaaaaaw_s001_t000.edf", patient="aaaaaaaw M 01-JAN-1980 Age:33")
    ds = TUHReports(tmp_path, target_name="pathological")
    desc = ds.description.set_index("recording_id")
    a = desc.loc["aaaaaaav_s004_t000"]
    assert a["pathological"] and a["split"] == "train" and a["train"]
    assert a["report_encoding"] == "cp1252" and "café" in a["report"]
    assert (a["age"], a["gender"]) == (61.0, "F")
    b = desc.loc["aaaaaaaw_s001_t000"]
    assert not b["pathological"] and b["split"] == "eval"
    assert b["report_status"] == "missing" and pd.isna(b["report"])
    assert (b["age"], b["gender"]) == (33.0, "M")
    # Targets come from the description; data stay lazy.
    assert ds.datasets[0].raw.preload is False
    x, y = ds[0]
    assert x.shape == (len(ELECTRODES), 1) and y in (True, False)


def test_tuhreports_subset_and_errors(tmp_path):
    for s in ("aaaaaaab", "aaaaaaac", "aaaaaaad"):
        _edf(tmp_path / s / f"{s}_s001_t000.edf")
    assert len(TUHReports(tmp_path, recording_ids=[0, 2]).datasets) == 2
    par = TUHReports(tmp_path, n_jobs=2, preload=True)
    assert par.description["recording_id"].tolist() == [
        "aaaaaaab_s001_t000",
        "aaaaaaac_s001_t000",
        "aaaaaaad_s001_t000",
    ]
    assert all(d.raw.preload for d in par.datasets)
    ds = TUHReports(tmp_path, recording_ids=["aaaaaaac_s001_t000"])
    assert ds.description["subject"].tolist() == ["aaaaaaac"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TUHReports(tmp_path / "nope")
    with pytest.raises(ValueError, match="no EDF files"):
        TUHReports(tmp_path, recording_ids=["zzz"])
    (tmp_path / "aaaaaaae").mkdir()
    (tmp_path / "aaaaaaae" / "aaaaaaae_s001_t000.edf").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="corrupt_edf"):
        TUHReports(tmp_path, on_error="raise")
    skipped = TUHReports(tmp_path).skipped
    assert skipped["reason"].tolist() == ["corrupt_edf"]


def test_synthetic_corpus_round_trips_through_tuhreports(tmp_path):
    corpus = make_synthetic_tuh(
        tmp_path, 4, seed=5, duration_s=(30, 40), progress=False
    )
    ds = TUHReports(tmp_path)
    desc = ds.description.set_index("recording_id").sort_index()
    gt = corpus.ground_truth.set_index("recording_id").sort_index()
    assert list(desc.index) == list(gt.index)
    assert ds.skipped.empty
    for col in (
        "path",
        "subject",
        "session",
        "segment",
        "montage",
        "year",
        "date",
        "report",
        "age",
        "gender",
        "pathological",
        "split",
    ):
        assert col in desc.columns, col
    assert (desc["subject"] == gt["subject"]).all()
    assert (desc["session"] == gt["session"]).all()
    assert (desc["segment"] == "t000").all()
    assert (desc["montage"] == gt["montage"]).all()
    assert (desc["date"] == gt["date"]).all()
    assert (desc["year"] == gt["date"].str[:4].astype(int)).all()
    assert (desc["age"] == gt["age"].astype(float)).all()
    assert (desc["gender"] == gt["gender"]).all()
    assert (desc["sfreq"] == gt["sfreq"]).all()
    assert (desc["n_channels"] == gt["n_channels"]).all()
    assert desc["report"].map(lambda r: "IMPRESSION:" in r).all()
