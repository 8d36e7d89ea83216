"""ELM-MIL pretraining throughput: EEG crops per second for a full training step.

A step is forward (EEG tower + projection, text projection) + MIL InfoNCE loss +
backward + LARS step, exactly :func:`braindecode_elm.training.step.mil_step`, at
the ``elm-5s`` batch shape: 80 recordings x 120 crops of 20 x 500 samples and
80 x 24 cached text embeddings (768-d, MedCPT's width).

Two measurements:

* **pure compute**: synthetic tensors already on the device, reused every step;
* **data path** (``--data-path``): a synthetic float16 memory-mapped cache (one
  ``.npy`` per recording, the layout of ``build_cache``) read through the training
  loop's own pipeline -- MIL sampler -> ``MILBatchDataset`` (one ``numpy.take`` per
  set from the memory map) -> ``DataLoader`` workers with pinned memory and
  prefetch -> non-blocking copy to the device -> ``mil_step``.

It imports only torch, NumPy and the torch-only parts of braindecode_elm
(``training.step``, ``training.optim``, ``training.sampler``, ``training.loader``,
``losses``). When ``braindecode_elm.models`` cannot be imported (no braindecode /
transformers, e.g. on a bare GPU machine), the EEG tower and text projection
source files are loaded directly with a minimal stand-in for braindecode's
``EEGModuleMixin`` (the tower's computation is unchanged). On CPU the default
batch is reduced (8 x 16 crops) and the output says so.

Usage::

    python benchmarks/pretrain_throughput.py                     # CPU, reduced
    python benchmarks/pretrain_throughput.py --device cuda --data-path
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch


# ------------------------------------------------------------------ model loading
class _MiniEEGModuleMixin:
    """Stand-in for braindecode's EEGModuleMixin (signal-shape bookkeeping only)."""

    def __init__(
        self,
        n_outputs=None,
        n_chans=None,
        chs_info=None,
        n_times=None,
        input_window_seconds=None,
        sfreq=None,
    ):
        super().__init__()
        self._n_outputs = n_outputs
        self._n_chans = n_chans if n_chans is not None else len(chs_info or [])
        self._chs_info = chs_info
        self._n_times = n_times
        self._input_window_seconds = input_window_seconds
        self._sfreq = sfreq

    @property
    def n_outputs(self):
        return self._n_outputs

    @property
    def n_chans(self):
        return self._n_chans

    @property
    def n_times(self):
        return self._n_times

    def _set_n_outputs(self, n_outputs):
        self._n_outputs = n_outputs


def _load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_towers() -> tuple[type, type, str]:
    """Return (ELMEncoder, TextProjection, how they were imported)."""
    try:
        from braindecode_elm.models import ELMEncoder, TextProjection

        return ELMEncoder, TextProjection, "braindecode_elm.models"
    except ImportError as err:
        reason = f"{type(err).__name__}: {err}"
    import braindecode_elm

    try:
        import braindecode.models.base  # noqa: F401
    except ImportError:
        bd = types.ModuleType("braindecode")
        bdm = types.ModuleType("braindecode.models")
        base = types.ModuleType("braindecode.models.base")
        base.EEGModuleMixin = _MiniEEGModuleMixin
        bd.models, bdm.base = bdm, base
        sys.modules.update(
            {
                "braindecode": bd,
                "braindecode.models": bdm,
                "braindecode.models.base": base,
            }
        )
    folder = Path(braindecode_elm.__file__).parent / "models"
    enc = _load_file("_elm_bench_eeg_encoder", folder / "eeg_encoder.py")
    proj = _load_file("_elm_bench_projection", folder / "projection.py")
    return (
        enc.ELMEncoder,
        proj.TextProjection,
        f"model files loaded directly (models package not importable: {reason})",
    )


# ---------------------------------------------------------------------- helpers
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _build(args, device, ELMEncoder, TextProjection, compiled: bool):
    from braindecode_elm.losses import MILInfoNCE
    from braindecode_elm.training.optim import LARS
    from braindecode_elm.training.step import MILTrainModule

    torch.manual_seed(0)
    module = MILTrainModule(
        ELMEncoder(n_filters=args.n_filters), TextProjection(args.text_dim)
    ).to(device)
    opt = LARS(list(module.parameters()), lr=0.75)
    model = torch.compile(module) if compiled else module
    return model, MILInfoNCE(0.3), opt


def _ids(b: int, k: int, device) -> torch.Tensor:
    return torch.arange(b, device=device).repeat_interleave(k)


