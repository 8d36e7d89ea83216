#!/usr/bin/env bash
# Install braindecode-elm as a new user would and check it with the network cut.
#
#   scripts/check_clean_install.sh            # from the source distribution (sdist)
#   scripts/check_clean_install.sh wheel      # from a locally built wheel
#
# 1. builds the sdist (`maturin sdist`) or the manylinux wheel (maturin + zig);
# 2. creates a new virtual environment in a temporary folder (python3 -m venv)
#    and pip-installs the artifact there with the pinned versions
#    (requirements/constraints.txt through PIP_CONSTRAINT; the sdist compiles the
#    extension with the local Rust toolchain). Downloads ~5 GB from PyPI (torch);
# 3. cuts the network: a new network namespace (`unshare -n`, only a loopback
#    that is down) when the kernel allows it, otherwise HF_HUB_OFFLINE=1 plus a
#    sitecustomize that makes every socket connect fail; it says which;
# 4. runs, with an empty HOME, outside the checkout and without HF_*_OFFLINE set
#    (in a namespace): import + native SIMD level, SciPy parity of the engine at
#    every SIMD level, ELM.from_pretrained("elm-open-5s"),
#    ELMFeatures("elm-open-5s") on real EEG, and `elm preprocess` + `elm zeroshot
#    --model elm-open-5s --prompts eegmat_rest_arithmetic` (the bundle's own
#    prompts) on six eegmat EDF files (subjects 24-26, held out of the bundle's
#    training);
# 5. deletes the temporary folder (KEEP=1 keeps it).
#
# Environment: ELM_CLEAN_DIR (where the temporary folder goes, default /tmp; the
# venv takes ~5.5 GB), ELM_EEGMAT_DIR (folder holding SubjectNN_R.edf, default
# $ELM_DATA_DIR/eegmat or ../shared/data/eegmat), PYTHON (default python3),
# MATURIN (default: maturin on PATH, else .venv/bin/maturin).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
kind="${1:-sdist}"
case "$kind" in sdist | wheel) ;; *)
    echo "usage: $0 [sdist|wheel]" >&2
    exit 2
    ;;
esac
PY="${PYTHON:-python3}"
MATURIN="${MATURIN:-$(command -v maturin || echo "$root/.venv/bin/maturin")}"
[ -x "$MATURIN" ] || {
    echo "maturin not found: pip install maturin (or run scripts/setup.sh)" >&2
    exit 2
}
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
data="${ELM_DATA_DIR:-$root/../shared/data}"
eegmat="${ELM_EEGMAT_DIR:-$data/eegmat}"
edfs=()
for s in 24 25 26; do
    for r in 1 2; do
        f="$(find -L "$eegmat" -name "Subject${s}_${r}.edf" -print -quit 2>/dev/null || true)"
        [ -n "$f" ] || {
            echo "Subject${s}_${r}.edf not found under $eegmat (set ELM_EEGMAT_DIR)" >&2
            exit 2
        }
        edfs+=("$f")
    done
done

work="$(mktemp -d "${ELM_CLEAN_DIR:-/tmp}/elm-clean.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi
step() { printf '\n=== %s\n' "$*"; }

step "build the $kind"
if [ "$kind" = sdist ]; then
    "$MATURIN" sdist --out "$work/dist"
    artifact="$(ls "$work"/dist/braindecode_elm-*.tar.gz)"
else
    "$MATURIN" build --release --zig --compatibility manylinux2014 --out "$work/dist"
    artifact="$(ls "$work"/dist/braindecode_elm-*.whl)"
fi
echo "artifact: $(basename "$artifact")"

step "install into a new virtual environment ($PY -m venv)"
"$PY" -m venv "$work/venv"
venv="$work/venv"
start=$SECONDS
# The sdist's Rust build goes to a target folder inside the temporary folder so
# that no earlier build of the checkout is reused.
PIP_CONSTRAINT="$root/requirements/constraints.txt" CARGO_TARGET_DIR="$work/target" \
    nice -n 10 "$venv/bin/pip" install --quiet --no-cache-dir "$artifact"
echo "installed in $((SECONDS - start)) s; venv $(du -sh "$venv" | cut -f1)"
rm -rf "$work/target"

# Inputs for the checks: the six EDF files in a plain folder, their labels.
mkdir -p "$work/eeg" "$work/home" "$work/run"
ln -s "${edfs[@]}" "$work/eeg/"
{
    echo "recording_id,state"
    for f in "${edfs[@]}"; do
        id="$(basename "$f" .edf)"
        case "$id" in *_1) echo "$id,rest" ;; *) echo "$id,arithmetic" ;; esac
    done
} >"$work/labels.csv"

step "cut the network"
# A clean environment: empty HOME (no caches of models), no PYTHONPATH, run from
# a folder outside the checkout.
clean_env=(env -i "HOME=$work/home" "PATH=$venv/bin:/usr/bin:/bin" "LANG=C.UTF-8"
    "OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}" "TMPDIR=$work/run")
