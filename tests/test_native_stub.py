"""The typed stub ``braindecode_elm/_rust.pyi`` says what the native module has.

``mypy.stubtest`` found ``__all__`` missing from the stub (an outside user's
check); this test compares names, parameters and defaults without mypy.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import braindecode_elm
from braindecode_elm import _rust

STUB = Path(braindecode_elm.__file__).with_name("_rust.pyi")


def _stub() -> tuple[list[str], dict[str, ast.FunctionDef]]:
    tree = ast.parse(STUB.read_text())
    names: list[str] = []
    funcs = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "__all__":
            names = [e.value for e in node.value.elts]
        elif isinstance(node, ast.FunctionDef):
            funcs[node.name] = node
    return names, funcs


def test_stub_lists_what_the_module_exports():
    names, funcs = _stub()
    assert names == list(_rust.__all__)
    runtime_funcs = {n for n in _rust.__all__ if callable(getattr(_rust, n))}
    assert set(funcs) == runtime_funcs


def test_stub_parameters_and_defaults_match():
    _, funcs = _stub()
    for name, node in funcs.items():
        sig = inspect.signature(getattr(_rust, name))
        args = node.args.args
        stub_params = [a.arg for a in args]
        assert stub_params == list(sig.parameters), name
        none = "<no default>"
        defaults = [none] * (len(args) - len(node.args.defaults)) + [
            ast.literal_eval(d) for d in node.args.defaults
        ]
        for (pname, param), default in zip(sig.parameters.items(), defaults):
            want = none if param.default is inspect.Parameter.empty else param.default
            assert default == want, (name, pname)


def test_recipe_may_be_any_mapping_as_the_stub_says():
    """The stub types the recipe as a Mapping; a MappingProxyType was read by
    attribute and refused with "recipe has no field 'order'"."""
    import types

    import numpy as np

    from braindecode_elm import dsp
    from braindecode_elm.dsp.engine import _plan
    from braindecode_elm.dsp.recipe import as_recipe

    rec = as_recipe("elm")
    fields = rec.to_dict(name=False)
    names = [e for e in dsp.TCP_ELECTRODES]
    x = np.random.default_rng(0).standard_normal((len(names), 5000)) * 1e-5
    idx, _, up, down = _plan(names, len(names), 256.0, rec)
    args = (256.0, idx, up, down, False, 1)
    want = _rust.preprocess(x, fields, *args)
    got = _rust.preprocess(x, types.MappingProxyType(fields), *args)
    np.testing.assert_array_equal(got, want)