def bench_compute(args, device, towers, mode: str) -> dict:
    """Steps on synthetic device tensors; returns crops/s and memory."""
    from braindecode_elm.training.step import mil_step

    compiled, precision = mode.split("-")
    model, loss_fn, opt = _build(args, device, *towers[:2], compiled == "compiled")
    n, m = args.batch * args.max_eeg, args.batch * args.max_text
    g = torch.Generator(device="cpu").manual_seed(0)
    x = (torch.randn(n, 20, 500, generator=g) * 2).to(device)
    feats = torch.randn(m, args.text_dim, generator=g).to(device)
    eeg_rec, text_rec = (
        _ids(args.batch, args.max_eeg, device),
        _ids(args.batch, args.max_text, device),
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        loss = mil_step(
            model, loss_fn, opt, x, feats, eeg_rec, text_rec, precision=precision
        )
    _sync(device)
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = mil_step(
            model, loss_fn, opt, x, feats, eeg_rec, text_rec, precision=precision
        )
    _sync(device)
    dt = time.perf_counter() - t0
    out = {
        "mode": mode,
        "crops_per_s": n * args.steps / dt,
        "step_ms": 1e3 * dt / args.steps,
        "warmup_s": t_warm,
        "loss": float(loss),
    }
    if device.type == "cuda":
        out["max_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def write_cache(
    root: Path, n_rec: int, n_crops: int, seed: int = 0
) -> list[np.ndarray]:
    """Synthetic float16 cache: one (20, n_times) ``.npy`` per recording, memmapped.

    Returns the crop views ``(n_crops, 20, 500)`` exactly as ``CachedRecording.crops``
    builds them (zero-copy strided views of the memory map, 10 s dropped).
    """
    rng = np.random.default_rng(seed)
    start = 1000  # 10 s at 100 Hz dropped, as in ELM
    n_times = start + n_crops * 500
    block = (rng.standard_normal((20, n_times)) * 2).astype(np.float16)
    views = []
    for r in range(n_rec):
        path = root / f"rec{r:05d}.npy"
        arr = np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float16, shape=(20, n_times)
        )
        arr[:] = np.roll(block, r * 37, axis=1)
        arr.flush()
        del arr
        data = np.load(path, mmap_mode="r")
        base = data[:, start:]
        s_ch, s_t = base.strides
        views.append(
            np.lib.stride_tricks.as_strided(
                base,
                shape=(n_crops, 20, 500),
                strides=(500 * s_t, s_ch, s_t),
                writeable=False,
            )
        )
    return views


