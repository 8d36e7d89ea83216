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

The work is split by job; this module gathers the public names:
:mod:`~braindecode_elm.data.cache_build` (tasks, resume, shards, workers),
:mod:`~braindecode_elm.data.cache_recording` (one recording, EDF fast path),
:mod:`~braindecode_elm.data.cache_manifest` (rows, reasons, errors) and
:mod:`~braindecode_elm.data.cache_read` (memory-mapped reading, crops).
"""

from __future__ import annotations

from .cache_build import (
    CacheSummary,
    build_cache,
)
from .cache_manifest import (
    SKIP_REASONS,
    CacheError,
    ManifestError,
    ManifestWarning,
    shard_of,
)
from .cache_read import (
    CachedCorpus,
    CachedRecording,
    open_cache,
)

__all__ = [
    "CacheError",
    "ManifestError",
    "ManifestWarning",
    "CacheSummary",
    "CachedCorpus",
    "CachedRecording",
    "SKIP_REASONS",
    "build_cache",
    "open_cache",
    "shard_of",
]
