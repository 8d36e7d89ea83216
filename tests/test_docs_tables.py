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