def bench_data_path(args, device, towers, mode: str, cache_dir: Path) -> dict:
    """The loop's data path: memmap -> MILBatchDataset -> DataLoader -> device."""
    from braindecode_elm.training.loader import (
        MILBatchDataset,
        PretrainCorpus,
        make_loader,
    )
    from braindecode_elm.training.sampler import MILBatchSampler
    from braindecode_elm.training.step import mil_step

    compiled, precision = mode.split("-")
    t0 = time.perf_counter()
    views = write_cache(cache_dir, args.recordings, args.crops_per_recording)
    t_write = time.perf_counter() - t0
    n_seg = args.max_text
    items = [
        (
            f"rec{r}",
            f"sub{r}",
            v,
            [f"sentence {k} of report {r}." for k in range(n_seg)],
        )
        for r, v in enumerate(views)
    ]
    corpus = PretrainCorpus.from_arrays(items)
    g = torch.Generator().manual_seed(1)
    table = torch.randn(len(corpus.texts), args.text_dim, generator=g).to(device)
    sampler = MILBatchSampler(
        corpus.counts, args.batch, args.max_eeg, args.max_text, seed=0
    )
    model, loss_fn, opt = _build(args, device, *towers[:2], compiled == "compiled")

    def batches():
        epoch = 0
        while True:
            sampler.set_epoch(epoch)
            plan = sampler.epoch_batches()
            loader = make_loader(
                MILBatchDataset(corpus, plan),
                num_workers=args.workers,
                pin_memory=device.type == "cuda",
                prefetch_factor=args.prefetch,
            )
            yield from loader
            epoch += 1

    it = batches()

    def one() -> int:
        b = next(it)
        x = b["x"].to(device, non_blocking=True)
        eeg_rec = b["eeg_rec"].to(device, non_blocking=True)
        text_rec = b["text_rec"].to(device, non_blocking=True)
        uid = b["text_uid"].to(device, non_blocking=True)
        mil_step(
            model, loss_fn, opt, x, table[uid], eeg_rec, text_rec, precision=precision
        )
        return len(x)

    for _ in range(args.warmup):
        one()
    _sync(device)
    t0 = time.perf_counter()
    crops = sum(one() for _ in range(args.steps))
    _sync(device)
    dt = time.perf_counter() - t0
    out = {
        "mode": mode,
        "crops_per_s": crops / dt,
        "step_ms": 1e3 * dt / args.steps,
        "cache_gib": args.recordings
        * (args.crops_per_recording * 500 + 1000)
        * 40
        / 2**30,
        "cache_write_s": t_write,
        "workers": args.workers,
    }
    if device.type == "cuda":
        out["max_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", type=int, help="recordings per batch (elm-5s: 80)")
    p.add_argument("--max-eeg", type=int, help="crops per recording (elm-5s: 120)")
    p.add_argument("--max-text", type=int, default=24)
    p.add_argument("--text-dim", type=int, default=768)
    p.add_argument("--n-filters", type=int, default=32)
    p.add_argument("--steps", type=int)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument(
        "--modes",
        default="eager-fp32,eager-bf16,compiled-fp32,compiled-bf16",
        help="comma list of {eager,compiled}-{fp32,bf16}",
    )
    p.add_argument("--data-path", action="store_true", help="also run the data path")
    p.add_argument("--data-mode", help="mode for the data path (default: fastest)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    p.add_argument("--prefetch", type=int, default=4)
    p.add_argument("--recordings", type=int, help="recordings in the synthetic cache")
    p.add_argument("--crops-per-recording", type=int, default=130)
    p.add_argument("--cache-dir", help="where to write the synthetic cache")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)

    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu")
        if args.device == "auto"
        else args.device
    )
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = device.type == "cuda"
    reduced = False
    if args.batch is None:
        args.batch, reduced = (80, False) if gpu else (8, True)
    if args.max_eeg is None:
        args.max_eeg = 120 if gpu else 16
        reduced = reduced or not gpu
    if args.steps is None:
        args.steps = 10 if gpu else 3
    if args.recordings is None:
        # enough sets for ~32 full batches per epoch (the loader restarts per epoch)
        args.recordings = max(16 * args.batch, 24)
    if gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    towers = load_towers()
    header = {
        "device": torch.cuda.get_device_name(device) if gpu else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": f"{args.batch} x {args.max_eeg} crops of 20x500, "
        f"{args.batch} x {args.max_text} text embeddings of {args.text_dim}",
        "reduced_batch": reduced,
        "n_filters": args.n_filters,
        "towers": towers[2],
    }
    print(json.dumps(header, indent=1), flush=True)
    if reduced:
        print(
            "NOTE: CPU run with a REDUCED batch (the elm-5s shape is 80 x 120 crops); "
            "pass --batch 80 --max-eeg 120 for the full shape.",
            flush=True,
        )
    results = {"header": header, "compute": [], "data_path": None}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        try:
            r = bench_compute(args, device, towers, mode)
        except Exception as err:  # noqa: BLE001 - report and continue (e.g. no compiler)
            r = {"mode": mode, "error": f"{type(err).__name__}: {str(err)[:300]}"}
        results["compute"].append(r)
        print(json.dumps(r), flush=True)
        gc.collect()  # free the previous mode's model/activations before the next
        if gpu:
            torch.cuda.empty_cache()
    if args.data_path:
        ok = [r for r in results["compute"] if "crops_per_s" in r]
        if not ok:
            print("no compute mode succeeded; skipping the data path", flush=True)
        else:
            best = max(ok, key=lambda r: r["crops_per_s"])
            mode = args.data_mode or best["mode"]
            ref = next((r for r in ok if r["mode"] == mode), best)
            with tempfile.TemporaryDirectory(dir=args.cache_dir) as tmp:
                d = bench_data_path(args, device, towers, mode, Path(tmp))
            d["ratio_compute_over_data_path"] = ref["crops_per_s"] / d["crops_per_s"]
            results["data_path"] = d
            print(json.dumps(d), flush=True)
            print(
                f"SUMMARY {header['device']}: pure compute {ref['crops_per_s']:,.0f} "
                f"crops/s ({mode}); data path {d['crops_per_s']:,.0f} crops/s; "
                f"slow-down data path / pure compute = "
                f"{d['ratio_compute_over_data_path']:.3f}x",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
