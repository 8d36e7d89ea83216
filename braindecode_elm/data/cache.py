"""Preprocessed cache: one float16 array per recording + a JSON-lines manifest.

Layout of a cache folder::

    <cache>/recordings/<recording_id>.npy     float16, (20, n_times), ELM units
    <cache>/manifest.jsonl                     one JSON object per line
    <cache>/manifest.shard-0003-of-0016.jsonl  (when built with ``shard=``)

Every recording of the input is one manifest row, with ``status`` ``"ok"`` or
``"skipped"`` and, for skipped ones, a ``reason`` code and a human ``detail``.
Rows are appended, never rewritten; when an id appears several times the last
row wins, so re-running :func:`build_cache` resumes an interrupted build and
retries what was skipped. Arrays are written once (to a temporary name, then
renamed) and memory-mapped on read, so a crop read is a zero-copy slice.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import dsp
from .._json import to_jsonable
from ..dsp.recipe import ELM_CROP_S
from .edf import EDFError, read_edf_data, read_edf_header
from .reports import ELM_HEADINGS, segment_report
from .windows import (
    ELM_DROP_FIRST_S,
    ELM_MAX_DURATION_S,
    ELM_MAX_MINUTES,
    ELM_MIN_DURATION_S,
    crop_bounds,
    crop_view,
)

__all__ = [
    "CacheError",
    "ManifestError",
    "CacheSummary",
    "CachedCorpus",
    "CachedRecording",
    "SKIP_REASONS",
    "build_cache",
    "open_cache",
    "shard_of",
]

#: Reason codes a skipped manifest row can carry.
SKIP_REASONS: dict[str, str] = {
    "corrupt_edf": "the EDF header does not parse",
    "truncated_edf": "the file is shorter than its EDF header says",
    "unreadable_file": "the file cannot be opened or read",
    "empty_data": "the recording holds no samples",
    "non_finite_data": "the signal holds NaN or infinite values",
    "missing_tcp_electrodes": "electrodes of the TCP montage are missing",
    "duplicate_electrodes": "an electrode of the TCP montage appears more than "
    "once, so which copy is meant is unknown (dsp.duplicate_electrodes)",
    "mixed_sampling_rates": "the TCP electrodes have different sampling rates",
    "too_short": "shorter than min_duration_s",
    "too_long": "longer than max_duration_s",
    "missing_report": "no report file was found",
    "empty_report": "the report is empty",
    "unreadable_report": "the report file is binary or cannot be read",
    "duplicate_id": "another recording already has this id",
    "preprocessing_failed": "the preprocessing engine raised an error",
    "unsupported_format": "a BIDS recording in a format other than EDF",
}

# Source files up to this size are read into memory once (hash + decode).
_BLOB_MAX = 512 * 1024**2


class CacheError(RuntimeError):
    """A recording could not be cached (raised by ``build_cache(strict=True)``).

    Attributes
    ----------
    recording_id, reason, detail : str
        What failed and why (``reason`` is a key of :data:`SKIP_REASONS`).
    """

    def __init__(self, recording_id: str, reason: str, detail: str) -> None:
        super().__init__(f"{recording_id}: {reason}: {detail}")
        self.recording_id = recording_id
        self.reason = reason
        self.detail = detail


class _Skip(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def shard_of(recording_id: str, n_shards: int) -> int:
    """Deterministic shard of a recording id (stable across machines and runs)."""
    digest = hashlib.sha1(recording_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards


def _sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- build
@dataclass
class CacheSummary:
    """What :func:`build_cache` did.

    Attributes
    ----------
    out_dir : pathlib.Path
        The cache folder.
    n_total : int
        Recordings of the input that belong to this shard.
    n_cached, n_skipped, n_already : int
        Newly cached, skipped (with reasons), and already done before.
    reasons : dict
        Count of skipped recordings per reason.
    seconds : float
        Wall time.
    hours_cached : float
        Hours of EEG newly cached.
    manifest : pathlib.Path
        Manifest file written by this run.
    """

    out_dir: Path
    n_total: int = 0
    n_cached: int = 0
    n_skipped: int = 0
    n_already: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    hours_cached: float = 0.0
    manifest: Path | None = None

    def __str__(self) -> str:
        why = ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items()))
        rate = self.hours_cached / self.seconds * 3600 if self.seconds else 0.0
        return (
            f"cache {self.out_dir}: {self.n_cached} cached, {self.n_already} already "
            f"done, {self.n_skipped} skipped{f' ({why})' if why else ''}; "
            f"{self.hours_cached:.2f} h of EEG in {self.seconds:.1f} s "
            f"({rate:.0f}x real time)"
        )


def _task_list(concat_ds: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Light, picklable work items + pre-skipped rows from a dataset."""
    tasks: list[dict[str, Any]] = []
    for i, ds in enumerate(concat_ds.datasets):
        desc = {} if ds.description is None else dict(ds.description)
        rid = desc.get("recording_id") or (
            Path(desc["path"]).stem if desc.get("path") else f"recording_{i:06d}"
        )
        raw = ds.raw
        path = desc.get("path")
        # Fast path: an EDF file nobody touched since loading is read directly.
        fast = (
            path is not None
            and str(path).lower().endswith(".edf")
            and type(raw).__name__ == "RawEDF"
            and not raw.preload
            and raw.first_samp == 0
        )
        tasks.append(
            dict(
                recording_id=str(rid),
                subject=None if desc.get("subject") is None else str(desc["subject"]),
                path=None if path is None else str(path),
                description=desc,
                raw=None if fast else raw,
                ch_names=list(raw.ch_names) if raw is not None else None,
            )
        )
    skipped = []
    extra = getattr(concat_ds, "skipped", None)
    if isinstance(extra, pd.DataFrame):
        skipped = extra.to_dict("records")
    return tasks, skipped


