"""Which SIMD kernels the engine runs, and how to force a level.

The level is chosen once per process from the ``ELM_SIMD`` environment variable
(``scalar``, ``avx2``, ``avx512`` or ``auto``; a level the CPU lacks falls back
to the widest one below it with a ``RuntimeWarning``), else the best the CPU
has. ``sse2`` (x86-64), ``neon`` (aarch64) and ``baseline`` name the level of a
CPU without AVX2+FMA: the portable kernels (the ``scalar`` code) compiled for
the target's base instruction set, which :func:`simd_level` then reports (the
other architecture's name, ``neon`` on x86-64 or ``sse2`` on aarch64, runs the
same kernels and says so with a ``RuntimeWarning``).
:func:`force_simd` changes it for a block of code (tests, benchmarks); all
levels give the same numbers to ~1e-12 of the signal RMS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .. import _rust

__all__ = ["cpu_simd_level", "force_simd", "kernel_simd_levels", "simd_level"]


def simd_level() -> str:
    """The level the engine uses now: ``avx512``, ``avx2``, ``sse2``, ``neon``
    or ``scalar``."""
    return _rust.simd_level()


def cpu_simd_level() -> str:
    """The widest level this CPU supports (what ``ELM_SIMD=auto`` uses)."""
    return _rust.cpu_simd_level()


def kernel_simd_levels() -> list[str]:
    """Levels with a kernel of their own that this CPU runs, narrowest first."""
    return list(_rust.kernel_simd_levels())


@contextmanager
def force_simd(level: str | None) -> Iterator[str]:
    """Run the engine at ``level`` inside the ``with`` block (process-wide).

    Parameters
    ----------
    level : str | None
        ``"scalar"``, ``"avx2"``, ``"avx512"``, or ``None``/``"auto"`` for the
        default. A level the CPU lacks falls back (``RuntimeWarning``); an
        unknown name raises ``ValueError``.

    Yields
    ------
    str
        The level actually in use.

    Notes
    -----
    The previous setting is restored on exit; not meant for concurrent use
    from several threads with different levels.
    """
    previous = _rust.simd_level()
    default = _rust.set_simd_level(None)
    # Restore a forced level only if it differed from the default.
    restore = previous if previous != default else None
    try:
        yield _rust.set_simd_level(level)
    finally:
        _rust.set_simd_level(restore)
