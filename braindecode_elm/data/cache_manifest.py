"""The cache manifest: skip reasons, errors, and reading and checking rows.

A manifest is data: a ``file`` field never leads outside its cache folder, a
row torn by a killed build is dropped (and redone), and an ``ok`` row is
trusted only when its array is there and as long as the row says.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import dsp

#: Reason codes a skipped manifest row can carry.
SKIP_REASONS: dict[str, str] = {
    "corrupt_edf": "the EDF header does not parse",
    "truncated_edf": "the file is shorter than its EDF header says",
    "discontinuous_edf": "an EDF+D file whose records have time gaps: read as one "
    "signal, the filters would run across them; split it into its continuous "
    "parts",
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
    "no_subject_folder": "subjects='folder' (--subjects folder) and the file sits "
    "directly in the corpus folder, not in a subject folder",
    "preprocessing_failed": "the preprocessing engine raised an error",
    "source_gone": "cached before from a file that is gone; dropped on request "
    "(prune_missing=True, elm preprocess --prune-missing)",
    "unsupported_format": "an EEG file in a format other than EDF (BDF, BrainVision, "
    "EEGLAB, FIF, GDF, CNT): convert it to EDF",
}


class ManifestWarning(RuntimeWarning, UserWarning):
    """A damaged cache manifest was read around (torn or unusable rows).

    A ``RuntimeWarning`` as before, and a ``UserWarning`` so that the ``elm``
    console shows it as a plain ``warning:`` line, as the package's other
    warnings, while numpy's RuntimeWarnings keep Python's format.
    """


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


def shard_of(recording_id: str, n_shards: int) -> int:
    """Deterministic shard of a recording id (stable across machines and runs)."""
    digest = hashlib.sha1(recording_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards


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
            ManifestWarning,
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
        ManifestWarning,
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
