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

Throughput is recording-hours per second per core (wall clock), plus the same
from process CPU time, which is steadier on a shared machine. Run with
``python benchmarks/preprocess.py [--json PATH] [--rates 256 250 512]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from collections.abc import Callable

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from braindecode_elm import _rust, dsp  # noqa: E402

ELECTRODES = "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
NAMES = [f"EEG {e}-REF" for e in ELECTRODES]
MINUTES = 60.0


def make_recording(sfreq: float, minutes: float = MINUTES, seed: int = 0) -> np.ndarray:
    """21 x n float64 volts: pink-ish noise (~20 uV) plus per-channel DC offsets."""
    rng = np.random.default_rng(seed)
    n = int(round(sfreq * minutes * 60))
    white = rng.standard_normal((21, n))
    # One-pole low-pass mix gives a 1/f-like spectrum, cheap to generate.
    from scipy.signal import lfilter

    pink = lfilter([1.0], [1.0, -0.95], white, axis=-1) * 0.3 + white
    return pink * 10e-6 + rng.uniform(-50e-6, 50e-6, (21, 1))


def timed(
    repeat: int, fn: Callable[..., object], *args: object, **kwargs: object
) -> tuple[float, float, object]:
    """Best wall and CPU seconds of ``fn(*args, **kwargs)`` over ``repeat`` runs."""
    best_wall, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


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


def run(rates: list[float], repeat: int, baselines_at: float) -> dict:
    results: dict = {
        "minutes": MINUTES,
        "n_electrodes": 21,
        "simd": _rust.simd_level(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_before": os.getloadavg()[0],
        "rows": [],
    }
    hours = MINUTES / 60.0

    def row(name: str, sfreq: float, wall: float, cpu: float, cores: int, hrs: float):
        r = {
            "method": name,
            "sfreq": sfreq,
            "wall_s": wall,
            "cpu_s": cpu,
            "cores": cores,
            "rec_h_per_s_per_core": hrs / wall / cores,
            "rec_h_per_cpu_s": hrs / cpu,
        }
        results["rows"].append(r)
        print(
            f"{name:<16} {sfreq:>6.0f} Hz  wall {wall:7.3f} s  cpu {cpu:7.3f} s  "
            f"{r['rec_h_per_s_per_core']:7.2f} rec-h/s/core  "
            f"({r['rec_h_per_cpu_s']:7.2f} per CPU-s)",
            flush=True,
        )
        return r

    for sfreq in rates:
        x = make_recording(sfreq)
        x32 = x.astype(np.float32)
        dsp.preprocess(x[:, :5000], NAMES, sfreq)  # warm up (thread pools, pages)
        w, c, y = timed(repeat, dsp.preprocess, x, NAMES, sfreq, dtype=np.float64)
        row("engine", sfreq, w, c, 1, hours)
        w, c, _ = timed(repeat, dsp.preprocess, x32, NAMES, sfreq)
        row("engine f32", sfreq, w, c, 1, hours)
        w, c, _ = timed(
            repeat, dsp.preprocess_batch, [x, x], [NAMES] * 2, [sfreq] * 2, n_threads=2
        )
        row("engine x2", sfreq, w, c, 2, 2 * hours)
        if sfreq != baselines_at:
            continue
        w, c, ref = timed(1, scipy_chain, x, sfreq)
        row("scipy", sfreq, w, c, 1, hours)
        rms = np.sqrt(np.mean(dsp.tcp_montage(x, NAMES)[0] ** 2))
        results["engine_vs_scipy_max_err_rel_rms"] = float(
            np.abs(y[0] - ref).max() / rms
        )
        w, c, _ = timed(1, mne_iir_poly, x, sfreq)
        row("mne iir+poly", sfreq, w, c, 1, hours)
        w, c, _ = timed(1, mne_defaults, x, sfreq)
        row("mne defaults", sfreq, w, c, 1, hours)
        w, c, _ = timed(1, braindecode_chain, x, sfreq)
        row("braindecode", sfreq, w, c, 1, hours)
    base = {r["method"]: r for r in results["rows"] if r["sfreq"] == baselines_at}
    if "scipy" in base:
        for r in results["rows"]:
            r["x_scipy"] = (
                r["rec_h_per_s_per_core"] / base["scipy"]["rec_h_per_s_per_core"]
            )
            r["x_scipy_cpu"] = r["rec_h_per_cpu_s"] / base["scipy"]["rec_h_per_cpu_s"]
    results["load_avg_1min_after"] = os.getloadavg()[0]
    return results


def table(results: dict) -> str:
    """The results as a reST table (also used in docs/preprocessing.rst)."""
    lines = [
        "=================  ======  ==========  ===========  ===========  ==========",
        "method             rate    wall (s)    rec-h/s      rec-h per    x SciPy",
        "                   (Hz)                per core     CPU-second   (wall/CPU)",
        "=================  ======  ==========  ===========  ===========  ==========",
    ]
    for r in results["rows"]:
        ratio = (
            f"{r['x_scipy']:.1f} / {r['x_scipy_cpu']:.1f}" if "x_scipy" in r else "-"
        )
        lines.append(
            f"{r['method']:<17}  {r['sfreq']:>6.0f}  {r['wall_s']:>10.3f}  "
            f"{r['rec_h_per_s_per_core']:>11.2f}  {r['rec_h_per_cpu_s']:>11.2f}  "
            f"{ratio:>10}"
        )
    lines.append(lines[0])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the results to this JSON file")
    p.add_argument("--rates", type=float, nargs="+", default=[256.0, 250.0, 512.0])
    p.add_argument("--repeat", type=int, default=3, help="engine repeats (best kept)")
    p.add_argument(
        "--baselines-at", type=float, default=256.0, help="rate of the slow baselines"
    )
    args = p.parse_args(argv)
    results = run(args.rates, args.repeat, args.baselines_at)
    print()
    print(table(results))
    if "engine_vs_scipy_max_err_rel_rms" in results:
        print(
            "engine vs SciPy max |error| / RMS: "
            f"{results['engine_vs_scipy_max_err_rel_rms']:.2e}"
        )
    print(
        f"load average: {results['load_avg_1min_before']:.2f} before, "
        f"{results['load_avg_1min_after']:.2f} after ({results['cpu_count']} CPUs)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
