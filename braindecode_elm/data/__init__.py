"""The data layer: TUH corpora with reports, synthetic corpus, real datasets, cache.

Data flow: EDF files + report ``.txt`` -> :class:`TUHReports` (Braindecode
dataset with description rows) -> :func:`build_cache` (DSP engine, float16,
memory-mapped, manifest) -> :func:`open_cache` -> per-recording crops and text
segments for training, and Braindecode windows for probing. This package never
imports the model or training code; the parts built on Braindecode datasets
(:class:`TUHReports`, :class:`EEGMAT`, :class:`EEGBCI`, the MOABB adapters) load
on first use, so the rest works without importing torch.
"""

from __future__ import annotations

import lazy_loader as lazy

from .cache import (
    SKIP_REASONS,
    CachedCorpus,
    CachedRecording,
    CacheError,
    CacheSummary,
    ManifestError,
    ManifestWarning,
    build_cache,
    open_cache,
    shard_of,
)
from .descriptions import DescriptionBuilder, describe, tuh_facts
from .edf import EDFError, read_edf_data, read_edf_header, record_onsets, write_edf
from .labelled_corpus import LabelledCorpus, build_labelled_corpus
from .reports import (
    ELM_HEADINGS,
    TUH_HEADINGS,
    read_report,
    segment_report,
    split_report,
    split_sentences,
)
from .splits import (
    SubjectLeakageError,
    check_no_subject_overlap,
    exclude_subjects,
    subject_kfold,
    subject_order,
    subject_split,
    subjects_of,
)
from .synthetic import PHENOTYPES, SyntheticCorpus, make_synthetic_tuh
from .tuh_index import (
    apply_metadata,
    find_report,
    index_tuh,
    is_bids_root,
    list_bids_recordings,
    list_edf_files,
    parse_age_gender,
    parse_tuh_path,
    path_id,
    read_metadata,
)
from .windows import (
    ELM_DROP_FIRST_S,
    ELM_MAX_DURATION_S,
    ELM_MAX_MINUTES,
    ELM_MIN_DURATION_S,
    create_probe_windows,
    crop_bounds,
    crop_view,
)

__all__ = [
    "DescriptionBuilder",
    "LabelledCorpus",
    "build_labelled_corpus",
    "describe",
    "tuh_facts",
    "EEGBCI",
    "EEGBCIMOABB",
    "EEGBCI_EVENT_CAPTIONS",
    "EEGMAT",
    "EEGMATMOABB",
    "EEGMAT_CAPTIONS",
    "SubjectLeakageError",
    "check_no_subject_overlap",
    "exclude_subjects",
    "fetch_eegbci",
    "fetch_eegmat",
    "subject_kfold",
    "subject_order",
    "subject_split",
    "subjects_of",
    "CacheError",
    "ManifestWarning",
    "ManifestError",
    "CacheSummary",
    "CachedCorpus",
    "CachedRecording",
    "EDFError",
    "ELM_DROP_FIRST_S",
    "ELM_HEADINGS",
    "ELM_MAX_DURATION_S",
    "ELM_MAX_MINUTES",
    "ELM_MIN_DURATION_S",
    "PHENOTYPES",
    "SKIP_REASONS",
    "SyntheticCorpus",
    "TUHReports",
    "TUH_HEADINGS",
    "build_cache",
    "create_probe_windows",
    "crop_bounds",
    "crop_view",
    "find_report",
    "index_tuh",
    "path_id",
    "is_bids_root",
    "list_bids_recordings",
    "list_edf_files",
    "read_metadata",
    "apply_metadata",
    "make_synthetic_tuh",
    "open_cache",
    "parse_age_gender",
    "parse_tuh_path",
    "read_edf_data",
    "read_edf_header",
    "record_onsets",
    "read_report",
    "segment_report",
    "shard_of",
    "split_report",
    "split_sentences",
    "write_edf",
]


# Names whose modules import braindecode (and so torch): loaded on first use, so
# that reading a cache, parsing reports or writing the synthetic corpus stays
# light (DataLoader workers, the CLI).
_LAZY = {
    "TUHReports": "tuh",
    "EEGMAT": "physionet",
    "EEGBCI": "physionet",
    "EEGMAT_CAPTIONS": "physionet",
    "EEGBCI_EVENT_CAPTIONS": "physionet",
    "fetch_eegmat": "physionet",
    "fetch_eegbci": "physionet",
    "EEGMATMOABB": "moabb_datasets",
    "EEGBCIMOABB": "moabb_datasets",
}


_by_module: dict[str, list[str]] = {}
for _name, _module in _LAZY.items():
    _by_module.setdefault(_module, []).append(_name)
__getattr__, _lazy_dir, _ = lazy.attach(__name__, submod_attrs=_by_module)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_lazy_dir()))
