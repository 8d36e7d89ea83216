"""Benchmark of the preprocessing engine against SciPy, MNE and Braindecode.

One synthetic 60-minute recording with the 21 TUH electrodes (volts, 1/f-like
noise plus a DC offset) is turned into the 20-channel TCP montage, band-passed
0.1-49 Hz and resampled to 100 Hz by every contender, in one process on the
same array:

* ``engine``: :func:`braindecode_elm.dsp.preprocess` (fused Rust kernel, float64
  maths), 1 thread; ``engine x2``: two recordings on two threads
  (:func:`~braindecode_elm.dsp.preprocess_batch`); ``engine f32``: float32 I/O.
* ``scipy``: matrix montage + ``butter(4, output="sos")`` + ``sosfiltfilt`` +
  ``resample_poly`` (the reference the engine reproduces).
* ``mne iir+poly``: ``raw.filter(method="iir", 4th-order Butterworth SOS)`` +
  ``raw.resample(method="polyphase")``.
* ``mne defaults``: ``raw.filter(0.1, 49)`` (FIR) + ``raw.resample(100)`` (FFT).
* ``braindecode``: the usual ``Preprocessor`` chain (bipolar reference, filter,
  scale, clip, resample) through ``braindecode.preprocessing.preprocess``.

Every method is timed the same way, in one process: one warm-up call each
(imports, thread pools, page faults), then ``--repeat`` rounds in which the
methods run one after another (so load from other jobs hits them alike); the
best and the median of the rounds are kept, in wall clock and in process CPU
time (steadier on a shared machine). The engine runs at every SIMD level this
CPU has a kernel for (:func:`braindecode_elm.dsp.force_simd`), each level's ratio
to SciPy coming from the same rounds. Run with
``python benchmarks/preprocess.py [--json PATH] [--docs] [--rates 256 512]``;
``--docs`` regenerates the README/docs tables from the JSON
(``--from-json PATH --docs`` without measuring).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from braindecode_elm import dsp  # noqa: E402

ELECTRODES = "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
NAMES = [f"EEG {e}-REF" for e in ELECTRODES]
MINUTES = 60.0
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results" / "preprocess.json"


def make_recording(sfreq: float, minutes: float = MINUTES, seed: int = 0) -> np.ndarray:
    """21 x n float64 volts: pink-ish noise (~20 uV) plus per-channel DC offsets."""
    rng = np.random.default_rng(seed)
    n = int(round(sfreq * minutes * 60))
    white = rng.standard_normal((21, n))
    # One-pole low-pass mix gives a 1/f-like spectrum, cheap to generate.
    from scipy.signal import lfilter

    pink = lfilter([1.0], [1.0, -0.95], white, axis=-1) * 0.3 + white
    return pink * 10e-6 + rng.uniform(-50e-6, 50e-6, (21, 1))


def scipy_chain(x: np.ndarray, sfreq: float) -> np.ndarray:
    from scipy import signal

    index, _ = dsp.resolve_pairs(NAMES)
    m = np.zeros((len(index), x.shape[0]))
    m[np.arange(len(index)), index[:, 0]] = 1.0
    m[np.arange(len(index)), index[:, 1]] = -1.0
    y = m @ x
    sos = signal.butter(4, [0.1, 49.0], btype="bandpass", output="sos", fs=sfreq)
    y = signal.sosfiltfilt(sos, y, axis=-1)
    up, down, _ = dsp.rational_factors(sfreq, 100.0)
    return signal.resample_poly(y, up, down, axis=-1)


def _tcp_raw(x: np.ndarray, sfreq: float):
    import mne

    y, names = dsp.tcp_montage(x, NAMES)
    return mne.io.RawArray(y, mne.create_info(names, sfreq, "eeg"), verbose="error")


def mne_iir_poly(x: np.ndarray, sfreq: float) -> np.ndarray:
    raw = _tcp_raw(x, sfreq)
    raw.filter(
        0.1,
        49.0,
        method="iir",
        iir_params=dict(order=4, ftype="butter", output="sos"),
        verbose="error",
    )
    raw.resample(100.0, method="polyphase", verbose="error")
    return raw.get_data()


def mne_defaults(x: np.ndarray, sfreq: float) -> np.ndarray:
    raw = _tcp_raw(x, sfreq)
    raw.filter(0.1, 49.0, verbose="error")
    raw.resample(100.0, verbose="error")
    return raw.get_data()


def _scale(x: np.ndarray, factor: float) -> np.ndarray:
    return x * factor


def _clip(x: np.ndarray, limit: float) -> np.ndarray:
    return np.clip(x, -limit, limit)


def braindecode_chain(x: np.ndarray, sfreq: float) -> np.ndarray:
    import mne
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import Preprocessor, preprocess

    raw = mne.io.RawArray(x, mne.create_info(NAMES, sfreq, "eeg"), verbose="error")
    anodes = [f"EEG {a}-REF" for a, _ in dsp.TCP_PAIRS]
    cathodes = [f"EEG {b}-REF" for _, b in dsp.TCP_PAIRS]

    def bipolar(r):
        return mne.set_bipolar_reference(
            r, anodes, cathodes, drop_refs=True, copy=False, verbose="error"
        ).pick([f"{a}-{c}" for a, c in zip(anodes, cathodes)])

    ds = BaseConcatDataset([RawDataset(raw, description={"subject": 0})])
    steps = [
        Preprocessor(bipolar, apply_on_array=False),
        Preprocessor("filter", l_freq=0.1, h_freq=49.0, verbose="error"),
        Preprocessor(_scale, factor=dsp.ELM_SCALE),
        Preprocessor(_clip, limit=dsp.ELM_CLIP),
        Preprocessor("resample", sfreq=100.0, verbose="error"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preprocess(ds, steps, n_jobs=1)
    return ds.datasets[0].raw.get_data()


def timed_rounds(
    methods: dict[str, Callable[[], object]], repeat: int
) -> dict[str, dict[str, float]]:
    """Time every method alike: one warm-up call each, then ``repeat`` rounds
    running the methods in turn; best and median wall/CPU seconds per method."""
    for fn in methods.values():
        fn()
    wall: dict[str, list[float]] = {k: [] for k in methods}
    cpu: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(repeat):
        for name, fn in methods.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {
        k: {
            "wall_best_s": min(wall[k]),
            "wall_median_s": statistics.median(wall[k]),
            "cpu_best_s": min(cpu[k]),
            "cpu_median_s": statistics.median(cpu[k]),
            "wall_s_all": wall[k],
            "cpu_s_all": cpu[k],
        }
        for k in methods
    }


def _at_level(level: str, fn: Callable[..., object]) -> Callable[..., object]:
    def call(*args: object, **kwargs: object) -> object:
        with dsp.force_simd(level):
            return fn(*args, **kwargs)

    return call


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(rates: list[float], repeat: int, baselines: bool, levels: list[str]) -> dict:
    """Measure every method at every rate; the engine at each SIMD level."""
    results: dict = {
        "script": "benchmarks/preprocess.py",
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "minutes": MINUTES,
        "n_electrodes": 21,
        "repeat": repeat,
        "timing": "one warm-up call per method, then `repeat` rounds alternating "
        "the methods in one process; best and median kept",
        "cpu": cpu_model(),
        "cpu_simd_level": dsp.cpu_simd_level(),
        "levels": levels,
        "cpu_count": os.cpu_count(),
        "load_avg_1min_before": os.getloadavg()[0],
        "python": platform.python_version(),
        "rows": [],
    }
    hours = MINUTES / 60.0
    for sfreq in rates:
        x = make_recording(sfreq)
        x32 = x.astype(np.float32)
        methods: dict[str, Callable[[], object]] = {
            "scipy": lambda x=x, sfreq=sfreq: scipy_chain(x, sfreq)
        }
        for lv in levels:
            methods[f"engine {lv}"] = lambda x=x, sfreq=sfreq, lv=lv: _at_level(
                lv, dsp.preprocess
            )(x, NAMES, sfreq, dtype=np.float64)
            methods[f"engine f32 {lv}"] = lambda x32=x32, sfreq=sfreq, lv=lv: _at_level(
                lv, dsp.preprocess
            )(x32, NAMES, sfreq)
        top = levels[-1]
        methods[f"engine x2 {top}"] = lambda x=x, sfreq=sfreq, top=top: _at_level(
            top, dsp.preprocess_batch
        )([x, x], [NAMES] * 2, [sfreq] * 2, n_threads=2)
        if baselines:
            methods["mne iir+poly"] = lambda x=x, sfreq=sfreq: mne_iir_poly(x, sfreq)
            methods["mne defaults"] = lambda x=x, sfreq=sfreq: mne_defaults(x, sfreq)
            methods["braindecode"] = lambda x=x, sfreq=sfreq: braindecode_chain(
                x, sfreq
            )
        print(f"{sfreq:.0f} Hz: timing {', '.join(methods)} ...", flush=True)
        t = timed_rounds(methods, repeat)
        ref = scipy_chain(x, sfreq)
        rms = np.sqrt(np.mean(dsp.tcp_montage(x, NAMES)[0] ** 2))
        sc = t["scipy"]
        for name, r in t.items():
            work = 2 * hours if name.startswith("engine x2") else hours
            cores = 2 if name.startswith("engine x2") else 1
            row = {"method": name, "sfreq": sfreq, "cores": cores, **r}
            row["rec_h_per_cpu_s"] = work / r["cpu_best_s"]
            row["rec_h_per_s_per_core"] = work / r["wall_best_s"] / cores
            # Ratio to SciPy per recording-hour of work, same rounds.
            row["x_scipy_cpu_best"] = sc["cpu_best_s"] / (
                r["cpu_best_s"] / work * hours
            )
            row["x_scipy_cpu_median"] = sc["cpu_median_s"] / (
                r["cpu_median_s"] / work * hours
            )
            row["x_scipy_wall_best"] = sc["wall_best_s"] / (
                r["wall_best_s"] / work * hours / cores
            )
            if name.startswith("engine ") and " x2 " not in name:
                lv = name.split()[-1]
                f32 = " f32 " in name
                with dsp.force_simd(lv):
                    y = dsp.preprocess(
                        x32 if f32 else x, NAMES, sfreq, dtype=np.float64
                    )
                row["max_err_rel_rms"] = float(np.abs(y[0] - ref).max() / rms)
            results["rows"].append(row)
            print(
                f"{name:<18} {sfreq:>5.0f} Hz  cpu best {r['cpu_best_s']:7.3f} s "
                f"median {r['cpu_median_s']:7.3f} s  wall {r['wall_best_s']:7.3f} s"
                f"  x SciPy (cpu best/median) {row['x_scipy_cpu_best']:5.1f} / "
                f"{row['x_scipy_cpu_median']:5.1f}",
                flush=True,
            )
    results["load_avg_1min_after"] = os.getloadavg()[0]
    return results


def table(results: dict) -> str:
    """The results as a reST/Markdown-code table."""
    cols = [
        ("method", "", 18),
        ("rate", "(Hz)", 4),
        ("CPU s", "best", 7),
        ("CPU s", "median", 7),
        ("rec-h per", "CPU-s", 9),
        ("x SciPy", "best / median", 13),
        ("max err", "/ RMS", 9),
    ]
    rule = "  ".join("=" * w for _, _, w in cols)
    heads = ["  ".join(f"{c[k]:<{c[2]}}" for c in cols).rstrip() for k in (0, 1)]
    lines = [rule, *heads, rule]
    for r in results["rows"]:
        per = 2.0 if r["method"].startswith("engine x2") else 1.0
        err = f"{r['max_err_rel_rms']:.1e}" if "max_err_rel_rms" in r else "-"
        lines.append(
            f"{r['method']:<18}  {r['sfreq']:>4.0f}  {r['cpu_best_s'] / per:>7.3f}  "
            f"{r['cpu_median_s'] / per:>7.3f}  {r['rec_h_per_cpu_s']:>9.2f}  "
            f"{r['x_scipy_cpu_best']:>5.1f} / {r['x_scipy_cpu_median']:<5.1f}  "
            f"{err:>9}"
        )
    lines.append(rule)
    return "\n".join(lines)


def caption(results: dict) -> str:
    """One line naming the run (machine, date, load, repeats)."""
    return (
        f"Measured {results['date_utc']} UTC on {results['cpu']} "
        f"({results['cpu_count']} CPUs, best level {results['cpu_simd_level']}), "
        f"{results['repeat']} rounds after a warm-up, methods alternating in one "
        f"process; load average {results['load_avg_1min_before']:.2f} before, "
        f"{results['load_avg_1min_after']:.2f} after (shared machine). Times per "
        "recording-hour (the two-thread batch: per recording)."
    )


#: The engine's speed goal: this many times SciPy's best CPU time, at 256 Hz in
#: float64, on every SIMD level.
GOAL_X_SCIPY = 11.0


def goal_line(results: dict) -> str:
    """Each float64 engine level at 256 Hz against :data:`GOAL_X_SCIPY`."""
    parts = []
    for r in results["rows"]:
        m = r["method"]
        # Rows are named "engine <level>"; "engine f32 <level>" (float32 I/O)
        # and "engine x2 <level>" (two-thread batch) are not part of the goal.
        if r["sfreq"] != 256 or not m.startswith("engine ") or len(m.split()) != 2:
            continue
        x = r["x_scipy_cpu_best"]
        met = "met" if x >= GOAL_X_SCIPY else "not met"
        parts.append(
            f"{m.split()[1]} {x:.2f}x (median {r['x_scipy_cpu_median']:.2f}x): {met}"
        )
    return (
        f"Goal: at least {GOAL_X_SCIPY:g}x SciPy by best CPU time at 256 Hz in "
        "float64 on every SIMD level. This run: " + "; ".join(parts) + "."
    )


def write_docs(results: dict) -> None:
    """Regenerate the README and docs tables from ``results``."""
    sys.path.insert(0, str(REPO / "scripts"))
    from docs_tables import replace_block

    t = table(results)
    note = f"{caption(results)}\n\n{goal_line(results)}"
    replace_block(REPO / "README.md", "preprocess", f"```\n{t}\n```\n\n{note}")
    rst = f"{t}\n\n{note}"
    for page in ("benchmarks.rst", "preprocessing.rst"):
        replace_block(REPO / "docs" / page, "preprocess", rst)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path, help="write the results to this JSON file")
    p.add_argument("--from-json", type=Path, help="no measurement: read this file")
    p.add_argument(
        "--docs", action="store_true", help="regenerate the README/docs tables"
    )
    p.add_argument("--rates", type=float, nargs="+", default=[256.0])
    p.add_argument("--repeat", type=int, default=5, help="timed rounds (after warm-up)")
    p.add_argument(
        "--levels",
        nargs="+",
        default=None,
        help="SIMD levels of the engine (default: every level with a kernel here)",
    )
    p.add_argument(
        "--no-baselines", action="store_true", help="skip MNE and braindecode"
    )
    args = p.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        levels = args.levels or dsp.kernel_simd_levels()
        results = run(args.rates, args.repeat, not args.no_baselines, levels)
    print()
    print(table(results))
    print(caption(results))
    outs = [args.json] if args.json else []
    if args.docs:
        # The docs tables come from the results file: whatever regenerates them
        # writes it too (it was left stale beside new tables).
        outs.append(RESULTS)
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")
    if args.docs:
        write_docs(results)


if __name__ == "__main__":
    main()
