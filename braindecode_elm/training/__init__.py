"""ELM pretraining: MIL sampler, LARS, schedule, loop, DDP, checkpoints, presets.

Public API (loaded lazily, so ``braindecode_elm.training.step`` and
``braindecode_elm.training.sampler`` import without the data/model stack)::

    from braindecode_elm.training import load_preset, pretrain
    cfg = load_preset("tiny-cpu", data="cache/", out="runs/tiny")
    result = pretrain(cfg)            # result.final_dir -> ELM.from_pretrained
"""

from __future__ import annotations

import lazy_loader as lazy

_EXPORTS = {
    "MILBatchSampler": "sampler",
    "DistributedMILBatchSampler": "sampler",
    "MILSet": "sampler",
    "n_sets_for": "sampler",
    "LARS": "optim",
    "build_optimizer": "optim",
    "scaled_lr": "schedule",
    "warmup_cosine_lr": "schedule",
    "TrainConfig": "config",
    "load_preset": "config",
    "list_presets": "config",
    "parse_overrides": "config",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "latest_checkpoint": "checkpoint",
    "PretrainCorpus": "loader",
    "PretrainRecording": "loader",
    "MILBatchDataset": "loader",
    "subject_split": "loader",
    "MILTrainModule": "step",
    "identical_text_mask": "step",
    "mil_step": "step",
    "pretrain": "trainer",
    "RunResult": "trainer",
    "recording_retrieval": "trainer",
    "main": "cli",
}

__all__ = sorted(_EXPORTS)


_by_module: dict[str, list[str]] = {}
for _name, _module in _EXPORTS.items():
    _by_module.setdefault(_module, []).append(_name)
# PEP 562 through lazy_loader: submodules import on first use (keeps
# `step`/`sampler` light).
__getattr__, __dir__, _ = lazy.attach(__name__, submod_attrs=_by_module)
