"""The ELM-MIL pretraining loop: ``pretrain(config) -> RunResult``."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..dsp.recipe import ELM_SFREQ
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import (
    DistInfo,
    convert_sync_bn,
    init_distributed,
    shutdown_distributed,
)
from .loader import MILBatchDataset, PretrainCorpus, make_loader, subject_split
from .metrics import MetricsLogger, dump_run_info
from .optim import build_optimizer, param_groups
from .sampler import DistributedMILBatchSampler, MILBatchSampler
from .schedule import scaled_lr, warmup_cosine_lr
from .step import MILTrainModule, mil_step

log = logging.getLogger(__name__)

__all__ = ["pretrain", "RunResult", "recording_retrieval", "FINAL_DIR"]

#: Sub-folder of the run holding the final ``ELM.save_pretrained`` weights.
FINAL_DIR = "final"


@dataclass
class RunResult:
    """What :func:`pretrain` returns.

    Attributes
    ----------
    run_dir : pathlib.Path
        The run folder.
    final_dir : pathlib.Path or None
        ``run_dir / "final"``, loadable with ``ELM.from_pretrained`` (None on
        non-zero ranks).
    history : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``lr``, ``crops_per_s``,
        ``val_r1``, ``val_chance``, ``val_n``.
    step : int
        Optimiser steps done in total.
    resumed_from : pathlib.Path or None
        Checkpoint the run resumed from.
    first_loss : float or None
        Loss of the first logged step of this run (for quick sanity checks).
    """

    run_dir: Path
    final_dir: Path | None
    history: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0
    resumed_from: Path | None = None
    first_loss: float | None = None


def _unwrap(module: nn.Module) -> nn.Module:
    module = getattr(module, "_orig_mod", module)  # torch.compile
    return getattr(module, "module", module)  # DDP


def _l2n(t: torch.Tensor) -> torch.Tensor:
    return F.normalize(t.float(), dim=-1)


@torch.no_grad()
def recording_retrieval(
    module: MILTrainModule,
    corpus: PretrainCorpus,
    text_table: torch.Tensor,
    *,
    device: torch.device,
    max_crops: int = 120,
    positives: str = "recording",
    chunk: int = 512,
) -> dict[str, float]:
    """Recording-level EEG -> text retrieval R@1 on ``corpus``.

    A recording's EEG embedding is the normalised mean of its (up to ``max_crops``,
    evenly spaced) normalised crop embeddings; its text embedding is the normalised
    mean of its normalised segment embeddings. R@1 is the fraction of recordings
    whose most similar text is their own (with ``positives="text"``, any recording
    with the identical set of texts counts as a hit). ``chance`` is the expected
    R@1 of a random ranking.

    Parameters
    ----------
    module : MILTrainModule
        Trained towers (unwrapped).
    corpus : PretrainCorpus
        Validation recordings (held-out subjects).
    text_table : torch.Tensor
        (U, d) language-model features of ``corpus.texts``.
    device : torch.device
        Device to run on.
    max_crops : int
        Crops per recording.
    positives : {"recording", "text"}
        Hit definition (see above).
    chunk : int
        Crops per forward pass.

    Returns
    -------
    dict
        ``r1``, ``chance`` and ``n`` (number of recordings).
    """
    was_training = module.training
    module.eval()
    eeg, txt = [], []
    for r, rec in enumerate(corpus.recordings):
        n = len(rec.crops)
        idx = np.unique(np.linspace(0, n - 1, min(n, max_crops)).round().astype(int))
        crops = np.asarray(rec.crops[idx], dtype=np.float32)
        embs = [
            _l2n(module.eeg_encoder(torch.from_numpy(crops[s : s + chunk]).to(device)))
            for s in range(0, len(crops), chunk)
        ]
        eeg.append(_l2n(torch.cat(embs).mean(0)))
        feats = text_table[torch.as_tensor(corpus.segment_uids[r], device=device)]
        txt.append(_l2n(_l2n(module.text_projection(feats)).mean(0)))
    module.train(was_training)
    sim = torch.stack(eeg) @ torch.stack(txt).T
    pred = sim.argmax(1).cpu().numpy()
    n_rec = len(corpus)
    if positives == "text":
        keys = [tuple(sorted(set(u.tolist()))) for u in corpus.segment_uids]
        same = np.array([[a == b for b in keys] for a in keys])
    else:
        same = np.eye(n_rec, dtype=bool)
    hits = same[np.arange(n_rec), pred]
    return {
        "r1": float(hits.mean()),
        "chance": float(same.sum(1).mean() / n_rec),
        "n": n_rec,
    }


#: Config fields that define the sampling plan and the model: a checkpoint only
#: resumes exactly under the same values.
_PLAN_FIELDS = (
    "batch_size",
    "max_eeg",
    "max_text",
    "seed",
    "crop_seconds",
    "drop_first_s",
    "max_minutes",
    "text_mode",
    "val_fraction",
    "max_recordings",
    "variant",
    "n_filters",
    # Another text tower gives other text features (often another width).
    "text_model",
)

#: Settings a resumed run may change, which then make it neither the old run
#: nor a fresh one with the new settings (the schedule is a function of
#: ``epochs``; the loss of ``temperature``): said in a warning.
_RECIPE_FIELDS = (
    "epochs",
    "warmup_epochs",
    "base_lr",
    "min_lr_ratio",
    "optimizer",
    "weight_decay",
    "momentum",
    "eta",
    "temperature",
    "positives",
    "text_max_length",
    "precision",
)


def _text_model_key(name: Any) -> str:
    """One text model's identity across its spellings ("medcpt" and its hub
    id, "minilm" and its folder)."""
    from ..models.text_encoder import resolve_text_model

    try:
        target, model_id, _ = resolve_text_model(str(name))
    except (OSError, ValueError):
        return str(name)
    return os.path.realpath(target) if os.path.isdir(target) else model_id


def _check_resume_compatible(
    ckpt: Path, cfg: TrainConfig, world: int, corpus_id: dict[str, Any] | None = None
) -> None:
    try:
        state = json.loads((ckpt / "state.json").read_text())
    except ValueError as exc:  # a damaged (e.g. cut-short) state.json
        raise ValueError(
            f"checkpoint {ckpt} is damaged ({ckpt / 'state.json'}: {exc}); resume "
            "from an earlier one with --resume PATH (resume=PATH)"
        ) from exc
    saved = state.get("config", {})
    was = state.get("corpus")
    if corpus_id is not None and was is not None and was != corpus_id:
        raise ValueError(
            f"cannot resume from {ckpt}: it was trained on another corpus "
            f"({was['n_recordings']} training recordings, ids sha1 "
            f"{was['ids_sha1'][:12]}) than the one given now "
            f"({corpus_id['n_recordings']}, {corpus_id['ids_sha1'][:12]}); resume "
            "with the same cache or start a new run folder"
        )
    diff = {
        k: (saved.get(k), getattr(cfg, k))
        for k in _PLAN_FIELDS
        if k in saved
        and saved.get(k) != getattr(cfg, k)
        and not (
            k == "text_model"
            and _text_model_key(saved.get(k)) == _text_model_key(cfg.text_model)
        )
    }
    if state.get("world_size", world) != world:
        diff["world_size"] = (state.get("world_size"), world)
    if diff:
        raise ValueError(
            f"cannot resume from {ckpt}: these settings differ from the checkpoint "
            f"(saved, now): {diff}; resume with the run's own config (see "
            "RUN_DIR/config.yaml) or start a new run folder"
        )
    changed = {
        k: (saved.get(k), getattr(cfg, k))
        for k in _RECIPE_FIELDS
        if k in saved and saved.get(k) != getattr(cfg, k)
    }
    if changed:
        log.warning(
            "resuming from %s with settings other than the checkpoint's (saved, "
            "now): %s; the rest of the run follows the new ones (a changed "
            "'epochs' changes the learning-rate schedule from here on), so the "
            "result is neither the old run nor a fresh one with these settings",
            ckpt,
            changed,
        )


def _encode_texts(
    cfg: TrainConfig, texts: list[str], info: DistInfo, run_dir: Path
) -> tuple[torch.Tensor, Any]:
    from ..models import TextEncoder

    cache_dir = (
        Path(cfg.text_cache_dir) if cfg.text_cache_dir else run_dir / "text_cache"
    )
    enc = TextEncoder(
        cfg.text_model,
        max_length=cfg.text_max_length,
        cache_dir=cache_dir,
        segment_mode=cfg.text_mode,
    )
    # Rank 0 fills the on-disk cache first so the LM runs once per text in total.
    if info.distributed and not info.is_main:
        dist.barrier()
    gpu = info.device.type == "cuda"
    if gpu:
        enc.to(info.device)  # the (frozen) LM embeds the corpus once, on the GPU
    feats = enc.encode(
        texts, batch_size=256 if gpu else 64, progress=info.is_main and len(texts) > 256
    )
    feats = feats.float().cpu()
    if gpu:
        enc.to("cpu")  # free GPU memory for training
    if info.distributed and info.is_main:
        dist.barrier()
    return feats, enc


def _build_module(cfg: TrainConfig, text_dim: int) -> MILTrainModule:
    from ..models import create_model

    eeg = create_model("ELMEncoder", variant=cfg.variant, n_filters=cfg.n_filters)
    return MILTrainModule(eeg, create_model("TextProjection", in_dim=text_dim))


def _save_final(
    module: MILTrainModule, cfg: TrainConfig, text_encoder: Any, out: Path
) -> Path:
    from ..models import create_model

    # Fresh modules (plain BatchNorm1d, CPU) so the saved bundle does not depend on
    # the distributed wrappers used for training.
    eeg = create_model("ELMEncoder", variant=cfg.variant, n_filters=cfg.n_filters)
    proj = create_model("TextProjection", in_dim=module.text_projection.in_dim)
    eeg.load_state_dict(
        {k: v.cpu() for k, v in module.eeg_encoder.state_dict().items()}
    )
    proj.load_state_dict(
        {k: v.cpu() for k, v in module.text_projection.state_dict().items()}
    )
    bundle = create_model(
        "ELM",
        eeg_encoder=eeg.eval(),
        text_encoder=text_encoder,
        text_projection=proj.eval(),
        temperature=cfg.temperature,
    )
    return bundle.save_pretrained(out)


def pretrain(
    config: TrainConfig,
    *,
    corpus: PretrainCorpus | None = None,
    resume: str | None = None,
    progress: bool = True,
) -> RunResult:
    """Pretrain ELM with the MIL objective (single process or under ``torchrun``).

    Only the EEG tower (with its projection) and the text projection train; the
    language model is frozen and its features are computed once per distinct text
    (cached on disk). With ``WORLD_SIZE > 1`` (``torchrun``) the run uses DDP (NCCL
    on GPU, gloo on CPU), gathers embeddings so negatives span the global batch and
    synchronises batch-norm statistics (``sync_bn``).

    Parameters
    ----------
    config : TrainConfig
        Settings (see :func:`load_preset`); ``config.out`` is the run folder and
        ``config.data`` the cache folder unless ``corpus`` is given.
    corpus : PretrainCorpus or None
        Use these recordings instead of opening ``config.data``.
    resume : {"latest"} or path or None
        Resume from the newest checkpoint of the run folder (``"latest"``; starts
        fresh when there is none) or from a given checkpoint folder.
    progress : bool
        Show a progress bar and log one INFO line per epoch (rank 0; logger
        ``braindecode_elm.training.trainer``, shown by ``elm pretrain``).

    Returns
    -------
    RunResult
        Run folder, final weights folder and per-epoch history.
    """
    cfg = config
    if cfg.out is None:
        raise ValueError("config.out (the run folder) is not set; pass --out RUN_DIR")
    run_dir = Path(cfg.out)
    info = init_distributed(cfg.device)
    try:
        return _pretrain(cfg, info, run_dir, corpus, resume, progress)
    finally:
        shutdown_distributed(info)


@dataclass
class _Data:
    """The training and validation recordings and their text features."""

    corpus: PretrainCorpus
    train: PretrainCorpus
    val: PretrainCorpus | None
    corpus_id: dict[str, Any]
    n_texts: int
    text_dim: int
    train_table: torch.Tensor
    val_table: torch.Tensor | None
    text_encoder: Any


@dataclass
class _Parts:
    """Model, optimisation and sampling of a run."""

    module: MILTrainModule
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: Any
    loss_fn: nn.Module
    sampler: MILBatchSampler
    peak_lr: float
    gather: Any


@dataclass
class _Progress:
    """Where the run is: what a checkpoint stores and a resume restores."""

    step: int = 0
    epoch: int = 0
    position: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: Path | None = None
    first_loss: float | None = None
    # The epoch in progress at a mid-epoch checkpoint: its loss so far (so the
    # epoch's mean after a resume covers every step, not only the later ones)
    # and the seconds the run had taken (so elapsed_s goes on counting).
    epoch_loss_sum: float = 0.0
    epoch_n_loss: int = 0
    elapsed_s: float = 0.0


def _configure_backends(cfg: TrainConfig, device: torch.device) -> None:
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _load_data(
    cfg: TrainConfig, info: DistInfo, run_dir: Path, corpus: PretrainCorpus | None
) -> _Data:
    """Open the corpus, split subjects, embed every distinct text once."""
    if corpus is None:
        if cfg.data is None:
            raise ValueError("config.data (the cache folder) is not set; pass --data")
        corpus = PretrainCorpus.from_cache(
            cfg.data,
            crop_seconds=cfg.crop_seconds,
            drop_first_s=cfg.drop_first_s,
            max_minutes=cfg.max_minutes,
            text_mode=cfg.text_mode,
        )
    if corpus.crop_shape[1] != cfg.crop_samples:
        raise ValueError(
            f"corpus crops have {corpus.crop_shape[1]} samples but the config wants "
            f"{cfg.crop_samples} ({cfg.crop_seconds} s at {ELM_SFREQ:g} Hz)"
        )
    train_idx, val_idx = subject_split(corpus.subjects, cfg.val_fraction, seed=cfg.seed)
    if cfg.max_recordings is not None:
        train_idx = train_idx[: cfg.max_recordings]
    train = corpus.subset(train_idx)
    val = corpus.subset(val_idx) if val_idx else None
    # The training corpus's identity goes into every checkpoint: resuming
    # against another cache would silently replay a different sampler plan.
    train_ids = [r.id for r in train.recordings]
    corpus_id = {
        "n_recordings": len(train_ids),
        "ids_sha1": hashlib.sha1("\n".join(train_ids).encode()).hexdigest(),
    }
    texts = list(dict.fromkeys(train.texts + (val.texts if val else [])))
    feats, text_encoder = _encode_texts(cfg, texts, info, run_dir)
    row = {t: i for i, t in enumerate(texts)}
    device = info.device
    return _Data(
        corpus=corpus,
        train=train,
        val=val,
        corpus_id=corpus_id,
        n_texts=len(texts),
        text_dim=int(feats.shape[1]),
        train_table=feats[[row[t] for t in train.texts]].to(device),
        val_table=feats[[row[t] for t in val.texts]].to(device) if val else None,
        text_encoder=text_encoder,
    )


def _build_parts(cfg: TrainConfig, info: DistInfo, data: _Data) -> _Parts:
    """Model (seeded), optimiser at the scaled peak rate, loss and sampler."""
    from ..losses import MILInfoNCE, gather_with_grad

    device, world = info.device, info.world_size
    torch.manual_seed(cfg.seed)
    module = _build_module(cfg, data.text_dim).to(device)
    if world > 1 and cfg.sync_bn:
        # Before the optimiser is built: conversion creates new parameter objects.
        module = convert_sync_bn(module, device)
    if cfg.optimizer == "lars":
        peak = scaled_lr(
            cfg.base_lr,
            world_size=world,
            batch_size=cfg.batch_size,
            max_eeg=cfg.max_eeg,
        )
    else:
        peak = cfg.base_lr
    optimizer = build_optimizer(
        cfg.optimizer,
        param_groups([module]),
        lr=peak,
        weight_decay=cfg.weight_decay,
        momentum=cfg.momentum,
        eta=cfg.eta,
    )
    scaler = torch.amp.GradScaler(device.type) if cfg.precision == "fp16" else None
    counts = data.train.counts
    if world > 1:
        sampler: MILBatchSampler = DistributedMILBatchSampler(
            counts,
            cfg.batch_size,
            cfg.max_eeg,
            cfg.max_text,
            rank=info.rank,
            world_size=world,
            seed=cfg.seed,
        )
    else:
        sampler = MILBatchSampler(
            counts, cfg.batch_size, cfg.max_eeg, cfg.max_text, seed=cfg.seed
        )
    return _Parts(
        module=module,
        model=module,  # wrapped by _wrap_model once the state is restored
        optimizer=optimizer,
        scaler=scaler,
        loss_fn=MILInfoNCE(temperature=cfg.temperature),
        sampler=sampler,
        peak_lr=peak,
        gather=gather_with_grad if world > 1 else None,
    )


def _restore(
    cfg: TrainConfig,
    info: DistInfo,
    run_dir: Path,
    resume: str | None,
    parts: _Parts,
    data: _Data,
) -> _Progress:
    """Resume from a checkpoint, or move an earlier run's outputs aside."""
    prog = _Progress()
    if resume:
        ckpt = latest_checkpoint(run_dir) if resume == "latest" else Path(resume)
        if ckpt is not None:
            _check_resume_compatible(ckpt, cfg, info.world_size, data.corpus_id)
            state = load_checkpoint(
                ckpt,
                module=parts.module,
                optimizer=parts.optimizer,
                scaler=parts.scaler,
            )
            prog.step, prog.epoch = state["step"], state["epoch"]
            prog.position = state["position"]
            # An entry for the resumed epoch itself came from a stop mid-epoch
            # (max_steps): that epoch is finished and validated again.
            prog.history = [
                h for h in state.get("history", []) if h["epoch"] < prog.epoch
            ]
            prog.resumed_from = ckpt
            prog.epoch_loss_sum = float(state.get("epoch_loss_sum", 0.0))
            prog.epoch_n_loss = int(state.get("epoch_n_loss", 0))
            prog.elapsed_s = float(state.get("elapsed_s", 0.0))
            if info.is_main:
                log.info(
                    "resumed from %s (step %d, epoch %d, batch %d)",
                    ckpt,
                    prog.step,
                    prog.epoch,
                    prog.position,
                )
    if info.is_main and prog.resumed_from is None:
        _move_earlier_run_aside(run_dir)
    return prog


