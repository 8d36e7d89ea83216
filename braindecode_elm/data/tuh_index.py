"""Index TUH EEG corpora (TUEG, TUAB, TUEV, TUSZ) with their reports, without MNE.

Paths are parsed by *name*, never by position, so every release layout works:
subject ids are 8 characters (digits in TUEG v1, letters from v2 on), sessions
``sNNN`` (optionally ``sNNN_YYYY[_MM_DD]`` folders), tokens ``tNNN``, montage
folders ``NN_tcp_*``, ``normal``/``abnormal`` and ``train``/``eval``/``dev``
folders. Reports are searched beside the EDF file and in the session folder and
decoded with :func:`~braindecode_elm.data.reports.read_report`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .edf import EDFError, read_edf_header
from .reports import ReportDecodeError, read_report

__all__ = [
    "index_tuh",
    "parse_tuh_path",
    "find_report",
    "parse_age_gender",
    "SKIP_COLUMNS",
]

_SUBJECT = re.compile(r"^(?:[a-z]{8}|\d{8})$")
_SESSION = re.compile(r"^s\d{3}$")
_SEGMENT = re.compile(r"^t\d{3}$")
_SESSION_DIR = re.compile(r"^(s\d{3})_(\d{4})(?:_(\d{2})_(\d{2}))?$")
_MONTAGE_DIR = re.compile(r"^\d{2}_tcp_[a-z_]+$")
_SPLITS = {"train", "eval", "dev", "test"}

#: Columns of the ``skipped`` table of an indexed dataset.
SKIP_COLUMNS = ["recording_id", "path", "subject", "status", "reason", "detail"]


def parse_tuh_path(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a TUH EDF path from the names of its parts.

    Parameters
    ----------
    path : str | os.PathLike
        Path of an EDF file in any TUH release layout.

    Returns
    -------
    dict
        ``recording_id`` (the file stem), ``subject``, ``session``,
        ``segment``, ``montage``, ``year``, ``date`` (ISO string or None),
        ``pathological`` (True/False/None), ``split`` (``"train"``, ``"eval"``,
        ``"dev"`` or None) and ``train`` (bool or None).
    """
    p = Path(path)
    tokens = p.stem.split("_")
    out: dict[str, Any] = {
        "recording_id": p.stem,
        "subject": next((t for t in tokens if _SUBJECT.match(t)), None),
        "session": next((t for t in tokens if _SESSION.match(t)), None),
        "segment": next((t for t in tokens if _SEGMENT.match(t)), None),
        "montage": None,
        "year": None,
        "date": None,
        "pathological": None,
        "split": None,
    }
    for part in p.parts[:-1]:
        low = part.lower()
        if _MONTAGE_DIR.match(low):
            out["montage"] = low
        elif m := _SESSION_DIR.match(low):
            out["session"] = out["session"] or m.group(1)
            out["year"] = int(m.group(2))
            if m.group(3):
                out["date"] = f"{m.group(2)}-{m.group(3)}-{m.group(4)}"
        elif low in ("normal", "abnormal"):
            out["pathological"] = low == "abnormal"
        elif low in _SPLITS:
            out["split"] = low
        elif out["subject"] is None and _SUBJECT.match(low):
            out["subject"] = low
    if out["subject"] is None:
        # Unknown layout: the first token of the stem is the best guess.
        out["subject"] = tokens[0]
    out["train"] = None if out["split"] is None else out["split"] == "train"
    return out


def find_report(edf_path: Path, info: dict[str, Any]) -> Path | None:
    """Find the report ``.txt`` of a TUH recording.

    Looks, in order, for ``<stem>.txt`` beside the EDF file, then for
    ``<subject>_<session>.txt`` (or any ``.txt`` starting with it) beside the EDF
    file, in its parent folders up to the session folder.

    Parameters
    ----------
    edf_path : pathlib.Path
        The EDF file.
    info : dict
        Its :func:`parse_tuh_path` description.

    Returns
    -------
    pathlib.Path | None
        The report, or None when there is none.
    """
    same = edf_path.with_suffix(".txt")
    if same.is_file():
        return same
    subj, sess = info.get("subject"), info.get("session")
    if not subj:
        return None
    prefix = f"{subj}_{sess}" if sess else subj
    folder = edf_path.parent
    for _ in range(3):
        cand = folder / f"{prefix}.txt"
        if cand.is_file():
            return cand
        hits = sorted(folder.glob(f"{prefix}*.txt"))
        if hits:
            return hits[0]
        if _SESSION_DIR.match(folder.name.lower()) or folder.parent == folder:
            break
        folder = folder.parent
    return None


_AGE = re.compile(
    r"\b(\d{1,3})\s*-?\s*(?:years?\b|yrs?\b|y\s*/\s*o\b|y\.\s*o\b|yo\b)",
    re.IGNORECASE,
)
_FEMALE = re.compile(r"\b(woman|female|girl|lady|she|her)\b", re.IGNORECASE)
_MALE = re.compile(r"\b(man|male|boy|gentleman|he|his)\b", re.IGNORECASE)


