"""EDF headers are parsed once per file: indexing and caching share the parse."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from braindecode_elm.data import (
    build_cache,
    index_tuh,
    make_synthetic_tuh,
    read_edf_header,
    write_edf,
)
from braindecode_elm.data import edf as edf_mod


@pytest.fixture
def counted(monkeypatch):
    """Empty header memo and a counter of real parses, per file."""
    monkeypatch.setattr(edf_mod, "_HEADER_MEMO", OrderedDict())
    calls: dict[str, int] = {}
    parse = edf_mod._parse_header

    def counting(path, *args):
        calls[str(path)] = calls.get(str(path), 0) + 1
        return parse(path, *args)

    monkeypatch.setattr(edf_mod, "_parse_header", counting)
    return calls


def test_index_then_build_parses_each_header_once(tmp_path, counted):
    corpus = make_synthetic_tuh(
        tmp_path / "c", 2, seed=4, duration_s=(65, 70), sessions_per_subject=(1, 1),
        progress=False,
    )  # fmt: skip
    edfs = sorted(str(p) for p in (tmp_path / "c").rglob("*.edf"))
    assert len(edfs) == corpus.n_recordings == 2
    index_tuh(tmp_path / "c")
    summary = build_cache(tmp_path / "c", tmp_path / "cache", progress=False)
    assert summary.n_cached == 2
    assert counted == {p: 1 for p in edfs}


def test_copies_are_private_and_an_edited_header_is_parsed_again(tmp_path, counted):
    path = tmp_path / "a.edf"
    data = 1e-5 * np.random.default_rng(0).standard_normal((2, 250 * 4))
    write_edf(path, data, ["EEG FP1-REF", "EEG FP2-REF"], 250.0)
    first = read_edf_header(path)
    first.labels[0] = "changed"
    first.phys_min[:] = 0
    again = read_edf_header(path)
    assert again.labels == ["EEG FP1-REF", "EEG FP2-REF"]
    assert np.all(again.phys_min < 0)
    assert counted == {str(path): 1}
    # The same size, edited in place at once: the new bytes are read.
    with open(path, "r+b") as f:
        f.seek(256)
        f.write(b"EEG C3-REF".ljust(16))
    assert read_edf_header(path).labels[0] == "EEG C3-REF"
    assert counted == {str(path): 2}