def _write_run_info(
    cfg: TrainConfig,
    info: DistInfo,
    run_dir: Path,
    parts: _Parts,
    data: _Data,
    prog: _Progress,
) -> None:
    if not info.is_main:
        return
    skipped = data.corpus.skipped
    if skipped:
        why = Counter(reason for _, reason in skipped)
        log.warning(
            "%d recording(s) of the data are not trained on (%s), e.g. %s; all are "
            "listed in %s",
            len(skipped),
            ", ".join(f"{r}: {n}" for r, n in sorted(why.items())),
            [rid for rid, _ in skipped[:5]],
            run_dir / "versions.json",
        )
    dump_run_info(
        run_dir,
        cfg.to_dict(),
        {
            "world_size": info.world_size,
            "device": str(info.device),
            "peak_lr": parts.peak_lr,
            "n_train_recordings": len(data.train),
            "n_val_recordings": len(data.val) if data.val else 0,
            "n_unique_texts": data.n_texts,
            "skipped_recordings": data.corpus.skipped,
            "resumed_from": str(prog.resumed_from) if prog.resumed_from else None,
        },
    )


def _wrap_model(cfg: TrainConfig, info: DistInfo, parts: _Parts) -> None:
    """DistributedDataParallel across ranks, then ``torch.compile`` if asked."""
    device = info.device
    model: nn.Module = parts.module
    if info.world_size > 1:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if cfg.compile:
        model = torch.compile(model)
    parts.model = model


