"""Key-by-key mapping of the released ELM checkpoints onto :class:`ELMEncoder`.

Kept apart from :mod:`braindecode_elm.models.official_checkpoint` (which builds
bundles from the release and so imports the encoder): the encoder imports this
module to load official weights, and nothing here imports the encoder.
"""

from __future__ import annotations

import pickle
from os import PathLike

import torch
from torch import nn

__all__ = ["OFFICIAL_N_KEYS", "load_official_state_dict", "official_key_map"]

#: Number of entries in a released checkpoint.
OFFICIAL_N_KEYS = 151
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _conv_keys(prefix: str, padded: bool) -> list[str]:
    # Padded branches are Sequential(pad, conv): the conv sits at index 1.
    mid = ".1" if padded else ""
    return [f"{prefix}.{j}{mid}.{w}" for j in range(3) for w in ("weight", "bias")]


def _bn_keys(prefix: str) -> list[str]:
    return [f"{prefix}.{w}" for w in _BN]


def official_key_map() -> dict[str, str]:
    """Map each key of an official checkpoint to our parameter/buffer name.

    Our module names deliberately mirror the official ones, so the map is the
    identity on names; it is spelled out here from the released layout so a
    checkpoint is validated key by key rather than trusted.

    Returns
    -------
    dict of str to str
        The 151 official keys and the :class:`ELMEncoder` state-dict key each one
        fills.
    """
    keys = _conv_keys("conv1_layers", True) + _bn_keys("bn1")
    for i in range(4):
        b = f"res_blocks.{i}"
        keys += _conv_keys(f"{b}.conv1_layers", True) + _bn_keys(f"{b}.bn1")
        keys += _conv_keys(f"{b}.conv2_layers", True) + _bn_keys(f"{b}.bn2")
        keys += _conv_keys(f"{b}.stream_conv_layers", False)
        keys += _bn_keys(f"{b}.stream_bn")
    keys += ["proj.0.weight", "proj.0.bias"] + _bn_keys("proj.1") + ["proj.3.weight"]
    assert len(keys) == OFFICIAL_N_KEYS
    return {k: k for k in keys}


#: Errors of the call, not of the file's bytes: they keep their own message.
_NOT_THE_FILES_FAULT = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def load_official_state_dict(
    model: nn.Module,
    path: str | PathLike | dict[str, torch.Tensor],
    *,
    map_location: str | torch.device = "cpu",
) -> None:
    """Fill ``model`` from an official checkpoint, strictly.

    Parameters
    ----------
    model : ELMEncoder
        A default-width (``n_filters=32``) encoder of the matching variant
        (typed ``nn.Module``: the encoder imports this module, not the reverse).
    path : str or path-like or dict
        The checkpoint file, or an already loaded state dict.
    map_location : str or torch.device
        Passed to :func:`torch.load`.

    Raises
    ------
    ValueError
        If the model is not default width, or any key is missing, unexpected or
        has the wrong shape (all offending keys are listed).
    """
    if model.n_filters != 32 or model.n_chans != 20:
        raise ValueError(
            "official ELM checkpoints need the default architecture (n_chans=20, "
            f"n_filters=32); got n_chans={model.n_chans}, n_filters={model.n_filters}"
        )
    if isinstance(path, dict):
        state = path
    else:
        if not (
            map_location is None
            or isinstance(map_location, (str, torch.device, dict))
            or callable(map_location)
        ):
            # torch fails inside its unpickler, which would read as a damaged
            # file below.
            raise TypeError(
                "map_location must be a device name ('cpu'), a torch.device, a "
                f"dict or a callable, got {type(map_location).__name__} "
                f"{map_location!r}"
            )
        # weights_only=True: a checkpoint can never execute code on load.
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as err:
            # Only a damaged or foreign file; anything else (a missing or
            # unreadable file, map_location="cuda" on a CPU machine) keeps its
            # own message. The weights-only unpickler meets garbage with
            # whatever its parsing trips on (KeyError, IndexError, struct.error:
            # an outside user's one-byte files), all of which mean "not a
            # checkpoint".
            archive = ("zip", "archive", "hasRecord", "load key", "PytorchStreamReader")
            if isinstance(err, _NOT_THE_FILES_FAULT) or (
                isinstance(err, RuntimeError)
                and not any(k in str(err) for k in archive)
            ):
                raise
            # torch's own text suggests weights_only=False, which would run
            # whatever code a damaged or foreign file carries: never that here.
            first = (
                str(err).strip().splitlines()[0] if str(err).strip() else "empty file"
            )
            if isinstance(err, pickle.UnpicklingError):
                first = "not a file of tensors that loads safely"
            raise ValueError(
                f"{path!s} is not a readable checkpoint of tensors "
                f"({type(err).__name__}: {first[:200]}); check that it is the complete "
                "model_0_checkpoint.pt of the ELM release (compare its SHA-256, "
                "e.g. with --sha256). It is read with weights_only=True and is "
                "never unpickled with code execution"
            ) from err
    if not isinstance(state, dict):
        raise ValueError(
            f"{path!s} does not hold a state dict (got {type(state).__name__})"
        )
    # Tolerate a DistributedDataParallel prefix; the released files have none.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}

    not_tensors = [
        f"{k} ({type(v).__name__})"
        for k, v in state.items()
        if not isinstance(v, torch.Tensor)
    ]
    if not_tensors:
        wrapped = [k for k, v in state.items() if isinstance(v, dict)]
        hint = (
            f"; it looks wrapped: the weights may be under {wrapped} (load it, "
            "take that entry and save it with torch.save)"
            if wrapped
            else ""
        )
        raise ValueError(
            f"{path!s}: entries that are not tensors: {not_tensors[:10]}"
            f"{' ...' if len(not_tensors) > 10 else ''}{hint}"
        )
    key_map = official_key_map()
    ours = model.state_dict()
    missing = sorted(set(key_map) - set(state))
    unexpected = sorted(set(state) - set(key_map))
    bad_shape = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model "
        f"{tuple(ours[key_map[k]].shape)}"
        for k in key_map
        if k in state and tuple(state[k].shape) != tuple(ours[key_map[k]].shape)
    ]
    # Every parameter/buffer of the tower and projection must be filled.
    unfilled = sorted(
        k
        for k in ours
        if not k.startswith("final_layer.") and k not in set(key_map.values())
    )
    if missing or unexpected or bad_shape or unfilled:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {missing}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {unexpected}")
        if bad_shape:
            parts.append(f"shape mismatches ({len(bad_shape)}): {bad_shape}")
        if unfilled:
            parts.append(f"model entries with no checkpoint key: {unfilled}")
        raise ValueError(
            f"not an official ELM {model.variant} checkpoint layout: "
            + "; ".join(parts)
        )
    nonfinite = [
        k
        for k, v in state.items()
        if v.is_floating_point() and not torch.isfinite(v).all()
    ]
    if nonfinite:
        # The bundle it would make refuses to load; say so before writing it.
        raise ValueError(
            f"{path!s}: tensors holding NaN or Inf values: {nonfinite}; the "
            "checkpoint is damaged (compare its SHA-256)"
        )
    mapped = {key_map[k]: v for k, v in state.items()}
    # Keep the (fresh) head, everything else comes from the checkpoint.
    for k, v in ours.items():
        if k.startswith("final_layer."):
            mapped[k] = v
    model.load_state_dict(mapped, strict=True)
