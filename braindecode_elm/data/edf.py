"""Minimal, fast EDF reading and writing (file I/O only, no signal processing).

MNE's EDF reader is general but slow for bulk caching; here we memory-map the
int16 data records and scale them in one vectorised step. The header checks
also give precise reasons for broken files (truncated, corrupt, empty), which
the cache writes into its manifest. The writer produces plain EDF files (as in
the TUH corpus) that MNE reads back.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = [
    "EDFError",
    "EDFHeader",
    "read_edf_header",
    "read_edf_data",
    "record_onsets",
    "write_edf",
]

_UNIT_SCALE = {"uv": 1e-6, "µv": 1e-6, "mv": 1e-3, "v": 1.0, "nv": 1e-9}


class EDFError(ValueError):
    """A file is not a readable EDF file.

    Attributes
    ----------
    reason : str
        Short machine-readable code: ``"corrupt_edf"``, ``"truncated_edf"`` or
        ``"empty_data"``.
    """

    def __init__(self, message: str, reason: str = "corrupt_edf") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class EDFHeader:
    """Parsed EDF header.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    patient, recording : str
        Local patient and recording identification fields.
    start : datetime.datetime | None
        Start date and time (``None`` when the fields do not parse).
    header_bytes, n_records : int
        Header size and number of data records (from the file size when the
        header says -1).
    record_duration : float
        Seconds per data record.
    labels, units, prefiltering : list of str
        Per-signal fields.
    n_samples : numpy.ndarray
        Samples per record of each signal.
    phys_min, phys_max, dig_min, dig_max : numpy.ndarray
        Per-signal calibration.
    reserved : str
        The header's 44-byte reserved field, stripped (``"EDF+C"`` or ``"EDF+D"``
        in EDF+ files, empty in plain EDF).
    """

    path: Path
    patient: str
    recording: str
    start: _dt.datetime | None
    header_bytes: int
    n_records: int
    record_duration: float
    labels: list[str]
    units: list[str]
    prefiltering: list[str]
    n_samples: np.ndarray
    phys_min: np.ndarray
    phys_max: np.ndarray
    dig_min: np.ndarray
    dig_max: np.ndarray
    reserved: str = ""

    @property
    def sfreqs(self) -> np.ndarray:
        """Sampling frequency of each signal in Hz."""
        return self.n_samples / self.record_duration

    @property
    def duration(self) -> float:
        """Recording length in seconds."""
        return self.n_records * self.record_duration

    def gains(self) -> tuple[np.ndarray, np.ndarray]:
        """Return per-signal ``(gain, offset)`` mapping digital to volts.

        A degenerate calibration (digital min = max) gives a non-finite gain:
        the data of such a signal read as NaN, which the cache reports.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = (self.phys_max - self.phys_min) / (self.dig_max - self.dig_min)
        offset = self.phys_max - gain * self.dig_max
        # An unknown unit (blank, "counts") is read as microvolts, EEG's usual
        # unit; the cache names such files (unit_scale returns None for them).
        unit = np.array([unit_scale(u) or 1e-6 for u in self.units])
        return gain * unit, offset * unit


def unit_scale(unit: str) -> float | None:
    """Volts per unit of an EDF physical dimension (``"uV"`` -> 1e-6), or None
    when it names no voltage unit (blank, ``"counts"``, ``"mVolt"``)."""
    return _UNIT_SCALE.get(unit.strip().lower())


def _field(raw: bytes, start: int, width: int) -> str:
    return raw[start : start + width].decode("latin-1").strip()


def _parse_start(date: str, time: str) -> _dt.datetime | None:
    try:
        d, m, y = (int(v) for v in date.split("."))
        hh, mm, ss = (int(v) for v in time.split("."))
        # EDF spec: years 85-99 are 1985-1999, 00-84 are 2000-2084.
        y += 1900 if y >= 85 else 2000
        return _dt.datetime(y, m, d, hh, mm, ss)
    except (ValueError, TypeError):
        return None


