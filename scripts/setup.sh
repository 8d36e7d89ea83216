#!/usr/bin/env bash
# Idempotent setup for a fresh clone: creates .venv, installs the pinned stack and
# tools, builds the Rust extension and installs braindecode-elm (editable) into it.
# Safe to re-run: pip skips what is installed, maturin rebuilds only on change.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
VPY=.venv/bin/python
# pip's cache (~/.cache/pip) is reused when present; torch is the big download.
"$VPY" -m pip install --quiet --upgrade "pip>=24" 
"$VPY" -m pip install --quiet -c requirements/constraints.txt \
    -r requirements/dev.txt
# Build the extension in release mode and install the package in editable mode.
"$VPY" -m maturin develop --release --quiet --extras moabb,tests 2>&1 | grep -v "^📦\|^🔗\|^🐍\|^💻" || true
"$VPY" -c "import braindecode_elm, braindecode, moabb; print('braindecode-elm', braindecode_elm.__version__, 'ready (native SIMD:', braindecode_elm._rust.simd_level() + ')')"