def _read_signal(
    task: dict[str, Any], dtype: type = np.float64
) -> tuple[np.ndarray, list[str], float, float]:
    """(data in volts (n, t), names, sfreq, duration_s) of the TCP electrodes.

    ``dtype`` is the type EDF samples are decoded to (``float32`` when the
    result is cached as float16: the engine still filters in float64, and float32
    input adds ~1e-7 relative error against float16's ~5e-4).
    """
    wanted = list(dsp.TCP_ELECTRODES)
    if task["raw"] is None:
        try:
            header = read_edf_header(task["path"])
        except EDFError as exc:
            raise _Skip(exc.reason, str(exc)) from exc
        except OSError as exc:
            raise _Skip("unreadable_file", f"{task['path']}: {exc}") from exc
        labels = list(header.labels)
        signals = [i for i, lbl in enumerate(labels) if lbl != "EDF Annotations"]
        # MNE lists the data signals in file order; renames made on the Raw
        # (e.g. eegbci.standardize) therefore map onto the header by position.
        if task.get("ch_names") and len(task["ch_names"]) == len(signals):
            for i, name in zip(signals, task["ch_names"]):
                labels[i] = name
        sfreqs = header.sfreqs
        duration = header.duration
    else:
        raw = task["raw"]
        labels = list(raw.ch_names)
        sfreqs = np.full(len(labels), float(raw.info["sfreq"]))
        duration = raw.n_times / float(raw.info["sfreq"])
    # The one rule for repeated electrodes (shared with dsp.preprocess): a TCP
    # electrode present twice is refused, never resolved by position.
    repeated = dsp.duplicate_electrodes(labels)
    if repeated:
        raise _Skip(
            "duplicate_electrodes",
            f"TCP electrodes {repeated} appear more than once (channels: "
            f"{', '.join(labels)}); which copy is meant is unknown",
        )
    names = [dsp.normalize_ch_name(lbl) for lbl in labels]
    index = {}
    for i, n in enumerate(names):
        index.setdefault(n, i)
    missing = [e for e in wanted if e not in index]
    if missing:
        raise _Skip(
            "missing_tcp_electrodes",
            f"TCP montage needs {missing}, not in the recording "
            f"(channels: {', '.join(names)})",
        )
    picks = [index[e] for e in wanted]
    rates = {float(sfreqs[i]) for i in picks}
    if len(rates) > 1:
        raise _Skip("mixed_sampling_rates", f"TCP electrodes at {sorted(rates)} Hz")
    sfreq = rates.pop()
    if duration <= 0:
        raise _Skip("empty_data", "the recording holds no samples")
    task["_duration"] = duration
    task["_check_duration"](duration)
    if task["raw"] is None:
        try:
            data = read_edf_data(header, picks, dtype=dtype, buffer=task.get("_blob"))
        except (OSError, ValueError) as exc:
            raise _Skip("unreadable_file", f"{task['path']}: {exc}") from exc
    else:
        data = task["raw"].get_data(picks=picks)
    return data, wanted, sfreq, duration


