#!/usr/bin/env bash
# One self-contained GPU check of ELM-MIL pretraining throughput (<= 8 minutes).
#
# Needs on the GPU machine: python3 with torch (CUDA) and numpy. Nothing else, no
# internet. Installs the braindecode-elm abi3 wheel with `pip install --no-deps`
# into a private folder (falls back to unzipping it when pip is absent), then runs
# benchmarks/pretrain_throughput.py:
#   1. pure compute: synthetic tensors already on the GPU, elm-5s batch shape
#      (80 x 120 crops of 20 x 500, 80 x 24 text embeddings), eager vs compiled,
#      fp32 vs bf16;
#   2. data path: synthetic float16 memory-mapped cache -> MIL sampler ->
#      DataLoader workers (pinned memory, prefetch) -> GPU, with the fastest mode;
# and prints crops/s, peak GPU memory and the ratio pure compute / data path.
#
# Usage (from the repository root or anywhere):
#   bash benchmarks/gpu_check.sh                 # wheel from ./dist/*.whl
#   bash benchmarks/gpu_check.sh path/to/braindecode_elm-*.whl
# Environment: PYTHON (default python3), GPU_CHECK_MODES, GPU_CHECK_TIMEOUT (s),
# GPU_CHECK_WORKERS.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
WHEEL="${1:-}"
MODES="${GPU_CHECK_MODES:-eager-fp32,eager-bf16,compiled-bf16}"
LATE_MODES="${GPU_CHECK_LATE_MODES:-compiled-fp32}"  # only if time is left
LIMIT="${GPU_CHECK_TIMEOUT:-420}"
BUDGET="${GPU_CHECK_BUDGET:-470}"  # whole script, seconds
WORK="$(mktemp -d "${TMPDIR:-/tmp}/elm_gpu_check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
T0=$(date +%s)

echo "== braindecode-elm GPU check ($(date -u +%FT%TZ)) =="
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PY" - <<'EOF'
import sys, torch, numpy
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {numpy.__version__}, "
      f"cuda available: {torch.cuda.is_available()}")
if not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch: this check needs a GPU")
EOF

if [ -z "$WHEEL" ]; then
    WHEEL="$(ls -t "$HERE"/dist/braindecode_elm-*.whl 2>/dev/null | head -n 1 || true)"
fi
if [ -n "$WHEEL" ]; then
    echo "installing $WHEEL (--no-deps) into $WORK/site"
    if ! "$PY" -m pip install --quiet --no-deps --no-index --target "$WORK/site" "$WHEEL"; then
        echo "pip unavailable or failed: unzipping the wheel instead"
        "$PY" -m zipfile -e "$WHEEL" "$WORK/site"
    fi
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
elif ls "$HERE"/braindecode_elm/_rust*.so >/dev/null 2>&1; then
    echo "no wheel under $HERE/dist: using the source tree (its built extension)"
    export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
else
    echo "ERROR: no wheel found (dist/braindecode_elm-*.whl) and no built extension in" >&2
    echo "       $HERE/braindecode_elm; build one with 'maturin build --release'" >&2
    exit 2
fi

# Run from an empty folder so only the installed package is importable.
cd "$WORK"
"$PY" -c "import braindecode_elm, sys; print('braindecode_elm', braindecode_elm.__version__, 'from', braindecode_elm.__file__)"

WORKERS="${GPU_CHECK_WORKERS:-$(( $(nproc) > 2 ? ($(nproc) / 2 > 8 ? 8 : $(nproc) / 2) : 1 ))}"
timeout "$LIMIT" "$PY" "$HERE/benchmarks/pretrain_throughput.py" \
    --device cuda --modes "$MODES" --steps 20 --warmup 3 \
    --data-path --workers "$WORKERS" --prefetch 4 --cache-dir "$WORK" \
    --json "$WORK/gpu_check.json" || echo "benchmark exited with status $?"

LEFT=$(( BUDGET - ($(date +%s) - T0) ))
if [ -n "$LATE_MODES" ] && [ "$LEFT" -gt 60 ]; then
    echo "== extra modes ($LATE_MODES), ${LEFT} s left =="
    timeout "$(( LEFT - 10 ))" "$PY" "$HERE/benchmarks/pretrain_throughput.py" \
        --device cuda --modes "$LATE_MODES" --steps 20 --warmup 3 \
        --json "$WORK/gpu_check_late.json" || echo "extra modes exited with status $?"
else
    echo "skipping extra modes ($LATE_MODES): only ${LEFT} s left"
fi

if [ -f "$WORK/gpu_check.json" ]; then
    "$PY" - "$WORK/gpu_check.json" "$WORK/gpu_check_late.json" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
if os.path.exists(sys.argv[2]):
    r["compute"] += json.load(open(sys.argv[2]))["compute"]
print("\n== results ==")
print(f"device: {r['header']['device']}; batch: {r['header']['batch']}")
for c in r["compute"]:
    if "error" in c:
        print(f"  {c['mode']:<14} FAILED: {c['error']}")
    else:
        print(f"  {c['mode']:<14} {c['crops_per_s']:>10,.0f} crops/s  {c['step_ms']:7.1f} ms/step"
              f"  peak GPU mem {c.get('max_mem_gib', 0):5.1f} GiB  (first steps {c['warmup_s']:.1f} s)")
d = r.get("data_path")
if d:
    print(f"  data path [{d['mode']}, {d['workers']} workers, {d['cache_gib']:.1f} GiB memmap cache]:"
          f" {d['crops_per_s']:,.0f} crops/s, peak GPU mem {d.get('max_mem_gib', 0):.1f} GiB")
    print(f"  ratio pure compute / data path = {d['ratio_compute_over_data_path']:.3f} (goal <= 1.2)")
    best = max(c["crops_per_s"] for c in r["compute"] if "crops_per_s" in c)
    print(f"  goal >= 50,000 crops/s: best pure compute {best:,.0f}, data path {d['crops_per_s']:,.0f}")
    print(f"  TUEG-scale ELM-5s epoch (~4.1 M crops) at the data-path rate: "
          f"{4.1e6 / d['crops_per_s']:.0f} s")
EOF
fi
echo "total wall time: $(( $(date +%s) - T0 )) s"
