"""scripts/docs_tables.py: generated blocks in README/docs are replaced in place."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "docs_tables.py"


@pytest.fixture(scope="module")
def docs_tables():
    spec = importlib.util.spec_from_file_location("docs_tables", _SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_markdown_block_replaced_and_rest_untouched(tmp_path, docs_tables):
    p = tmp_path / "README.md"
    p.write_text(
        "head\n<!-- results:demo:start -->\nold 0.708\n<!-- results:demo:end -->\n"
        "tail\n<!-- results:other:start -->\nkeep\n<!-- results:other:end -->\n"
    )
    assert docs_tables.replace_block(p, "demo", "| a | 0.583 |") is True
    assert p.read_text() == (
        "head\n<!-- results:demo:start -->\n| a | 0.583 |\n<!-- results:demo:end -->\n"
        "tail\n<!-- results:other:start -->\nkeep\n<!-- results:other:end -->\n"
    )
    # idempotent: the same text again changes nothing
    assert docs_tables.replace_block(p, "demo", "| a | 0.583 |\n") is False


def test_rst_block_uses_comment_markers(tmp_path, docs_tables):
    p = tmp_path / "evaluation.rst"
    p.write_text("Title\n\n.. results:demo:start\n\nold\n\n.. results:demo:end\n\nx\n")
    docs_tables.replace_block(p, "demo", "new table")
    assert p.read_text() == (
        "Title\n\n.. results:demo:start\n\nnew table\n\n.. results:demo:end\n\nx\n"
    )


@pytest.mark.parametrize(
    "content",
    [
        "no markers\n",
        "<!-- results:demo:end -->\n<!-- results:demo:start -->\n",
        "<!-- results:demo:start -->\n<!-- results:demo:start -->\n"
        "<!-- results:demo:end -->\n",
    ],
)
def test_bad_markers_raise_naming_the_file(tmp_path, docs_tables, content):
    p = tmp_path / "doc.md"
    p.write_text(content)
    with pytest.raises(ValueError, match=r"doc\.md.*results:demo:start"):
        docs_tables.replace_block(p, "demo", "x")
    assert p.read_text() == content


def test_bad_block_name(tmp_path, docs_tables):
    with pytest.raises(ValueError, match="block name"):
        docs_tables.replace_block(tmp_path / "x.md", "a b", "x")


def _republish_moabb(res: Path, tmp_path: Path) -> tuple[str, Path]:
    """Run ``moabb_tables.py --from-results`` on a copy of docs/evaluation.rst."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    docs = tmp_path / "evaluation.rst"
    shutil.copy(root / "docs" / "evaluation.rst", docs)
    cmd = [sys.executable, str(root / "scripts" / "moabb_tables.py")]
    cmd += ["--from-results", str(res / "summary.csv"), "--docs", str(docs)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return out, docs


def test_moabb_docs_table_is_generated_from_the_committed_results(tmp_path):
    """docs/evaluation.rst's MOABB block is what the stored run produces."""
    import json

    import pandas as pd

    from braindecode_elm.evaluation.moabb_eval import summarize_moabb_results

    root = Path(__file__).resolve().parents[1]
    res = root / "docs" / "results" / "moabb"
    # summary.csv is the summary of the stored per-fold scores, over >= 3 seeds,
    # with the baselines of the same run beside ELM.
    every = pd.read_csv(res / "results.csv")
    summary = pd.read_csv(res / "summary.csv")
    again = summarize_moabb_results(every)
    pd.testing.assert_frame_equal(
        again.drop(columns="fit_time_s"), summary.drop(columns="fit_time_s")
    )
    assert (summary["n_seeds"] >= 3).all()
    for _, g in every.groupby("comparison"):
        assert {"CSP+LDA", "TS+LR", "ELM[untrained]+LR"} <= set(g["pipeline"])
        assert g.groupby("seed")["pipeline"].nunique().nunique() == 1
    settings = json.loads((res / "settings.json").read_text())
    assert settings["eegmat_subjects"] == 36 and len(settings["seeds"]) >= 3
    # Regenerating the block from the stored files changes nothing in the docs.
    out, docs = _republish_moabb(res, tmp_path)
    assert f"{docs}: unchanged" in out
    assert "eegmat subjects 1-36 in 4 subject folds" in out


def test_moabb_heldout_table_is_generated_from_the_committed_results(tmp_path):
    """The shipped bundle's MOABB block: its test subjects only, over >= 3 seeds,
    the untrained tower and the baselines of the same run beside it, and the
    docs block is what the stored run produces."""
    import json

    import pandas as pd

    from braindecode_elm.evaluation.moabb_eval import summarize_moabb_results
    from braindecode_elm.evaluation.open_recipe import EEGMAT_TEST_SUBJECTS

    root = Path(__file__).resolve().parents[1]
    res = root / "docs" / "results" / "moabb_heldout"
    every = pd.read_csv(res / "results.csv")
    summary = pd.read_csv(res / "summary.csv")
    pd.testing.assert_frame_equal(
        summarize_moabb_results(every).drop(columns="fit_time_s"),
        summary.drop(columns="fit_time_s"),
    )
    assert (summary["n_seeds"] >= 3).all()
    assert set(every["comparison"]) == {"eegmat"}
    assert {
        "ELM[elm-open-5s]+LR",
        "ELM[untrained]+LR",
        "CSP+LDA",
        "TS+LR",
    } <= set(every["pipeline"])
    assert every.groupby("seed")["pipeline"].nunique().nunique() == 1
    settings = json.loads((res / "settings.json").read_text())
    # MOABB numbers eegmat's subjects from 1: the bundle's test subjects + 1,
    # and no fold holds a subject the bundle was pretrained on.
    assert settings["eegmat_subject_list"] == [s + 1 for s in EEGMAT_TEST_SUBJECTS]
    assert set(every["subject"].astype(int)) <= {s + 1 for s in EEGMAT_TEST_SUBJECTS}
    out, docs = _republish_moabb(res, tmp_path)
    assert f"{docs}: unchanged" in out
    assert "eegmat subjects 25-36 (MOABB numbering; PhysioNet 24-35" in out
