"""The package's import graph: no circles, and every layer imports only below it.

The graph is read from the source with :mod:`ast` and holds every import of a
package module, at module level, inside functions and under ``TYPE_CHECKING``
alike: a circle that only closes at call time still couples the two modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import braindecode_elm

ROOT = Path(braindecode_elm.__file__).parent
PKG = "braindecode_elm"
#: dsp -> data -> models/losses -> training -> evaluation -> cli; 0 is the root
#: helpers (_rust, _config, _json).
LAYERS = {
    "dsp": 1,
    "data": 2,
    "models": 3,
    "losses": 3,
    "training": 4,
    "evaluation": 5,
    "cli": 6,
}


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = [PKG, *path.relative_to(ROOT).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _targets(
    module: str, is_pkg: bool, node: ast.AST, known: dict[str, object]
) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".")[: None if is_pkg else -1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    # `from pkg import sub` depends on the submodule, not on pkg's __init__.
    subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
    return subs or [target]


def import_graph() -> dict[str, set[str]]:
    """Module -> package modules it imports (anywhere in its source)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in mods.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for t in _targets(name, is_pkg, node, mods):
                    # Importing a parent package is not a dependency: it is
                    # already being imported when any module below it runs.
                    if t in mods and t != name and not name.startswith(t + "."):
                        deps.add(t)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _layer(module: str) -> tuple[int, str]:
    parts = module.split(".")
    sub = parts[1] if len(parts) > 1 else ""
    return LAYERS.get(sub, 0), sub


def test_the_checker_finds_a_circle_and_a_layer_break():
    # The checker itself must be able to fail.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _layer("braindecode_elm.dsp.engine") < _layer("braindecode_elm.models.x")
    g = import_graph()
    assert "braindecode_elm.dsp.recipe" in g["braindecode_elm.dsp.engine"]
    assert "braindecode_elm.models.registry" in g["braindecode_elm.models"]


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_every_layer_imports_only_below_it():
    bad = []
    for module, deps in sorted(import_graph().items()):
        level, sub = _layer(module)
        for dep in sorted(deps):
            dep_level, dep_sub = _layer(dep)
            # Same level, other subpackage (models vs losses) also counts.
            if dep_level > level or (dep_level == level and level and dep_sub != sub):
                bad.append(f"{module} -> {dep}")
    assert bad == []


@pytest.mark.parametrize(
    "code",
    [
        "import braindecode_elm.dsp",
        "import braindecode_elm.data",
        "import braindecode_elm; braindecode_elm.dsp.preprocess",
    ],
)
def test_light_layers_do_not_load_models_or_torch(code):
    check = (
        f"{code}\nimport sys\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or "
        "m.startswith(('braindecode_elm.models', 'braindecode_elm.training')))\n"
        "hooks = [f for f in sys.meta_path if 'braindecode_elm' in "
        "type(f).__module__]\n"
        "print(bad, hooks)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] []"
