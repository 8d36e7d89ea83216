#!/usr/bin/env bash
# Build the portable abi3 wheel (CPython >= 3.10, manylinux_2_17 / manylinux2014)
# into dist/ and check its platform tag with auditwheel.
# zig (PyPI package `ziglang`) links against an old glibc baseline so the wheel runs
# on older distributions; no `target-cpu=native`: SIMD is chosen at run time.
#
#   scripts/build_wheel.sh                            # this machine's arch (x86_64)
#   scripts/build_wheel.sh aarch64-unknown-linux-gnu  # cross-built ARM64 wheel
#
# Cross-building needs the target's Rust standard library
# (`rustup target add aarch64-unknown-linux-gnu`); zig is the cross linker.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
export PATH="$PWD/.venv/bin:$HOME/.cargo/bin:$PATH"
target="${1:-}"
arch="${target%%-*}"
arch="${arch:-$(uname -m)}"
rm -f dist/braindecode_elm-*"${arch}".whl
maturin build --release --zig --compatibility manylinux2014 --out dist \
    ${target:+--target "$target"}
auditwheel show dist/braindecode_elm-*"${arch}".whl