def parse_age_gender(
    report: str | None, patient_field: str | None = None
) -> tuple[float | None, str | None]:
    """Age (years) and gender (``"M"``/``"F"``) from a report or an EDF header.

    The report text wins; the EDF patient field (``"... M 01-JAN-1950 ...
    Age:66"``) fills the gaps.

    Parameters
    ----------
    report : str | None
        Report text.
    patient_field : str | None
        EDF "local patient identification" field.

    Returns
    -------
    age : float | None
    gender : str | None
    """
    age: float | None = None
    gender: str | None = None
    if report:
        head = report[:2000]
        if m := _AGE.search(head):
            value = int(m.group(1))
            age = float(value) if 0 <= value <= 120 else None
        f, mm = _FEMALE.search(head), _MALE.search(head)
        if f and (not mm or f.start() < mm.start()):
            gender = "F"
        elif mm:
            gender = "M"
    if patient_field:
        tokens = patient_field.split()
        if age is None:
            m = re.search(r"age:\s*(\d{1,3})", patient_field, re.IGNORECASE)
            if m:
                age = float(m.group(1))
        if gender is None:
            sex = [t for t in tokens[1:3] if t.upper() in ("M", "F")]
            if sex:
                gender = sex[0].upper()
    return age, gender


def _describe(path: Path) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """Return (description, None) or (None, (reason, detail)) for one EDF file."""
    info = parse_tuh_path(path)
    try:
        header = read_edf_header(path)
    except EDFError as exc:
        return None, (exc.reason, str(exc))
    except OSError as exc:
        return None, ("unreadable_file", f"{path}: {exc}")
    info["path"] = str(path)
    info["sfreq"] = float(np.max(header.sfreqs))
    info["n_channels"] = len(header.labels)
    info["duration_s"] = float(header.duration)
    if info["year"] is None and header.start is not None:
        info["year"] = header.start.year
    if info["date"] is None and header.start is not None:
        info["date"] = header.start.strftime("%Y-%m-%d")
    report_path = find_report(path, info)
    report, encoding, status = None, None, "missing"
    if report_path is not None:
        try:
            report, encoding = read_report(report_path)
            status = "ok" if report.strip() else "empty"
        except ReportDecodeError:
            status = "undecodable"
        except OSError:
            status = "unreadable"
    info["report"] = report if status == "ok" else None
    info["report_path"] = None if report_path is None else str(report_path)
    info["report_encoding"] = encoding
    info["report_status"] = status
    info["age"], info["gender"] = parse_age_gender(info["report"], header.patient)
    return info, None


def index_tuh(
    path: str | os.PathLike[str],
    *,
    recording_ids: list[int] | list[str] | None = None,
    n_jobs: int = 1,
    on_error: str = "skip",
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Describe every EDF file of a TUH corpus without opening it with MNE.

    The description rows of :class:`TUHReports` (same columns) plus the table
    of files that cannot be indexed; :func:`build_cache` uses this directly
    when given a folder, which avoids building MNE Raw objects it never needs.

    Parameters
    ----------
    path : str | os.PathLike
        Corpus root; searched recursively for ``*.edf``.
    recording_ids : list of int | list of str | None
        Subset: positions in the sorted file list or recording ids.
    n_jobs : int
        Threads for reading headers and reports.
    on_error : {"skip", "raise"}
        ``"raise"`` raises on the first file that cannot be indexed.

    Returns
    -------
    descriptions : list of dict
        One description per indexable recording, sorted by recording id.
    skipped : pandas.DataFrame
        Columns :data:`SKIP_COLUMNS`.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"TUH corpus folder {root} does not exist")
    files = sorted(
        (p for p in root.rglob("*") if p.suffix.lower() == ".edf"),
        key=lambda p: (p.stem, str(p)),
    )
    if recording_ids is not None:
        if all(isinstance(r, (int, np.integer)) for r in recording_ids):
            files = [files[int(i)] for i in recording_ids]
        else:
            wanted = {str(r) for r in recording_ids}
            files = [f for f in files if f.stem in wanted]
    if not files:
        raise ValueError(f"no EDF files found under {root}")
    if n_jobs == 1:
        results = [_describe(f) for f in files]
    else:
        # Threads: the work is file I/O, and worker processes would each pay
        # the import of torch (via braindecode).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_jobs) as ex:
            results = list(ex.map(_describe, files))
    skipped: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    descs = []
    for f, (desc, err) in zip(files, results):
        if err is None and desc["recording_id"] in seen:
            err = (
                "duplicate_id",
                f"recording id {desc['recording_id']} already used by "
                f"{seen[desc['recording_id']]}",
            )
        if err is not None:
            if on_error == "raise":
                raise ValueError(f"{f}: {err[0]}: {err[1]}")
            info = parse_tuh_path(f)
            skipped.append(
                dict(
                    recording_id=info["recording_id"],
                    path=str(f),
                    subject=info["subject"],
                    status="skipped",
                    reason=err[0],
                    detail=err[1],
                )
            )
            continue
        seen[desc["recording_id"]] = str(f)
        descs.append(desc)
    return descs, pd.DataFrame(skipped, columns=SKIP_COLUMNS)
