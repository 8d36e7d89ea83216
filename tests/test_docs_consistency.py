"""README, the user docs and ``elm --help`` tell the same story."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from braindecode_elm.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = {p.name: p.read_text() for p in (ROOT / "docs").glob("*.rst")}


def _help(cmd: str | None = None) -> str:
    parser = build_parser()
    if cmd is None:
        return parser.format_help()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices)
    return (
        sub.choices[cmd].format_help()
        + sub._choices_actions[list(sub.choices).index(cmd)].help
    )


def test_demo_time_agrees():
    """The demo's time is stated once: generated with its table from the run."""
    import json

    from braindecode_elm.cli.demo import _minutes

    res = json.loads((ROOT / "docs" / "results" / "demo.json").read_text())
    stated = f"took {_minutes(res['run']['wall_s'])}"
    readme = README.split("<!-- results:demo:start -->")[1]
    readme = readme.split("<!-- results:demo:end -->")[0]
    rst = DOCS["evaluation.rst"].split(".. results:demo:start")[1]
    rst = rst.split(".. results:demo:end")[0]
    assert stated in readme and stated in rst, stated
    assert f"{res['run']['cpu_s']:.0f} s of CPU time" in readme
    # no hand-written demo time anywhere else that could drift from the run
    others = {
        "README": README.replace(readme, ""),
        "cli.rst": DOCS["cli.rst"],
        "evaluation.rst": DOCS["evaluation.rst"].replace(rst, ""),
        "elm --help": _help(),
        "elm demo --help": _help("demo"),
    }
    for name, text in others.items():
        found = re.findall(r"(?:about|~|≈) ?[\d.–-]+ ?min|\d+ min \d+ s wall", text)
        assert not found, (name, found)


def test_presets_table_and_quick_start():
    from braindecode_elm.cli.demo import DEMO_PRESET
    from braindecode_elm.training.config import list_presets

    table = DOCS["training.rst"].split("Presets\n-------", 1)[1].split("\n\n", 2)[1]
    for name in list_presets():
        assert f"``{name}``" in table, name
    quick = DOCS["training.rst"].split("Quick start", 1)[1].split("Presets", 1)[0]
    # the commands a newcomer copies (the first block, the Python example and
    # the CLI's examples) use the preset that learns on a CPU, not tiny-cpu
    # (documented as too slow to learn in a short run)
    first_block = quick.split(".. code-block:: bash", 1)[1].split("Any config", 1)[0]
    used = set(re.findall(r"--preset ([\w-]+)", first_block))
    used |= set(re.findall(r'load_preset\("([\w-]+)"', quick))
    used |= set(re.findall(r"--preset ([\w-]+) --data", _help()))
    assert used == {DEMO_PRESET} == {"tiny-cpu-demo"}
    assert (
        "too little" in table.split("``tiny-cpu``", 1)[1].split("``tiny-cpu-demo``")[0]
    )
    assert f"``{DEMO_PRESET}``" in DOCS["cli.rst"]


def test_where_the_data_is_agrees():
    gs = DOCS["getting_started.rst"]
    for text in (README, gs, _help("demo")):
        assert "ELM_DATA_DIR" in text and "MNE" in text and "shared/data" in text


@pytest.mark.parametrize(
    "phrase",
    [r"\bthe issue\b", r"issue's", r"\bworkplace\b", r"\bhelper\b", r"this session"],
)
def test_user_docs_speak_to_users(phrase):
    hits = [
        name
        for name, text in {"README.md": README, **DOCS}.items()
        if re.search(phrase, text, re.IGNORECASE)
    ]
    assert hits == []


def test_tuh_guide_is_linked_and_complete():
    assert "   tuh" in DOCS["index.rst"] and ":doc:`tuh`" in DOCS["data.rst"]
    tuh = DOCS["tuh.rst"]
    for needle in ("TUEG", "TUAB", "TUEV", "TUSZ", "approximate", "no longer ship",
                   "tuh_facts", "--metadata reports.csv"):  # fmt: skip
        assert needle in tuh, needle