def _process(task: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Cache one recording; returns its manifest row (never raises _Skip)."""
    rid = task["recording_id"]
    row: dict[str, Any] = dict(
        recording_id=rid,
        subject=task["subject"],
        source=task["path"],
        recipe=cfg["recipe"],
        shard=cfg["shard_label"],
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    desc = task["description"]
    row["report"] = desc.get("report") if isinstance(desc.get("report"), str) else None
    row["report_encoding"] = desc.get("report_encoding")
    row["description"] = to_jsonable(
        {k: v for k, v in desc.items() if k not in ("report",)}
    )

    def check_duration(duration: float) -> None:
        if duration < cfg["min_duration_s"]:
            raise _Skip(
                "too_short",
                f"{duration:.1f} s < min_duration_s={cfg['min_duration_s']}",
            )
        if cfg["max_duration_s"] is not None and duration > cfg["max_duration_s"]:
            raise _Skip(
                "too_long",
                f"{duration:.1f} s > max_duration_s={cfg['max_duration_s']}",
            )

    task = dict(task, _check_duration=check_duration)
    try:
        if cfg["require_report"]:
            status = desc.get("report_status")
            report = row["report"]
            if status == "undecodable" or status == "unreadable":
                raise _Skip("unreadable_report", f"report {desc.get('report_path')}")
            if status == "empty" or (report is not None and not report.strip()):
                raise _Skip(
                    "empty_report", f"report {desc.get('report_path')} is empty"
                )
            if report is None:
                raise _Skip("missing_report", "no report text for this recording")
        if cfg["hash_source"] and task["path"] and os.path.isfile(task["path"]):
            try:
                if task["raw"] is None and os.path.getsize(task["path"]) < _BLOB_MAX:
                    # Read once: hash these bytes and decode the signals from them.
                    blob = Path(task["path"]).read_bytes()
                    row["sha256"] = hashlib.sha256(blob).hexdigest()
                    task["_blob"] = blob
                else:
                    row["sha256"] = _sha256(task["path"])
            except OSError as exc:
                raise _Skip("unreadable_file", f"{task['path']}: {exc}") from exc
        recipe: dsp.Recipe = cfg["recipe_obj"]
        # Float16 caches (ELM units) are fed to the engine's float32-I/O path.
        in_dtype = (
            np.float32 if recipe.scale and recipe.method == "engine" else np.float64
        )
        data, names, sfreq, duration = _read_signal(task, in_dtype)
        row["source_sfreq"] = sfreq
        row["duration_s"] = duration
        if data.shape[1] == 0:
            raise _Skip("empty_data", "the recording holds no samples")
        finite = np.isfinite(data)
        if not finite.all():
            bad = [names[i] for i in np.flatnonzero(~finite.all(axis=1))]
            raise _Skip(
                "non_finite_data",
                f"{int((~finite).sum())} NaN/inf samples in channels {bad}",
            )
        try:
            if recipe.method == "mne":
                import mne

                info = mne.create_info(names, sfreq, ch_types="eeg")
                raw = mne.io.RawArray(data, info, verbose="error")
                out = dsp.preprocess_raw(raw, recipe=recipe)
                y, out_names = out.get_data(), list(out.ch_names)
            else:
                y, out_names = dsp.preprocess(
                    data,
                    names,
                    sfreq,
                    recipe=recipe,
                    dtype=np.float32,
                    n_threads=cfg["n_threads"],
                )
            row["start_s"] = recipe.drop_first_s
            true_sfreq = recipe.output_sfreq(sfreq)
        except ValueError as exc:
            raise _Skip("preprocessing_failed", str(exc)) from exc
        # ELM units (|x| <= 80) fit float16; volts ("default" recipe) would
        # underflow in float16, so those stay float32.
        y16 = y.astype(np.float16 if recipe.scale else np.float32)
        # Ids come from file names or descriptions: keep them a single file name.
        safe = "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in rid)
        if safe != rid:  # two ids must not share a file after the clean-up
            safe = f"{safe}-{hashlib.sha1(rid.encode()).hexdigest()[:8]}"
        rel = Path("recordings") / f"{safe}.npy"
        dest = cfg["out_dir"] / rel
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.save(f, y16)
            os.replace(tmp, dest)
        except BaseException:
            # Disk full, I/O error or interrupt: leave no partial file behind.
            tmp.unlink(missing_ok=True)
            raise
        row.update(
            status="ok",
            reason=None,
            detail=None,
            file=str(rel),
            shape=list(y16.shape),
            n_times=int(y16.shape[1]),
            sfreq=recipe.out_sfreq,
            true_sfreq=true_sfreq,
            ch_names=list(out_names),
            params=cfg["params"],
            backend=dsp.backend(),
        )
    except _Skip as skip:
        row.update(status="skipped", reason=skip.reason, detail=skip.detail)
    return row


def _worker_init(parent_pid: int) -> None:
    """Make a build worker die with its parent (a killed build leaves no workers).

    Pool workers wait on a queue their parent feeds; when the parent is
    killed (SIGKILL, OOM killer) nothing tells them, so on Linux the kernel is
    asked to send SIGKILL on the parent's death (``PR_SET_PDEATHSIG``).
    """
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl: fall through to the check
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took hold
        os._exit(1)


def _process_star(args: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return _process(*args)


class ManifestError(ValueError):
    """A manifest row is unusable (not JSON, or pointing outside its cache)."""


def _safe_rel(root: Path, rel: Any, where: str) -> Path:
    """``root / rel`` for a manifest ``file`` field, refusing paths that leave root.

    A manifest is data: an absolute path or ``..`` in it must not make the
    reader open (or the writer trust) a file outside the cache folder.
    """
    if not isinstance(rel, str) or not rel:
        raise ManifestError(f"{where}: 'file' must be a relative path, got {rel!r}")
    pure = Path(rel)
    if pure.is_absolute() or ".." in pure.parts or rel.startswith(("/", "\\")):
        raise ManifestError(
            f"{where}: 'file' {rel!r} points outside the cache folder {root}; "
            "a manifest may only name files inside its own folder"
        )
    return root / pure


def _parse_manifest_line(line: str, where: str) -> tuple[dict[str, Any] | None, str]:
    """(row, note) for one manifest line; row None when the line is torn.

    A build killed mid-write leaves a cut-short line; older versions then
    appended the next row onto it (``{"recording_id": "a", "sta{...}``). The
    last complete object on such a line is recovered; the torn part is
    reported in ``note``.
    """
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        row = None
    if isinstance(row, dict) and "recording_id" in row:
        return row, ""
    if row is not None:
        return None, f"{where}: not a manifest row (no recording_id)"
    # The glued row starts at one of the later '{"recording_id"' (rows nest
    # one in their description too): the first that parses to the line end.
    decoder = json.JSONDecoder()
    start = line.find('{"recording_id"', 1)
    while start > 0:
        try:
            tail, end = decoder.raw_decode(line, start)
        except json.JSONDecodeError:
            tail, end = None, -1
        if end == len(line) and isinstance(tail, dict) and "recording_id" in tail:
            return tail, f"{where}: a torn row was dropped, the row after it kept"
        start = line.find('{"recording_id"', start + 1)
    return None, f"{where}: a torn (cut-short) row was dropped"


def _read_manifests(out_dir: Path) -> list[dict[str, Any]]:
    """All rows of all manifests of a cache; torn rows dropped with a warning.

    A torn row is a recording whose row was being written when a build was
    killed: it is not in the cache, and the next :func:`build_cache` redoes it.
    """
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for mf in sorted(out_dir.glob("manifest*.jsonl")):
        with open(mf, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                row, note = _parse_manifest_line(line, f"{mf}:{n}")
                if note:
                    notes.append(note)
                if row is not None:
                    rows.append(row)
    if notes:
        warnings.warn(
            f"cache {out_dir}: {len(notes)} manifest line(s) unusable "
            f"({'; '.join(notes[:3])}{'; ...' if len(notes) > 3 else ''}); "
            "those recordings count as not cached, and build_cache(...) on the "
            "same folder redoes them",
            RuntimeWarning,
            stacklevel=3,
        )
    return rows


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (no final newline) off a manifest before appending.

    Appending onto a cut-short line would glue the next row to it.
    """
    if not path.is_file():
        return
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # Find the last newline (reading backwards in blocks).
        pos, keep = size, 0
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                keep = pos + i + 1
                break
        f.seek(keep)
        torn = f.read(200)
        f.truncate(keep)
    warnings.warn(
        f"{path}: removed a torn last row ({torn[:80]!r}...) left by an "
        "interrupted build; that recording is redone",
        RuntimeWarning,
        stacklevel=3,
    )


def _same_recipe(row: dict[str, Any], recipe: dsp.Recipe) -> bool:
    """Whether a manifest row was made with ``recipe`` (name and stored fields).

    Rows of older caches store fewer fields; only the fields they hold count.
    """
    if row.get("recipe", recipe.name) != recipe.name:
        return False
    stored = row.get("params") or {}
    mine = recipe.to_dict(name=False)
    return all(stored[k] == mine[k] for k in stored.keys() & mine.keys())


def _npy_matches(path: Path, row: dict[str, Any]) -> bool:
    """Whether a cached array's header agrees with its manifest row."""
    try:
        # A memory map of a cut-short array (disk full, copy interrupted)
        # fails: the file is shorter than its header says.
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    want = row.get("shape")
    return isinstance(arr, np.ndarray) and (
        want is None or list(arr.shape) == list(want)
    )


def build_cache(
    concat_ds: Any,
    out_dir: str | os.PathLike[str],
    *,
    recipe: dsp.Recipe | str = "elm",
    n_jobs: int = 1,
    shard: tuple[int, int] | None = None,
    strict: bool = False,
    require_report: bool = True,
    min_duration_s: float = ELM_MIN_DURATION_S,
    max_duration_s: float | None = ELM_MAX_DURATION_S,
    hash_source: bool = True,
    retry_skipped: bool = True,
    n_threads: int = 1,
    progress: bool = True,
    metadata: Any = None,
    recording_ids: Sequence[str] | None = None,
) -> CacheSummary:
    """Preprocess every recording once into a memory-mappable float16 cache.

    Each recording goes through the DSP engine
    (:func:`braindecode_elm.dsp.preprocess`: TCP montage, zero-phase band-pass
    0.1-49 Hz, x1e5 and clip +-80 for the ``"elm"`` recipe, polyphase resampling
    to 100 Hz) and is written as ``recordings/<id>.npy`` (float16, (20,
    n_times); float32 for the unscaled ``"default"`` recipe). The manifest row
    holds the id, source path, sha256 of the source, shape, sampling rate,
    channel names, preprocessing parameters, the report, the description and
    the status; a skipped recording's row holds its reason (see
    :data:`SKIP_REASONS`).

    Parameters
    ----------
    concat_ds : braindecode.datasets.BaseConcatDataset | str | os.PathLike
        Recordings (e.g. :class:`TUHReports`, :class:`EEGMAT`), or a TUH corpus
        folder (indexed with :func:`index_tuh`, same description rows as
        :class:`TUHReports`, without building MNE objects). A dataset's
        ``skipped`` table, if any, goes into the manifest.
    out_dir : str | os.PathLike
        Cache folder (created).
    recipe : Recipe | {"elm", "default", "elm_official"}
        A :class:`~braindecode_elm.dsp.Recipe` or a preset name. ``"elm"``: ELM
        units (volts x 1e5, clipped at +-80); ``"default"``: volts (stored as
        float32); ``"elm_official"``: the paper's MNE chain (slow; drops the
        first 10 s, recorded as ``start_s`` so crops stay aligned to the
        original time). The manifest stores the recipe's fields (``params``)
        and the rate each recording came out at (``true_sfreq``).
    n_jobs : int
        Worker processes (recordings are processed in parallel).
    shard : tuple of (int, int) | None
        ``(i, n)``: process only the recordings with ``shard_of(id, n) == i``,
        writing ``manifest.shard-<i>-of-<n>.jsonl``; run the n shards anywhere
        (same ``out_dir`` on a shared file system, or merge the folders).
    strict : bool
        Raise :class:`CacheError` on the first recording that cannot be cached
        instead of skipping it.
    require_report : bool
        Skip recordings without a usable report (pretraining needs text).
    min_duration_s : float
        Skip recordings shorter than this (ELM: 60 s). Lower it for short
        evaluation recordings.
    max_duration_s : float | None
        Skip recordings longer than this (ELM pretraining: 2.5 h); None keeps all.
    hash_source : bool
        Store the sha256 of each source file.
    retry_skipped : bool
        On a re-run, retry recordings the manifest lists as skipped (default);
        recordings listed as ok with their array present are never redone.
    n_threads : int
        Engine threads per recording (channels split among them); use with
        ``n_jobs=1`` to parallelise inside recordings instead of across them.
    progress : bool
        Show a tqdm progress bar.
    metadata : pandas.DataFrame | path-like | list of them | None
        Labels/metadata tables merged into the descriptions (see
        :func:`~braindecode_elm.data.read_metadata`): one row per
        recording (EDF stem or path) or per subject. Its ``subject`` column
        sets subject ids; its ``report`` column gives report text.
    recording_ids : sequence of str | None
        With a folder input: only these recording ids (EDF stems).

    Returns
    -------
    CacheSummary
        Counts, reasons and timing; ``str()`` gives a one-line summary.

    Raises
    ------
    CacheError
        With ``strict=True``, for the first recording that cannot be cached.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    rec = dsp.as_recipe(recipe)
    if shard is not None:
        i_shard, n_shards = (int(v) for v in shard)
        if not (n_shards >= 1 and 0 <= i_shard < n_shards):
            raise ValueError(f"shard must be (i, n) with 0 <= i < n, got {shard}")
        manifest = f"manifest.shard-{i_shard:04d}-of-{n_shards:04d}.jsonl"
        label = f"{i_shard}/{n_shards}"
    else:
        i_shard, n_shards, manifest, label = 0, 1, "manifest.jsonl", None
    if max_duration_s is not None and not min_duration_s <= max_duration_s:
        raise ValueError(
            f"min_duration_s={min_duration_s} is above max_duration_s="
            f"{max_duration_s}: every recording would be skipped"
        )
    out = Path(out_dir)
    (out / "recordings").mkdir(parents=True, exist_ok=True)
    params = rec.to_dict(name=False)
    cfg = dict(
        recipe=rec.name,
        recipe_obj=rec,
        params=params,
        n_threads=int(n_threads),
        out_dir=out,
        shard_label=label,
        require_report=require_report,
        min_duration_s=float(min_duration_s),
        max_duration_s=None if max_duration_s is None else float(max_duration_s),
        hash_source=hash_source,
    )
    if isinstance(concat_ds, (str, os.PathLike)):
        # A corpus folder: index it without building MNE Raw objects.
        from .tuh_index import index_tuh

        descs, skipped_df = index_tuh(
            concat_ds, recording_ids=recording_ids, metadata=metadata
        )
        tasks = [
            dict(
                recording_id=str(d["recording_id"]),
                subject=d["subject"],
                path=d["path"],
                description=d,
                raw=None,
                ch_names=None,
            )
            for d in descs
        ]
        pre_skipped = skipped_df.to_dict("records")
    else:
        if recording_ids is not None:
            raise ValueError("recording_ids selects files of a folder input only")
        tasks, pre_skipped = _task_list(concat_ds)
        if metadata is not None:
            from .tuh_index import apply_metadata

            tables = metadata if isinstance(metadata, (list, tuple)) else [metadata]
            for table in tables:
                apply_metadata([t["description"] for t in tasks], table)
            for t in tasks:
                subj = t["description"].get("subject")
                t["subject"] = None if subj is None else str(subj)

    # Duplicates are resolved on the whole list so every shard agrees.
    first: dict[str, str] = {}
    dup_rows = []
    unique = []
    for t in tasks:
        rid = t["recording_id"]
        if rid in first:
            dup_rows.append(
                dict(
                    recording_id=rid,
                    path=t["path"],
                    subject=t["subject"],
                    reason="duplicate_id",
                    detail=f"recording id {rid} already used by {first[rid]}",
                )
            )
            continue
        first[rid] = str(t["path"])
        unique.append(t)
    pre = [
        dict(
            recording_id=str(r["recording_id"]),
            subject=r.get("subject"),
            source=r.get("path"),
            recipe=rec.name,
            shard=label,
            status="skipped",
            reason=r["reason"],
            detail=r.get("detail"),
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        )
        for r in [*pre_skipped, *dup_rows]
    ]
    # A pre-skipped duplicate of a recording that is cached keeps a distinct key.
    for r in pre:
        if r["reason"] == "duplicate_id" and r["source"]:
            r["recording_id_key"] = f"{r['recording_id']}@{r['source']}"
    unique = [t for t in unique if shard_of(t["recording_id"], n_shards) == i_shard]
    pre = [r for r in pre if shard_of(r["recording_id"], n_shards) == i_shard]

    done: set[str] = set()
    _repair_tail(out / manifest)
    for r in _read_manifests(out):
        key = r.get("recording_id_key", r["recording_id"])
        if r.get("status") == "ok" and not _same_recipe(r, rec):
            raise ValueError(
                f"{out} holds recordings preprocessed with recipe "
                f"{r.get('recipe')!r}, not {rec.name!r} (stored fields "
                f"{r.get('params')}, asked {params}); use another folder or the "
                "same recipe"
            )
        # Resume trusts an "ok" row only when its array is there, inside the
        # cache, and as long as the row says (a killed copy leaves it short).
        if r.get("status") == "ok" and _npy_matches(
            _safe_rel(out, r.get("file"), f"{out / manifest}"), r
        ):
            done.add(key)
        elif r.get("status") == "skipped" and not retry_skipped:
            done.add(key)
        else:
            done.discard(key)
    summary = CacheSummary(out_dir=out, n_total=len(unique) + len(pre))
    summary.manifest = out / manifest
    reasons: Counter[str] = Counter()
    todo = [t for t in unique if t["recording_id"] not in done]
    summary.n_already = len(unique) - len(todo)
    pre_todo = [
        r for r in pre if r.get("recording_id_key", r["recording_id"]) not in done
    ]
    summary.n_already += len(pre) - len(pre_todo)
    bar = tqdm(
        total=len(todo) + len(pre_todo), desc="cache", unit="rec", disable=not progress
    )

    # Each row goes out in one write() on an O_APPEND descriptor: a kill leaves
    # whole rows (a torn tail only on a crash of the machine, repaired above).
    fd = os.open(out / manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with os.fdopen(fd, "ab", buffering=0) as mf:

        def record(row: dict[str, Any]) -> None:
            if row["status"] != "ok":
                if strict:
                    raise CacheError(row["recording_id"], row["reason"], row["detail"])
                reasons[row["reason"]] += 1
                summary.n_skipped += 1
            else:
                summary.n_cached += 1
                summary.hours_cached += row["duration_s"] / 3600.0
            line = (json.dumps(to_jsonable(row), ensure_ascii=False) + "\n").encode()
            written = mf.write(line)
            while written is not None and written < len(line):
                written += mf.write(line[written:])
            bar.update()

        for row in pre_todo:
            record(row)
        if n_jobs == 1 or len(todo) <= 1:
            for t in todo:
                record(_process(t, cfg))
        else:
            from concurrent.futures import ProcessPoolExecutor

            # Default start method (fork on Linux): workers only read files and
            # call the engine, never torch, so forking a parent that imported
            # torch is safe; on Linux user scripts need no __main__ guard.
            with ProcessPoolExecutor(
                max_workers=n_jobs,
                initializer=_worker_init,
                initargs=(os.getpid(),),
            ) as ex:
                for row in ex.map(_process_star, [(t, cfg) for t in todo], chunksize=1):
                    record(row)
    bar.close()
    summary.reasons = dict(reasons)
    summary.seconds = time.perf_counter() - t0
    return summary


# --------------------------------------------------------------------------- read
class CachedRecording:
    """One cached recording (returned by ``corpus[i]`` / ``corpus[id]``).

    Attributes
    ----------
    id : str
        Recording id.
    subject : str
        Subject id (the unit of leakage-safe splits).
    sfreq : float
        Nominal sampling rate of the cached array (the recipe's output rate,
        100.0); crop lengths are counted with it.
    true_sfreq : float
        The rate the resampler produced from the source rate; equal to
        ``sfreq`` except for source rates without a small up/down ratio (e.g.
        173.61 Hz gives 99.99936 Hz).
    ch_names : list of str
        The 20 TCP channel names (``"FP1-F7"`` ...).
    report : str | None
        Report text (for EEGMAT/EEGBCI: the caption).
    description : dict
        Everything known about the recording (age, gender, pathological,
        target/label, split, ...).
    n_times : int
        Samples in the cached array.
    start_s : float
        Time of the first cached sample in the original recording.
    """

    def __init__(self, row: dict[str, Any], root: Path) -> None:
        self._row = row
        self._root = root
        self._data: np.ndarray | None = None
        self.id: str = row["recording_id"]
        desc = dict(row.get("description") or {})
        subj = row.get("subject") or desc.get("subject") or self.id
        self.subject: str = str(subj)
        self.sfreq: float = float(row["sfreq"])
        self.true_sfreq: float = float(row.get("true_sfreq") or self.sfreq)
        self.ch_names: list[str] = list(row["ch_names"])
        self.report: str | None = row.get("report")
        self.description: dict[str, Any] = desc
        self.n_times: int = int(row["n_times"])
        self.start_s: float = float(row.get("start_s") or 0.0)

    @property
    def path(self) -> Path:
        """The ``.npy`` file of this recording."""
        return _safe_rel(self._root, self._row.get("file"), f"recording {self.id}")

    @property
    def data(self) -> np.ndarray:
        """Memory-mapped float16 array (20, n_times) in ELM units (read-only)."""
        if self._data is None:
            try:
                data = np.load(self.path, mmap_mode="r")
            except (ValueError, OSError, EOFError) as exc:
                raise ValueError(
                    f"the cached array of recording {self.id} ({self.path}) cannot "
                    f"be read ({exc}); run the same build_cache / elm preprocess "
                    "again: damaged arrays are redone"
                ) from exc
            if data.ndim != 2 or data.shape[1] != self.n_times:
                raise ValueError(
                    f"the cached array of recording {self.id} ({self.path}) has shape "
                    f"{data.shape}, the manifest says {self.n_times} samples; run the "
                    "same build_cache / elm preprocess again: damaged arrays are redone"
                )
            self._data = data
        return self._data

    @property
    def duration_s(self) -> float:
        """Seconds of cached signal."""
        return self.n_times / self.sfreq

    def n_crops(
        self,
        seconds: float = ELM_CROP_S,
        *,
        drop_first_s: float = ELM_DROP_FIRST_S,
        max_minutes: float | None = ELM_MAX_MINUTES,
    ) -> int:
        """Number of crops :meth:`crops` returns (without opening the array)."""
        return crop_bounds(
            self.n_times,
            self.sfreq,
            seconds,
            drop_first_s=drop_first_s,
            max_minutes=max_minutes,
            start_s=self.start_s,
        )[1]

    def crops(
        self,
        seconds: float = ELM_CROP_S,
        *,
        drop_first_s: float = ELM_DROP_FIRST_S,
        max_minutes: float | None = ELM_MAX_MINUTES,
    ) -> np.ndarray:
        """Aligned non-overlapping crops as a zero-copy float16 view.

        Parameters
        ----------
        seconds : float
            Crop length (ELM: 5 or 60).
        drop_first_s : float
            Seconds dropped at the start of the original recording (ELM: 10).
        max_minutes : float | None
            Use at most this span after the dropped part (ELM: 45).

        Returns
        -------
        numpy.ndarray, shape (n_crops, 20, seconds * sfreq)
            Read-only view of the memory map, in ELM units.
        """
        return crop_view(
            self.data,
            self.sfreq,
            seconds,
            drop_first_s=drop_first_s,
            max_minutes=max_minutes,
            start_s=self.start_s,
        )

    def segments(
        self,
        mode: str = "sentence",
        headings: Sequence[str] | None = ELM_HEADINGS,
    ) -> list[str]:
        """Text segments of the report (see :func:`segment_report`).

        Captions without headings fall back to their sentences.
        """
        return segment_report(self.report, mode=mode, headings=headings)

    def __repr__(self) -> str:
        return (
            f"CachedRecording({self.id!r}, subject={self.subject!r}, "
            f"{len(self.ch_names)} ch x {self.n_times} @ {self.sfreq:g} Hz)"
        )


class CachedCorpus:
    """A cache folder opened for reading (see :func:`open_cache`).

    Attributes
    ----------
    root : pathlib.Path
        Cache folder.
    manifest : pandas.DataFrame
        All rows (last per recording id), cached and skipped, with ``status``
        and ``reason``.
    ids : list of str
        Ids of the cached (``status == "ok"``) recordings, sorted.
    subjects : list of str
        Subject of each id (aligned with ``ids``).
    """

    def __init__(self, root: Path, rows: list[dict[str, Any]]) -> None:
        self.root = root
        last: dict[str, dict[str, Any]] = {}
        # Latest row wins; rows from several shard manifests are ordered by
        # their creation time (a stable sort keeps file order for ties).
        rows = sorted(rows, key=lambda r: r.get("created") or "")
        for r in rows:
            last[r.get("recording_id_key", r["recording_id"])] = r
        ordered = sorted(
            last.values(), key=lambda r: (r["recording_id"], r.get("source") or "")
        )
        self._rows = {
            r["recording_id"]: r
            for r in ordered
            if r.get("status") == "ok" and "recording_id_key" not in r
        }
        self.manifest = pd.DataFrame(ordered)
        for col in ("recording_id", "subject", "status", "reason", "detail"):
            if col not in self.manifest:
                self.manifest[col] = None
        for rid, r in self._rows.items():
            _safe_rel(root, r.get("file"), f"{root}: recording {rid}")
        self.ids: list[str] = sorted(self._rows)
        self._recs: dict[str, CachedRecording] = {}
        self.subjects: list[str] = [self[i].subject for i in self.ids]

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[CachedRecording]:
        for rid in self.ids:
            yield self[rid]

    def __getitem__(self, key: int | str) -> CachedRecording:
        if isinstance(key, (int, np.integer)):
            key = self.ids[int(key)]
        if key not in self._rows:
            raise KeyError(
                f"recording {key!r} is not cached in {self.root}"
                + (
                    f" (manifest: {self.skipped_reason(key)})"
                    if self.skipped_reason(key)
                    else ""
                )
            )
        if key not in self._recs:
            self._recs[key] = CachedRecording(self._rows[key], self.root)
        return self._recs[key]

    def skipped_reason(self, recording_id: str) -> str | None:
        """Reason a recording was skipped, or None."""
        m = self.manifest
        hit = m[(m["recording_id"] == recording_id) & (m["status"] != "ok")]
        return None if hit.empty else str(hit["reason"].iloc[-1])

    @property
    def skipped(self) -> pd.DataFrame:
        """Manifest rows of the skipped recordings."""
        return self.manifest[self.manifest["status"] != "ok"].reset_index(drop=True)

    @property
    def description(self) -> pd.DataFrame:
        """One row per cached recording: its description plus id and subject."""
        rows = []
        for rec in self:
            d = dict(rec.description)
            d.update(recording_id=rec.id, subject=rec.subject, report=rec.report)
            rows.append(d)
        return pd.DataFrame(rows)

    def n_crops(self, seconds: float = ELM_CROP_S, **kwargs: Any) -> np.ndarray:
        """Crops per cached recording (aligned with ``ids``); see ``.crops``."""
        return np.array([self[i].n_crops(seconds, **kwargs) for i in self.ids])

    def select(self, ids: Sequence[str]) -> CachedCorpus:
        """A corpus restricted to ``ids`` (e.g. one side of a subject split)."""
        keep = set(ids)
        unknown = keep - set(self.ids)
        if unknown:
            raise KeyError(f"ids not cached in {self.root}: {sorted(unknown)[:5]}")
        return CachedCorpus(
            self.root, [r for r in self._rows.values() if r["recording_id"] in keep]
        )

    def to_windows_dataset(
        self,
        seconds: float = ELM_CROP_S,
        *,
        target_name: str | None = None,
        drop_first_s: float = ELM_DROP_FIRST_S,
        max_minutes: float | None = ELM_MAX_MINUTES,
    ) -> Any:
        """Braindecode windows of the cached recordings (for probes/fine-tuning).

        Parameters
        ----------
        seconds : float
            Window length.
        target_name : str | None
            Description column used as each window's target.
        drop_first_s, max_minutes : float
            As in :meth:`CachedRecording.crops` (same windows).

        Returns
        -------
        braindecode.datasets.BaseConcatDataset
            One ``EEGWindowsDataset`` per recording with at least one window,
            float32 data in ELM units.
        """
        import mne
        from braindecode.datasets import BaseConcatDataset, RawDataset
        from braindecode.preprocessing import create_fixed_length_windows

        parts = []
        for rec in self:
            start, n, length = crop_bounds(
                rec.n_times,
                rec.sfreq,
                seconds,
                drop_first_s=drop_first_s,
                max_minutes=max_minutes,
                start_s=rec.start_s,
            )
            if n == 0:
                continue
            info = mne.create_info(rec.ch_names, rec.sfreq, ch_types="eeg")
            raw = mne.io.RawArray(
                np.asarray(rec.data[:, start : start + n * length], dtype=np.float32),
                info,
                verbose="error",
            )
            desc = dict(rec.description, recording_id=rec.id, subject=rec.subject)
            desc.setdefault("report", rec.report)
            parts.append(RawDataset(raw, pd.Series(desc), target_name=target_name))
        if not parts:
            raise ValueError(f"no recording has a whole {seconds}-s window")
        size = int(round(seconds * parts[0].raw.info["sfreq"]))
        return create_fixed_length_windows(
            BaseConcatDataset(parts),
            window_size_samples=size,
            window_stride_samples=size,
            on_last_window="drop",
        )

    def __repr__(self) -> str:
        return (
            f"CachedCorpus({str(self.root)!r}, {len(self)} recordings, "
            f"{len(set(self.subjects))} subjects, {len(self.skipped)} skipped)"
        )


def open_cache(cache_dir: str | os.PathLike[str]) -> CachedCorpus:
    """Open a cache written by :func:`build_cache`.

    Parameters
    ----------
    cache_dir : str | os.PathLike
        The cache folder (all ``manifest*.jsonl`` files in it are merged).

    Returns
    -------
    CachedCorpus
        The cached recordings and the full manifest.

    Raises
    ------
    FileNotFoundError
        When the folder has no manifest.
    """
    root = Path(cache_dir)
    if not any(root.glob("manifest*.jsonl")):
        raise FileNotFoundError(
            f"no cache manifest in {root}; build one with build_cache(...) or "
            "`elm preprocess`"
        )
    return CachedCorpus(root, _read_manifests(root))
