"""One recording into the cache, in a build worker.

Read the TCP electrodes (the EDF fast path for untouched EDF files, else the
Raw), check them, preprocess with the recipe, write the array and return the
manifest row. A bad recording never raises: its row carries the reason.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import dsp
from .._json import to_jsonable
from ..dsp import preprocess_counted
from ..dsp.engine import clip_fraction
from .edf import EDFError, read_edf_data, read_edf_header, record_onsets, unit_scale

# Source files up to this size are read into memory once (hash + decode).
_BLOB_MAX = 512 * 1024**2


class _Skip(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def real_location(path: str | os.PathLike[str]) -> str:
    """The file's place with its folders resolved (symlinks, ``..``) but the file
    itself not followed: a symlinked EDF stays in the folder that lists it."""
    # No abspath first: it would drop "sym/.." by text, before the link.
    head, name = os.path.split(os.fspath(path))
    return os.path.join(os.path.realpath(head or "."), name)


def _stat_identity(path: str | os.PathLike[str] | None) -> dict[str, int]:
    """``source_size`` and ``source_mtime_ns`` of a source file ({} if none)."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        st = None
    if st is None:
        return {}
    return dict(source_size=int(st.st_size), source_mtime_ns=int(st.st_mtime_ns))


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
        if header.reserved.upper().startswith("EDF+D"):
            _check_continuous(header, task)
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
        odd = sorted(
            {header.units[i] for i in picks if unit_scale(header.units[i]) is None}
        )
        if odd:
            task.setdefault("_warnings", []).append(
                f"EDF physical unit(s) {odd} of the TCP electrodes name no voltage "
                "unit (uV, mV, V, nV): read as microvolts; check the amplitudes"
            )
        try:
            data = read_edf_data(header, picks, dtype=dtype, buffer=task.get("_blob"))
        except (OSError, ValueError) as exc:
            raise _Skip("unreadable_file", f"{task['path']}: {exc}") from exc
    else:
        data = task["raw"].get_data(picks=picks)
    return data, wanted, sfreq, duration


def _check_continuous(header: Any, task: dict[str, Any]) -> None:
    """Skip an EDF+D file whose records are not back to back.

    Many writers mark every file EDF+D; only real gaps are refused (the
    records would be joined, and the filters run across the join).
    """
    try:
        onsets = record_onsets(header, buffer=task.get("_blob"))
    except EDFError as exc:
        raise _Skip(exc.reason, str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise _Skip("unreadable_file", f"{task['path']}: {exc}") from exc
    if onsets is None or len(onsets) < 2:
        return
    step = np.diff(onsets)
    # Onsets are written in decimal text: allow a millisecond of rounding.
    jumps = np.flatnonzero(np.abs(step - header.record_duration) > 1e-3)
    if len(jumps):
        k = int(jumps[0])
        raise _Skip(
            "discontinuous_edf",
            f"EDF+D with {len(jumps)} time gap(s) between its records; the first "
            f"after record {k} ({onsets[k]:g} s): the next starts at "
            f"{onsets[k + 1]:g} s instead of "
            f"{onsets[k] + header.record_duration:g} s; split the file into its "
            "continuous parts (e.g. mne.io.read_raw_edf, then crop at the gaps)",
        )


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
    # The source's size and modification time, taken before the file is read,
    # go into an "ok" row: a later run compares them to see whether the file
    # changed (a change during the read then shows up as one).
    identity = _stat_identity(task["path"])
    if task["path"]:
        # Where the file really is: "source" is kept as the build named it
        # (relative to its working folder); pruning judges this one.
        row["source_real"] = real_location(task["path"])
    desc = task["description"]
    row["report"] = desc.get("report") if isinstance(desc.get("report"), str) else None
    row["report_encoding"] = desc.get("report_encoding")
    row["description"] = to_jsonable(
        {k: v for k, v in desc.items() if k not in ("report",)}
    )

    def check_duration(duration: float) -> None:
        skip = duration_skip(duration, cfg)
        if skip is not None:
            raise skip

    task = dict(task, _check_duration=check_duration)
    try:
        skip = report_skip(row["report"], desc, cfg)
        if skip is not None:
            raise skip
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
        if recipe.drop_first_s and duration <= recipe.drop_first_s:
            # A length problem, named as one (it came as preprocessing_failed).
            raise _Skip(
                "too_short",
                f"{duration:.1f} s; recipe {recipe.name!r} drops the first "
                f"{recipe.drop_first_s:g} s of every recording",
            )
        try:
            if recipe.method == "mne":
                import mne

                info = mne.create_info(names, sfreq, ch_types="eeg")
                raw = mne.io.RawArray(data, info, verbose="error")
                out = dsp.preprocess_raw(raw, recipe=recipe)
                y, out_names = out.get_data(), list(out.ch_names)
                clipped = clip_fraction(y, recipe.clip) if recipe.clip else None
            else:
                # Counted, not warned about: the engine's clip warning names no
                # file; the note below names the recording.
                y, out_names, clipped = preprocess_counted(
                    data,
                    names,
                    sfreq,
                    recipe,
                    dtype=np.float32,
                    n_threads=cfg["n_threads"],
                )
            row["start_s"] = recipe.drop_first_s
            true_sfreq = recipe.output_sfreq(sfreq)
        except ValueError as exc:
            raise _Skip("preprocessing_failed", str(exc)) from exc
        notes = list(task.get("_warnings", [])) + _signal_notes(
            data, names, recipe, clipped
        )
        if note := report_note(desc):
            notes.append(note)
        if clipped is not None:
            row["clip_fraction"] = clipped
        if notes:
            row["warnings"] = notes
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
            **identity,
        )
    except _Skip as skip:
        row.update(status="skipped", reason=skip.reason, detail=skip.detail)
    return row


