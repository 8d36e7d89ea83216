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


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print both throughputs and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-subjects", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    mne.set_log_level("ERROR")

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
    best = {"elm": np.inf, "mne_disk": np.inf, "mne_mem": np.inf}
    counts = {}
    for _ in range(args.repeats):
        out = work / "cache"
        shutil.rmtree(out, ignore_errors=True)
        for name, fn in (
            ("elm", lambda out=out: run_elm(root, out)),
            ("mne_disk", lambda: run_mne(root, work / "mne_cache")),
            ("mne_mem", lambda: run_mne(root)),
        ):
            t, counts[name] = fn()
            best[name] = min(best[name], t)
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
    print(
        f"ratio elm / mne saved: {ratio:.1f}x (goal >= 10x); "
        f"elm / mne in memory: {ratio_mem:.1f}x"
    )
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return {
        **{f"{k}_s": v for k, v in best.items()},
        "ratio": ratio,
        "ratio_mem": ratio_mem,
    }


if __name__ == "__main__":
    main()
