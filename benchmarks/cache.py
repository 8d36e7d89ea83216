"""EDF -> cached ELM windows: braindecode-elm's cache vs braindecode's MNE chain.

Both paths start from the same synthetic TUH-like EDF corpus and end with
non-overlapping 5-s windows at 100 Hz in the 20-channel TCP montage, ELM units
(x1e5, clipped at +-80), first 10 s dropped:

- ``elm``: ``TUHReports`` -> ``build_cache`` (fast EDF reader, fused Rust engine:
  montage + zero-phase Butterworth 0.1-49 Hz + polyphase resampling, float16
  memory-mapped files, manifest with sha256) -> ``open_cache(...)[i].crops(5)``.
- ``mne``: braindecode's usual chain: ``TUHReports`` (lazy MNE Raw) ->
  ``braindecode.preprocessing.preprocess`` with ``Preprocessor`` steps (pick,
  MNE ``filter`` 0.1-49 Hz, bipolar reference, x1e5 + clip, ``resample`` to
  100 Hz) -> ``create_fixed_length_windows``. It keeps everything in memory
  (no serialisation), which favours it.

Both run on one core (``n_jobs=1``). Throughput is hours of EEG per second of
wall time; the ratio is elm / mne (goal >= 10x).

Usage::

    python benchmarks/cache.py --n-subjects 10 --seed 0
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
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
    build_cache(TUHReports(root), out, progress=False)
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


def run_mne(root: Path) -> tuple[float, int]:
    """braindecode's usual MNE preprocessing + windowing; (seconds, n_windows)."""
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
        Preprocessor("filter", l_freq=0.1, h_freq=49.0, verbose="error"),
        Preprocessor(_bipolar, apply_on_array=False),
        Preprocessor(lambda x: np.clip(x * dsp.ELM_SCALE, -dsp.ELM_CLIP, dsp.ELM_CLIP)),
        Preprocessor("resample", sfreq=100.0, verbose="error"),
    ]
    preprocess(ds, steps, n_jobs=1)
    win = create_fixed_length_windows(
        ds,
        start_offset_samples=1000,
        window_size_samples=500,
        window_stride_samples=500,
        drop_last_window=True,
        n_jobs=1,
    )
    n = sum(len(d) for d in win.datasets)
    for d in win.datasets:
        d[0]
    return time.perf_counter() - t0, n


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print both throughputs and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-subjects", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work-dir", type=Path, default=None)
    args = ap.parse_args(argv)

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
    best_elm = best_mne = np.inf
    for _ in range(args.repeats):
        out = work / "cache"
        shutil.rmtree(out, ignore_errors=True)
        t_elm, n_elm = run_elm(root, out)
        t_mne, n_mne = run_mne(root)
        best_elm, best_mne = min(best_elm, t_elm), min(best_mne, t_mne)
    if n_elm != n_mne:
        print(f"warning: window counts differ (elm {n_elm}, mne {n_mne})")
    r_elm, r_mne = hours / best_elm, hours / best_mne
    print(
        f"elm cache : {best_elm:7.2f} s  {r_elm * 3600:8.0f}x real time  "
        f"{n_elm / best_elm:8.0f} windows/s"
    )
    print(
        f"mne chain : {best_mne:7.2f} s  {r_mne * 3600:8.0f}x real time  "
        f"{n_mne / best_mne:8.0f} windows/s"
    )
    print(f"ratio     : {r_elm / r_mne:.1f}x (goal >= 10x)")
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return {"elm_s": best_elm, "mne_s": best_mne, "ratio": r_elm / r_mne}


if __name__ == "__main__":
    main()
