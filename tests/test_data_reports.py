"""Report parsing: headings, ELM filtering, sentence splitting, encodings.

All report texts here are written for the tests (no real TUH text is available).
"""

from __future__ import annotations

import pytest

from braindecode_elm.data.reports import (
    ELM_HEADINGS,
    TUH_HEADINGS,
    ReportDecodeError,
    normalize_report_text,
    read_report,
    segment_report,
    split_report,
    split_sentences,
)

REPORT = """MEMORIAL HOSPITAL EEG LABORATORY
DATE OF STUDY: 03/14/2012
CLINICAL HISTORY: 54 year old woman with seizures. Dr. Smith referred her.
MEDICATIONS: Keppra, Ativan.
REASON FOR STUDY: Seizures.
INTRODUCTION: Routine EEG with the 10-20 system.
TECHNICAL DIFFICULTIES: Electrode artifact at T4.
DESCRIPTION OF THE RECORD: The posterior dominant rhythm is 9.5 Hz.  It attenuates
with eye opening. Sharp waves at approx. 1 per minute are seen over T3, e.g. at
10:02. J. Doe reviewed the record.
HEART RATE: 72 bpm
ACTIVATION PROCEDURES: Photic stimulation produced a driving response.
IMPRESSION: Abnormal EEG due to left temporal sharp waves.
CLINICAL CORRELATION: Consistent with a focal epilepsy.
"""


def test_heading_table_matches_the_paper():
    assert len(TUH_HEADINGS) == 43
    assert len(set(TUH_HEADINGS)) == 43
    assert len(ELM_HEADINGS) == 20
    assert set(ELM_HEADINGS) <= set(TUH_HEADINGS)
    for excluded in ("TECHNICAL PROBLEM", "RECORDING ENVIRONMENT", "HEART RATE"):
        assert excluded not in ELM_HEADINGS


def test_split_report_order_first_line_and_colons():
    sections = split_report(REPORT)
    heads = [h for h, _ in sections]
    # The letterhead (first line without heading) is dropped.
    assert heads == [
        "DATE OF STUDY",
        "CLINICAL HISTORY",
        "MEDICATIONS",
        "REASON FOR STUDY",
        "INTRODUCTION",
        "TECHNICAL DIFFICULTIES",
        "DESCRIPTION OF THE RECORD",
        "HEART RATE",
        "ACTIVATION PROCEDURES",
        "IMPRESSION",
        "CLINICAL CORRELATION",
    ]
    body = dict(sections)
    assert body["MEDICATIONS"] == "Keppra, Ativan."
    assert not any(b.startswith(":") for b in body.values())
    # Line breaks inside a section and double spaces are collapsed.
    assert (
        "9.5 Hz. It attenuates with eye opening." in body["DESCRIPTION OF THE RECORD"]
    )


def test_longest_heading_wins_and_case_insensitive():
    text = "Clinical history: seizures.\nHistory: none.\nEvents: one.\nEvent: two."
    sections = split_report(text)
    assert sections == [
        ("CLINICAL HISTORY", "seizures."),
        ("HISTORY", "none."),
        ("EVENTS", "one."),
        ("EVENT", "two."),
    ]
    # "DESCRIPTION OF RECORD" is not "DESCRIPTION" + "OF RECORD".
    assert split_report("DESCRIPTION OF RECORD: slow.")[0][0] == "DESCRIPTION OF RECORD"
    assert split_report("SUMMARY OF FINDINGS: ok.")[0][0] == "SUMMARY OF FINDINGS"


def test_heading_without_colon_uppercase_or_alone_on_line():
    text = "IMPRESSION Normal EEG.\nCORRELATION\nNo seizures."
    assert split_report(text) == [
        ("IMPRESSION", "Normal EEG."),
        ("CORRELATION", "No seizures."),
    ]
    # Lower-case prose starting with a heading word is not a heading.
    text = "IMPRESSION: Normal.\nHistory of falls is noted."
    assert split_report(text) == [("IMPRESSION", "Normal. History of falls is noted.")]
    # An abbreviation heading in a sentence of prose is not one either; before
    # a capital, a number or a colon, or alone on its line, it is.
    text = "MEDICATIONS: Keppra.\nAED levels were low.\nHR was 70."
    assert split_report(text) == [
        ("MEDICATIONS", "Keppra. AED levels were low. HR was 70.")
    ]
    text = "IMPRESSION: Normal.\nHR 72 bpm.\nAED Keppra 500 mg.\nAED\nNone."
    assert split_report(text) == [
        ("IMPRESSION", "Normal."),
        ("HR", "72 bpm."),
        ("AED", "Keppra 500 mg."),
        ("AED", "None."),
    ]
    assert split_report("IMPRESSION: Normal.\nAED: levels low.")[1] == (
        "AED",
        "levels low.",
    )