#: Median electrode RMS (volts) below which a recording is too small for
#: scalp EEG (~10-100 uV): a wrong unit in the header (millivolt values under
#: "uV") or a disconnected amplifier.
_TINY_RMS_V = 1e-7


def _signal_notes(
    data: np.ndarray, names: list[str], recipe: dsp.Recipe, clipped: float | None
) -> list[str]:
    """What looks wrong in a recording that was still cached: flat electrodes,
    amplitudes far below EEG's, much of the output at the clip (``clipped``,
    the output's fraction there). Each note goes into the manifest row
    (``warnings``) and the build names the recording."""
    from ..dsp.engine import CLIP_WARN_FRACTION

    notes = []
    # The extremes in one pass each; the RMS from every 16th sample (an order
    # of magnitude is asked, and a copy of hours of EEG is not).
    flat_rows = data.max(axis=1) == data.min(axis=1)
    flat = [n for n, f in zip(names, flat_rows) if f]
    if flat:
        notes.append(
            f"flat electrodes {flat} (constant signal: disconnected or missing?); "
            "their bipolar channels carry only the other electrode"
        )
    if not flat_rows.all():
        sd = np.std(data[:, ::16], axis=1)
        rms = float(np.median(sd[~flat_rows]))
        if rms < _TINY_RMS_V:
            notes.append(
                f"median electrode RMS {rms * 1e6:.3g} uV is far below scalp EEG's "
                "(~10-100 uV): the header's unit is likely wrong (millivolt or "
                "raw counts read as microvolts?)"
            )
    if clipped is not None and clipped > CLIP_WARN_FRACTION:
        notes.append(
            f"{100 * clipped:.1f} % of the output samples are at the clip "
            f"+-{recipe.clip:g}: the amplitudes are far above scalp EEG's, "
            "the header's unit is likely wrong (microvolt values under a 'V' "
            "header?)"
        )
    return notes


#: How a report note starts (a rerun replaces it when the report changes).
REPORT_NOTE_PREFIX = "its report "


def report_note(desc: dict[str, Any]) -> str | None:
    """The note of a recording whose report file exists but cannot be read."""
    status = desc.get("report_status")
    if status not in ("undecodable", "unreadable"):
        return None
    return (
        f"{REPORT_NOTE_PREFIX}{desc.get('report_path')} could not be "
        f"{'decoded' if status == 'undecodable' else 'read'}: cached without a "
        "report (save it as UTF-8; --require-reports skips such recordings)"
    )


def duration_skip(duration: float, cfg: dict[str, Any]) -> _Skip | None:
    """The skip of a recording outside the build's duration limits, or None."""
    if duration < cfg["min_duration_s"]:
        return _Skip(
            "too_short", f"{duration:.1f} s < min_duration_s={cfg['min_duration_s']}"
        )
    if cfg["max_duration_s"] is not None and duration > cfg["max_duration_s"]:
        return _Skip(
            "too_long", f"{duration:.1f} s > max_duration_s={cfg['max_duration_s']}"
        )
    return None


def report_skip(
    report: str | None, desc: dict[str, Any], cfg: dict[str, Any]
) -> _Skip | None:
    """The skip of a recording without a usable report when the build requires
    one (``require_report``), or None.

    ``desc`` holds ``report_status`` and ``report_path`` (a task's description
    or a cached row's).
    """
    if not cfg["require_report"]:
        return None
    status = desc.get("report_status")
    if status == "undecodable" or status == "unreadable":
        return _Skip("unreadable_report", f"report {desc.get('report_path')}")
    if status == "empty" or (report is not None and not report.strip()):
        return _Skip("empty_report", f"report {desc.get('report_path')} is empty")
    if report is None:
        return _Skip("missing_report", "no report text for this recording")
    return None


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
