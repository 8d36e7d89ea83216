"""Text from labels: the description builder and the multi-dataset corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from braindecode_elm.data.descriptions import (
    DEFAULT_TEMPLATES,
    SECTION_ORDER,
    DescriptionBuilder,
    Sentence,
    describe,
    read_tuh_annotations,
    tuh_facts,
)
from braindecode_elm.data.reports import segment_report, split_report


def test_facts_from_metadata_are_canonical():
    b = DescriptionBuilder()
    assert b.facts({"state": "rest", "age": 21, "gender": "F"}) == {
        "state": "rest",
        "age_group": "20s",
        "sex": "female",
    }
    # EEGBCI run description: task code -> state, event label -> movement.
    f = b.facts({"task": "imagined_fists", "label": "left_hand"})
    assert f == {"state": "motor_imagery", "movement": "left_hand"}
    # TUAB-like: bool pathological, missing age is left out, not invented.
    f = b.facts({"pathological": True, "age": float("nan"), "gender": "M"})
    assert f == {"pathology": "abnormal", "sex": "male"}
    assert b.facts({"age": 200}) == {}


def test_every_fact_value_has_several_paraphrases():
    b = DescriptionBuilder()
    for fact, values in DEFAULT_TEMPLATES.items():
        for value, phr in values.items():
            assert len(phr) >= 2, (fact, value)
            assert len(set(phr)) == len(phr), (fact, value)
            if value != "*":
                assert len(set(b.paraphrases(fact, value))) >= 2


def test_report_variants_cover_all_paraphrases_and_segment_like_tuh():
    b = DescriptionBuilder()
    facts = {"state": "arithmetic", "age_group": "30s", "sex": "male"}
    n = b.n_variants(facts)
    reports = {b.report(facts, variant=v) for v in range(n)}
    assert len(reports) == n
    # Every paraphrase of the state appears in some variant.
    for p in b.paraphrases("state", "arithmetic"):
        assert any(p in r for r in reports)
    r = b.report(facts, variant=1)
    heads = [h for h, _ in split_report(r)]
    assert heads == ["CLINICAL HISTORY", "DESCRIPTION OF THE RECORD"]
    segs = segment_report(r, "sentence")
    sents = b.sentences(facts, variant=1)
    assert segs == [s.text for s in sents]
    assert segment_report(r, "paragraph")[1].startswith("DESCRIPTION OF THE RECORD:")


def test_positives_follow_meaning_not_wording():
    b = DescriptionBuilder()
    rec = [
        {"state": "rest", "sex": "female"},
        {"state": "arithmetic", "sex": "female"},
        {"state": "rest", "sex": "male"},
    ]
    sents = b.sentences(rec[0], "all") + b.sentences(rec[1], "all")
    mask = b.positive_mask(rec, sents)
    for j, s in enumerate(sents):
        want = [r.get(s.fact) == s.value for r in rec]
        assert mask[:, j].tolist() == want
    # All wordings of "rest" are positives of recording 2 (another subject),
    # none of recording 1 (arithmetic).
    rest = [j for j, s in enumerate(sents) if s.value == "rest"]
    assert len({sents[j].text for j in rest}) >= 3
    assert mask[2, rest].all() and not mask[1, rest].any()


def test_custom_templates_and_errors():
    b = DescriptionBuilder(
        templates={"state": {"sleep": ["Asleep.", "The subject sleeps."]}},
        sections={"state": "IMPRESSION"},
    )
    assert b.facts({"state": "sleep"}) == {"state": "sleep"}
    assert b.report({"state": "sleep"}, variant=1) == "IMPRESSION: The subject sleeps."
    with pytest.raises(ValueError, match="non-empty list"):
        DescriptionBuilder(templates={"state": {"rest": "one string"}})
    with pytest.raises(ValueError, match="unknown report headings"):
        DescriptionBuilder(sections={"state": "NOWHERE"})
    with pytest.raises(KeyError, match="no template for sex"):
        DescriptionBuilder().paraphrases("sex", "other")
    with pytest.raises(ValueError, match="no known fact"):
        describe({"foo": 1})
    assert set(SECTION_ORDER) >= set(DescriptionBuilder().sections.values())
    assert isinstance(b.sentences({"state": "sleep"})[0], Sentence)


def test_values_follow_their_column_and_nothing_is_dropped_unseen():
    b = DescriptionBuilder()
    # a generic label value is not mental arithmetic (it used to be)
    assert b.facts({"task": "task"}) == {}
    assert b.unmatched({"task": "task"}) == [("state", "task", "task")]
    assert b.facts({"task": "nback"}) == {}
    # a value in the fact's own column gets the "*" wording
    assert b.facts({"state": "sleep"}) == {"state": "sleep"}
    assert "sleep" in b.report({"state": "sleep"}) and b.unmatched({"state": "x"}) == []
    # an event name in a generic column is a movement, not a state
    assert b.facts({"label": "left_hand"}) == {"movement": "left_hand"}
    assert b.event_facts("left_hand") == {"movement": "left_hand"}
    assert b.event_facts("rest") == {"state": "rest"}
    assert b.event_facts("T7 artefact") == {}
    # a value another column already states is not reported as lost
    assert b.unmatched({"state": "rest", "label": "rest"}) == []
    # tables say Age/Gender: matched whatever the case
    assert b.facts({"Age": 21, "Gender": "F"}) == {"age_group": "20s", "sex": "female"}


def test_new_facts_from_templates_alone_are_written():
    b = DescriptionBuilder(templates={"performer": {"*": ["Performed by {value}."]}})
    assert b.facts({"performer": "expert"}) == {"performer": "expert"}
    report = b.report({"state": "rest", "performer": "expert"})
    assert "DESCRIPTION OF THE RECORD:" in report and "Performed by expert." in report
    # a source given without a heading is written too
    c = DescriptionBuilder(
        templates={"site": {"*": ["Site {value}."]}}, sources={"site": ("centre",)}
    )
    assert "Site a." in c.report(c.facts({"centre": "A"}))


def test_the_open_recipe_keeps_the_shipped_wordings():
    from braindecode_elm.evaluation.open_recipe import open_prompt_sets
    from braindecode_elm.models import ELM

    shipped = ELM.from_pretrained("elm-open-5s").prompt_sets
    assert open_prompt_sets() == {
        k: {c: list(v) for c, v in d.items()} for k, d in shipped.items()
    }
    # the default wording no longer says "his" of every subject
    assert not any("his head" in t for t in DescriptionBuilder().paraphrases(
        "state", "arithmetic"))  # fmt: skip


def test_metadata_columns_override_header_fields_whatever_their_case():
    import pandas as pd

    from braindecode_elm.data.tuh_index import apply_metadata

    d = [{"recording_id": "Subject00_1", "subject": "Subject00", "gender": "M",
          "age": None, "path": "Subject00_1.edf"}]  # fmt: skip
    table = pd.DataFrame({"Subject": ["Subject00"], "Age": [21], "Gender": ["F"]})
    apply_metadata(d, table)
    assert d[0]["gender"] == "F" and d[0]["age"] == 21
    assert DescriptionBuilder().facts(d[0]) == {"age_group": "20s", "sex": "female"}
    # a BIDS participants.tsv (fills gaps only) says "sex": the header's
    # "gender" follows it, so --labels gender and the captions agree
    d = [{"recording_id": "r", "subject": "sub-00", "gender": "M", "path": "r.edf"}]
    tsv = pd.DataFrame({"participant_id": ["sub-00"], "sex": ["F"]})
    apply_metadata(d, tsv, overwrite=False)
    assert (d[0]["sex"], d[0]["gender"]) == ("F", "F")
    # as index_tuh applies a participants.tsv: it replaces the header's age and
    # gender (a "gender" column named as the header's), fills other gaps, keeps
    # other fields, and an empty cell ("n/a") erases nothing
    d = [
        {"recording_id": "r", "subject": "sub-00", "gender": "M", "age": 50,
         "task": "rest", "path": "r.edf"},
        {"recording_id": "q", "subject": "sub-01", "gender": "M", "age": 60,
         "task": "rest", "path": "q.edf"},
    ]  # fmt: skip
    tsv = pd.DataFrame(
        {
            "participant_id": ["sub-00", "sub-01"],
            "Gender": ["F", None],
            "age": [21, None],
            "task": ["other", "other"],
            "group": ["a", "b"],
        }
    )
    apply_metadata(d, tsv, overwrite=("age", "sex", "gender"))
    assert [(x["gender"], x["age"], x["task"], x["group"]) for x in d] == [
        ("F", 21, "rest", "a"),
        ("M", 60, "rest", "b"),
    ]
    # a user table replaces, but an empty cell still erases nothing
    apply_metadata(d, pd.DataFrame({"subject": ["sub-00"], "task": [None]}))
    assert d[0]["task"] == "rest"


def test_tuh_events_keep_their_times_and_merge_over_channels(tmp_path: Path):
    """The TUH annotation times were read and thrown away: a seizure from 10 s
    to 30 s made the whole recording a "seizure" segment, background
    included."""
    import warnings

    from braindecode_elm.data import TUHReports, make_synthetic_tuh
    from braindecode_elm.data.descriptions import (
        FactSpan,
        TUHEvent,
        read_tuh_events,
        tuh_annotation_facts,
        tuh_event_spans,
    )
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    rec = tmp_path / "a.rec"
    # one spike marked on three channels (overlapping), one later, eye movement
    rec.write_text("0,1.0,2.0,1\n1,1.5,2.5,1\n2,2.5,3.0,1\n0,9.0,10.0,1\n3,4.0,5.0,4\n")
    ev = read_tuh_events(str(rec))
    assert ev[0] == TUHEvent(1.0, 2.0, "spsw", "0")
    assert tuh_event_spans(ev) == {
        "spsw": [(1.0, 3.0), (9.0, 10.0)],
        "eyem": [(4.0, 5.0)],
    }
    tse = tmp_path / "b.tse"
    tse.write_text("version = tse_v1.0.0\n\n0.0 10.0 bckg 1.0\n10.0 30.0 fnsz 1.0\n")
    assert [(e.start_s, e.stop_s, e.label) for e in read_tuh_events(str(tse))] == [
        (0.0, 10.0, "bckg"),
        (10.0, 30.0, "fnsz"),
    ]
    for bad, msg in (
        ("0,one,2.0,1\n", r"c.rec:1: the start and stop times must be numbers"),
        ("0,3.0,2.0,1\n", r"c.rec:1: expected 0 <= start <= stop .*start 3 and stop 2"),
        ("0,-1.0,2.0,1\n", r"c.rec:1: expected 0 <= start <= stop"),
        ("0,nan,2.0,1\n", r"c.rec:1: expected 0 <= start <= stop"),
    ):
        (tmp_path / "c.rec").write_text(bad)
        with pytest.raises(ValueError, match=msg):
            read_tuh_events(str(tmp_path / "c.rec"))

    raw = tmp_path / "raw"
    make_synthetic_tuh(raw, 3, seed=2, duration_s=(40.0, 40.0))
    ds = TUHReports(raw, metadata=raw / "ground_truth.csv")
    edfs = sorted(Path(d.description["path"]) for d in ds.datasets)
    edfs[0].with_suffix(".csv_bi").write_text(
        "# version = csv_v1.0.0\nchannel,start_time,stop_time,label,confidence\n"
        "TERM,0.0,10.0,bckg,1.0\nTERM,10.0,30.0,seiz,1.0\nTERM,30.0,40.0,bckg,1.0\n"
    )
    # a file of another, longer recording: its late stretch is left out
    edfs[1].with_suffix(".csv_bi").write_text(
        "channel,start_time,stop_time,label,confidence\n"
        "TERM,20.0,38.0,seiz,1.0\nTERM,300.0,320.0,seiz,1.0\n"
    )
    # every stretch after the end: the recording is skipped with that reason
    edfs[2].with_suffix(".rec").write_text("0,100.0,101.0,1\n")
    # a malformed file skips its recording only (it stopped the whole run)
    edfs[4].with_suffix(".csv_bi").write_text(
        "channel,start_time,stop_time,label,confidence\nTERM,00:00:00,00:00:10,seiz,1\n"
    )
    # bckg on the channels an event spares is not background at that time
    # (diff review: a focal seizure sat inside a whole-file bckg segment)
    per_channel = tmp_path / "d.csv"
    per_channel.write_text(
        "channel,start_time,stop_time,label,confidence\n"
        "FP1-F7,0.0,120.0,bckg,1\nFP1-F7,120.0,150.0,fnsz,1\n"
        "FP1-F7,150.0,300.0,bckg,1\nFP2-F8,0.0,300.0,bckg,1\n"
        "F7-T3,150.0,152.0,bckg,1\n"
    )
    (tmp_path / "d.edf").write_bytes(b"")
    spans = tuh_annotation_facts({"path": str(tmp_path / "d.edf")})
    assert [(f.facts["finding"], f.start_s, f.stop_s) for f in spans] == [
        ("bckg", 0.0, 120.0),
        ("fnsz", 120.0, 150.0),
        ("bckg", 150.0, 300.0),
    ]
    tev = tmp_path / "e.rec"
    tev.write_text("0,10,11,1\n1,10,11,6\n2,10,11,6\n0,11,12,6\n0,20,30,6\n")
    (tmp_path / "e.edf").write_bytes(b"")
    spans = tuh_annotation_facts({"path": str(tmp_path / "e.edf")})
    # 11-12 s is background but shorter than a crop; 20-30 s is kept
    assert [(f.facts["finding"], f.start_s, f.stop_s) for f in spans] == [
        ("spsw", 10.0, 11.0),
        ("bckg", 20.0, 30.0),
    ]
    got = tuh_annotation_facts({"path": str(tmp_path / "e.edf")}, min_background_s=1)
    assert [(f.facts["finding"], f.start_s) for f in got][1] == ("bckg", 11.0)
    # an event shorter than a crop keeps its crop (2 s seizure: 43-48 s) out of
    # the background; a file of short background rows only keeps the
    # recording's own facts (it was dropped as having none)
    short = tmp_path / "f.csv_bi"
    short.write_text(
        "channel,start_time,stop_time,label,confidence\n"
        "TERM,0.0,43.0,bckg,1\nTERM,43.0,45.0,seiz,1\nTERM,45.0,100.0,bckg,1\n"
    )
    (tmp_path / "f.edf").write_bytes(b"")
    spans = tuh_annotation_facts({"path": str(tmp_path / "f.edf")})
    assert [(f.facts["finding"], f.start_s, f.stop_s) for f in spans] == [
        ("bckg", 0.0, 43.0),
        ("seiz", 43.0, 45.0),
        ("bckg", 48.0, 100.0),
    ]
    only = tmp_path / "g.rec"
    only.write_text("0,0.0,1.0,6\n0,2.0,3.0,6\n0,4.0,5.0,6\n")
    (tmp_path / "g.edf").write_bytes(b"")
    got = tuh_annotation_facts({"path": str(tmp_path / "g.edf"), "age": 42})
    assert got == [{"age_group": "40s"}]
    for start, stop in ((-1.0, 2.0), (3.0, 2.0), (float("nan"), 1.0)):
        with pytest.raises(ValueError, match="FactSpan needs 0 <= start_s <= stop_s"):
            FactSpan({"finding": "spsw"}, start, stop)

    desc0 = next(
        d.description for d in ds.datasets if d.description["path"] == str(edfs[0])
    )
    spans = tuh_annotation_facts(desc0)
    assert all(isinstance(f, FactSpan) for f in spans)
    assert [(f.facts["finding"], f.start_s, f.stop_s) for f in spans] == [
        ("bckg", 0.0, 10.0),
        ("seiz", 10.0, 30.0),
        ("bckg", 30.0, 40.0),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = build_labelled_corpus({"tusz": ds}, facts_of=tuh_annotation_facts)
    late = [
        str(w.message)
        for w in caught
        if "after their recording's end" in str(w.message)
    ]
    assert len(late) == 1 and f"tusz/{edfs[1].stem} (1)" in late[0], late
    assert f"tusz/{edfs[2].stem} (1)" in late[0]
    got = [
        (Path(s.recording).name, s.facts["finding"], s.start, s.stop)
        for s in corpus.segments
        if Path(s.recording).name in {e.stem for e in edfs[:3]}
    ]
    # Files without annotations keep one segment over the whole recording.
    rest = [s for s in corpus.segments if s.recording.endswith(edfs[3].stem)]
    assert [(s.start, s.stop) for s in rest] == [(0, 4000)]
    assert got == [
        (edfs[0].stem, "bckg", 0, 1000),
        (edfs[0].stem, "seiz", 1000, 3000),
        (edfs[0].stem, "bckg", 3000, 4000),
        (edfs[1].stem, "seiz", 2000, 3800),
    ]
    skipped = {r["recording"]: r["reason"] for r in corpus.skipped}
    assert skipped.pop(f"tusz/{edfs[2].stem}") == (
        "every annotated stretch starts after its end (40.0 s)"
    )
    assert "the start and stop times must be numbers" in skipped.pop(
        f"tusz/{edfs[4].stem}"
    )
    assert not skipped, skipped


def test_tuh_annotation_files(tmp_path: Path):
    rec = tmp_path / "a.rec"
    rec.write_text("0,1.0,2.0,1\n1,3.0,4.0,6\n2,5.0,6.0,1\n")
    assert read_tuh_annotations(str(rec)) == ["spsw", "bckg"]
    csv = tmp_path / "b.csv_bi"
    csv.write_text(
        "# version = csv_v1.0.0\n# duration = 60 secs\n"
        "channel,start_time,stop_time,label,confidence\n"
        "TERM,0.0,10.0,bckg,1.0\nTERM,10.0,30.0,seiz,1.0\n"
    )
    assert read_tuh_annotations(str(csv)) == ["bckg", "seiz"]
    bad = tmp_path / "c.rec"
    bad.write_text("0,1.0,2.0,9\n")
    with pytest.raises(ValueError, match=r"c.rec:1: .*code 1-6"):
        read_tuh_annotations(str(bad))
    facts = tuh_facts(
        {"pathological": True, "age": 64, "gender": "F"}, ["bckg", "spsw"]
    )
    assert facts == [
        {
            "pathology": "abnormal",
            "age_group": "60s",
            "sex": "female",
            "finding": "spsw",
        }
    ]
    assert "Spike" in describe(facts[0]) or "spike" in describe(facts[0])


def test_tuh_without_reports_on_synthetic_corpus(tmp_path: Path):
    """The recipe: TUAB label + header age/sex (+ annotations) -> reports."""
    import pandas as pd

    from braindecode_elm.data import make_synthetic_tuh
    from braindecode_elm.data.tuh_index import index_tuh

    make_synthetic_tuh(tmp_path, 4, seed=1, duration_s=(70.0, 70.0))
    truth = pd.read_csv(tmp_path / "ground_truth.csv").astype({"recording_id": str})
    descs, _ = index_tuh(tmp_path)
    assert descs
    b = DescriptionBuilder()
    by_id = truth.set_index("recording_id")
    for d in descs:
        row = by_id.loc[str(d["recording_id"])]
        meta = {k: v for k, v in d.items() if k not in ("report",)}
        meta["phenotype"] = row["phenotype"]
        meta["abnormal"] = int(row["abnormal"])
        facts = tuh_facts(meta, builder=b)[0]
        assert facts["pathology"] == ("abnormal" if row["abnormal"] else "normal")
        assert facts["sex"] == {"F": "female", "M": "male"}[row["gender"]]
        assert facts["age_group"] == f"{int(row['age']) // 10 * 10}s"
        report = b.report(facts)
        assert "IMPRESSION:" in report and "CLINICAL HISTORY:" in report
        assert segment_report(report, "sentence")


def test_multi_dataset_corpus_on_shared_data_is_subject_disjoint(shared_data: Path):
    from braindecode_elm.data import EEGBCI, EEGMAT
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.data.splits import (
        SubjectLeakageError,
        check_no_subject_overlap,
    )

    corpus = build_labelled_corpus(
        {
            "eegmat": EEGMAT(subjects=range(0, 12), download=False),
            "eegbci": EEGBCI(runs=(3, 4), download=False),
        },
        events={"eegbci": True},
    )
    assert corpus.datasets == ["eegmat", "eegbci"]
    assert not corpus.skipped
    mat = corpus.select(dataset="eegmat")
    assert len(mat) == 24 and {s.facts["state"] for s in mat.segments} == {
        "rest",
        "arithmetic",
    }
    bci = corpus.select(dataset="eegbci")
    states = {s.facts["state"] for s in bci.segments}
    assert states == {"rest", "motor_execution", "motor_imagery"}
    assert all(
        "movement" not in s.facts for s in bci.segments if s.facts["state"] == "rest"
    )
    x, seg = corpus.crops(5.0)
    assert x.shape[1:] == (20, 500) and x.dtype == np.float32
    assert np.abs(x).max() <= 80.0
    # Each eegmat recording (62 s at 100 Hz) gives 12 crops, each event one.
    assert (
        np.sum(
            np.isin(
                seg, np.flatnonzero([s.dataset == "eegmat" for s in corpus.segments])
            )
        )
        == 24 * 12
    )
    parts = corpus.split((0.75, 0.25), seed=3)
    check_no_subject_overlap({k: v.subjects for k, v in parts.items()})
    tr, te = set(parts["train"].subjects), set(parts["test"].subjects)
    assert not tr & te and len(tr | te) == 13
    assert "eegbci/eegbci-001" in tr | te
    fixed = corpus.split(
        fixed={
            "eegmat": {
                "train": [f"eegmat/eegmat-{i:02d}" for i in range(8)],
                "test": [f"eegmat/eegmat-{i:02d}" for i in range(8, 12)],
            },
            "eegbci": {"train": ["eegbci/eegbci-001"]},
        }
    )
    assert len(fixed["test"]) == 8 and set(fixed["test"].datasets) == {"eegmat"}
    with pytest.raises(ValueError, match="does not place subjects"):
        corpus.split(fixed={"eegmat": {"train": ["eegmat/eegmat-00"]}})
    with pytest.raises(SubjectLeakageError):
        check_no_subject_overlap({"a": fixed["train"].subjects, "b": mat.subjects})
    # Dataset-aware batches: one dataset per batch, every item once.
    seen = []
    for batch in corpus.batches(seg, 32, seed=0):
        assert len({corpus.segments[seg[i]].dataset for i in batch}) == 1
        seen.extend(batch.tolist())
    assert sorted(seen) == list(range(len(seg)))


def test_user_spellings_templates_and_ages_as_labs_write_them():
    """Found by an outside user: template keys with capitals or dashes never
    matched, a custom fact took any value and failed later in report(), BIDS's
    separator-free task labels missed their value, ages like '25 years' or
    '89+' vanished without a word."""
    b = DescriptionBuilder(
        templates={
            "condition": {"N-Back": ["An n-back task."], "eyes closed": ["Eyes shut."]},
            "count_quality": {"1": ["Good counting."], "0": ["Poor counting."]},
        }
    )
    assert b.facts({"condition": "n back"}) == {"condition": "n_back"}
    assert b.paraphrases("condition", "eyes_closed") == ["Eyes shut."]
    # a value the templates do not name: not a fact, listed by unmatched()
    assert "condition" not in b.facts({"condition": "sleep"})
    assert b.unmatched({"condition": "sleep"}) == [("condition", "condition", "sleep")]
    # integers read as floats (a column with a gap) are the template's keys
    assert b.facts({"count_quality": 0.0}) == {"count_quality": "0"}
    # BIDS labels hold no "_": task-mentalarithmetic is mental arithmetic
    assert b.facts({"task": "mentalarithmetic"})["state"] == "arithmetic"
    assert b.facts({"state": "RestingState"})["state"] == "rest"
    own = DescriptionBuilder(aliases={"state": {"Math task": "arithmetic"}})
    assert own.facts({"state": "math task"}) == {"state": "arithmetic"}
    with pytest.raises(ValueError, match=r"names no value of 'state'"):
        DescriptionBuilder(aliases={"state": {"x": "dreaming"}})
    # ages
    assert b.facts({"age": "25 years"})["age_group"] == "20s"
    assert b.facts({"age": "25.5"})["age_group"] == "20s"
    assert "age_group" not in b.facts({"age": True})
    assert b.unmatched({"age": "89+"}) == [("age_group", "age", "89+")]
    # one column's value is listed once, not once per fact reading it
    assert b.unmatched({"label": "eyes closed"}) == [("state", "label", "eyes closed")]


def test_corpus_warns_about_custom_fact_values_without_templates():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    pytest.importorskip("braindecode")
    import mne
    from braindecode.datasets import BaseConcatDataset, RawDataset

    ch = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4"]
    ch += ["T4", "T5", "P3", "Pz", "P4", "T6", "O1", "O2"]
    rng = np.random.default_rng(0)
    parts = []
    for i, cond in enumerate(["n-back", "sleep"]):
        raw = mne.io.RawArray(
            rng.standard_normal((19, 128 * 8)) * 2e-5,
            mne.create_info(ch, 128.0, "eeg"),
            verbose="error",
        )
        parts.append(
            RawDataset(raw, {"subject": i, "recording_id": f"r{i}", "condition": cond})
        )
    b = DescriptionBuilder(templates={"condition": {"N-Back": ["An n-back task."]}})
    with pytest.warns(UserWarning, match=r"condition 'sleep' from column 'condition'"):
        corpus = build_labelled_corpus({"lab": BaseConcatDataset(parts)}, builder=b)
    assert [s.facts for s in corpus.segments] == [{"condition": "n_back"}]
    assert corpus.skipped[0]["recording"] == "lab/r1"


def test_tuh_annotation_files_reach_the_corpus(tmp_path: Path):
    """The TUH recipe's annotation classes had no way into a corpus (outside
    user): facts_of=tuh_annotation_facts reads the .rec/.csv_bi beside each EDF
    and makes one segment per class."""
    from braindecode_elm.data import TUHReports, make_synthetic_tuh
    from braindecode_elm.data.descriptions import tuh_annotation_facts
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    raw = tmp_path / "raw"
    make_synthetic_tuh(raw, 3, seed=2, duration_s=(40.0, 40.0))
    ds = TUHReports(raw, metadata=raw / "ground_truth.csv")
    edfs = sorted(Path(d.description["path"]) for d in ds.datasets)
    edfs[0].with_suffix(".rec").write_text("0,1.0,2.0,1\n1,3.0,4.0,4\n2,5.0,6.0,6\n")
    edfs[1].with_suffix(".csv_bi").write_text(
        "# version = csv_v1.0.0\nchannel,start_time,stop_time,label,confidence\n"
        "TERM,0.0,10.0,bckg,1.0\n"
    )
    corpus = build_labelled_corpus({"tuh": ds}, facts_of=tuh_annotation_facts)
    by_rec: dict[str, list] = {}
    for s in corpus.segments:
        by_rec.setdefault(Path(s.recording).name, []).append(
            (s.facts.get("finding"), s.start, s.stop)
        )
    # Each annotated stretch is a segment of its own time (100 Hz samples); the
    # background stretches are background segments.
    # (the 1 s bckg row at 5-6 s is shorter than a crop: left out)
    assert by_rec[edfs[0].stem] == [("spsw", 100, 200), ("eyem", 300, 400)]
    assert by_rec[edfs[1].stem] == [("bckg", 0, 1000)]
    by_rec = {k: [f for f, _, _ in v] for k, v in by_rec.items()}
    # no file: the description's facts alone (the synthetic phenotype column)
    third = next(
        d.description for d in ds.datasets if d.description["path"] == str(edfs[2])
    )
    assert by_rec[edfs[2].stem] == [DescriptionBuilder().facts(third).get("finding")]
    assert all("pathology" in s.facts for s in corpus.segments)
    with pytest.raises(ValueError, match="facts_of and events=True"):
        build_labelled_corpus({"tuh": ds}, facts_of=tuh_annotation_facts, events=True)
