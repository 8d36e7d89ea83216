"""README and docs demo blocks are generated from the published demo results."""

from __future__ import annotations

import json
from pathlib import Path


def test_readme_demo_block_is_generated_from_the_published_results():
    """The README and docs demo blocks equal what the published results give."""

    from braindecode_elm.cli.demo import demo_markdown, demo_rst

    root = Path(__file__).resolve().parents[1]
    published = root / "docs" / "results" / "demo.json"
    res = json.loads(published.read_text())
    assert len(res["real"]["seeds"]) >= 3 and not res["run"]["quick"]
    readme = (root / "README.md").read_text()
    block = readme.split("<!-- results:demo:start -->\n")[1].split(
        "<!-- results:demo:end -->"
    )[0]
    assert block == demo_markdown(res)
    doc = (root / "docs" / "evaluation.rst").read_text()
    block = doc.split(".. results:demo:start\n")[1].split(".. results:demo:end")[0]
    assert block.strip("\n") == demo_rst(res).strip("\n")