#: Parsed headers by (path, size, digest of the header bytes): indexing a corpus
#: and caching it then parse each header once (fork-started build workers
#: inherit the parent's entries). The key holds the header's own bytes, so a file
#: edited in place is parsed again, however close in time the edit was.
_HEADER_MEMO: OrderedDict[tuple[str, int, bytes], EDFHeader] = OrderedDict()
_HEADER_MEMO_MAX = 4096


def _copy_header(h: EDFHeader) -> EDFHeader:
    # Callers own their copy: editing its lists or arrays leaves the memo intact.
    return dataclasses.replace(
        h,
        labels=list(h.labels),
        units=list(h.units),
        prefiltering=list(h.prefiltering),
        n_samples=h.n_samples.copy(),
        phys_min=h.phys_min.copy(),
        phys_max=h.phys_max.copy(),
        dig_min=h.dig_min.copy(),
        dig_max=h.dig_max.copy(),
    )


def read_edf_header(path: str | os.PathLike[str]) -> EDFHeader:
    """Read and check an EDF/EDF+ header (parsed once per file and process).

    A header whose bytes (and the file's path and size) are unchanged since it
    was last read is not parsed again; the caller gets its own copy.

    Parameters
    ----------
    path : str | os.PathLike
        The EDF file.

    Returns
    -------
    EDFHeader
        The parsed header.

    Raises
    ------
    EDFError
        With ``reason`` ``"corrupt_edf"`` when the header does not parse,
        ``"truncated_edf"`` when the file is shorter than its header says, and
        ``"empty_data"`` when it holds no data record.
    OSError
        When the file cannot be opened.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(256)
        try:
            ns = int(_field(head, 252, 4))
        except ValueError:
            ns = 0  # _parse_header names the problem
        rest = f.read(256 * ns) if ns > 0 else b""
    key = (os.fspath(path), size, hashlib.blake2b(head + rest).digest())
    hit = _HEADER_MEMO.get(key)
    if hit is None:
        hit = _parse_header(path, size, head, rest)
        _HEADER_MEMO[key] = hit
        if len(_HEADER_MEMO) > _HEADER_MEMO_MAX:
            _HEADER_MEMO.popitem(last=False)
    else:
        _HEADER_MEMO.move_to_end(key)
    return _copy_header(hit)


def _parse_header(path: Path, size: int, head: bytes, rest: bytes) -> EDFHeader:
    """Parse the fixed (``head``) and per-signal (``rest``) header bytes."""
    if len(head) < 256:
        raise EDFError(f"{path}: {len(head)} bytes, shorter than an EDF header")
    try:
        if head[:8].decode("ascii").strip() not in {"0", "\xff" + "BIOSEMI"}:
            raise ValueError("bad version field")
        header_bytes = int(_field(head, 184, 8))
        n_records = int(_field(head, 236, 8))
        record_duration = float(_field(head, 244, 8))
        ns = int(_field(head, 252, 4))
    except (ValueError, UnicodeDecodeError) as exc:
        raise EDFError(f"{path}: corrupt EDF header ({exc})") from exc
    if ns <= 0 or header_bytes != 256 * (ns + 1):
        raise EDFError(
            f"{path}: corrupt EDF header ({ns} signals, {header_bytes} header bytes)"
        )
    if len(rest) < 256 * ns:
        raise EDFError(f"{path}: file ends inside the header", "truncated_edf")

    text = rest.decode("latin-1")

    def col(offset: int, width: int) -> list[str]:
        base = offset * ns
        return [
            text[base + i * width : base + (i + 1) * width].strip() for i in range(ns)
        ]

    labels = col(0, 16)
    units = col(16 + 80, 8)
    try:
        phys_min = np.array(col(16 + 80 + 8, 8), dtype=float)
        phys_max = np.array(col(16 + 80 + 16, 8), dtype=float)
        dig_min = np.array(col(16 + 80 + 24, 8), dtype=float)
        dig_max = np.array(col(16 + 80 + 32, 8), dtype=float)
        prefiltering = col(16 + 80 + 40, 80)
        n_samples = np.array(col(16 + 80 + 40 + 80, 8), dtype=np.int64)
    except ValueError as exc:
        raise EDFError(f"{path}: corrupt EDF signal header ({exc})") from exc
    if np.any(n_samples <= 0) or not np.isfinite(record_duration):
        raise EDFError(f"{path}: corrupt EDF header (samples per record)")
    record_bytes = 2 * int(n_samples.sum())
    available = (size - header_bytes) // record_bytes
    if n_records < 0:
        n_records = int(available)
    elif available < n_records:
        raise EDFError(
            f"{path}: truncated EDF: header says {n_records} data records, the file "
            f"holds {available} ({size} bytes)",
            "truncated_edf",
        )
    if n_records == 0:
        raise EDFError(f"{path}: EDF file has no data records", "empty_data")
    return EDFHeader(
        path=path,
        patient=_field(head, 8, 80),
        recording=_field(head, 88, 80),
        start=_parse_start(_field(head, 168, 8), _field(head, 176, 8)),
        header_bytes=header_bytes,
        n_records=n_records,
        record_duration=record_duration,
        labels=labels,
        units=units,
        prefiltering=prefiltering,
        n_samples=n_samples,
        phys_min=phys_min,
        phys_max=phys_max,
        dig_min=dig_min,
        dig_max=dig_max,
        reserved=_field(head, 192, 44),
    )


def _records(
    header: EDFHeader, dtype: npt.DTypeLike, per_record: int, buffer: bytes | None
) -> np.ndarray:
    """The data records as an (n_records, per_record) array of ``dtype``.

    From ``buffer`` when the file's bytes are in memory, else memory-mapped.
    """
    if buffer is not None:
        return np.frombuffer(
            buffer,
            dtype=dtype,
            count=header.n_records * per_record,
            offset=header.header_bytes,
        ).reshape(header.n_records, per_record)
    return np.memmap(
        header.path,
        dtype=dtype,
        mode="r",
        offset=header.header_bytes,
        shape=(header.n_records, per_record),
    )


def read_edf_data(
    header: EDFHeader | str | os.PathLike[str],
    picks: list[int] | None = None,
    dtype: type = np.float64,
    buffer: bytes | None = None,
) -> np.ndarray:
    """Read signals of an EDF file in volts.

    Parameters
    ----------
    header : EDFHeader | str | os.PathLike
        A header from :func:`read_edf_header`, or a path.
    picks : list of int | None
        Signal indices; all must share one sampling rate. ``None`` takes every
        signal with the most common rate.
    dtype : numpy dtype
        Output type.
    buffer : bytes | None
        The file's bytes when already in memory (e.g. read once for hashing);
        otherwise the file is memory-mapped.

    Returns
    -------
    numpy.ndarray, shape (n_picks, n_times)
        The data in volts (``n_times = n_records * samples_per_record``).

    Raises
    ------
    ValueError
        When the picked signals have different sampling rates.
    """
    if not isinstance(header, EDFHeader):
        header = read_edf_header(header)
    ns = header.n_samples
    if picks is None:
        vals, counts = np.unique(ns, return_counts=True)
        picks = [i for i in range(len(ns)) if ns[i] == vals[np.argmax(counts)]]
    picks = list(picks)
    if len({int(ns[i]) for i in picks}) > 1:
        raise ValueError("picked EDF signals have different sampling rates")
    raw = _records(header, "<i2", int(ns.sum()), buffer)
    starts = np.concatenate([[0], np.cumsum(ns)[:-1]])
    n = int(ns[picks[0]])
    gain, offset = header.gains()
    out = np.empty((len(picks), header.n_records * n), dtype=dtype)
    # A degenerate calibration gives NaN on purpose: callers report it.
    with np.errstate(invalid="ignore", over="ignore"):
        for k, i in enumerate(picks):
            block = raw[:, starts[i] : starts[i] + n].reshape(-1)
            np.multiply(block, gain[i], out=out[k], casting="unsafe")
            out[k] += offset[i]
    del raw
    return out


def record_onsets(
    header: EDFHeader | str | os.PathLike[str], buffer: bytes | None = None
) -> np.ndarray | None:
    """Start time (s) of every data record of an EDF+ file, from its annotations.

    EDF+ stores each record's start in the first time-stamped annotation list
    (TAL) of its ``EDF Annotations`` signal (``+12.5\x14\x14``). In an
    ``EDF+D`` (discontinuous) file consecutive records may be apart by more
    than a record's duration: the samples then hold a time gap that reading
    them as one signal hides.

    Parameters
    ----------
    header : EDFHeader | str | os.PathLike
        A header from :func:`read_edf_header`, or a path.
    buffer : bytes | None
        The file's bytes when already in memory.

    Returns
    -------
    numpy.ndarray | None
        One onset per record; None for a file without an ``EDF Annotations``
        signal (plain EDF: records are contiguous by definition).

    Raises
    ------
    EDFError
        When a record's annotations hold no time-keeping TAL.
    """
    if not isinstance(header, EDFHeader):
        header = read_edf_header(header)
    ann = [i for i, lbl in enumerate(header.labels) if lbl == "EDF Annotations"]
    if not ann:
        return None
    ns = header.n_samples
    start = int(ns[: ann[0]].sum()) * 2
    width = int(ns[ann[0]]) * 2
    raw = _records(header, np.uint8, int(ns.sum()) * 2, buffer)
    onsets = np.empty(header.n_records)
    for k in range(header.n_records):
        tal = bytes(raw[k, start : start + width])
        head = tal.split(b"\x14", 1)[0]
        try:
            onsets[k] = float(head.decode("ascii"))
        except (UnicodeDecodeError, ValueError) as err:
            raise EDFError(
                f"{header.path}: record {k} has no time-keeping annotation "
                f"(starts {tal[:20]!r})",
                "corrupt_edf",
            ) from err
    del raw
    return onsets


def _fmt(value: float, width: int = 8, what: str = "header field") -> str:
    # EDF numeric fields are ASCII, left-aligned, at most `width` characters.
    if not math.isfinite(float(value)):
        raise ValueError(f"EDF {what} would be {value}; it must be a finite number")
    if float(value).is_integer():
        s = str(int(value))
    else:
        s = f"{value:.{width}f}"
        # Cutting the integer part would write another number: refuse instead.
        if len(s.split(".")[0]) > width:
            s = s.split(".")[0]
        else:
            s = s[:width].rstrip(".")
    if len(s) > width:
        raise ValueError(
            f"EDF {what} {value} does not fit the header's {width} characters"
        )
    return s.ljust(width)


def _ascii(text: str, width: int) -> str:
    return text.encode("ascii", "replace").decode("ascii")[:width].ljust(width)


def write_edf(
    path: str | os.PathLike[str],
    data: np.ndarray,
    ch_names: list[str],
    sfreq: float,
    *,
    patient: str = "X X X X",
    recording: str = "Startdate X X X X",
    start: _dt.datetime | None = None,
    units: str = "uV",
    record_duration: float = 1.0,
    phys_range: np.ndarray | float | None = None,
) -> Path:
    """Write signals in volts to a plain EDF file (16-bit).

    Parameters
    ----------
    path : str | os.PathLike
        Output file.
    data : numpy.ndarray, shape (n_channels, n_times)
        Signals in volts; trailing samples that do not fill a data record are
        dropped.
    ch_names : list of str
        Labels (at most 16 characters each).
    sfreq : float
        Sampling frequency; ``sfreq * record_duration`` must be an integer.
    patient, recording : str
        Header identification fields (80 ASCII characters at most).
    start : datetime.datetime | None
        Start of the recording (default 2000-01-01 00:00:00).
    units : str
        Physical unit written in the header (``"uV"``).
    record_duration : float
        Seconds per data record.
    phys_range : numpy.ndarray | float | None
        Symmetric physical range per channel in ``units``; default: the
        channel's maximum absolute value, rounded up.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    data = np.asarray(data, dtype=np.float64)
    n_ch = data.shape[0]
    if len(ch_names) != n_ch:
        raise ValueError(f"{len(ch_names)} channel names for {n_ch} signals")
    labels = [_ascii(n, 16).rstrip() for n in ch_names]
    clashes = sorted(
        {
            f"{a!r} and {b!r} -> {la!r}"
            for i, (a, la) in enumerate(zip(ch_names, labels))
            for b, lb in zip(ch_names[i + 1 :], labels[i + 1 :])
            if la == lb and a != b
        }
    )
    if clashes:
        raise ValueError(
            "channel names that differ would be written as the same 16-character "
            f"ASCII EDF label: {clashes}; shorten them to unique labels"
        )
    for name, val in (("sfreq", sfreq), ("record_duration", record_duration)):
        if not (math.isfinite(float(val)) and float(val) > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {val!r}")
    spr = sfreq * record_duration
    if abs(spr - round(spr)) > 1e-9:
        raise ValueError("sfreq * record_duration must be an integer")
    spr = int(round(spr))
    n_rec = data.shape[1] // spr
    scale = 1.0 / _UNIT_SCALE[units.lower()]
    phys = data[:, : n_rec * spr] * scale
    bad = [ch_names[i] for i in np.flatnonzero(~np.isfinite(phys).all(axis=1))]
    if bad:
        raise ValueError(
            f"channels {bad} hold NaN or Inf samples, which EDF cannot store; "
            "replace them (e.g. with 0 or an interpolation) first"
        )
    if phys_range is None:
        peak = np.ceil(np.max(np.abs(phys), axis=1, initial=0.0) + 1.0)
    else:
        peak = np.broadcast_to(np.asarray(phys_range, dtype=float), (n_ch,)).copy()
        if not (np.isfinite(peak).all() and (peak > 0).all()):
            raise ValueError(
                f"phys_range must be finite and > 0 per channel, got {phys_range!r}"
            )
    dig = 32767.0
    digital = np.clip(np.round(phys / peak[:, None] * dig), -dig, dig).astype("<i2")
    start = start or _dt.datetime(2000, 1, 1)
    hdr = "".join(
        [
            _ascii("0", 8),
            _ascii(patient, 80),
            _ascii(recording, 80),
            start.strftime("%d.%m.%y"),
            start.strftime("%H.%M.%S"),
            _fmt(256 * (n_ch + 1)),
            " " * 44,
            _fmt(n_rec),
            _fmt(record_duration, what="record duration"),
            _fmt(n_ch, 4),
        ]
    )
    sig = "".join(
        [
            "".join(_ascii(n, 16) for n in labels),
            " " * 80 * n_ch,
            "".join(_ascii(units, 8) for _ in range(n_ch)),
            "".join(_fmt(-p, what="physical minimum") for p in peak),
            "".join(_fmt(p, what="physical maximum") for p in peak),
            "".join(_fmt(-dig) for _ in range(n_ch)),
            "".join(_fmt(dig) for _ in range(n_ch)),
            " " * 80 * n_ch,
            "".join(_fmt(spr) for _ in range(n_ch)),
            " " * 32 * n_ch,
        ]
    )
    # Records interleave channels: (n_rec, n_ch, spr) in C order.
    body = digital.reshape(n_ch, n_rec, spr).transpose(1, 0, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(hdr.encode("ascii"))
        f.write(sig.encode("ascii"))
        f.write(np.ascontiguousarray(body).tobytes())
    return path