def _save(
    cfg: TrainConfig,
    info: DistInfo,
    run_dir: Path,
    parts: _Parts,
    data: _Data,
    prog: _Progress,
    ep: int,
    pos: int,
) -> None:
    """Checkpoint on rank 0: weights, optimiser, and where the sampler stands."""
    if not info.is_main:
        return
    state = {
        "epoch": ep,
        "position": pos,
        "sampler": {"seed": cfg.seed, "epoch": ep, "position": pos},
        "history": prog.history,
        "epoch_loss_sum": prog.epoch_loss_sum if pos else 0.0,
        "epoch_n_loss": prog.epoch_n_loss if pos else 0,
        "elapsed_s": prog.elapsed_s,
        "world_size": info.world_size,
        "config": cfg.to_dict(),
        "corpus": data.corpus_id,
    }
    save_checkpoint(
        run_dir,
        step=prog.step,
        module=parts.module,
        optimizer=parts.optimizer,
        state=state,
        scaler=parts.scaler,
        keep_last=cfg.keep_last,
    )


#: What a run writes into its folder; a fresh run moves an earlier run's aside.
_RUN_OUTPUTS = (
    "checkpoints",
    FINAL_DIR,
    "metrics.csv",
    "config.yaml",
    "versions.json",
    "tensorboard",
)


