"""Docstrings of the public API list exactly the parameters of their signatures.

For every object a public module exports (``__all__``), and every public method
those classes define, the numpydoc ``Parameters`` section may name only parameters
the signature has (a renamed or removed argument leaves no stale entry behind),
and a docstring that has a ``Parameters`` section lists all of them (a new
argument is documented where the others are). Short one-line docstrings without
a section are allowed.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import warnings

import pytest

import braindecode_elm

docscrape = pytest.importorskip(
    "numpydoc.docscrape", reason="numpydoc is in the 'tests' extra"
)


def _public_modules() -> list[str]:
    names = ["braindecode_elm"]
    for info in pkgutil.walk_packages(braindecode_elm.__path__, "braindecode_elm."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts):
            continue
        names.append(info.name)
    return names


def _api_objects() -> dict[str, object]:
    """Qualified name -> public function, class or method, each object once."""
    out: dict[str, object] = {}
    seen: set[int] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mod_name in _public_modules():
            mod = importlib.import_module(mod_name)
            for name in getattr(mod, "__all__", ()):
                obj = getattr(mod, name, None)
                if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                    continue
                if not getattr(obj, "__module__", "").startswith("braindecode_elm"):
                    continue
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                out[f"{obj.__module__}.{obj.__qualname__}"] = obj
                if inspect.isclass(obj):
                    for attr, member in vars(obj).items():
                        if attr.startswith("_"):
                            continue
                        if isinstance(member, (staticmethod, classmethod)):
                            member = member.__func__
                        if inspect.isfunction(member) and id(member) not in seen:
                            seen.add(id(member))
                            out[f"{obj.__module__}.{member.__qualname__}"] = member
    return out


def _signature_names(obj: object) -> set[str] | None:
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    names = [p.name for p in sig.parameters.values()]
    if inspect.isfunction(obj) and names[:1] in (["self"], ["cls"]):
        names = names[1:]
    return set(names)


def _documented(doc: str, section: str = "Parameters") -> tuple[bool, set[str]]:
    """Whether there is such a section, and the names it documents."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = docscrape.NumpyDocString(doc)
    params = parsed[section]
    names: set[str] = set()
    for param in params:
        for name in param.name.split(","):
            name = name.strip().lstrip("*")
            if name:
                names.add(name)
    return bool(params), names


API = _api_objects()


def test_the_api_walk_finds_the_public_objects():
    # The walk must see the entry points users call, or the check below is void.
    for name in (
        "braindecode_elm.models.eeg_encoder.ELMEncoder",
        "braindecode_elm.evaluation.heldout.probe_windows",
        "braindecode_elm.evaluation.zeroshot.calibrate_offsets",
        "braindecode_elm.training.labelled.pretrain_labelled",
    ):
        assert name in API
    assert len(API) > 200


def test_parameters_sections_match_signatures():
    problems = []
    for qualname, obj in sorted(API.items()):
        doc = inspect.getdoc(obj) or ""
        actual = _signature_names(obj)
        if actual is None or "Parameters\n" not in doc:
            continue
        has_section, documented = _documented(doc)
        if not has_section:
            continue
        stale = documented - actual
        missing = actual - documented
        if stale:
            problems.append(f"{qualname}: documents {sorted(stale)}, not in signature")
        if missing:
            problems.append(f"{qualname}: parameters {sorted(missing)} undocumented")
    assert not problems, "\n".join(problems)


def test_dataclass_attributes_sections_match_fields():
    # Settings dataclasses (recipes, configs) document their fields as Attributes.
    problems = []
    n_checked = 0
    for qualname, obj in sorted(API.items()):
        if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj)):
            continue
        has_section, documented = _documented(inspect.getdoc(obj) or "", "Attributes")
        if not has_section:
            continue
        n_checked += 1
        fields = {f.name for f in dataclasses.fields(obj) if f.init}
        missing = fields - documented
        # An attribute that is no field must at least exist on the class
        # (a property, a method-computed value).
        stale = {n for n in documented - fields if not hasattr(obj, n)}
        if stale:
            problems.append(f"{qualname}: documents {sorted(stale)}, no such field")
        if missing:
            problems.append(f"{qualname}: fields {sorted(missing)} undocumented")
    assert n_checked >= 3
    assert not problems, "\n".join(problems)


def test_the_check_catches_drift():
    def renamed(alpha: int, beta: int) -> int:
        """Add.

        Parameters
        ----------
        alpha : int
            First.
        gamma : int
            Second (renamed to ``beta`` in the signature).
        """
        return alpha + beta

    has_section, documented = _documented(inspect.getdoc(renamed) or "")
    assert has_section
    assert documented - _signature_names(renamed) == {"gamma"}
    assert _signature_names(renamed) - documented == {"beta"}
