"""Run the engine's pytest files once per SIMD level this CPU has a kernel for.

The main pytest run covers the default level (the CPU's best); this runs
``tests/test_dsp*.py`` again with ``ELM_SIMD`` forcing every lower level, so an
AVX2-only or scalar machine's paths are exercised on any developer's machine.
Used by tox (``py`` env); extra arguments go to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from braindecode_elm import _rust


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    files = sorted(
        str(p.relative_to(root)) for p in (root / "tests").glob("test_dsp*.py")
    )
    best = _rust.cpu_simd_level()
    levels = [lv for lv in _rust.kernel_simd_levels() if lv != best]
    print(
        f"simd levels: cpu={best}, kernels={_rust.kernel_simd_levels()}, "
        f"forcing {levels or 'none'}",
        flush=True,
    )
    for level in levels:
        print(f"--- ELM_SIMD={level}: {' '.join(files)}", flush=True)
        env = {**os.environ, "ELM_SIMD": level}
        rc = subprocess.call(
            [sys.executable, "-m", "pytest", "-q", *files, *argv], cwd=root, env=env
        )
        if rc != 0:
            print(f"ELM_SIMD={level}: pytest failed (exit {rc})", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