def _move_earlier_run_aside(run_dir: Path) -> None:
    """A fresh run (no resume) keeps an earlier run's outputs, moved aside.

    Its checkpoints must not mix with the new run's (the newest-step pruning
    would keep the stale ones), its final weights must not be replaced, and its
    logs (``metrics.csv``, ``config.yaml``, ``versions.json``) must not be
    overwritten: each goes to ``NAME.old-TIME`` (``metrics.old-TIME.csv``).
    """
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved = []
    for name in _RUN_OUTPUTS:
        old = run_dir / name
        if not old.exists() or (old.is_dir() and not any(old.iterdir())):
            continue
        stem, suffix = (name, "") if old.is_dir() else (old.stem, old.suffix)
        aside = run_dir / f"{stem}.old-{stamp}{suffix}"
        k = 1
        while aside.exists():  # two runs within a second
            aside, k = run_dir / f"{stem}.old-{stamp}-{k}{suffix}", k + 1
        old.rename(aside)
        moved.append(aside.name)
    if moved:
        log.warning(
            "%s held an earlier run and --resume was not given: moved its outputs "
            "aside to %s",
            run_dir,
            ", ".join(moved),
        )


@dataclass
class _EpochResult:
    pos: int
    stop: bool
    train_loss: float
    crops_per_s: float


