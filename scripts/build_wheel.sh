#!/usr/bin/env bash
# Build the portable abi3 wheel (CPython >= 3.10, manylinux_2_17 / manylinux2014)
# into dist/ and check its platform tag with auditwheel.
# zig (PyPI package `ziglang`) links against an old glibc baseline so the wheel runs
# on older distributions; no `target-cpu=native`: SIMD is chosen at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
export PATH="$PWD/.venv/bin:$HOME/.cargo/bin:$PATH"
rm -f dist/braindecode_elm-*.whl
maturin build --release --zig --compatibility manylinux2014 --out dist
auditwheel show dist/braindecode_elm-*.whl