def test_line_separator_and_double_spaces_normalised():
    assert normalize_report_text("a\u2028b  c") == "a\nb c"
    text = "IMPRESSION: Normal\u2028CLINICAL CORRELATION: None."
    assert split_report(text) == [
        ("IMPRESSION", "Normal"),
        ("CLINICAL CORRELATION", "None."),
    ]


def test_sentence_splitter_keeps_abbreviations_decimals_initials():
    text = (
        "Dr. Smith saw approx. 3 sharp waves at 2.5 Hz, e.g. over T3. "
        "J. R. Doe agreed. Is it normal? No! The end"
    )
    assert split_sentences(text) == [
        "Dr. Smith saw approx. 3 sharp waves at 2.5 Hz, e.g. over T3.",
        "J. R. Doe agreed.",
        "Is it normal?",
        "No!",
        "The end",
    ]
    # Numbered lists: the marker starts a sentence, it does not end one.
    text = (
        "Abnormal EEG due to: 1. Diffuse slowing. 2. Sharp waves at T3. Seen in 2010."
    )
    assert split_sentences(text) == [
        "Abnormal EEG due to: 1. Diffuse slowing.",
        "2. Sharp waves at T3.",
        "Seen in 2010.",
    ]


def test_real_archive_spellings_segment_cleanly():
    """What an outside user's archive held: doubled colons or a dash after a
    heading, lower-case prose and bullet lists (kept as one sentence with the
    separators before)."""
    assert segment_report("CLINICAL HISTORY  ::  30 year old man.") == [
        "30 year old man."
    ]
    assert segment_report("CLINICAL HISTORY - 45 year old man.") == ["45 year old man."]
    assert segment_report("impression: normal eeg. no focal slowing. no spikes.") == [
        "normal eeg.",
        "no focal slowing.",
        "no spikes.",
    ]
    text = (
        "DESCRIPTION OF THE RECORD:\n- alpha 9 Hz\n* no slowing.\nIMPRESSION: Normal."
    )
    assert segment_report(text) == ["alpha 9 Hz", "no slowing.", "Normal."]
    assert segment_report(text, "paragraph")[0] == (
        "DESCRIPTION OF THE RECORD: \u2022 alpha 9 Hz \u2022 no slowing."
    )
    # Abbreviations and initials still hold before lower case.
    assert split_sentences("Seen by Dr. smith, approx. five spikes, e.g. at T3.") == [
        "Seen by Dr. smith, approx. five spikes, e.g. at T3."
    ]
    # Mixed case keeps the capital rule: clinical abbreviations before lower
    # case do not end a sentence (review); all lower case knows the common ones.
    for text in (
        "45 year old woman with hx. of seizures.",
        "Last sz. was 2 days ago.",
        "Reviewed by J. Smith, M.D. on 1/2/2015.",
    ):
        assert split_sentences(text) == [text]
    assert split_sentences("last sz. was 3 mos. ago. 3 spikes/min. at rest.") == [
        "last sz. was 3 mos. ago.",
        "3 spikes/min. at rest.",
    ]
    # One capital (an electrode, "Hz") does not turn the rule off (review).
    assert split_sentences("normal eeg. no spikes at T3. alpha 9 hz.") == [
        "normal eeg.",
        "no spikes at T3.",
        "alpha 9 hz.",
    ]
    assert split_sentences("The background is 9 Hz. no discharges were seen.") == [
        "The background is 9 Hz.",
        "no discharges were seen.",
    ]
    # A dash inside a line is prose, not a list.
    assert split_sentences("Alpha - 9 Hz - is normal.") == ["Alpha - 9 Hz - is normal."]