def _train_epoch(
    cfg: TrainConfig,
    info: DistInfo,
    run_dir: Path,
    parts: _Parts,
    data: _Data,
    prog: _Progress,
    logger: MetricsLogger,
    ep: int,
    lr: float,
    t_start: float,
    progress: bool,
) -> _EpochResult:
    """One epoch of MIL steps (from the resumed batch in the resumed epoch)."""
    device, world = info.device, info.world_size
    sampler = parts.sampler
    sampler.set_epoch(ep, prog.position if ep == prog.epoch else 0)
    batches = sampler.epoch_batches()
    n_batches = len(batches)
    start = sampler.position
    if n_batches == 0:
        raise ValueError(
            f"epoch {ep + 1} has no batch: the training corpus "
            f"({len(data.train.recordings)} recordings) is smaller than one batch "
            f"(batch_size={cfg.batch_size}); lower batch_size or add recordings"
        )
    loader = make_loader(
        MILBatchDataset(data.train, batches[start:]),
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=cfg.prefetch_factor,
    )
    bar = None
    if progress and info.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=n_batches,
            initial=start,
            desc=f"epoch {ep + 1}/{cfg.epochs}",
            unit="batch",
            leave=False,
        )
    # Resumed mid-epoch: the steps before the checkpoint count in the mean too
    # (exact in one process; under DDP each rank restarts from rank 0's sum).
    loss_sum = torch.full((), prog.epoch_loss_sum if start else 0.0, device=device)
    n_loss = prog.epoch_n_loss if start else 0
    prog.epoch_loss_sum, prog.epoch_n_loss = 0.0, 0
    win_crops, win_t = 0, time.perf_counter()
    ep_crops, ep_t = 0, time.perf_counter()
    pos = start
    stop = False
    max_steps = cfg.max_steps
    for batch in loader:
        x = batch["x"].to(device, non_blocking=True)
        eeg_rec = batch["eeg_rec"].to(device, non_blocking=True)
        text_rec = batch["text_rec"].to(device, non_blocking=True)
        uid = batch["text_uid"].to(device, non_blocking=True)
        loss = mil_step(
            parts.model,
            parts.loss_fn,
            parts.optimizer,
            x,
            data.train_table[uid],
            eeg_rec,
            text_rec,
            uid if cfg.positives == "text" else None,
            precision=cfg.precision,
            scaler=parts.scaler,
            gather=parts.gather,
        )
        prog.step += 1
        pos += 1
        n_loss += 1
        # Stop at the first non-finite loss (one sync per step): the
        # optimiser has just stepped on it, so nothing after may be saved.
        if not math.isfinite(float(loss)):
            recs = sorted(
                {data.train.recordings[int(i)].id for i in batch["eeg_rec"].unique()}
            )
            raise FloatingPointError(
                f"non-finite training loss ({float(loss)}) at step {prog.step} "
                f"(epoch {ep + 1}, batch {pos} of {n_batches}); recordings in "
                f"the batch: {recs[:10]}{' ...' if len(recs) > 10 else ''}. "
                "Nothing was saved after the last checkpoint; lower the "
                "learning rate, use precision='fp32', or check these recordings"
            )
        loss_sum += loss
        crops = len(x) * world  # approximate global crops for throughput
        win_crops += crops
        ep_crops += crops
        if prog.step % max(1, cfg.log_every_steps) == 0 or pos == n_batches:
            lval = float(loss)
            if prog.first_loss is None:
                prog.first_loss = lval
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            now = time.perf_counter()
            rate = win_crops / max(now - win_t, 1e-9)
            win_crops, win_t = 0, now
            logger.log(
                "step",
                step=prog.step,
                epoch=ep,
                loss=lval,
                lr=lr,
                crops_per_s=rate,
                elapsed_s=round(now - t_start, 3),
            )
            if bar is not None:
                bar.set_postfix(loss=f"{lval:.4f}", crops_s=f"{rate:,.0f}")
        if bar is not None:
            bar.update(1)
        if (
            cfg.checkpoint_every_steps
            and prog.step % cfg.checkpoint_every_steps == 0
            and pos < n_batches
        ):
            prog.epoch_loss_sum, prog.epoch_n_loss = float(loss_sum), n_loss
            prog.elapsed_s = time.perf_counter() - t_start
            _save(cfg, info, run_dir, parts, data, prog, ep, pos)
        if max_steps is not None and prog.step >= int(max_steps):
            stop = True
            break
    if bar is not None:
        bar.close()
    del loader
    ep_rate = ep_crops / max(time.perf_counter() - ep_t, 1e-9)
    # Kept for a checkpoint of a stop mid-epoch (max_steps).
    prog.epoch_loss_sum, prog.epoch_n_loss = float(loss_sum), n_loss
    train_loss = float(loss_sum) / max(n_loss, 1) if n_loss else float("nan")
    if info.distributed:
        t = torch.tensor([train_loss], device=device)
        dist.all_reduce(t)
        train_loss = float(t) / world
    return _EpochResult(pos=pos, stop=stop, train_loss=train_loss, crops_per_s=ep_rate)


