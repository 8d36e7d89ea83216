"""Block-wise (overlap-discard) preprocessing of recordings longer than memory.

:func:`preprocess_chunked` runs :func:`~braindecode_elm.dsp.preprocess` on
overlapping blocks of the input, read one at a time from an array (a
``np.memmap`` too), a reader callable or an ``mne.io.Raw`` opened with
``preload=False``, and writes each block's share of the output into one array
(or a ``.npy`` file mapped from disk). Only one block of input (and of its
output) is in memory at a time; with ``out=path`` the full output lives on
disk only.

Why it works, and how well: the band-pass is zero-phase IIR (forward then
backward), so every output sample depends on the whole signal, but with weights
that decay like the filter's impulse response; the 0.1 Hz high-pass decays
with a time constant of about 4 s (poles at radius ``exp(-2*pi*0.1*sin(pi/8) /
sfreq)``). Each block is therefore processed with ``overlap`` extra samples on
both sides, whose outputs are discarded: the kept outputs differ from the
whole-signal result only by the filter's response to the different edge
handling at the block boundaries, damped over the overlap. The polyphase
anti-aliasing filter reaches only ``10 * max(up, down) / up`` input samples
(0.1 s for 256 or 500 -> 100 Hz) and is covered by any useful overlap.
``benchmarks/streaming_error.py`` measures the error; the default overlap
(:data:`DEFAULT_OVERLAP_S`, scaled for other bands by
:func:`auto_overlap_seconds`) keeps it below :data:`ERROR_BOUND` of the output
RMS with a wide margin (see "Recordings longer than memory" in
``docs/preprocessing.rst``).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._checks import as_signal
from .engine import (
    _check_dtype,
    _check_threads,
    _design,
    _plan,
    butter_bandpass_sos,
    odd_padlen,
    preprocess,
)
from .rates import rational_factors
from .recipe import ELM_SFREQ, UNSET, Recipe, as_recipe

__all__ = [
    "DEFAULT_BLOCK_S",
    "DEFAULT_OVERLAP_S",
    "ERROR_BOUND",
    "auto_overlap_seconds",
    "preprocess_chunked",
]

#: Default block length in seconds (10 minutes: 21 channels at 256 Hz in float64
#: are 26 MB per block, plus the overlap on both sides).
DEFAULT_BLOCK_S: float = 600.0
#: Default overlap in seconds on each side of a block for the default band-pass
#: (0.1 Hz, order 4), chosen from ``benchmarks/streaming_error.py``: the worst
#: error measured there with the automatic overlap is 2.3e-9 of the output RMS
#: (1.5e-9 at 90 s for the default band; 1.1e-7 at 75 s, 4e-6 at 60 s), 43x
#: under :data:`ERROR_BOUND`. Other bands scale it, see
#: :func:`auto_overlap_seconds`. With 600-s blocks 30 % more samples are
#: filtered; measured 1.5-1.7x the whole-signal time with the block copies.
DEFAULT_OVERLAP_S: float = 90.0
#: Documented bound of ``max |chunked - whole| / RMS(whole)`` with the automatic
#: overlap, float64 output. It is below float32 resolution on purpose: with
#: float32 output (the default) the two results differ by about one float32
#: rounding step of the largest values (3e-7 of the RMS on the benchmark's
#: signal, up to 3.9e-6 on real EEG near +-64; see the streaming docs).
ERROR_BOUND: float = 1e-7

# Decay rate (1/s) of the slowest pole of the default band-pass (order 4,
# l_freq 0.1 Hz): the analog Butterworth high-pass pole closest to the imaginary
# axis, 2*pi*0.1*sin(pi/8). Used only when the default design does not exist at
# the caller's rate and h_freq; the digital poles match it within 0.3 %.
_DEFAULT_DECAY = 2 * math.pi * 0.1 * math.sin(math.pi / 8)
_DEFAULT_L_FREQ = 0.1
_DEFAULT_ORDER = 4

Reader = Callable[[int, int], Any]


def _slowest_decay(sos: np.ndarray, sfreq: float) -> float:
    """Decay rate in 1/s of the pole of ``sos`` closest to the unit circle."""
    radius = max(float(np.abs(np.roots(sec[3:])).max()) for sec in sos)
    return -math.log(radius) * sfreq


def auto_overlap_seconds(
    sfreq: float,
    *,
    l_freq: float = 0.1,
    h_freq: float = 49.0,
    out_sfreq: float = ELM_SFREQ,
    order: int = 4,
) -> float:
    """The overlap :func:`preprocess_chunked` uses when ``overlap_seconds=None``.

    :data:`DEFAULT_OVERLAP_S` for the default band-pass, scaled by how much
    slower (or faster) the band-pass's slowest pole decays than the default
    filter's: the boundary error decays like that pole's impulse response, so
    this keeps the error of other bands near the measured one (0.05 Hz doubles
    the overlap, 1 Hz divides it by ten). Never shorter than the resampler's
    anti-aliasing filter half-length plus one ``down`` step.

    Parameters
    ----------
    sfreq : float
        Input sampling rate in Hz.
    l_freq, h_freq, out_sfreq, order
        As in :func:`~braindecode_elm.dsp.preprocess`.

    Returns
    -------
    float
        Overlap in seconds (before rounding up to a multiple of ``down``).
    """
    sos = butter_bandpass_sos(order, l_freq, h_freq, sfreq)
    up, down, _ = rational_factors(sfreq, out_sfreq)
    return _auto_overlap(sos, sfreq, h_freq, up, down)


def _auto_overlap(
    sos: np.ndarray, sfreq: float, h_freq: float, up: int, down: int
) -> float:
    # Reference: the default filter at the same rate and h_freq, so that the
    # default settings give DEFAULT_OVERLAP_S exactly.
    if _DEFAULT_L_FREQ < h_freq:
        ref_sos = butter_bandpass_sos(_DEFAULT_ORDER, _DEFAULT_L_FREQ, h_freq, sfreq)
        ref = _slowest_decay(ref_sos, sfreq)
    else:
        ref = _DEFAULT_DECAY
    overlap = DEFAULT_OVERLAP_S * ref / _slowest_decay(sos, sfreq)
    # The polyphase filter has 20 * max(up, down) + 1 taps at rate sfreq * up.
    fir_half = (10 * max(up, down) / up + down) / sfreq
    return max(overlap, fir_half)


def _is_raw(x: Any) -> bool:
    # An mne.io.Raw (or anything shaped like one) without importing MNE here.
    return hasattr(x, "get_data") and hasattr(x, "info") and hasattr(x, "n_times")


def _positive_seconds(value: Any, name: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        want = "a finite number >= 0" if allow_zero else "a positive finite number"
        raise ValueError(f"{name} must be {want} (seconds), got {value!r}")
    return value


def _block_plan(n: int, block: int, ov: int, min_len: int) -> list[tuple[int, int]]:
    """Block boundaries ``[(s, e), ...]`` covering ``[0, n)``.

    Every ``s`` is a multiple of ``block`` (itself a multiple of ``down``); the
    last block ends at ``n``. A last block whose processed segment
    ``[s - ov, n)`` would be too short for the filter's edge padding is merged
    into the one before it.
    """
    starts = list(range(0, n, block))
    if len(starts) > 1 and n - max(starts[-1] - ov, 0) <= min_len:
        starts.pop()
    ends = starts[1:] + [n]
    return list(zip(starts, ends))


def _make_reader(
    x: Any,
    ch_names: Sequence[str] | None,
    sfreq: float | None,
    n_times: int | None,
) -> tuple[Reader, list[str], float, int, int, str]:
    """Turn the input into ``(read, ch_names, sfreq, n_times, n_channels, label)``."""
    if _is_raw(x):
        names = list(x.ch_names) if ch_names is None else list(ch_names)
        rate = float(x.info["sfreq"]) if sfreq is None else sfreq
        total = int(x.n_times)
        if n_times is not None and int(n_times) != total:
            raise ValueError(
                f"n_times={n_times} but the Raw has {total} samples; leave n_times "
                "out for a Raw"
            )

        def read_raw(start: int, stop: int) -> np.ndarray:
            return x.get_data(start=start, stop=stop)

        n_ch = len(x.ch_names)
        return read_raw, names, rate, total, n_ch, "raw.get_data(start, stop)"
    if ch_names is None or sfreq is None:
        raise ValueError(
            "ch_names and sfreq are required unless x is an mne.io.Raw (which "
            "carries its own)"
        )
    if callable(x) and not isinstance(x, np.ndarray):
        if n_times is None:
            raise ValueError(
                "n_times is required with a reader callable: pass the total "
                "number of samples of the recording"
            )
        if isinstance(n_times, bool) or int(n_times) != n_times or n_times < 1:
            raise ValueError(f"n_times must be a positive integer, got {n_times!r}")
        # The reader's channel count is checked against ch_names at each read.
        names = list(ch_names)
        return x, names, sfreq, int(n_times), len(names), "read(start, stop)"
    if not hasattr(x, "shape") or not hasattr(x, "__getitem__"):
        x = np.asarray(x)
    if len(x.shape) != 2:
        raise ValueError(
            f"x must be 2-D (n_channels, n_times), a reader callable or an "
            f"mne.io.Raw, got shape {tuple(x.shape)}"
        )
    total = int(x.shape[1])
    if n_times is not None and int(n_times) != total:
        raise ValueError(
            f"n_times={n_times} but x has {total} samples; leave n_times out for "
            "an array"
        )
    if total == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)})")

    def read_array(start: int, stop: int) -> np.ndarray:
        # Slicing a np.memmap reads only these columns from disk.
        return np.asarray(x[:, start:stop])

    n_ch = int(x.shape[0])
    return read_array, list(ch_names), sfreq, total, n_ch, "x[:, start:stop]"


def _read_block(
    read: Reader, start: int, stop: int, n_channels: int, label: str
) -> np.ndarray:
    block = read(start, stop)
    shape = np.shape(block)
    if shape != (n_channels, stop - start):
        raise ValueError(
            f"{label} returned shape {shape} for start={start}, stop={stop}; "
            f"expected ({n_channels}, {stop - start}): one row per name in "
            f"ch_names and the samples [start, stop) of every channel"
        )
    block, _ = as_signal(block, label)
    return block


def _check_out_alias(x: Any, out: Any) -> None:
    """Refuse an ``out`` that is (part of) the input: blocks read later would
    see outputs written earlier and the result would be silently wrong."""
    if isinstance(out, np.ndarray) and isinstance(x, np.ndarray):
        if np.may_share_memory(out, x):
            raise ValueError(
                "out shares memory with the input x: later blocks would read "
                "outputs written by earlier ones; pass a separate array (or a "
                "file path) as out"
            )
    if isinstance(out, str | os.PathLike):
        src = getattr(x, "filename", None)
        if src is not None and os.path.exists(out):
            if os.path.samefile(os.fspath(out), os.fspath(src)):
                raise ValueError(
                    f"out ({os.fspath(out)}) is the file the input x is mapped "
                    "from; write the output to another path"
                )


def _tmp_path(out: str | os.PathLike[str]) -> str:
    """Where a path output is written before it is renamed into place (same
    folder, so the rename is atomic; unique per process)."""
    path = os.fspath(out)
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.{os.getpid()}.tmp")


def _open_out(out: Any, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if isinstance(out, np.ndarray):
        if out.shape != shape or out.dtype != dtype:
            raise ValueError(
                f"out has shape {out.shape} and dtype {out.dtype}; expected shape "
                f"{shape} and dtype {dtype} (pass dtype=out.dtype or allocate "
                "out to the output length ceil(n_times * up / down))"
            )
        if not out.flags.writeable:
            raise ValueError("out is read-only; pass a writeable array")
        return out
    if isinstance(out, str | os.PathLike):
        # A .npy mapped from disk: the output never has to fit in memory. It
        # is written to a temporary file renamed into place on success, so an
        # error never leaves a full-size file with missing columns behind.
        return np.lib.format.open_memmap(
            _tmp_path(out), mode="w+", dtype=dtype, shape=shape
        )
    raise TypeError(
        f"out must be None, a numpy array or a file path, got {type(out).__name__}"
    )


def preprocess_chunked(
    x: npt.ArrayLike | Reader | Any,
    ch_names: Sequence[str] | None = None,
    sfreq: float | None = None,
    *,
    n_times: int | None = None,
    block_seconds: float = DEFAULT_BLOCK_S,
    overlap_seconds: float | None = None,
    out: None | np.ndarray | str | os.PathLike[str] = None,
    recipe: Recipe | str | None = None,
    l_freq: float = UNSET,
    h_freq: float = UNSET,
    out_sfreq: float = UNSET,
    order: int = UNSET,
    montage: str | Sequence[tuple[str, str]] | None = UNSET,
    scale: float | None = UNSET,
    clip: float | None = UNSET,
    dtype: npt.DTypeLike = np.float32,
    n_threads: int = 1,
    padtype: str = UNSET,
    resample_padtype: str = UNSET,
) -> tuple[np.ndarray, list[str]]:
    """:func:`~braindecode_elm.dsp.preprocess` of a long recording, block by block.

    Overlap-discard: the samples ``[s, e)`` of each block are processed together
    with ``overlap_seconds`` of context on each side (clipped to the recording),
    and only the outputs that belong to ``[s, e)`` are kept. Block starts are
    multiples of the resampler's ``down`` factor, so every block's output grid
    is the whole signal's grid (see the comments in the code), and the first and
    last blocks see the true edges of the recording. A recording not longer than
    one block is processed in one call and equals :func:`preprocess` exactly.

    With the automatic overlap (``overlap_seconds=None``: 90 s for the
    default 0.1 Hz band-pass, see :func:`auto_overlap_seconds`), ``max
    |chunked - whole| / RMS(whole)`` stays below :data:`ERROR_BOUND` (1e-7) for
    float64 output; measured at most 1.5e-9 on synthetic and real EEG by
    ``benchmarks/streaming_error.py``. Float32 output adds at most one float32
    rounding step per value. A shorter overlap saves time (each block
    recomputes ``2 * overlap_seconds``) but the error grows about tenfold for
    every 8-12 s removed (7e-8 at 75 s, 4e-6 at 60 s, 3e-3 at 30 s).

    Parameters
    ----------
    x : array-like | callable | mne.io.Raw
        The referential recording: an array (``np.memmap`` included) of shape
        (n_channels, n_times); or a reader ``read(start, stop)`` returning the
        samples ``[start, stop)`` of all channels as (n_channels, stop - start)
        (then ``n_times`` is required); or an ``mne.io.Raw`` (``preload=False``
        is fine: blocks come from ``raw.get_data(start=, stop=)``, and
        ``ch_names``/``sfreq`` default to the Raw's).
    ch_names : sequence of str | None
        Names of the rows of ``x``.
    sfreq : float | None
        Input sampling rate in Hz.
    n_times : int | None
        Total number of samples; required with a reader callable.
    block_seconds : float
        Length of the kept part of a block, rounded to a multiple of ``down``
        input samples (at least one). Memory holds about ``block_seconds + 2 *
        overlap_seconds`` of input and output at a time.
    overlap_seconds : float | None
        Context processed and discarded on each side of a block, rounded up to
        a multiple of ``down`` samples; at most ``block_seconds``. ``None``
        (default) uses :func:`auto_overlap_seconds` (90 s for the default band,
        180 s for ``l_freq=0.05``, 18 s for ``l_freq=0.5``). ``0`` gives
        independent blocks (errors of several times the RMS at boundaries).
    out : None | np.ndarray | path
        Where to write the output: a new array (``None``), a preallocated array
        of the output shape and ``dtype``, or a file path, written as a
        ``.npy`` through :func:`numpy.lib.format.open_memmap` (the returned
        array is that memmap; the file is created after the first block has
        been read and checked).
    recipe, l_freq, h_freq, out_sfreq, order, montage, scale, clip, dtype, \
n_threads, padtype, resample_padtype
        As in :func:`~braindecode_elm.dsp.preprocess`.

    Returns
    -------
    y : np.ndarray, shape (n_out_channels, ceil(n_times * up / down))
        The preprocessed signal (``out`` when given, a memmap for a path).
    names : list of str
        Output channel names.
    """
    rec = as_recipe(
        recipe,
        l_freq=l_freq,
        h_freq=h_freq,
        out_sfreq=out_sfreq,
        order=order,
        montage=montage,
        scale=scale,
        clip=clip,
        padtype=padtype,
        resample_padtype=resample_padtype,
    )
    read, names_in, rate, n, n_ch, label = _make_reader(x, ch_names, sfreq, n_times)
    _check_out_alias(x, out)
    out_dtype = _check_dtype(dtype)
    _check_threads(n_threads)
    block_s = _positive_seconds(block_seconds, "block_seconds")
    index, out_names, up, down = _plan(names_in, n_ch, rate, rec)
    del index  # preprocess plans the montage again per block
    sos = _design(rec, rate)
    if overlap_seconds is None:
        ov_s = _auto_overlap(sos, rate, rec.h_freq, up, down)
        what = f"the automatic overlap ({ov_s:g} s for l_freq={rec.l_freq:g} Hz)"
    else:
        ov_s = _positive_seconds(overlap_seconds, "overlap_seconds", allow_zero=True)
        what = f"overlap_seconds ({ov_s:g})"
    if block_s < ov_s:
        raise ValueError(
            f"block_seconds ({block_s:g}) is shorter than {what}: each block "
            "recomputes 2 * overlap_seconds of context, so raise block_seconds "
            "(e.g. to 5x the overlap) or lower overlap_seconds"
        )
    if overlap_seconds is not None:
        auto = _auto_overlap(sos, rate, rec.h_freq, up, down)
        if ov_s < auto and n > block_s * rate:
            # The error grows about tenfold per 20 s less (up to the order of
            # the signal at a few seconds): a choice to make knowingly.
            warnings.warn(
                f"preprocess_chunked: overlap_seconds={ov_s:g} is below the "
                f"automatic {auto:g} s for l_freq={rec.l_freq:g} Hz: block edges "
                "then differ from the whole-recording result by more than "
                f"{ERROR_BOUND:g} of its RMS (about tenfold more per 20 s less; "
                "see auto_overlap_seconds); overlap_seconds=None uses the "
                "automatic one",
                UserWarning,
                stacklevel=2,
            )
    kwargs: dict[str, Any] = dict(recipe=rec, dtype=out_dtype, n_threads=n_threads)

    # Output sample j of the whole signal sits at input time j * down / up
    # (resample_poly's grid). A block starting at input sample a produces its
    # output k at input time a + k * down / up, which is on the global grid only
    # if a * up / down is an integer, i.e. (up and down being coprime) if a is a
    # multiple of down; then block output k is global output a * up / down + k.
    # So block sizes and overlaps are whole multiples of down, which makes every
    # segment start a = max(s - ov, 0) a multiple of down. Segment ends need no
    # alignment: they only decide how many outputs the block computes.
    block = max(1, round(block_s * rate / down)) * down
    ov = math.ceil(ov_s * rate / down) * down
    if block < ov:  # rounding to multiples of down can swap two close values
        block = ov
    n_out = (n * up + down - 1) // down
    # Every segment must be longer than the odd padding of the band-pass.
    min_len = odd_padlen(sos)
    plan = _block_plan(n, block, ov, min_len)

    to_path = isinstance(out, str | os.PathLike)
    if to_path and not os.path.isdir(os.path.dirname(os.path.abspath(out))):
        # Said before any work, naming the user's path (the error came from
        # the temporary file, after the first block).
        raise FileNotFoundError(
            f"out={os.fspath(out)!r}: its folder "
            f"{os.path.dirname(os.path.abspath(out))!r} does not exist; create it "
            "first"
        )
    try:
        y = _run_blocks(
            read,
            plan,
            ov,
            n,
            n_ch,
            label,
            names_in,
            rate,
            kwargs,
            out,
            (len(out_names), n_out),
            out_dtype,
            up,
            down,
        )
    except BaseException:
        if to_path and os.path.exists(_tmp_path(out)):
            os.remove(_tmp_path(out))
        raise
    if to_path:
        assert isinstance(y, np.memmap)
        y.flush()
        del y  # unmap before the rename (required on Windows)
        os.replace(_tmp_path(out), os.fspath(out))
        return np.load(os.fspath(out), mmap_mode="r+"), out_names
    return y, out_names


_BAD_SAMPLE = re.compile(r"first bad sample (\d+)")


def _in_recording_time(err: ValueError, offset: int) -> ValueError:
    """The engine's error about a block, with its sample index in the recording.

    The engine counts samples from the start of the block it was given; a
    user of an hours-long recording needs the recording's index.
    """
    text = str(err)
    if not _BAD_SAMPLE.search(text):
        return err
    return ValueError(
        _BAD_SAMPLE.sub(lambda m: f"first bad sample {int(m.group(1)) + offset}", text)
    )


def _run_blocks(
    read: Reader,
    plan: list[tuple[int, int]],
    ov: int,
    n: int,
    n_ch: int,
    label: str,
    names_in: list[str],
    rate: float,
    kwargs: dict[str, Any],
    out: Any,
    shape: tuple[int, int],
    out_dtype: np.dtype,
    up: int,
    down: int,
) -> np.ndarray:
    """Preprocess ``plan``'s blocks into the output (see preprocess_chunked)."""
    n_out = shape[1]
    y: np.ndarray | None = None
    for s, e in plan:
        a, b = max(s - ov, 0), min(e + ov, n)
        seg = _read_block(read, a, b, n_ch, label)
        try:
            with warnings.catch_warnings():
                # _plan above already warned once about an inexact rate ratio.
                warnings.filterwarnings("ignore", ".*is not a small rational ratio")
                yb, _ = preprocess(seg, names_in, rate, **kwargs)
        except ValueError as err:
            fixed = _in_recording_time(err, a)
            if fixed is err:
                raise
            raise fixed from err
        del seg
        if y is None:
            y = _open_out(out, shape, out_dtype)
        # Global outputs whose input time lies in [s, e): j from s*up/down
        # (exact, s is a multiple of down) to ceil(e*up/down) (n_out for the
        # last block). Local index = global index - a*up/down.
        j0 = s * up // down
        j1 = n_out if e == n else e * up // down
        off = a * up // down
        y[:, j0:j1] = yb[:, j0 - off : j1 - off]
    assert y is not None
    return y
