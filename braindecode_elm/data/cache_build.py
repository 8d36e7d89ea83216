"""Build a cache: tasks from a dataset or a folder, resume, shards, workers."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import numbers
import os
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import dsp
from .._json import as_stored, to_jsonable
from .cache_manifest import (
    CacheError,
    _npy_matches,
    _read_manifests,
    _repair_tail,
    _safe_rel,
    _same_recipe,
    shard_of,
)
from .cache_recording import (
    REPORT_NOTE_PREFIX,
    _process,
    _process_star,
    _sha256,
    _stat_identity,
    _task_list,
    _worker_init,
    duration_skip,
    real_location,
    report_note,
    report_skip,
)
from .windows import (
    ELM_MAX_DURATION_S,
    ELM_MIN_DURATION_S,
)

logger = logging.getLogger(__name__)


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
    n_changed : int
        Recordings cached before whose source file changed since (other size,
        modification time and content): preprocessed again, counted in
        ``n_cached`` (or ``n_skipped``), not in ``n_already``.
    n_reassigned : int
        Recordings whose id now names another file than the one cached (files
        of the same name, a new one taking the id): preprocessed again, counted
        in ``n_cached``; a warning names both files.
    n_updated : int
        Recordings already done whose description, subject or report the
        ``metadata`` tables changed: a new manifest row carries them (the
        array is kept).
    n_reports_updated : int
        Recordings already done whose report file is new, edited or gone since
        they were cached: a new manifest row carries the report (the array is
        kept).
    n_outside_rules : int
        Recordings cached before that this run's rules would skip (duration
        limits, ``require_report``): kept, and counted in a warning (a rerun
        cannot tell a rule given now from a default an earlier run overrode).
    n_gone : int
        Recordings cached before whose source file is gone (a warning names
        them; ``prune_missing=True`` drops them and deletes their arrays).
    n_noted : int
        Recordings cached with a note (unknown unit, flat electrodes, tiny
        amplitudes, much of the output at the clip): each named in a warning,
        the notes in the ``warnings`` field of its manifest row.
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
    n_changed: int = 0
    n_reassigned: int = 0
    n_updated: int = 0
    n_reports_updated: int = 0
    n_outside_rules: int = 0
    n_noted: int = 0
    n_gone: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    hours_cached: float = 0.0
    manifest: Path | None = None

    def __str__(self) -> str:
        why = ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items()))
        rate = self.hours_cached / self.seconds * 3600 if self.seconds else 0.0
        # The extra counts only appear when non-zero: a plain run reads as before.
        redone = "".join(
            f" ({n} redone: {why})"
            for n, why in (
                (self.n_changed, "source file changed"),
                (self.n_reassigned, "the id names another file now"),
            )
            if n
        )
        updated = "".join(
            f" ({n} with {what})"
            for n, what in (
                (self.n_updated, "descriptions updated from the metadata"),
                (self.n_reports_updated, "reports updated from their files"),
            )
            if n
        )
        return (
            f"cache {self.out_dir}: {self.n_cached} cached{redone}, "
            f"{self.n_already} already done{updated}, "
            f"{self.n_skipped} skipped{f' ({why})' if why else ''}; "
            f"{self.hours_cached:.2f} h of EEG in {self.seconds:.1f} s "
            f"({rate:.0f}x real time)"
        )


def _skip_row(
    rid: str,
    subject: Any,
    source: Any,
    recipe: str,
    shard: str | None,
    reason: str,
    detail: Any,
) -> dict[str, Any]:
    """A manifest row saying a recording is not (or no longer) cached."""
    return dict(
        recording_id=rid,
        subject=subject,
        source=source,
        recipe=recipe,
        shard=shard,
        status="skipped",
        reason=reason,
        detail=detail,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )


def _gone_from(source_real: Any, top: str) -> bool:
    """Whether a cached file, by the real path stored when it was cached, lies
    in ``top`` (the source folder's normcased real path) and is gone.

    ``source`` is kept as the build named it, relative to the folder it ran
    from, so it cannot place a file from another working folder (two sites'
    ``data/`` folders, a path through a symlink and ``..``: files still there
    were pruned). Rows cached before ``source_real`` was stored are never
    judged.
    """
    if not source_real:
        return False
    path = os.path.normcase(str(source_real))
    try:
        inside = os.path.commonpath([path, top]) == top
    except ValueError:  # another drive (Windows): not inside
        return False
    return inside and not os.path.lexists(str(source_real))


def _source_state(
    path: str | os.PathLike[str] | None, row: dict[str, Any], *, hash_source: bool
) -> tuple[str, dict[str, int]]:
    """Whether the source of a cached recording is the file that was cached.

    Resume must stay cheap on corpora of terabytes, so the file's size and
    modification time are compared first (what ``make`` and ``rsync`` trust);
    only when the size matches but the time differs (a ``touch``, a copy
    without ``-p``) is the file hashed against the row's ``sha256``, so that
    hours of preprocessing are not redone for a file whose bytes are the same.
    A row written before sizes and times were stored is trusted, as resume did
    then, and gets them stored.

    Returns
    -------
    state : {"same", "refresh", "changed"}
        ``"same"``: nothing to do; ``"refresh"``: same file, but the row should
        store ``identity`` so the next run need not hash it; ``"changed"``:
        another file under the same name, to preprocess again.
    identity : dict
        The file's ``source_size`` and ``source_mtime_ns`` now.
    """
    if not path or not os.path.isfile(path):
        # A source that disappeared (or an in-memory recording) keeps its
        # cached array: there is nothing to compare it with.
        return "same", {}
    identity = _stat_identity(path)
    if not identity:
        return "same", {}
    size, mtime = row.get("source_size"), row.get("source_mtime_ns")
    if size == identity["source_size"] and mtime == identity["source_mtime_ns"]:
        return "same", identity
    if size is None:
        # A row written before sizes and times were stored: trusted as before
        # (hashing a whole corpus on the first rerun after an upgrade would
        # take hours); its identity is stored, so later changes are seen.
        return "refresh", identity
    if size != identity["source_size"]:
        return "changed", identity  # another size is another file: no hash needed
    if row.get("sha256") and hash_source:
        try:
            same = _sha256(path) == row["sha256"]
        except OSError:
            return "same", {}  # unreadable now: the redo would only skip it
        return ("refresh" if same else "changed"), identity
    return "changed", identity


def _other_file(cached: Any, now: Any) -> bool:
    """Whether a row's source and a task's path are two different files."""
    if not cached or not now:
        return False
    try:
        return os.path.realpath(str(cached)) != os.path.realpath(str(now))
    except OSError:
        return str(cached) != str(now)


def _metadata_columns(tables: Sequence[Any]) -> set[str]:
    """Description fields the metadata tables set (their non-key columns).

    Only these fields of an already-cached recording are updated from a
    re-run's tables: its other fields (e.g. a ``subject`` set by an earlier
    table) stay as they were.
    """
    import pandas as pd

    from .tuh_index import _key_column, read_metadata

    columns: set[str] = set()
    for table in tables:
        if not isinstance(table, pd.DataFrame):
            table = read_metadata(table)
        found = _key_column(table)
        if found is None:
            continue  # apply_metadata has refused it already
        kind, key = found
        for col in table.columns:
            col = str(col)
            if col == str(key):
                continue
            if col.lower() == "subject":
                # A per-subject table is keyed by subject; it never renames one.
                if kind == "recording":
                    columns.add("subject")
            elif col.lower() == "report":
                columns.add("report")
            else:
                columns.add(str(col))
    return columns


def _apply_description(
    row: dict[str, Any],
    task: dict[str, Any],
    columns: set[str],
    keep_subject: str | None = None,
) -> bool:
    """Copy the metadata fields of a task's description into a cached row.

    Parameters
    ----------
    row : dict
        The recording's latest manifest row, changed in place.
    task : dict
        The recording's task, whose description has the tables applied.
    columns : set of str
        Fields the tables set (:func:`_metadata_columns`).
    keep_subject : str | None
        The subject the file-name rules give this recording: a task subject
        equal to it came from no table row, so the cached subject stays.

    Returns
    -------
    bool
        Whether the row changed.
    """
    desc = task["description"]
    # apply_metadata writes a column into the field of the same name in any
    # case ("Gender" into the header's "gender"): find it the same way.
    by_lower = {str(k).lower(): k for k in desc}
    keys = {
        by_lower[c.lower()]
        for c in columns
        if c not in ("subject", "report") and c.lower() in by_lower
    }
    if "report" in columns and isinstance(desc.get("report"), str):
        keys |= {k for k in ("report_status", "report_path") if k in desc}
    if "subject" in columns:
        keys.add("subject")
    # As the manifest stores them, so that equal values compare equal.
    fresh = as_stored({k: desc.get(k) for k in keys})
    old = row.get("description") or {}
    merged = {**old, **fresh}
    changed = merged != old
    row["description"] = merged
    report = desc.get("report")
    if "report" in columns and isinstance(report, str) and report != row.get("report"):
        row["report"] = report
        row["report_encoding"] = desc.get("report_encoding")
        changed = True
    subject = task.get("subject")
    if (
        "subject" in columns
        and subject is not None
        and str(subject) != row.get("subject")
        # Not set by a table row (the file-name rules' subject): a table
        # without a row for this recording leaves its cached subject.
        and str(subject) != keep_subject
    ):
        row["subject"] = str(subject)
        changed = True
    return changed


#: Recordings named one by one in a build's warnings; the rest are counted.
_NOTES_SHOWN = 10


def _say_notes(noted: list[tuple[str, str]]) -> None:
    """Warn about recordings cached with a note (wrong unit, flat electrodes),
    naming them: the manifest row of each holds its notes (``warnings``)."""
    for rid, note in noted[:_NOTES_SHOWN]:
        logger.warning("recording %s: %s", rid, note)
    if len(noted) > _NOTES_SHOWN:
        logger.warning(
            "%d more notes on %d recordings: see the 'warnings' field of their "
            "manifest rows",
            len(noted) - _NOTES_SHOWN,
            len({rid for rid, _ in noted[_NOTES_SHOWN:]}),
        )


#: Skips of the indexer that mean the file itself cannot be read (not an id
#: clash, a format or a folder rule about it).
_UNREADABLE = frozenset(
    {"corrupt_edf", "truncated_edf", "unreadable_file", "empty_data"}
)


def _unreadable_now(skip: dict[str, Any], cached: dict[str, Any] | None) -> bool:
    """Whether an indexer skip is the cached recording's own file, unreadable
    since (not another file of the same id, e.g. ``A.bdf`` beside ``A.edf``)."""
    if not cached or cached.get("status") != "ok":
        return False
    if skip.get("reason") not in _UNREADABLE:
        return False
    # Same id and same file name: the same file. Paths are stored as given,
    # relative ones to the first run's working directory, so they do not
    # compare across runs; the name tells A.edf from A.bdf.
    a, b = skip.get("source"), cached.get("source")
    return bool(a and b) and Path(str(a)).name == Path(str(b)).name


def _apply_report(row: dict[str, Any], task: dict[str, Any]) -> bool:
    """Bring a cached row's report up to date with the report file found now.

    A report added, edited or removed after the recording was cached reaches
    the row (text, encoding, status, path); the age and gender read from the
    old report follow the new one. Reports from a metadata table's ``report``
    column are left to the tables (:func:`_apply_description`).

    Returns
    -------
    bool
        Whether the row changed.
    """
    from .tuh_index import parse_age_gender

    desc = task["description"]
    if "report_status" not in desc:
        return False  # inputs without a report search (MNE/Braindecode objects)
    old = dict(row.get("description") or {})
    old_path, new_path = old.get("report_path"), desc.get("report_path")
    for path in (old_path, new_path):
        if path is not None and Path(str(path)).suffix.lower() != ".txt":
            return False  # a table's report column: applied with the tables
    report = desc.get("report") if isinstance(desc.get("report"), str) else None
    fresh = as_stored(
        {
            "report_status": desc.get("report_status"),
            "report_path": new_path,
            "report_encoding": desc.get("report_encoding"),
        }
    )
    # The same report file reached through another spelling of the folder (a
    # symlink, another working directory: paths are stored as given) keeps
    # its name.
    same_path = old_path == new_path or (
        old_path is not None
        and new_path is not None
        and Path(str(old_path)).name == Path(str(new_path)).name
    )
    if (
        report == row.get("report")
        and same_path
        and all(old.get(k) == v for k, v in fresh.items() if k != "report_path")
    ):
        return False
    # Age and gender that came from the old report follow the new one; those
    # of a metadata table or the header differ from the old report's reading
    # and stay.
    was = parse_age_gender(row.get("report"))
    for i, key in enumerate(("age", "gender")):
        if old.get(key) is None or (was[i] is not None and old.get(key) == was[i]):
            value = desc.get(key)
            old[key] = value if value is None else to_jsonable(value)
    old.update(fresh)
    row["description"] = old
    row["report"] = report
    row["report_encoding"] = desc.get("report_encoding")
    # The note about an unreadable report follows the report.
    notes = [
        n for n in row.get("warnings") or () if not n.startswith(REPORT_NOTE_PREFIX)
    ]
    if note := report_note(desc):
        notes.append(note)
    if notes:
        row["warnings"] = notes
    else:
        row.pop("warnings", None)
    return True


def _check_id_scheme(
    rows: list[dict[str, Any]], root: Path, ids: str, out: Path
) -> None:
    """Refuse to add to a cache whose recordings of ``root`` were named by the
    other id scheme: the same file would be cached twice, under both ids."""
    from .tuh_index import path_id

    for r in rows:
        src = r.get("source")
        if r.get("status") != "ok" or not src:
            continue
        try:
            by_path = path_id(src, root)
        except ValueError:
            continue  # another corpus folder
        by_stem = Path(str(src)).stem
        rid = str(r.get("recording_id"))
        if by_path == by_stem:
            continue  # a file directly in the folder: both schemes agree
        old = "path" if rid == by_path else "stem" if rid == by_stem else None
        if old is not None and old != ids:
            raise ValueError(
                f"{out} holds recordings of {root} named by their "
                + ("path in the folder" if old == "path" else "file name")
                + f" (ids={old!r}: {rid!r} for {src}); this run names them by "
                + ("path" if ids == "path" else "file name")
                + f" (ids={ids!r}), which would cache each file again under "
                f"another id: use the same ids (elm preprocess --ids {old}) or "
                "another cache folder"
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
    prune_missing: bool = False,
    n_threads: int = 1,
    progress: bool = True,
    metadata: Any = None,
    recording_ids: Sequence[str] | None = None,
    ids: str = "stem",
    subjects: str = "auto",
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
        Worker processes (recordings are processed in parallel); at most one
        per recording to do and per core are started.
    shard : tuple of (int, int) | None
        ``(i, n)``: process only the recordings with ``shard_of(id, n) == i``,
        writing ``manifest.shard-<iiii>-of-<nnnn>.jsonl`` (zero-padded); run the
        n shards anywhere
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
        Store the sha256 of each source file (rows always store its size and
        modification time). On a re-run, a cached recording whose source has
        another size is preprocessed again; one whose modification time alone
        changed is hashed and redone only if its sha256 differs (without a
        stored hash, or with ``hash_source=False``, it is redone).
    retry_skipped : bool
        On a re-run, retry recordings the manifest lists as skipped (default);
        recordings listed as ok with their array present are not redone,
        unless their source file changed since (a source that is gone keeps
        its cached array).
    prune_missing : bool
        Drop recordings cached before from files of this folder that are gone
        (a skip row with reason ``source_gone`` supersedes each, and its array
        is deleted). Off by default: they stay, and a warning names them.
    n_threads : int
        Engine threads per recording (channels split among them); use with
        ``n_jobs=1`` to parallelise inside recordings instead of across them.
    progress : bool
        Show a tqdm progress bar.
    metadata : pandas.DataFrame | path-like | list of them | None
        Labels/metadata tables merged into the descriptions (see
        :func:`~braindecode_elm.data.read_metadata`): one row per
        recording (EDF stem or path) or per subject. Its ``subject`` column
        sets subject ids; its ``report`` column gives report text. On a
        re-run, the tables' fields are also written into the rows of
        recordings cached before (a new row each, the array kept; counted in
        ``n_updated``).
    recording_ids : sequence of str | None
        With a folder input: only these recording ids (see ``ids``); an id
        that names no EDF file of the folder is an error.
    ids : {"stem", "path"}
        With a folder input, the recording ids: EDF file names without
        ``.edf`` (default), or paths inside the folder without it
        (``subject1/rest``) where subject or session folders hold files of
        one name (see :func:`~braindecode_elm.data.index_tuh`).
    subjects : {"auto", "folder"}
        With a folder input, where subject ids come from: BIDS/TUH names and
        folders, else the file name (default), or the first folder inside the
        folder (``subjA/rest.edf`` -> ``subjA``; see
        :func:`~braindecode_elm.data.index_tuh`). A rerun with ``"folder"``
        updates the subjects of recordings cached before.

    Returns
    -------
    CacheSummary
        Counts, reasons and timing; ``str()`` gives a one-line summary.

    Raises
    ------
    CacheError
        With ``strict=True``, for the first recording that cannot be cached.
    ValueError
        For ``recording_ids`` naming no EDF file of the folder (before any
        work), or a folder holding another recipe's cache.
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
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, numbers.Integral)
        or n_jobs < 1
    ):
        raise ValueError(
            f"n_jobs must be a whole number >= 1 (worker processes), got {n_jobs!r}"
        )
    if max_duration_s is not None and not min_duration_s <= max_duration_s:
        raise ValueError(
            f"min_duration_s={min_duration_s} is above max_duration_s="
            f"{max_duration_s}: every recording would be skipped"
        )
    out = Path(out_dir)
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
            concat_ds,
            recording_ids=recording_ids,
            metadata=metadata,
            ids=ids,
            subjects=subjects,
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
        if ids != "stem" or subjects != "auto":
            raise ValueError(
                "ids and subjects apply to a folder input only; a dataset's "
                "recordings keep the ids and subjects of its descriptions"
            )
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
        _skip_row(
            str(r["recording_id"]),
            r.get("subject"),
            r.get("path"),
            rec.name,
            label,
            r["reason"],
            r.get("detail"),
        )
        for r in [*pre_skipped, *dup_rows]
    ]
    # A pre-skipped duplicate of a recording that is cached keeps a distinct key.
    for r in pre:
        if r["reason"] == "duplicate_id" and r["source"]:
            r["recording_id_key"] = f"{r['recording_id']}@{r['source']}"
    unique = [t for t in unique if shard_of(t["recording_id"], n_shards) == i_shard]
    pre = [r for r in pre if shard_of(r["recording_id"], n_shards) == i_shard]

    (out / "recordings").mkdir(parents=True, exist_ok=True)
    _repair_tail(out / manifest)
    rows = _read_manifests(out)
    # Latest row per recording, ordered as the reader (open_cache) orders
    # them: by creation time, file order for ties (a stable sort).
    latest: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r.get("created") or ""):
        latest[r.get("recording_id_key", r["recording_id"])] = r
    done: set[str] = set()
    if isinstance(concat_ds, (str, os.PathLike)):
        _check_id_scheme(rows, Path(concat_ds), ids, out)
    for r in rows:
        if r.get("status") == "ok" and not _same_recipe(r, rec):
            raise ValueError(
                f"{out} holds recordings preprocessed with recipe "
                f"{r.get('recipe')!r}, not {rec.name!r} (stored fields "
                f"{r.get('params')}, asked {params}); use another folder or the "
                "same recipe"
            )
        if r.get("status") == "ok":
            # Every "ok" row must name a file inside the cache, even one that a
            # later row superseded (a manifest is data, never trusted).
            _safe_rel(out, r.get("file"), f"{out / manifest}")
    for key, r in latest.items():
        # Resume trusts an "ok" row only when its array is there, inside the
        # cache, and as long as the row says (a killed copy leaves it short).
        if r.get("status") == "ok" and _npy_matches(
            _safe_rel(out, r.get("file"), f"{out / manifest}"), r
        ):
            done.add(key)
        elif r.get("status") == "skipped" and not retry_skipped:
            done.add(key)
    summary = CacheSummary(out_dir=out, n_total=len(unique) + len(pre))
    summary.manifest = out / manifest
    reasons: Counter[str] = Counter()
    todo = []
    updates: list[dict[str, Any]] = []
    outside: dict[str, list[str]] = defaultdict(list)
    other_subject: list[tuple[str, Any, Any]] = []
    # A table given on a re-run applies to recordings cached before, too, and so
    # does the participants.tsv of a corpus folder (BIDS), read on every run.
    tables = [] if metadata is None else (
        list(metadata) if isinstance(metadata, (list, tuple)) else [metadata]
    )  # fmt: skip
    if isinstance(concat_ds, (str, os.PathLike)):
        participants = Path(concat_ds) / "participants.tsv"
        if participants.is_file():
            tables.append(participants)
    meta_columns = _metadata_columns(tables) if tables else set()
    if subjects == "folder":
        # Recordings cached before by the file-name rules get their folder.
        meta_columns.add("subject")
    # Cached recordings are checked against the rules this run sets away from
    # ELM's defaults: a plain rerun of a cache built with --min-duration 10
    # says nothing about its short recordings, every time.
    recheck = dict(
        cfg,
        min_duration_s=0.0
        if cfg["min_duration_s"] == ELM_MIN_DURATION_S
        else cfg["min_duration_s"],
        max_duration_s=None
        if cfg["max_duration_s"] == ELM_MAX_DURATION_S
        else cfg["max_duration_s"],
    )
    root = Path(concat_ds) if isinstance(concat_ds, (str, os.PathLike)) else None
    if root is not None:
        from .tuh_index import parse_tuh_path
    for t in unique:
        row = latest.get(t["recording_id"])
        if t["recording_id"] not in done:
            todo.append(t)
            continue
        if row is None or row.get("status") != "ok":
            continue
        state, identity = _source_state(t["path"], row, hash_source=hash_source)
        if state == "changed" and _other_file(row.get("source"), t["path"]):
            # The id now names another file (a new one sorts first among files
            # of the same name): redo it, as a fresh build would hold that one,
            # and say so rather than call it a change of the file.
            logger.warning(
                "recording id %r now names %s (cached from %s, which %s): "
                "preprocessed again; give recordings distinct file names to keep "
                "both",
                t["recording_id"],
                t["path"],
                row.get("source"),
                "is still there, a duplicate_id now"
                if row.get("source") and os.path.isfile(str(row["source"]))
                else "is gone",
            )
            todo.append(t)
            summary.n_reassigned += 1
            continue
        if state == "changed":
            # Same name, other file: the cached array is stale; redo it (its
            # new row supersedes the old one for every reader).
            todo.append(t)
            summary.n_changed += 1
            continue
        new = dict(row)
        if state == "refresh":
            new.update(identity, source=t["path"], source_real=real_location(t["path"]))
        if _apply_report(new, t):
            summary.n_reports_updated += 1
        # The subject the file-name rules give (folders read with the default
        # rules): a table's subject column applies to the recordings it has a
        # row for, and leaves the others' cached subjects alone.
        by_name = (
            str(parse_tuh_path(t["path"], root)["subject"])
            if root is not None and subjects == "auto" and t.get("path")
            else None
        )
        if meta_columns and _apply_description(
            new, t, meta_columns, keep_subject=by_name
        ):
            summary.n_updated += 1
        cached_subject = str(new.get("subject"))
        if (
            by_name is not None
            and cached_subject != by_name
            and cached_subject.lower()
            in {tok.lower() for tok in Path(str(t["path"])).stem.split("_")}
        ):
            # A subject read from the name by other rules than today's (an
            # 8-digit date once made the subject); a table's or a folder's
            # subject is not a token of the name and is not said every rerun.
            other_subject.append((t["recording_id"], cached_subject, by_name))
        duration = row.get("duration_s")
        rule = report_skip(new.get("report"), new.get("description") or {}, recheck)
        if rule is None and isinstance(duration, (int, float)):
            rule = duration_skip(duration, recheck)
        if rule is not None:
            # This run's rules (--min-duration, --require-reports) would skip a
            # recording cached before. It stays: a rerun cannot tell a rule
            # given now from a default the first run overrode (--min-duration
            # 10, then a rerun that only adds files), and dropping cached
            # arrays on that guess loses work; the warning below says it.
            outside[rule.reason].append(t["recording_id"])
        if new != row:
            new.update(
                shard=label,
                # Seconds, as every other row: with ties, file order decides.
                created=_dt.datetime.now(_dt.timezone.utc).isoformat(
                    timespec="seconds"
                ),
            )
            updates.append(new)
    summary.n_already = len(unique) - len(todo)
    pre_todo = []
    for r in pre:
        key = r.get("recording_id_key", r["recording_id"])
        if key not in done:
            pre_todo.append(r)
        elif _unreadable_now(r, latest.get(key)):
            # Cached before, unreadable now (truncated, damaged): a fresh build
            # would skip it, so its skip row supersedes the cached array
            # instead of serving it as "ok".
            pre_todo.append(r)
            summary.n_changed += 1
    summary.n_already += len(pre) - len(pre_todo)
    # Recordings cached from a file of this folder that is gone (deleted, a
    # withdrawn consent): they stayed in the cache and in every figure, unsaid.
    gone: list[dict[str, Any]] = []
    if root is not None:
        listed = {t["recording_id"] for t in unique} | {r["recording_id"] for r in pre}
        top = os.path.normcase(os.path.realpath(root))
        gone = [
            r
            for key, r in latest.items()
            if r.get("status") == "ok"
            and r["recording_id"] not in listed
            and key == r["recording_id"]
            and shard_of(r["recording_id"], n_shards) == i_shard
            and _gone_from(r.get("source_real"), top)
        ]
    summary.n_gone = len(gone)
    if gone and not prune_missing:
        logger.warning(
            "%d cached recording(s) come from files that are gone, e.g. %s: they "
            "stay in the cache and in every command's figures; to drop them and "
            "delete their arrays, rerun with --prune-missing (prune_missing=True)",
            len(gone),
            ", ".join(f"{r['recording_id']} ({r['source']})" for r in gone[:3]),
        )
    if other_subject:
        # An earlier table's subjects, or ids from naming rules since changed
        # (an 8-digit date once made the subject): splits use the cached ones.
        logger.warning(
            "%d recordings cached before have other subjects than this run gives "
            "them, e.g. %s (recording: cached -> now); subject-disjoint splits use "
            "the cached ones (read from the file names by earlier rules); give "
            "the subjects with --metadata TABLE (a subject column) or "
            "--subjects folder, or build a new cache",
            len(other_subject),
            ", ".join(f"{r}: {a!r} -> {b!r}" for r, a, b in other_subject[:3]),
        )
    if outside:
        summary.n_outside_rules = sum(len(v) for v in outside.values())
        logger.warning(
            "%d recordings cached before would be skipped by this run's rules "
            "(%s) and stay in the cache, e.g. %s; to build with these rules, "
            "use a new cache folder",
            summary.n_outside_rules,
            ", ".join(f"{k}: {len(v)}" for k, v in sorted(outside.items())),
            [rid for v in outside.values() for rid in v][:5],
        )
    bar = tqdm(
        total=len(todo) + len(pre_todo), desc="cache", unit="rec", disable=not progress
    )

    # Each row goes out in one write() on an O_APPEND descriptor: a kill leaves
    # whole rows (a torn tail only on a crash of the machine, repaired above).
    noted: list[tuple[str, str]] = []
    fd = os.open(out / manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with os.fdopen(fd, "ab", buffering=0) as mf:

        def write(row: dict[str, Any]) -> None:
            line = (json.dumps(to_jsonable(row), ensure_ascii=False) + "\n").encode()
            written = mf.write(line)
            while written is not None and written < len(line):
                written += mf.write(line[written:])

        def record(row: dict[str, Any]) -> None:
            if row["status"] != "ok":
                if strict:
                    raise CacheError(row["recording_id"], row["reason"], row["detail"])
                reasons[row["reason"]] += 1
                summary.n_skipped += 1
            else:
                summary.n_cached += 1
                summary.hours_cached += row["duration_s"] / 3600.0
                for note in row.get("warnings") or ():
                    noted.append((row["recording_id"], note))
            write(row)
            bar.update()

        # Descriptions and source identities of recordings already done: rows
        # are appended, never rewritten, and the latest row wins.
        for row in updates:
            write(row)
        if prune_missing:
            for r in gone:
                # A skip row supersedes the cached one; the array goes too (a
                # pruned recording must not stay readable on disk).
                write(
                    _skip_row(
                        r["recording_id"],
                        r.get("subject"),
                        r["source"],
                        rec.name,
                        label,
                        "source_gone",
                        f"{r['source']} no longer exists; pruned",
                    )
                )
                _safe_rel(out, r.get("file"), f"{out / manifest}").unlink(
                    missing_ok=True
                )
            if gone:
                logger.info(
                    "pruned %d recording(s) whose files are gone: %s",
                    len(gone),
                    ", ".join(r["recording_id"] for r in gone[:10]),
                )
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
            # Every worker is forked up front: more than the recordings or the
            # cores only costs (an outside user's n_jobs=10**6 hung, silent).
            workers = min(int(n_jobs), len(todo), os.cpu_count() or 1)
            if workers < n_jobs:
                # Above the cores it is said louder: the request was explicit.
                (logger.warning if workers < len(todo) else logger.info)(
                    "n_jobs=%d: %d worker processes (%d recordings to do, %d cores)",
                    n_jobs,
                    workers,
                    len(todo),
                    os.cpu_count() or 1,
                )
            with ProcessPoolExecutor(
                max_workers=workers,
                initializer=_worker_init,
                initargs=(os.getpid(),),
            ) as ex:
                for row in ex.map(_process_star, [(t, cfg) for t in todo], chunksize=1):
                    record(row)
    bar.close()
    _say_notes(noted)
    summary.n_noted = len({rid for rid, _ in noted})
    summary.reasons = dict(reasons)
    summary.seconds = time.perf_counter() - t0
    return summary
