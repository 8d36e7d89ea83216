"""build_labelled_corpus and LabelledCorpus.split on the inputs labs really have.

Found by an outside user building a corpus from their own archive: ids that
repeat across subjects, subject columns with gaps, MOABB-style descriptions,
recordings shorter than a crop, empty label cells, split settings that do not
fit the corpus. Each case gives an error or a warning naming the problem.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

_CH = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4",
    "T5", "P3", "Pz", "P4", "T6", "O1", "O2",
]  # fmt: skip


def _raw(seconds: float = 12.0, seed: int = 0):
    import mne

    rng = np.random.default_rng(seed)
    sfreq = 128.0
    x = rng.standard_normal((len(_CH), int(seconds * sfreq))) * 20e-6
    info = mne.create_info(_CH, sfreq, "eeg")
    return mne.io.RawArray(x, info, verbose="error")


def _concat(rows, seconds=None):
    from braindecode.datasets import BaseConcatDataset, RawDataset

    seconds = seconds or [12.0] * len(rows)
    return BaseConcatDataset(
        [RawDataset(_raw(s, i), dict(r)) for i, (r, s) in enumerate(zip(rows, seconds))]
    )


def test_a_recording_id_shared_by_two_subjects_is_an_error():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    ds = _concat(
        [
            {"subject": "s1", "recording_id": "rest", "state": "rest"},
            {"subject": "s2", "recording_id": "rest", "state": "rest"},
        ]
    )
    with pytest.raises(ValueError, match="recording id 'rest' names two recordings"):
        build_labelled_corpus({"lab": ds})


def test_subject_ids_are_text_and_a_missing_subject_is_an_error():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    ds = _concat(
        [
            {"subject": 1, "recording_id": "a", "state": "rest"},
            {"subject": 1.0, "recording_id": "b", "state": "arithmetic"},
            {"subject": np.int64(2), "recording_id": "c", "state": "rest"},
        ]
    )
    corpus = build_labelled_corpus({"x": ds})
    assert [s.subject for s in corpus.segments] == ["x/1", "x/1", "x/2"]
    for gap in (None, float("nan"), "n/a"):
        bad = _concat(
            [
                {"subject": 1, "recording_id": "a", "state": "rest"},
                {"subject": gap, "recording_id": "b", "state": "rest"},
            ]
        )
        with pytest.raises(ValueError, match="recording 'b' has no subject"):
            build_labelled_corpus({"x": bad})


def test_moabb_style_rows_without_recording_id_get_one():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    ds = _concat(
        [
            {"subject": 1, "session": "0", "run": "0", "state": "rest"},
            {"subject": 1, "session": "0", "run": "1", "state": "arithmetic"},
        ]
    )
    corpus = build_labelled_corpus({"m": ds})
    assert sorted(corpus.signals) == ["m/1_0_0", "m/1_0_1"]
    with pytest.raises(KeyError, match="no 'recording_id' column"):
        build_labelled_corpus({"m": _concat([{"subject": 1, "state": "rest"}])})


def test_short_recordings_are_skipped_with_their_reason():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    ds = _concat(
        [
            {"subject": "a", "recording_id": "long", "state": "rest"},
            {"subject": "b", "recording_id": "short", "state": "rest"},
        ],
        seconds=[12.0, 3.0],
    )
    corpus = build_labelled_corpus({"d": ds})
    assert list(corpus.signals) == ["d/long"]
    (sk,) = corpus.skipped
    assert sk["recording"] == "d/short"
    assert "shorter (3.0 s) than one 5 s" in sk["reason"]


def test_a_recording_missing_a_fact_its_dataset_has_is_warned_about():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    ds = _concat(
        [
            {"subject": "a", "recording_id": "r1", "state": "rest", "age": 30},
            {"subject": "b", "recording_id": "r2", "age": 40},
        ]
    )
    with pytest.warns(UserWarning, match=r"d: 1 of 2 recordings have no 'state'"):
        build_labelled_corpus({"d": ds})
    full = _concat(
        [
            {"subject": "a", "recording_id": "r1", "state": "rest", "age": 30},
            {"subject": "b", "recording_id": "r2", "state": "rest", "age": 40},
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        build_labelled_corpus({"d": full})


def test_split_settings_that_do_not_fit_the_corpus_are_said():
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus

    ds = _concat(
        [
            {"subject": "a", "recording_id": "r1", "state": "rest"},
            {"subject": "a", "recording_id": "r2", "state": "arithmetic"},
        ]
    )
    corpus = build_labelled_corpus({"lab": ds})
    with pytest.warns(UserWarning, match=r"split parts \['test'\] got no subject"):
        parts = corpus.split({"train": 0.8, "test": 0.2})
    assert len(parts["train"]) == 2 and not len(parts.get("test", ()))
    with pytest.raises(ValueError, match=r"datasets \['Lab'\] that the corpus"):
        corpus.split(fixed={"Lab": {"train": ["lab/a"]}})
    with pytest.raises(ValueError, match=r"subjects it does not hold: \['lab/zz'\]"):
        corpus.split(fixed={"lab": {"train": ["lab/a"], "test": ["lab/zz"]}})


def test_zero_shot_on_a_labelled_corpus_names_the_window_path():
    from braindecode_elm.data.labelled_corpus import LabelledCorpus, Segment
    from braindecode_elm.evaluation import zero_shot

    corpus = LabelledCorpus(
        {"d/r": np.zeros((20, 600), np.float32)},
        [Segment("d", "d/s", "d/r", 0, 600, {"state": "rest"})],
    )
    with pytest.raises(TypeError, match="windows_from_labelled.*zero_shot_windows"):
        zero_shot(None, corpus, {"rest": ["rest"], "task": ["task"]})


def test_review_of_the_labelled_path_edge_cases():
    """Found reviewing the day's changes: the facts_of hook ignored the
    corpus's builder, identical spans duplicated windows, fixed-only splits
    warned about a default part, an empty id cell was called a missing column,
    templates were not found by the user's own spelling, aliases were refused
    for facts with a '*' wording."""
    from braindecode_elm.data.descriptions import DescriptionBuilder, generic_templates
    from braindecode_elm.data.labelled_corpus import (
        LabelledCorpus,
        Segment,
        build_labelled_corpus,
    )
    from braindecode_elm.evaluation.heldout import windows_from_labelled

    rows = [
        {"subject": "a", "recording_id": "r1", "state": "rest", "diagnosis": "hc"},
        {"subject": "b", "recording_id": "r2", "state": "rest", "diagnosis": "ep"},
    ]
    b = DescriptionBuilder(
        templates={"diagnosis": generic_templates("diagnosis")},
        aliases={"diagnosis": {"hc": "healthy control"}},  # a '*' fact
    )
    corpus = build_labelled_corpus(
        {"lab": _concat(rows)}, builder=b, facts_of=lambda row, bb: [bb.facts(row)]
    )
    assert [s.facts["diagnosis"] for s in corpus.segments] == [
        "healthy_control",
        "ep",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        parts = corpus.split(fixed={"lab": {"fit": ["lab/a"], "held": ["lab/b"]}})
    assert sorted(parts) == ["fit", "held"]
    bad = _concat([{"subject": "a", "recording_id": float("nan"), "state": "rest"}])
    with pytest.raises(ValueError, match="has an empty 'recording_id'"):
        build_labelled_corpus({"lab": bad})
    t = DescriptionBuilder(templates={"task": {"N-Back": ["An n-back task."]}})
    assert t.paraphrases("task", "N-Back") == ["An n-back task."]
    # two segments over one span with one class: its windows once, not twice
    sig = {"d/r": np.zeros((20, 1000), np.float32)}
    segs = [
        Segment("d", "d/s", "d/r", 0, 1000, {"state": "rest", "finding": f})
        for f in ("spsw", "eyem")
    ]
    ws = windows_from_labelled(LabelledCorpus(sig, segs), lambda f: f.get("state"))
    assert len(ws.x) == 2 and ws.ids == ["d/r"]


def test_a_carried_card_keeps_its_front_matter_first():
    from braindecode_elm.models.bundle import _derived_card

    card = _derived_card("---\nlicense: odc-by\n---\n# Card\n")
    assert card.startswith("---\nlicense: odc-by\n---\n")
    assert "> Saved from a loaded bundle" in card and card.endswith("# Card\n")
    assert _derived_card(card) == card