def _end_epoch(
    cfg: TrainConfig,
    info: DistInfo,
    parts: _Parts,
    data: _Data,
    prog: _Progress,
    logger: MetricsLogger,
    ep: int,
    lr: float,
    res: _EpochResult,
    t_start: float,
    progress: bool,
) -> None:
    """Validate (rank 0), append the epoch to the history and log it."""
    val_metrics = {"r1": float("nan"), "chance": float("nan"), "n": 0}
    if data.val is not None and info.is_main:
        val_metrics = recording_retrieval(
            parts.module,
            data.val,
            data.val_table,
            device=info.device,
            max_crops=cfg.val_max_crops,
            positives=cfg.positives,
        )
    prog.history.append(
        {
            "epoch": ep,
            "step": prog.step,
            "train_loss": res.train_loss,
            "lr": lr,
            "crops_per_s": res.crops_per_s,
            "val_r1": val_metrics["r1"],
            "val_chance": val_metrics["chance"],
            "val_n": val_metrics["n"],
        }
    )
    logger.log(
        "epoch",
        step=prog.step,
        epoch=ep,
        loss=res.train_loss,
        lr=lr,
        crops_per_s=res.crops_per_s,
        val_r1=val_metrics["r1"],
        val_chance=val_metrics["chance"],
        val_n=val_metrics["n"],
        elapsed_s=round(time.perf_counter() - t_start, 3),
    )
    if info.is_main and progress:
        log.info(
            f"epoch {ep + 1}/{cfg.epochs}: loss {res.train_loss:.4f}, lr {lr:.4g}, "
            f"{res.crops_per_s:,.0f} crops/s, "
            + (
                f"val R@1 {val_metrics['r1']:.3f} (chance "
                f"{val_metrics['chance']:.3f}, n={val_metrics['n']})"
                if val_metrics["n"]
                else "no validation recordings"
            )
        )