if unshare -n true 2>/dev/null; then
    cut=(unshare -n)
    echo "network: new network namespace (unshare -n); HF_HUB_OFFLINE not set"
elif unshare -rn true 2>/dev/null; then
    cut=(unshare -rn)
    echo "network: new user+network namespace (unshare -rn); HF_HUB_OFFLINE not set"
else
    mkdir -p "$work/nonet"
    cat >"$work/nonet/sitecustomize.py" <<'EOF'
# Every outgoing connection fails, as on a machine without network.
import socket


def _refuse(*args, **kwargs):
    raise OSError("network disabled by check_clean_install.sh")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
socket.create_connection = _refuse
EOF
    cut=()
    clean_env+=("PYTHONPATH=$work/nonet" "HF_HUB_OFFLINE=1" "TRANSFORMERS_OFFLINE=1")
    echo "network: no namespace allowed here; HF_HUB_OFFLINE=1 + sitecustomize" \
        "that refuses every socket connection"
fi
run() { (cd "$work/run" && "${cut[@]}" "${clean_env[@]}" "$@"); }

cat >"$work/check.py" <<'EOF'
"""Checks of a fresh install with no network (run by check_clean_install.sh)."""

import socket
import sys
import time
from pathlib import Path

import numpy as np

work = Path(sys.argv[1])
try:
    socket.create_connection(("pypi.org", 443), timeout=5).close()
    sys.exit("network: pypi.org:443 is reachable, the network is not cut")
except OSError as err:
    print(f"network: pypi.org:443 unreachable ({type(err).__name__}: {err})")

import braindecode_elm  # noqa: E402 (after the network probe)
from braindecode_elm import _rust, dsp  # noqa: E402
from braindecode_elm.dsp import _reference as ref  # noqa: E402

where = Path(braindecode_elm.__file__).resolve()
assert str(where).startswith(str(work / "venv")), where
print(f"braindecode_elm {braindecode_elm.__version__} from {where.parent}")
print(f"simd_level {_rust.simd_level()}, kernels {dsp.kernel_simd_levels()}")

# Engine against the SciPy reference: 30 s of 21 channels at 256 Hz.
names = [
    f"EEG {n}-REF"
    for n in "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
]
sfreq = 256.0
x = np.random.default_rng(0).standard_normal((21, int(30 * sfreq))) * 1e-5
want, _ = ref.preprocess(x, names, sfreq, scale=dsp.ELM_SCALE)
rms = float(np.sqrt(np.mean(want**2)))
for level in dsp.kernel_simd_levels():
    with dsp.force_simd(level):
        got, _ = dsp.preprocess(x, names, sfreq, scale=dsp.ELM_SCALE, dtype=np.float64)
    err = float(np.max(np.abs(got - want)) / rms)
    print(f"dsp.preprocess at {level}: max |engine - SciPy| / RMS = {err:.1e}")
    assert err <= 1e-9, (level, err)

from braindecode_elm.evaluation import ELMFeatures  # noqa: E402
from braindecode_elm.models import ELM  # noqa: E402

t0 = time.perf_counter()
model = ELM.from_pretrained("elm-open-5s")
n_par = sum(p.numel() for p in model.parameters())
print(
    f"ELM.from_pretrained('elm-open-5s'): {type(model).__name__}, {n_par} parameters,"
    f" prompt sets {sorted(model.prompt_sets)} ({time.perf_counter() - t0:.1f} s)"
)

import mne  # noqa: E402

edf = sorted((work / "eeg").glob("*.edf"))[0]
raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
sf = raw.info["sfreq"]
win = int(5 * sf)
epochs = np.stack([raw.get_data()[:, i * win : (i + 1) * win] for i in range(4)])
feats = ELMFeatures("elm-open-5s", ch_names=raw.ch_names, sfreq=sf, units="V")
emb = feats.fit_transform(epochs)
norms = np.linalg.norm(emb, axis=1)
print(
    f"ELMFeatures('elm-open-5s') on {edf.name}: {epochs.shape} -> {emb.shape},"
    f" norms {np.round(norms, 3).tolist()}"
)
assert emb.shape == (4, 256) and np.all(np.isfinite(emb))
assert np.allclose(norms, 1.0, atol=1e-4)
print("python checks: OK")
EOF

step "python checks (no network)"
run python "$work/check.py" "$work"

step "elm preprocess + elm zeroshot --model elm-open-5s (no network)"
run elm preprocess "$work/eeg" "$work/cache"
run elm zeroshot --model elm-open-5s --cache "$work/cache" \
    --prompts eegmat_rest_arithmetic --labels "$work/labels.csv:state" \
    --device cpu --quiet --out "$work/zeroshot"
"$venv/bin/python" - "$work/zeroshot/zeroshot.json" <<'EOF'
import json, sys
res = json.load(open(sys.argv[1]))
assert len(res["ids"]) == 6 and sorted(res["classes"]) == ["arithmetic", "rest"], res
print(f"zeroshot.json: {len(res['ids'])} recordings scored, classes {res['classes']}")
EOF
step "clean install from the $kind: all checks passed"
