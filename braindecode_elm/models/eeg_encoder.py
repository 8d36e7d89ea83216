"""The ELM EEG tower (the paper's ``EEG_ResNet``) as a Braindecode model."""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._braindecode import EEGModuleMixin
from ..dsp.recipe import ELM_SCALE, ELM_SFREQ, MIN_RMS_UV
from ._digest import keeps_torch_rng, weights_digest

try:  # braindecode's guard: BatchNorm in eval mode for a batch of one in training
    from braindecode.models.util import (
        _disable_batch_norm_training_if_batch_size_one as _bn_guard,
    )
except ImportError:  # pragma: no cover - older/newer braindecode

    def _bn_guard(forward):
        return forward


__all__ = [
    "ELMEncoder",
    "POOL_SIZES",
    "KERNEL_SIZES",
    "ELM_N_CHANS",
    "CROP_SECONDS",
    "count_parameters",
]

#: Kernel sizes of the three parallel convolution branches (paper, Appendix).
KERNEL_SIZES: tuple[int, ...] = (4, 8, 16)
#: Max-pool size of each residual block, per input-length variant.
POOL_SIZES: dict[str, tuple[int, ...]] = {"5s": (3, 2, 2, 2), "60s": (4, 4, 4, 4)}
#: Length (s) of the crops each variant is trained on, at 100 Hz.
CROP_SECONDS: dict[str, float] = {"5s": 5.0, "60s": 60.0}
#: Number of TCP bipolar channels the official model was trained on.
ELM_N_CHANS = 20
_FEATURE_HIDDEN = 512
_EMBED_DIM = 256


def _trained_on(variant: str) -> str:
    """What a variant's tower is trained on, for messages."""
    seconds = CROP_SECONDS.get(variant, 5.0)
    return (
        f"ELM's {variant} tower is trained on {seconds:g} s at 100 Hz = "
        f"{int(seconds * 100)} samples"
    )


