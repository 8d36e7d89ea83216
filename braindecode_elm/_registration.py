"""Register braindecode-elm models in braindecode's model registry.

Braindecode has no plugin hook: ``braindecode.models.util.models_dict`` is filled by
scanning ``braindecode.models``. We add our classes there explicitly and
idempotently. To keep ``import braindecode_elm`` free of torch, registration runs
either immediately (braindecode already imported) or right after
``braindecode.models`` is first imported, via a one-shot import hook.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from typing import Any

_DONE = False


def register_models() -> list[str]:
    """Register every braindecode-elm model class in braindecode's registry.

    Idempotent. Raises a clear ``RuntimeError`` if braindecode's registry layout has
    changed, instead of silently not registering.

    Returns
    -------
    list of str
        The names registered.
    """
    global _DONE
    from .models.registry import MODEL_REGISTRY, register_in_braindecode

    names = register_in_braindecode()
    _DONE = True
    assert set(names) <= set(MODEL_REGISTRY)
    return names


class _AfterImport(importlib.abc.MetaPathFinder):
    """Run :func:`register_models` once ``braindecode.models`` has been executed."""

    def find_spec(self, fullname: str, path: Any, target: Any = None):  # noqa: D401
        if fullname != "braindecode.models" or _DONE:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            _remove_hook()
            try:
                register_models()
            except ImportError:
                # Our models package needs torch like braindecode does; if that import
                # fails here braindecode's own import fails too and reports why.
                pass

        spec.loader = _Loader(loader, exec_module)
        return spec


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any, exec_module: Any) -> None:
        self._inner = inner
        self._exec = exec_module

    def create_module(self, spec: Any) -> Any:
        return self._inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._exec(module)


_HOOK = _AfterImport()


def _remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def install_registration_hook() -> None:
    """Register now if braindecode is loaded, else when ``braindecode.models`` loads."""
    if "braindecode.models" in sys.modules:
        register_models()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
