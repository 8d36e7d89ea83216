"""EDF -> cached ELM windows: braindecode-elm's cache vs braindecode's MNE chain.

Both paths start from the same synthetic TUH-like EDF corpus and end with
non-overlapping 5-s windows at 100 Hz in the 20-channel TCP montage, ELM units
(x1e5, clipped at +-80), first 10 s dropped:

- ``elm``: ``build_cache(corpus_folder)`` (index, fast EDF reader, fused Rust engine:
  montage + zero-phase Butterworth 0.1-49 Hz + polyphase resampling, float16
  memory-mapped files, manifest with sha256) -> ``open_cache(...)[i].crops(5)``.
- ``mne``: braindecode's usual chain: ``TUHReports`` (lazy MNE Raw) ->
  ``braindecode.preprocessing.preprocess`` with ``Preprocessor`` steps (pick,
  MNE ``filter`` 0.1-49 Hz, bipolar reference, x1e5 + clip, ``resample`` to
  100 Hz) -> ``create_fixed_length_windows``. It keeps everything in memory
  (no serialisation), which favours it.

Both run on one core (``n_jobs=1``) and are timed alike in one process: one
warm-up run of each pipeline, then ``--repeats`` rounds running the three in
turn; best and median wall time are kept. Throughput is hours of EEG per second
of wall time; the ratio is mne / elm time (goal >= 10x). ``--json PATH`` writes
the results, ``--docs`` regenerates the README/docs tables from them.

Usage::

    python benchmarks/cache.py --n-subjects 10 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import mne  # noqa: E402
import numpy as np  # noqa: E402

from braindecode_elm import dsp  # noqa: E402
from braindecode_elm.data import (  # noqa: E402
    TUHReports,
    build_cache,
    make_synthetic_tuh,
    open_cache,
)


def run_elm(root: Path, out: Path) -> tuple[float, int]:
    """Index, cache and read every 5-s window; returns (seconds, n_windows)."""
    t0 = time.perf_counter()
    build_cache(root, out, progress=False)
    corpus = open_cache(out)
    n = 0
    for rec in corpus:
        crops = rec.crops(5.0)
        # Touch the data so the windows are really read from disk.
        n += int(np.asarray(crops[:, :, :1]).shape[0])
    return time.perf_counter() - t0, n


def _bipolar(raw: mne.io.BaseRaw) -> mne.io.BaseRaw:
    anodes = [a for a, _ in dsp.TCP_PAIRS]
    cathodes = [b for _, b in dsp.TCP_PAIRS]
    return mne.set_bipolar_reference(
        raw, anodes, cathodes, drop_refs=True, copy=False, verbose="error"
    )


def _scale_clip(x: np.ndarray) -> np.ndarray:
    return np.clip(x * dsp.ELM_SCALE, -dsp.ELM_CLIP, dsp.ELM_CLIP)


def run_mne(root: Path, save_dir: Path | None = None) -> tuple[float, int]:
    """braindecode's usual MNE preprocessing + windowing; (seconds, n_windows).

    With ``save_dir`` the preprocessed recordings are serialised the braindecode
    way (``preprocess(..., save_dir=...)``, FIF files reloaded lazily), i.e. an
    on-disk cache like ours; without it everything stays in memory.
    """
    from braindecode.preprocessing import (
        Preprocessor,
        create_fixed_length_windows,
        preprocess,
    )

    t0 = time.perf_counter()
    ds = TUHReports(root)
    electrodes = sorted({e for p in dsp.TCP_PAIRS for e in p})

    def rename(raw: mne.io.BaseRaw) -> mne.io.BaseRaw:
        raw.rename_channels(dsp.normalize_ch_name)
        raw.pick(electrodes)
        return raw

    steps = [
        Preprocessor(rename, apply_on_array=False),
        Preprocessor(
            "filter", l_freq=0.1, h_freq=49.0, verbose="error", apply_on_array=False
        ),
        Preprocessor(_bipolar, apply_on_array=False),
        Preprocessor(_scale_clip),
        Preprocessor("resample", sfreq=100.0, verbose="error", apply_on_array=False),
        Preprocessor("crop", tmin=10.0, apply_on_array=False),
    ]
    if save_dir is not None:
        shutil.rmtree(save_dir, ignore_errors=True)
        save_dir.mkdir(parents=True)
        ds = preprocess(ds, steps, n_jobs=1, save_dir=str(save_dir), overwrite=True)
    else:
        preprocess(ds, steps, n_jobs=1)
    win = create_fixed_length_windows(
        ds,
        window_size_samples=500,
        window_stride_samples=500,
        on_last_window="drop",
        n_jobs=1,
    )
    n = sum(len(d) for d in win.datasets)
    for d in win.datasets:
        d[0]
    return time.perf_counter() - t0, n


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and print both throughputs and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-subjects", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="rounds after warm-up")
    ap.add_argument("--json", type=Path, default=None, help="write results here")
    ap.add_argument("--docs", action="store_true", help="regenerate the tables")
    ap.add_argument("--work-dir", type=Path, default=None)
    ap.add_argument("--from-json", type=Path, default=None, help="no run: read")
    args = ap.parse_args(argv)
    mne.set_log_level("ERROR")
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        print(table(results))
        print(caption(results))
        if args.docs:
            write_docs(results)
        return results

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="elm-bench-"))
    root = work / "corpus"
    if not (root / "ground_truth.csv").exists():
        make_synthetic_tuh(root, args.n_subjects, seed=args.seed, progress=False)
    gt = __import__("pandas").read_csv(root / "ground_truth.csv")
    hours = gt["duration_s"].sum() / 3600.0
    print(
        f"corpus: {len(gt)} EDF recordings, {hours:.2f} h, "
        f"{gt['n_channels'].min()}-{gt['n_channels'].max()} channels at "
        f"{sorted(gt['sfreq'].unique())} Hz; engine backend: {dsp.backend()}"
    )
    times: dict[str, list[float]] = {"elm": [], "mne_disk": [], "mne_mem": []}
    counts = {}
    load_before = os.getloadavg()[0]
    for rnd in range(args.repeats + 1):  # round 0: warm-up, not kept
        out = work / "cache"
        shutil.rmtree(out, ignore_errors=True)
        for name, fn in (
            ("elm", lambda out=out: run_elm(root, out)),
            ("mne_disk", lambda: run_mne(root, work / "mne_cache")),
            ("mne_mem", lambda: run_mne(root)),
        ):
            t, counts[name] = fn()
            if rnd:
                times[name].append(t)
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    if len(set(counts.values())) != 1:
        print(f"warning: window counts differ {counts}")
    labels = {
        "elm": "elm cache (build_cache + crops, on disk)",
        "mne_disk": "mne chain, saved (preprocess save_dir)",
        "mne_mem": "mne chain, in memory (no cache)",
    }
    for name, t in best.items():
        print(
            f"{labels[name]:42s}: {t:7.2f} s  {hours * 3600 / t:7.0f}x real time  "
            f"{counts[name] / t:7.0f} windows/s"
        )
    ratio = best["mne_disk"] / best["elm"]
    ratio_mem = best["mne_mem"] / best["elm"]
    ratio_med = median["mne_disk"] / median["elm"]
    print(
        f"ratio elm / mne saved: {ratio:.1f}x best, {ratio_med:.1f}x median "
        f"(goal >= 10x); elm / mne in memory: {ratio_mem:.1f}x"
    )
    results = {
        "script": "benchmarks/cache.py",
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "n_subjects": args.n_subjects,
        "seed": args.seed,
        "n_recordings": int(len(gt)),
        "hours": float(hours),
        "repeats": args.repeats,
        "timing": "one warm-up round, then `repeats` rounds alternating the "
        "pipelines in one process; best and median kept",
        "engine_simd_level": dsp.simd_level(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_before": load_before,
        "load_avg_1min_after": os.getloadavg()[0],
        "windows": counts,
        "times_s": times,
        "best_s": best,
        "median_s": median,
        "ratio_best": ratio,
        "ratio_median": ratio_med,
        "ratio_mem_best": ratio_mem,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.docs:
        write_docs(results)
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return {
        **{f"{k}_s": v for k, v in best.items()},
        "ratio": ratio,
        "ratio_mem": ratio_mem,
    }


def table(results: dict) -> str:
    """reST table of one results file (also shown in the README)."""
    h = results["hours"]
    labels = {
        "elm": "``build_cache`` (Rust engine, float16 cache)",
        "mne_disk": "braindecode MNE chain, saved (``save_dir``)",
        "mne_mem": "braindecode MNE chain, in memory",
    }
    rule = "=" * 45 + "  " + "=" * 8 + "  " + "=" * 10 + "  " + "=" * 19
    lines = [
        rule,
        f"{'pipeline':<45}  {'best (s)':<8}  {'median (s)':<10}  speed (x real time)",
        rule,
    ]
    for k, lab in labels.items():
        b, m = results["best_s"][k], results["median_s"][k]
        lines.append(f"{lab:<45}  {b:>8.2f}  {m:>10.2f}  {h * 3600 / b:>19,.0f}")
    lines.append(rule)
    return "\n".join(lines)


def caption(results: dict) -> str:
    return (
        f"{results['n_recordings']} EDF recordings, {results['hours']:.2f} h; "
        f"measured {results['date_utc']} UTC, engine level "
        f"{results['engine_simd_level']}, {results['cpu_count']} CPUs, one warm-up "
        f"round then {results['repeats']} alternating rounds in one process; load "
        f"average {results['load_avg_1min_before']:.2f} before, "
        f"{results['load_avg_1min_after']:.2f} after (shared machine). Ratio to the "
        f"saved chain: {results['ratio_best']:.1f}x (best), "
        f"{results['ratio_median']:.1f}x (median), goal >= 10x; to the in-memory "
        f"chain {results['ratio_mem_best']:.1f}x."
    )


def write_docs(results: dict) -> None:
    """Regenerate the README and docs/benchmarks.rst blocks ``cache``."""
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo / "scripts"))
    from docs_tables import replace_block

    t, c = table(results), caption(results)
    replace_block(repo / "README.md", "cache", f"```\n{t}\n```\n\n{c}")
    replace_block(repo / "docs" / "benchmarks.rst", "cache", f"{t}\n\n{c}")


if __name__ == "__main__":
    main()
