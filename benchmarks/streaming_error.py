"""Error of block-wise preprocessing against the whole-signal result.

:func:`braindecode_elm.dsp.preprocess_chunked` processes a recording in blocks
with ``overlap_seconds`` of discarded context on each side. This script
measures ``max |chunked - whole| / RMS(whole)`` (maximum over all channels and
samples, RMS over the whole output; float64 output unless stated) where
``whole`` is :func:`braindecode_elm.dsp.preprocess` of the full array:

* ``synthetic``: the 21-electrode TUH-named recording of
  ``benchmarks/preprocess.py`` (60 min, pink-ish noise plus DC offsets) at 256,
  250 and 500 Hz, 600-s blocks, for a range of overlaps; ``synthetic+drift``
  adds 5 mV DC offsets and a random walk (a few hundred uV, like electrode
  drift in raw clinical EEG), ``synth+artifacts`` 1 mV steps at and near
  every block boundary and 2 mV bursts;
* the automatic overlap at 256 Hz with other block sizes (one not a multiple of
  ``down``), float32 output, the ELM scale and clip (and a clip that is active),
  the ``"mne"`` filter padding, ``"reflect"`` resampling, and other bands;
* ``eegmat``: the 72 real PhysioNet EEGMAT recordings (500 Hz, 62 s each) read
  block by block from the EDF files (``mne.io.Raw`` with ``preload=False``),
  with short blocks since the files are short (worst case over the files);
* ``eegmat concat``: the 36 task recordings concatenated (37 min of real EEG at
  500 Hz), with the synthetic overlaps and 600-s blocks.

*cost* is the chunked wall time over the whole-signal wall time (one thread,
best of ``--repeat``; noisy on a shared machine). Run ``python
benchmarks/streaming_error.py [--json PATH] [--minutes 60]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from preprocess import NAMES, make_recording  # noqa: E402

from braindecode_elm import dsp  # noqa: E402
from braindecode_elm.dsp.streaming import (  # noqa: E402
    DEFAULT_OVERLAP_S,
    ERROR_BOUND,
    auto_overlap_seconds,
)

OVERLAPS = [0.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 75.0, 90.0, 120.0]
BLOCK_S = 600.0
# (block, overlap) seconds for the 62-s EEGMAT files.
EEGMAT_CONFIGS = [(10.0, 2.0), (10.0, 5.0), (10.0, 10.0), (20.0, 20.0), (30.0, 30.0)]


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """``max |got - want| / RMS(want)`` in float64."""
    want = np.asarray(want, dtype=np.float64)
    rms = float(np.sqrt(np.mean(want**2)))
    return float(np.abs(np.asarray(got, dtype=np.float64) - want).max() / rms)


REPEAT = 3  # timing repeats (best kept); set by --repeat


def _chunked(x, names, sfreq, block, overlap, repeat=1, **kw):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        y, _ = dsp.preprocess_chunked(
            x, names, sfreq, block_seconds=block, overlap_seconds=overlap, **kw
        )
        best = min(best, time.perf_counter() - t0)
    return y, best


def _row(rows, case, sfreq, block, overlap, err, cost=None, note="", default=False):
    """Record one measurement; ``default``: the automatic overlap, float64 out."""
    r = {
        "case": case,
        "sfreq": sfreq,
        "block_s": block,
        "overlap_s": overlap,
        "max_err_rel_rms": err,
        "time_vs_whole": cost,
        "note": note,
        "default_overlap": default,
    }
    rows.append(r)
    print(
        f"{case:<16} {sfreq:>5.0f} Hz  block {block:>7.1f} s  overlap "
        f"{overlap:>6.1f} s  err {err:9.2e}  {note}",
        flush=True,
    )


def _whole(x, names, sfreq, **kw):
    best = np.inf
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        y, _ = dsp.preprocess(x, names, sfreq, **kw)
        best = min(best, time.perf_counter() - t0)
    return y, best


def drift_recording(sfreq: float, minutes: float, seed: int = 1) -> np.ndarray:
    """The synthetic recording plus 5 mV DC offsets and a random-walk drift."""
    x = make_recording(sfreq, minutes)
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal(x.shape), axis=1) * (1e-6 * 256 / sfreq)
    return x + walk + rng.uniform(-5e-3, 5e-3, (x.shape[0], 1))


def artifact_recording(sfreq: float, minutes: float, seed: int = 3) -> np.ndarray:
    """The synthetic recording plus 1 mV steps at and near every block boundary
    (the worst place for them) and twenty 1-s 2 mV bursts."""
    x = make_recording(sfreq, minutes)
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    for b in np.arange(BLOCK_S, n / sfreq, BLOCK_S):
        for d in (-3.0, 0.0, 0.5, 2.0, 7.0, 20.0):
            i = int((b + d) * sfreq)
            x[rng.integers(x.shape[0]), i:] += rng.choice([-1.0, 1.0]) * 1e-3
    for i in rng.integers(0, n - int(sfreq), 20):
        x[rng.integers(x.shape[0]), i : i + int(sfreq)] += 2e-3
    return x


def _sweep(rows: list, case: str, x, names, sfreq: float, note: str = "") -> None:
    whole, t_whole = _whole(x, names, sfreq, dtype=np.float64)
    for ov in OVERLAPS:
        y, sec = _chunked(x, names, sfreq, BLOCK_S, ov, REPEAT, dtype=np.float64)
        err = rel_err(y, whole)
        dflt = ov == DEFAULT_OVERLAP_S
        _row(rows, case, sfreq, BLOCK_S, ov, err, sec / t_whole, note, dflt)


def synthetic(rows: list, rates: list[float], minutes: float) -> None:
    for sfreq in rates:
        _sweep(rows, "synthetic", make_recording(sfreq, minutes), NAMES, sfreq)
    x = drift_recording(256.0, minutes)
    _sweep(rows, "synthetic+drift", x, NAMES, 256.0)
    x = artifact_recording(256.0, minutes)
    _sweep(rows, "synth+artifacts", x, NAMES, 256.0)


def options(rows: list, minutes: float) -> None:
    """The automatic overlap with other blocks, dtypes, recipes and bands."""
    sfreq = 256.0
    ov = auto_overlap_seconds(sfreq)
    x = drift_recording(sfreq, minutes)
    whole, _ = dsp.preprocess(x, NAMES, sfreq, dtype=np.float64)
    for block in (ov, 250.3, 1800.0):
        y, _ = _chunked(x, NAMES, sfreq, block, None, dtype=np.float64)
        err = rel_err(y, whole)
        _row(rows, "block size", sfreq, block, ov, err, default=True)
    w32, _ = dsp.preprocess(x, NAMES, sfreq, dtype=np.float32)
    y, _ = _chunked(x, NAMES, sfreq, BLOCK_S, None, dtype=np.float32)
    _row(rows, "float32 out", sfreq, BLOCK_S, ov, rel_err(y, whole), note="vs f64")
    _row(rows, "float32 out", sfreq, BLOCK_S, ov, rel_err(y, w32), note="vs f32")
    err = rel_err(w32, whole)
    _row(rows, "float32 whole", sfreq, 0.0, 0.0, err, note="whole f32 vs f64")
    x32 = x.astype(np.float32)
    w, _ = dsp.preprocess(x32, NAMES, sfreq, dtype=np.float64)
    y, _ = _chunked(x32, NAMES, sfreq, BLOCK_S, None, dtype=np.float64)
    _row(rows, "float32 in", sfreq, BLOCK_S, ov, rel_err(y, w), default=True)
    for note, kw in (
        ("scale 1e5, clip 80", dict(scale=dsp.ELM_SCALE, clip=dsp.ELM_CLIP)),
        ("scale 1e5, clip 2", dict(scale=dsp.ELM_SCALE, clip=2.0)),
        ("padtype mne", dict(padtype="mne")),
        ("resample reflect", dict(resample_padtype="reflect")),
    ):
        w, _ = dsp.preprocess(x, NAMES, sfreq, dtype=np.float64, **kw)
        y, _ = _chunked(x, NAMES, sfreq, BLOCK_S, None, dtype=np.float64, **kw)
        if "clip 2" in note:
            note += f" ({np.mean(np.abs(w) >= 2.0):.0%} clipped)"
        _row(rows, "options", sfreq, BLOCK_S, ov, rel_err(y, w), None, note, True)
    for l_freq, order in ((0.05, 4), (0.1, 2), (0.1, 6), (0.5, 4), (1.0, 4)):
        kw = dict(l_freq=l_freq, order=order)
        band_ov = auto_overlap_seconds(sfreq, **kw)
        w, _ = dsp.preprocess(x, NAMES, sfreq, dtype=np.float64, **kw)
        block = max(BLOCK_S, 2 * band_ov)
        y, _ = _chunked(x, NAMES, sfreq, block, None, dtype=np.float64, **kw)
        note = f"l_freq {l_freq:g} Hz, order {order}"
        _row(rows, "band", sfreq, block, band_ov, rel_err(y, w), None, note, True)


def _eegmat_files(root: Path) -> list[Path]:
    return sorted(root.glob("Subject*_[12].edf"))


def eegmat(rows: list, root: Path) -> None:
    from braindecode_elm.data.physionet import load_eegmat_raw

    files = _eegmat_files(root)
    errs: dict[tuple[float, float], list[float]] = {c: [] for c in EEGMAT_CONFIGS}
    for path in files:
        raw = load_eegmat_raw(path, preload=False)
        whole, _ = dsp.preprocess(
            raw.get_data(), raw.ch_names, raw.info["sfreq"], dtype=np.float64
        )
        for block, ov in EEGMAT_CONFIGS:
            # The Raw itself: blocks come from raw.get_data(start=, stop=).
            y, _ = dsp.preprocess_chunked(
                raw, block_seconds=block, overlap_seconds=ov, dtype=np.float64
            )
            errs[(block, ov)].append(rel_err(y, whole))
    for (block, ov), e in errs.items():
        note = f"worst of {len(e)} files (median {np.median(e):.1e})"
        _row(rows, "eegmat", 500.0, block, ov, float(np.max(e)), None, note)


def eegmat_concat(rows: list, root: Path) -> None:
    from braindecode_elm.data.physionet import load_eegmat_raw

    parts, names = [], None
    for path in sorted(root.glob("Subject*_2.edf")):
        raw = load_eegmat_raw(path, preload=True)
        names = raw.ch_names
        parts.append(raw.get_data())
    x = np.concatenate(parts, axis=1)
    del parts
    minutes = x.shape[1] / 500.0 / 60
    note = f"36 files, {minutes:.0f} min"
    _sweep(rows, "eegmat concat", x, names, 500.0, note)


def table(rows: list) -> str:
    """The results as a reST simple table (used in docs/preprocessing.rst)."""
    rule = "================  =====  ======  =======  =========  =====  " + "=" * 30
    head = [
        rule,
        "case              rate   block   overlap  max err /  cost   note",
        "                  (Hz)   (s)     (s)      RMS        (x)",
        rule,
    ]
    lines = list(head)
    for r in rows:
        cost = r["time_vs_whole"]
        cost = "-" if cost is None else f"{cost:.2f}"
        lines.append(
            f"{r['case']:<16}  {r['sfreq']:>5.0f}  {r['block_s']:>6.1f}  "
            f"{r['overlap_s']:>7.1f}  {r['max_err_rel_rms']:>9.2e}  {cost:>5}  "
            f"{r['note']}".rstrip()
        )
    lines.append(head[0])
    return "\n".join(lines)


SWEEPS = [
    ("synthetic", 256.0, "synth 256"),
    ("synthetic", 250.0, "synth 250"),
    ("synthetic", 500.0, "synth 500"),
    ("synthetic+drift", 256.0, "+drift 256"),
    ("synth+artifacts", 256.0, "+artif. 256"),
    ("eegmat concat", 500.0, "EEGMAT 500"),
]


def summary(rows: list) -> str:
    """Error per overlap (rows) and sweep (columns), 600-s blocks, reST table."""
    cols = []
    for case, sfreq, label in SWEEPS:
        by_ov = {
            r["overlap_s"]: r for r in rows if r["case"] == case and r["sfreq"] == sfreq
        }
        if by_ov:
            cols.append((label, by_ov))
    rule = "=======  " + "  ".join("=" * 11 for _ in cols) + "  ====="
    lines = [
        rule,
        "overlap  " + "  ".join(f"{label:>11}" for label, _ in cols) + "  cost",
        rule,
    ]
    for ov in OVERLAPS:
        errs = [by_ov[ov]["max_err_rel_rms"] for _, by_ov in cols if ov in by_ov]
        costs = [by_ov[ov]["time_vs_whole"] for _, by_ov in cols if ov in by_ov]
        lines.append(
            f"{ov:>5.0f} s  "
            + "  ".join(f"{e:>11.1e}" for e in errs)
            + f"  {np.median(costs):>5.2f}"
        )
    lines.append(rule)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    # Short overlaps are what this script measures: their warning is expected.
    warnings.filterwarnings("ignore", message="preprocess_chunked: overlap_seconds")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the results to this JSON file")
    p.add_argument("--minutes", type=float, default=60.0, help="synthetic length")
    p.add_argument("--rates", type=float, nargs="+", default=[256.0, 250.0, 500.0])
    p.add_argument("--no-eegmat", action="store_true", help="skip the real data")
    p.add_argument("--repeat", type=int, default=3, help="timing repeats (best)")
    args = p.parse_args(argv)
    global REPEAT
    REPEAT = args.repeat
    warnings.filterwarnings("ignore", category=FutureWarning)
    rows: list = []
    synthetic(rows, args.rates, args.minutes)
    options(rows, args.minutes)
    root = None
    if not args.no_eegmat:
        from braindecode_elm.data.physionet import eegmat_folder

        root = eegmat_folder()
        if root is None:
            print("EEGMAT not found (set ELM_DATA_DIR): skipping the real data")
        else:
            eegmat(rows, root)
            eegmat_concat(rows, root)
    print()
    print(table(rows))
    print()
    print("max |chunked - whole| / RMS(whole) by overlap, 600-s blocks, float64;")
    print("cost = median chunked time / whole time")
    print(summary(rows))
    worst = max(r["max_err_rel_rms"] for r in rows if r["default_overlap"])
    print(
        f"default overlap {DEFAULT_OVERLAP_S:g} s (other bands scaled by "
        f"auto_overlap_seconds); documented bound {ERROR_BOUND:.0e}; worst "
        f"measured with the default (automatic) overlap, float64 output: "
        f"{worst:.2e} ({ERROR_BOUND / worst:.0f}x margin)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "default_overlap_s": DEFAULT_OVERLAP_S,
                    "error_bound": ERROR_BOUND,
                    "block_s": BLOCK_S,
                    "minutes": args.minutes,
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
