"""Package metadata: the dependency pins a plain ``pip install`` resolves.

An outside user installed the wheel as docs/wheel.rst says and got torch 2.11.0
with torchaudio 2.11.1, which fails at import (braindecode imports torchaudio),
and ``elm demo`` died after minutes for want of pyriemann, an extra's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")

ROOT = Path(__file__).resolve().parents[1]


def _deps() -> dict[str, Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in meta["dependencies"]]
    return {r.name.lower(): r for r in reqs}


def _constraints() -> dict[str, Version]:
    out = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            out[name.strip().lower()] = Version(version.split(";")[0].strip())
    return out


def test_torch_and_torchaudio_resolve_to_the_tested_pair():
    deps, pinned = _deps(), _constraints()
    audio = deps["torchaudio"].specifier
    # Every torchaudio the metadata admits is the tested one ...
    for v in ("2.11.1", "2.10.0", "2.12.0"):
        assert not audio.contains(v), v
    assert audio.contains(str(pinned["torchaudio"]))
    # ... and torch is held to the release series it was built for.
    torch = deps["torch"].specifier
    assert torch.contains(str(pinned["torch"]))
    series = pinned["torchaudio"].release[:2]
    for v in ("2.10.0", "2.12.0", "2.15.0"):
        assert Version(v).release[:2] != series and not torch.contains(v), v


def test_base_commands_need_no_extra():
    """Every third-party package the evaluation modules behind ``elm demo`` /
    ``open-recipe`` import is a base dependency."""
    deps = _deps()
    imported = set()
    for path in (ROOT / "braindecode_elm" / "evaluation").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert "pyriemann" in imported and "pyriemann" in deps
    extra_only = {"moabb"}  # imported behind a guard naming the extra
    names = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
    stdlib = __import__("sys").stdlib_module_names
    third = {m for m in imported if m not in stdlib and m != "braindecode_elm"}
    missing = {m for m in third - extra_only if names.get(m, m) not in deps}
    assert not missing, missing


def test_licence_text_ships():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "BSD-3-Clause"
    assert meta["license-files"] == ["LICENSE"]
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()