def _same_pad(kernel_size: int) -> nn.ReflectionPad1d:
    # Official padding: left k // 2, right (k - 1) // 2, so the length is kept for
    # the even kernels 4, 8, 16 (total pad k - 1).
    return nn.ReflectionPad1d((kernel_size // 2, (kernel_size - 1) // 2))


def _branches(in_ch: int, out_ch: int, *, padded: bool) -> nn.ModuleList:
    """Three parallel conv branches, concatenated along channels by the caller.

    Module names mirror the official checkpoint (``<i>.1.weight`` for padded
    branches, ``<i>.weight`` for the 1x1 stream convs) so weights map one to one.
    """
    if padded:
        return nn.ModuleList(
            nn.Sequential(_same_pad(k), nn.Conv1d(in_ch, out_ch, k))
            for k in KERNEL_SIZES
        )
    return nn.ModuleList(nn.Conv1d(in_ch, out_ch, 1) for _ in KERNEL_SIZES)


class _ResBlock(nn.Module):
    """One residual block of the ELM EEG tower (no activation after the sum)."""

    def __init__(
        self, width: int, n_filters: int, pool: int, activation: type[nn.Module]
    ):
        super().__init__()
        self.conv1_layers = _branches(width, n_filters, padded=True)
        self.bn1 = nn.BatchNorm1d(width)
        self.act = activation()
        self.conv2_layers = _branches(width, n_filters, padded=True)
        self.bn2 = nn.BatchNorm1d(width)
        self.stream_conv_layers = _branches(width, n_filters, padded=False)
        self.stream_bn = nn.BatchNorm1d(width)
        self.pool = nn.MaxPool1d(pool, stride=pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The branch loops are written inline (not in a helper taking the
        # ModuleList): TorchScript can iterate a ModuleList attribute of the module
        # it compiles, but cannot pass one to a free function.
        a = torch.cat([conv(x) for conv in self.conv1_layers], dim=1)
        a = self.act(self.bn1(a))
        b = self.bn2(torch.cat([conv(a) for conv in self.conv2_layers], dim=1))
        s = torch.cat([conv(x) for conv in self.stream_conv_layers], dim=1)
        return self.pool(b + self.stream_bn(s))


#: Training steps of a tower whose input amplitude is checked.
_AMPLITUDE_CHECKS = 3

#: Median channel rms (ELM units, volts x 1e5) below which the tower warns.
_MIN_RMS_ELM = MIN_RMS_UV * 1e-6 * ELM_SCALE

#: Median channel rms (ELM units) above which the tower warns: 60 uV rms in
#: every bipolar channel of the 0.1-49 Hz band is beyond typical scalp EEG
#: (eegmat windows: median 7 uV, at most 17 uV), while microvolts given as ELM
#: units read ten times too large.
_MAX_RMS_ELM = 60.0 * 1e-6 * ELM_SCALE


class _InputCheck(nn.Module):
    """Checks of the tower's input whose messages say what to pass.

    A submodule rather than a method: ``forward`` calls submodules only (see
    :meth:`ELMEncoder.forward`), and ``forward_features`` shares the checks.
    It has no parameters or buffers, so checkpoints do not change.
    """

    def __init__(self, n_chans: int, min_len: int, variant: str = "5s") -> None:
        super().__init__()
        self.n_chans = int(n_chans)
        self.min_len = int(min_len)
        self.trained_on = _trained_on(variant)
        self._warned: set[str] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` if it is (batch, n_chans, >= min_len), else raise."""
        if x.dim() != 3:
            raise ValueError(
                "expected input of shape (batch, n_chans, n_times), got "
                + str(list(x.shape))
            )
        if x.shape[1] != self.n_chans:
            raise ValueError(
                "expected "
                + str(self.n_chans)
                + " channels, got "
                + str(x.shape[1])
                + " (input shape "
                + str(list(x.shape))
                + "); ELM's towers take the 20 bipolar TCP channels in ELM units: "
                "braindecode_elm.dsp.preprocess(data, ch_names, sfreq, recipe='elm')"
            )
        if x.shape[2] < self.min_len:
            raise ValueError(
                "input of "
                + str(x.shape[2])
                + " samples is too short for this tower: it needs at least "
                + str(self.min_len)
                + " samples (min_n_times); "
                + self.trained_on
            )
        if not torch.jit.is_scripting():
            if not torch.compiler.is_compiling():
                self._check_amplitude(x)
        return x

    @torch.jit.unused
    def _check_amplitude(self, x: torch.Tensor) -> None:
        """Warn (once per tower) on input far from EEG in ELM units.

        The pretrained weights read volts x 1e5; volts (1e5 too small) embed
        to nearly one vector and microvolts (10x too large) to another signal,
        with no error anywhere (Braindecode's EEGClassifier on raw windows
        trained silently to one class; outside user).
        """
        # In training, the first few batches only: a median on every step would
        # wait for the GPU each time (inference reads its results anyway).
        if not x.numel() or not x.is_floating_point():
            return
        if self.training:
            left = getattr(self, "_checks_left", _AMPLITUDE_CHECKS)
            if left <= 0:
                return
            self._checks_left = left - 1
        # Towers pickled before this check have no record of warnings.
        if not hasattr(self, "_warned"):
            self._warned = set()
        with torch.no_grad():
            sd = x.detach().float().std(-1).flatten()
            sd = sd[sd > 0]
            if not sd.numel():
                return
            rms = float(sd.median())
        if rms < _MIN_RMS_ELM and "small" not in self._warned:
            self._warned.add("small")
            warnings.warn(
                f"ELM tower input is {rms * 10:.3g} uV rms (median over channels) if "
                "read as ELM units (volts x 1e5), far below any EEG: such windows "
                "embed to nearly the same vector. Data in volts? Use "
                "braindecode_elm.dsp.preprocess(data, ch_names, sfreq, "
                "recipe='elm') or dsp.elm_preprocessor() in Braindecode's "
                "preprocess, which return ELM units",
                UserWarning,
                stacklevel=4,
            )
        elif rms > _MAX_RMS_ELM and "large" not in self._warned:
            self._warned.add("large")
            warnings.warn(
                f"ELM tower input is {rms * 10:.3g} uV rms (median over channels) if "
                "read as ELM units (volts x 1e5, 1 unit = 10 uV), far above typical "
                "EEG; the tower reads it as another signal. Microvolts? ELM units "
                "are microvolts / 10: divide by 10, or use "
                "braindecode_elm.dsp.preprocess(volts, ch_names, sfreq, "
                "recipe='elm')",
                UserWarning,
                stacklevel=4,
            )


class ELMEncoder(EEGModuleMixin, nn.Module):
    """EEG tower of ELM, the EEG-Language Model (Gijsen & Ritter, ICML 2025).

    :bdg-success:`Convolution` :bdg-danger:`Foundation Model`

    A 1-D multi-scale residual CNN (the paper's ``EEG_ResNet``) followed by a
    projection head into the 256-d joint EEG-text space. Inputs are 20 TCP bipolar
    channels at 100 Hz in ELM units (volts x 1e5, i.e. units of 10 uV, clipped at
    +-80); 5 s windows (500 samples) for ``variant="5s"``, 60 s windows (6000
    samples) for ``variant="60s"``.

    Architecture: three parallel reflect-padded ``Conv1d`` branches (kernels 4, 8,
    16) concatenated to ``3 * n_filters`` channels, BatchNorm, activation; four
    residual blocks (two multi-scale conv layers plus a 1x1 multi-scale shortcut,
    summed, then max-pooled by 3, 2, 2, 2 for 5 s or 4, 4, 4, 4 for 60 s); global
    average pooling to the ``3 * n_filters``-d features; projection
    ``Linear(96, 512) -> BatchNorm1d -> activation -> Linear(512, 256, bias=False)``
    to the embedding. With the defaults the model has 928,416 trainable
    parameters. When ``n_outputs`` is set a linear head ``final_layer`` maps the
    256-d embedding to class logits (as in the paper's linear probe).

    The number of input channels comes from ``n_chans``, else from ``chs_info``
    (as Braindecode's ``EEGClassifier`` passes it), else it is the 20 TCP
    channels of the released model. Any montage trains from scratch; the official
    weights need the 20 TCP channels.

    ``torch.jit.script(model)`` compiles the model with the same methods:
    ``forward(x)`` (a tensor), ``forward(x, return_features=True)`` (the dict)
    and :meth:`forward_dict` (the dict's tensors, typed ``Dict[str, Tensor]`` for
    TorchScript callers).

    Parameters
    ----------
    n_outputs : int | None
        Number of classes of the linear head ``final_layer``; ``None`` (the
        default) makes the model return the 256-d embedding.
    n_chans : int | None
        Number of input channels; ``None`` takes it from ``chs_info``, or the 20
        TCP channels when that is ``None`` too.
    chs_info : list of dict | None
        MNE channel infos (``raw.info["chs"]``), as Braindecode's
        ``EEGClassifier`` passes them; gives ``n_chans`` when that is ``None``.
    n_times : int | None
        Samples per input window, if known (checked against the shortest input
        the variant accepts); the tower itself takes any length from that on.
    input_window_seconds : float | None
        Window length in seconds (Braindecode's alternative to ``n_times``).
    sfreq : float | None
        Sampling rate of the input (100 Hz, the rate ELM was trained at).
    variant : {"5s", "60s"}
        Input-length variant; selects the pooling sizes.
    activation : type of torch.nn.Module
        Activation class used after the stem, inside the blocks and in the
        projection head (ELU in the paper).
    drop_prob : float
        Dropout probability applied to the embedding before ``final_layer`` (0 in
        the paper).
    n_filters : int
        Output channels of each of the three convolution branches; features have
        ``3 * n_filters`` dimensions. The paper (and the official checkpoints) use
        32; smaller values give a cheaper tower for CPU experiments.

    References
    ----------
    .. [1] Gijsen, S., & Ritter, K. (2025). EEG-Language Pretraining for Highly
       Label-Efficient Clinical Phenotyping. ICML 2025. arXiv:2409.07480.
    """

    # Replaces braindecode's Hub notes (they import from braindecode.models and
    # link a label our docs lack); ``__init_subclass__`` appends this text.
    _HUB_NOTES_TEMPLATE = """
    .. rubric:: Saving, loading and the Hugging Face Hub

    Like every Braindecode model, ``{name}`` supports ``get_config`` /
    ``from_config``, ``save_pretrained`` / ``from_pretrained`` and, with
    ``huggingface_hub`` installed, ``push_to_hub``::

        from braindecode_elm.models import {name}

        model = {name}(n_outputs=2, variant="5s")
        model.save_pretrained("my-elm-encoder")
        model = {name}.from_pretrained("my-elm-encoder")

    To load the released ELM weights use :meth:`from_official_checkpoint`; to
    save the whole EEG-language model use :class:`braindecode_elm.models.ELM`.
    """

    #: ``min_n_times`` is Python-only (used at construction), so TorchScript
    #: leaves it out along with braindecode's own signal properties.
    __jit_unused_properties__ = [
        *EEGModuleMixin.__jit_unused_properties__,
        "min_n_times",
        "crop_seconds",
    ]

    def __init__(
        self,
        n_outputs: int | None = None,
        n_chans: int | None = None,
        chs_info: list[dict] | None = None,
        n_times: int | None = None,
        input_window_seconds: float | None = None,
        sfreq: float | None = ELM_SFREQ,
        *,
        variant: str = "5s",
        activation: type[nn.Module] = nn.ELU,
        drop_prob: float = 0.0,
        n_filters: int = 32,
    ):
        if variant not in POOL_SIZES:
            raise ValueError(
                f"variant must be one of {sorted(POOL_SIZES)}, got {variant!r}"
            )
        if not isinstance(n_filters, int) or n_filters < 1:
            raise ValueError(f"n_filters must be a positive int, got {n_filters!r}")
        if n_outputs is not None and (
            isinstance(n_outputs, bool)
            or not isinstance(n_outputs, numbers.Integral)
            or n_outputs < 1
        ):
            raise ValueError(
                f"n_outputs must be a positive int (classes of the head) or None "
                f"(no head: the embedding), got {n_outputs!r}"
            )
        if not 0.0 <= float(drop_prob) < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob!r}")
        if n_chans is None and chs_info is None:
            # Neither given (e.g. loading the released weights): the 20 TCP
            # bipolar channels ELM was trained on.
            n_chans = ELM_N_CHANS
        super().__init__(
            n_outputs=n_outputs,
            n_chans=n_chans,
            chs_info=chs_info,
            n_times=n_times,
            input_window_seconds=input_window_seconds,
            sfreq=sfreq,
        )
        del n_outputs, n_chans, chs_info, n_times, input_window_seconds, sfreq
        self.variant = variant
        self.drop_prob = float(drop_prob)
        self.n_filters = n_filters
        self.activation = activation
        self.pool_sizes: tuple[int, ...] = POOL_SIZES[variant]
        width = len(KERNEL_SIZES) * n_filters
        self.n_features = width
        self.embedding_dim = _EMBED_DIM

        if self._n_times is not None and self._n_times < self.min_n_times:
            raise ValueError(
                f"n_times={self._n_times} is too short for variant {variant!r}: "
                f"need at least {self.min_n_times} samples ({_trained_on(variant)})"
            )

        n_in = self.n_chans
        self.input_check = _InputCheck(n_in, self.min_n_times, variant)
        self.conv1_layers = _branches(n_in, n_filters, padded=True)
        self.bn1 = nn.BatchNorm1d(width)
        self.act = activation()
        self.res_blocks = nn.ModuleList(
            _ResBlock(width, n_filters, p, activation) for p in self.pool_sizes
        )
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        # Index layout (0 Linear, 1 BN, 2 act, 3 Linear) mirrors the checkpoint.
        self.proj = nn.Sequential(
            nn.Linear(width, _FEATURE_HIDDEN),
            nn.BatchNorm1d(_FEATURE_HIDDEN),
            activation(),
            nn.Linear(_FEATURE_HIDDEN, _EMBED_DIM, bias=False),
        )
        self.dropout = nn.Dropout(self.drop_prob)
        self.final_layer: nn.Module = (
            nn.Linear(_EMBED_DIM, self._n_outputs)
            if self._n_outputs is not None
            else nn.Identity()
        )
        self._has_head = self._n_outputs is not None

    def __setstate__(self, state: dict) -> None:
        # A whole-module pickle from before the input checks has no
        # input_check: add it rather than fail in forward.
        super().__setstate__(state)
        if "input_check" not in self._modules:
            self.input_check = _InputCheck(
                self.conv1_layers[0][-1].in_channels, self.min_n_times, self.variant
            )
        # A check pickled before it named the variant has no text: its tower's.
        self.input_check.trained_on = _trained_on(self.variant)

    @property
    def crop_seconds(self) -> float:
        """Length (s) of the crops this variant is trained on (5 or 60)."""
        return CROP_SECONDS[self.variant]

    @property
    def min_n_times(self) -> int:
        """Shortest input (samples) the reflection padding of every block accepts."""
        # Reflection padding needs more samples than the widest pad (16 // 2 = 8)
        # at the input of every block.
        need = max(KERNEL_SIZES) // 2 + 1
        total = need
        for p in reversed(self.pool_sizes[:-1]):
            total = max(total * p, need)
        return total

    @torch.jit.export
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the pooled ``3 * n_filters``-d features of ``x`` (B, C, T)."""
        x = self.input_check(x)
        # float64 (what MNE arrays become) or float16 input in the weights'
        # dtype, as ELM.embed_eeg does, instead of torch's dtype mismatch error.
        x = x.to(dtype=self.bn1.weight.dtype)
        x = torch.cat([conv(x) for conv in self.conv1_layers], dim=1)
        x = self.act(self.bn1(x))
        for block in self.res_blocks:
            x = block(x)
        return self.avgpool(x).flatten(1)

    @_bn_guard
    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor | None]:
        """Embed (or classify) a batch of EEG windows.

        Parameters
        ----------
        x : torch.Tensor
            EEG of shape (batch, n_chans, n_times) in ELM units.
        return_features : bool
            If True return a dict with Braindecode's keys ``features``
            (B, 3 * n_filters), the pooled tower output, and ``cls_token`` (None:
            a CNN has no class token), plus ``embedding`` (B, 256) and, when
            ``n_outputs`` is set, ``logits``.

        Returns
        -------
        torch.Tensor or dict of str to torch.Tensor or None
            (B, 256) embedding when ``n_outputs`` is None, else (B, n_outputs)
            logits; or the dict described above.
        """
        # Written for TorchScript, directly or as Braindecode's tests script a
        # model (its submodules and attributes copied onto a plain nn.Module):
        # the body is compiled with the globals of braindecode's batch-of-one
        # guard (the decorator), so it names only ``torch`` and builtins; it calls
        # submodules only (no other method of self); and it reads the plain
        # ``_has_head`` flag, not the mixin's ``_n_outputs`` (None or int).
        x = self.input_check(x)
        # MNE's float64 arrays run in the weights' dtype (see forward_features).
        x = x.to(dtype=self.bn1.weight.dtype)
        h = torch.cat([conv(x) for conv in self.conv1_layers], dim=1)
        h = self.act(self.bn1(h))
        for block in self.res_blocks:
            h = block(h)
        features = self.avgpool(h).flatten(1)
        embedding = self.proj(features)
        if return_features:
            out: dict[str, torch.Tensor | None] = {
                "features": features,
                "cls_token": None,
                "embedding": embedding,
            }
            if self._has_head:
                out["logits"] = self.final_layer(self.dropout(embedding))
            return out
        if self._has_head:
            return self.final_layer(self.dropout(embedding))
        return embedding

    @torch.jit.export
    def forward_dict(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features, embedding and (with a head) logits of ``x`` in one pass.

        Same tensors as ``forward(x, return_features=True)`` without the
        ``cls_token`` entry (so the values are all tensors, which TorchScript
        callers of a scripted model can use without unpacking a union).

        Parameters
        ----------
        x : torch.Tensor
            EEG of shape (batch, n_chans, n_times) in ELM units.

        Returns
        -------
        dict of str to torch.Tensor
            ``features`` (B, 3 * n_filters), ``embedding`` (B, 256) and, when
            ``n_outputs`` is set, ``logits`` (B, n_outputs).
        """
        features = self.forward_features(x)
        embedding = self.proj(features)
        out = {"features": features, "embedding": embedding}
        if self._has_head:
            out["logits"] = self.final_layer(self.dropout(embedding))
        return out

    @property
    def chs_info(self) -> list[dict]:
        """Channel descriptions; a 20-channel tower built without them (the
        released and shipped weights) has the TCP bipolar channels ELM was
        trained on (``FP1-F7`` ...), in the order of ``dsp.preprocess``."""
        if self._chs_info is None and self._n_chans == ELM_N_CHANS:
            from ..dsp.montage import TCP_PAIRS

            return [{"ch_name": f"{a}-{b}", "kind": "eeg"} for a, b in TCP_PAIRS]
        return EEGModuleMixin.chs_info.fget(self)

    def to_dense_prediction_model(self, axis: Any = (2, 3)) -> None:
        """Not available: ELM's tower pools globally after its 1-D residual
        blocks, so it has no dilated dense-prediction form (Braindecode's
        method is written for 2-D cropped-decoding networks)."""
        raise NotImplementedError(
            "ELMEncoder has no dense-prediction form: it embeds fixed 5 s (or 60 s) "
            "crops and pools over time; for longer signals embed crops (e.g. "
            "ELMFeatures, which averages the 5 s windows of an epoch)"
        )

    def freeze_tower(self, frozen: bool = True) -> ELMEncoder:
        """Train only the head: the tower's weights *and* statistics stay fixed.

        ``requires_grad=False`` alone leaves the BatchNorm layers in training
        mode, whose running statistics then drift towards the fine-tuning
        batches and change the pretrained features (an outside user measured a
        17 % change of the embeddings after two small epochs of a "frozen"
        tower). Here the tower's BatchNorm layers stay in eval mode whenever
        the module trains, so the head learns on the pretrained embedding.

        Parameters
        ----------
        frozen : bool
            False unfreezes the tower again.

        Returns
        -------
        ELMEncoder
            ``self``.
        """
        for name, p in self.named_parameters():
            p.requires_grad = not frozen or name.startswith("final_layer.")
        self._tower_frozen = bool(frozen)
        return self.train(self.training)

    def train(self, mode: bool = True) -> ELMEncoder:
        """As :meth:`torch.nn.Module.train`, with a frozen tower's BatchNorm
        layers kept in eval mode (see :meth:`freeze_tower`)."""
        # nn.Module's, named: braindecode's TorchScript check copies this
        # method onto a plain Module, where a bare super() fails.
        nn.Module.train(self, mode)
        if mode and getattr(self, "_tower_frozen", False):
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def reset_head(self, n_outputs: int) -> None:
        """Replace ``final_layer`` by a fresh linear head with ``n_outputs`` outputs.

        Parameters
        ----------
        n_outputs : int
            Number of outputs of the new head.
        """
        self._set_n_outputs(n_outputs)
        self._has_head = True
        ref = next(self.proj.parameters())
        self.final_layer = nn.Linear(_EMBED_DIM, n_outputs).to(
            device=ref.device, dtype=ref.dtype
        )

    @classmethod
    def from_official_checkpoint(
        cls,
        path: str,
        variant: str,
        *,
        n_outputs: int | None = None,
        map_location: str | torch.device = "cpu",
    ) -> ELMEncoder:
        """Load a released ELM ``model_0_checkpoint.pt`` (5 s or 60 s).

        The file is read with ``torch.load(weights_only=True)`` (nothing is
        unpickled), every one of its 151 keys is mapped onto this model and every
        parameter and buffer of the tower and projection is filled; any mismatch
        raises a ``ValueError`` listing the offending keys. The model is returned in
        eval mode.

        Parameters
        ----------
        path : str
            Path to your own copy of the official checkpoint (we do not ship it).
        variant : {"5s", "60s"}
            Which checkpoint this is (only the pooling differs; pass the right
            one).
        n_outputs : int or None
            If set, add a freshly initialised ``final_layer`` head.
        map_location : str or torch.device
            Passed to :func:`torch.load`.

        Returns
        -------
        ELMEncoder
            The loaded model, in eval mode.
        """
        from ._official_keys import load_official_state_dict

        model = cls(n_outputs=n_outputs, variant=variant)
        load_official_state_dict(model, path, map_location=map_location)
        return model.eval()

    @classmethod
    @keeps_torch_rng
    def from_pretrained(  # type: ignore[override]
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any
    ) -> ELMEncoder:
        """Load a tower saved with ``save_pretrained``, or an ELM bundle's tower.

        Parameters
        ----------
        pretrained_model_name_or_path : str or path-like
            A folder written by :meth:`save_pretrained` or a Hub id (Braindecode's
            Hugging Face loading, strict); or an ELM bundle: a folder written by
            :meth:`ELM.save_pretrained <braindecode_elm.models.ELM.save_pretrained>`
            the name of a shipped bundle (``"elm-open-5s"``) or a Hub id of one
            (``ELM.push_to_hub``), whose EEG tower is returned (for fine-tuning,
            e.g. with Braindecode's ``EEGClassifier``).
        **kwargs
            For a saved tower, Braindecode's ``from_pretrained`` arguments. For a
            bundle: ``n_outputs`` (a freshly initialised classification head on
            the pretrained tower), ``drop_prob``, ``map_location`` and, for a Hub
            id, ``revision``, ``cache_dir``, ``local_files_only`` and ``token``.

        Returns
        -------
        ELMEncoder
            In eval mode.
        """
        from .pretrained import read_config, resolve_bundle

        spec = pretrained_model_name_or_path
        config = read_config(spec, hub={k: kwargs[k] for k in _HUB_KEYS if k in kwargs})
        if config is None or "eeg_encoder" not in config:
            _check_overrides(spec, config, kwargs)
            return super().from_pretrained(spec, **kwargs)
        # A local folder (a shipped name resolved to it) or a Hub id.
        local = resolve_bundle(spec)
        folder = local if local.is_dir() else str(spec)
        allowed = {"n_outputs", "drop_prob", "map_location", *_HUB_KEYS}
        other = sorted(set(kwargs) - allowed)
        if other:
            raise TypeError(
                f"{pretrained_model_name_or_path} is an ELM bundle: its EEG tower "
                f"takes only {sorted(allowed)}, not {other} (the tower's shape is "
                "the bundle's)"
            )
        if _bundle_tower_loader is None:  # pragma: no cover - set on import
            raise RuntimeError("braindecode_elm.models.bundle was not imported")
        return _bundle_tower_loader(folder, **kwargs)

    @classmethod
    def _from_pretrained(cls, *, strict: bool = True, **kwargs):  # noqa: D401
        # Braindecode's hub mixin loads non-strictly by default, which would leave
        # freshly initialised weights in place of missing ones without a word;
        # ours loads strictly unless asked otherwise (from_pretrained(...,
        # strict=False)).
        requested = kwargs.get("n_outputs")
        if requested is not None and _saved_without_head(kwargs):
            # Braindecode swaps the head only of a tower saved with one; a tower
            # saved without a head (an embedding model) is loaded as saved,
            # strictly, and given a fresh head.
            base = super()._from_pretrained(
                strict=strict, **{**kwargs, "n_outputs": None}
            )
            return _with_new_head(base, requested)
        return super()._from_pretrained(strict=strict, **kwargs)

    def extra_repr(self) -> str:  # noqa: D102
        # The weights' digest tells towers of one architecture apart for tools
        # that key results on the repr (MOABB's results cache).
        return (
            f"variant={self.variant!r}, n_filters={self.n_filters}, "
            f"weights={weights_digest(self)}"
        )


#: Saved settings that fix the weights' meaning: a load may not change them.
_SHAPE_KEYS = ("variant", "n_filters", "sfreq")


def _check_overrides(
    spec: Any, config: dict[str, Any] | None, kwargs: dict[str, Any]
) -> None:
    """Refuse loading a saved tower with another variant, width or rate.

    Braindecode's loader lets keyword arguments replace the saved config; for
    these keys that gives the same weights another meaning without a word (a
    5 s tower loaded with ``variant="60s"`` pools 4x instead of 2-3x).
    """
    if not config:
        return
    changed = {
        k: (config[k], kwargs[k])
        for k in _SHAPE_KEYS
        if k in kwargs
        and k in config
        and config[k] is not None
        and kwargs[k] != config[k]
    }
    if changed:
        said = ", ".join(
            f"{k}={new!r} (saved {old!r})" for k, (old, new) in changed.items()
        )
        raise ValueError(
            f"{spec} was saved as a tower with other settings: {said}; these fix "
            "what the weights mean, so they cannot change at load: drop them (or "
            "build a new ELMEncoder to train from scratch)"
        )


#: Loads the EEG tower of an ELM bundle folder; set by
#: :mod:`braindecode_elm.models.bundle` when it is imported (the package imports
#: it before this module can be used). A hook instead of an import keeps the
#: tower below the bundle in the import graph.
_bundle_tower_loader: Callable[..., ELMEncoder] | None = None


def _saved_without_head(kwargs: dict[str, Any]) -> bool:
    """True when the saved config (folder or Hub id) says ``n_outputs`` is None."""
    from .pretrained import read_config

    keys = ("revision", "cache_dir", "force_download", "token", "local_files_only")
    hub = {k: kwargs[k] for k in keys if k in kwargs}
    config = read_config(kwargs["model_id"], hub=hub)
    # Unreadable: Braindecode's own loading reports it.
    return config is not None and config.get("n_outputs", 0) is None


def _with_new_head(
    base: ELMEncoder, n_outputs: int | None, **changes: Any
) -> ELMEncoder:
    """``base`` rebuilt with ``changes`` (e.g. ``drop_prob``) and, when
    ``n_outputs`` is given, a freshly initialised ``final_layer`` of that size;
    every other weight is copied."""
    config = base.get_config()
    config.update(changes)
    if n_outputs is not None:
        config["n_outputs"] = n_outputs
    new = type(base).from_config(config)
    result = new.load_state_dict(base.state_dict(), strict=n_outputs is None)
    missing = set(result.missing_keys) - {"final_layer.weight", "final_layer.bias"}
    if missing or result.unexpected_keys:  # pragma: no cover - same class
        raise ValueError(
            f"cannot add a head: missing {sorted(missing)}, unexpected "
            f"{sorted(result.unexpected_keys)}"
        )
    return new.to(next(base.parameters()).device).eval()


_HUB_KEYS = ("revision", "cache_dir", "local_files_only", "token")


def count_parameters(module: nn.Module, *, trainable: bool = True) -> int:
    """Number of (trainable) parameters of ``module``."""
    return sum(
        p.numel() for p in module.parameters() if p.requires_grad or not trainable
    )