def _pretrain(
    cfg: TrainConfig,
    info: DistInfo,
    run_dir: Path,
    corpus: PretrainCorpus | None,
    resume: str | None,
    progress: bool,
) -> RunResult:
    """The run, step by step: set up, restore, train epoch by epoch, save."""
    _configure_backends(cfg, info.device)
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    data = _load_data(cfg, info, run_dir, corpus)
    parts = _build_parts(cfg, info, data)
    prog = _restore(cfg, info, run_dir, resume, parts, data)
    _write_run_info(cfg, info, run_dir, parts, data, prog)
    logger = MetricsLogger(
        run_dir,
        enabled=info.is_main,
        truncate_after_step=prog.step if prog.resumed_from else None,
    )
    _wrap_model(cfg, info, parts)

    # elapsed_s goes on from where a resumed run had got to.
    t_start = time.perf_counter() - prog.elapsed_s
    for ep in range(prog.epoch, cfg.epochs):
        if cfg.max_steps is not None and prog.step >= int(cfg.max_steps):
            break  # e.g. resuming a run that already reached max_steps
        lr = warmup_cosine_lr(
            ep,
            peak_lr=parts.peak_lr,
            warmup_epochs=cfg.warmup_epochs,
            epochs=cfg.epochs,
            min_ratio=cfg.min_lr_ratio,
        )
        for group in parts.optimizer.param_groups:
            group["lr"] = lr
        res = _train_epoch(
            cfg, info, run_dir, parts, data, prog, logger, ep, lr, t_start, progress
        )
        _end_epoch(cfg, info, parts, data, prog, logger, ep, lr, res, t_start, progress)
        prog.elapsed_s = time.perf_counter() - t_start
        if res.stop:
            _save(cfg, info, run_dir, parts, data, prog, ep, res.pos)
            break
        _save(cfg, info, run_dir, parts, data, prog, ep + 1, 0)
        if info.distributed:
            dist.barrier()
    logger.close()

    final_dir = None
    if info.is_main:
        final_dir = _save_final(
            parts.module, cfg, data.text_encoder, run_dir / FINAL_DIR
        )
    if info.distributed:
        dist.barrier()
    if prog.history and math.isnan(prog.history[-1]["train_loss"]):
        raise FloatingPointError("training loss is NaN")
    return RunResult(
        run_dir=run_dir,
        final_dir=final_dir,
        history=prog.history,
        step=prog.step,
        resumed_from=prog.resumed_from,
        first_loss=prog.first_loss,
    )