def test_segment_sentence_mode_filters_sections():
    segs = segment_report(REPORT, "sentence")
    assert segs == [
        "54 year old woman with seizures.",
        "Dr. Smith referred her.",
        "Keppra, Ativan.",
        "The posterior dominant rhythm is 9.5 Hz.",
        "It attenuates with eye opening.",
        "Sharp waves at approx. 1 per minute are seen over T3, e.g. at 10:02.",
        "J. Doe reviewed the record.",
        "Abnormal EEG due to left temporal sharp waves.",
        "Consistent with a focal epilepsy.",
    ]
    joined = " ".join(segs)
    for excluded in ("03/14/2012", "72 bpm", "Photic", "Electrode artifact", "10-20"):
        assert excluded not in joined


def test_segment_paragraph_and_report_modes():
    paras = segment_report(REPORT, "paragraph")
    assert [p.split(":")[0] for p in paras] == [
        "CLINICAL HISTORY",
        "MEDICATIONS",
        "DESCRIPTION OF THE RECORD",
        "IMPRESSION",
        "CLINICAL CORRELATION",
    ]
    assert paras[1] == "MEDICATIONS: Keppra, Ativan."
    (report,) = segment_report(REPORT, "report")
    assert report == "\n".join(paras)
    with pytest.raises(ValueError, match="mode must be one of"):
        segment_report(REPORT, "words")


def test_custom_headings_and_fallbacks():
    assert segment_report(REPORT, "paragraph", headings=["IMPRESSION"]) == [
        "IMPRESSION: Abnormal EEG due to left temporal sharp waves."
    ]
    assert segment_report(REPORT, "paragraph", headings="IMPRESSION") == [
        "IMPRESSION: Abnormal EEG due to left temporal sharp waves."
    ]
    # Substring match: "HISTORY" keeps "CLINICAL HISTORY"; it is one-way.
    text = "CLINICAL HISTORY: Falls.\nBACKGROUND: Slow.\nHEART RATE: 70."
    assert segment_report(text, "paragraph", headings=["HISTORY"]) == [
        "CLINICAL HISTORY: Falls."
    ]
    assert segment_report(text, "paragraph") == ["CLINICAL HISTORY: Falls."]
    # No requested heading present -> the whole report as one paragraph.
    text = "HEART RATE: 80.\nTECHNIQUE: Standard."
    assert segment_report(text, "sentence") == ["HEART RATE: 80. TECHNIQUE: Standard."]
    # No heading at all (a caption) -> its sentences, first line kept.
    caption = "Resting EEG, awake. Eyes closed: alpha at 10.5 Hz."
    assert segment_report(caption, "sentence") == [
        "Resting EEG, awake.",
        "Eyes closed: alpha at 10.5 Hz.",
    ]
    assert segment_report(caption, "paragraph") == segment_report(caption, "sentence")
    assert segment_report(None) == [] and segment_report("  \n ") == []
    # headings=None keeps every section.
    assert len(segment_report(REPORT, "paragraph", headings=None)) == 11


def test_read_report_encodings(tmp_path):
    utf8 = tmp_path / "a.txt"
    utf8.write_text("IMPRESSION: Normal, 10 µV.", encoding="utf-8")
    assert read_report(utf8) == ("IMPRESSION: Normal, 10 µV.", "utf-8")
    cp = tmp_path / "b.txt"
    cp.write_bytes("IMPRESSION: Normal \u2013 10 µV, café.".encode("cp1252"))
    text, enc = read_report(cp)
    assert enc == "cp1252" and text == "IMPRESSION: Normal \u2013 10 µV, café."
    # UTF-8 with one stray Windows-1252 byte: the UTF-8 letters stay intact
    mixed = tmp_path / "m.txt"
    mixed.write_bytes("IMPRESSION: café, 10 µV".encode() + b" \x92sharp\x92 waves.")
    text, enc = read_report(mixed)
    assert (text, enc) == (
        "IMPRESSION: café, 10 µV \u2019sharp\u2019 waves.",
        "utf-8+cp1252",
    )
    bom = tmp_path / "c.txt"
    bom.write_bytes("IMPRESSION: é".encode("utf-16"))
    assert read_report(bom) == ("IMPRESSION: é", "utf-16")
    binary = tmp_path / "d.txt"
    binary.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(ReportDecodeError, match="binary"):
        read_report(binary)
