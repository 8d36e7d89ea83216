"""Index TUH EEG corpora (TUEG, TUAB, TUEV, TUSZ) with their reports, without MNE.

Paths are parsed by *name*, never by position, so every release layout works:
subject ids are 8 characters (digits in TUEG v1, letters from v2 on), sessions
``sNNN`` (optionally ``sNNN_YYYY[_MM_DD]`` folders), tokens ``tNNN``, montage
folders ``NN_tcp_*``, ``normal``/``abnormal`` and ``train``/``eval``/``dev``
folders. Reports are searched beside the EDF file and in the session folder and
decoded with :func:`~braindecode_elm.data.reports.read_report`.

Any folder of EDF files works, with or without reports: subject ids come from
*inside* the corpus root only (TUH name patterns, BIDS ``sub-`` entities, the
file stem such as eegmat's ``Subject00_1``, or a user table), never from the
folders above it, so the same corpus gives the same ids wherever it sits or
whichever symlink points at it. Labels and other metadata may come from a
CSV/TSV table (:func:`read_metadata`) and from a BIDS ``participants.tsv``.

A BIDS root (a folder with ``dataset_description.json``) is read through
MNE-BIDS (:func:`list_bids_recordings`): only raw EEG recordings count (not
``derivatives/``, ``sourcedata/`` or ``code/``), and subject, session, task,
acquisition and run come from the BIDS entities of each file.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .edf import EDFError, read_edf_header
from .reports import ReportDecodeError, read_report

__all__ = [
    "index_tuh",
    "is_bids_root",
    "list_bids_recordings",
    "list_edf_files",
    "read_metadata",
    "apply_metadata",
    "RECORDING_KEYS",
    "SUBJECT_KEYS",
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
# PhysioNet EEG Motor Movement/Imagery (EEGBCI) file names: S001R03 = subject 1,
# run 3.
_EEGMMIDB = re.compile(r"^(S\d{3})R(\d{2})$")
# BIDS entities in a file stem or folder name: "sub-01", "ses-2", "task-rest".
_BIDS = re.compile(r"^(sub|ses|task|acq|run)-([A-Za-z0-9]+)$")

#: Columns of the ``skipped`` table of an indexed dataset.
SKIP_COLUMNS = ["recording_id", "path", "subject", "status", "reason", "detail"]


def _bids_entities(tokens: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in tokens:
        if m := _BIDS.match(t):
            out.setdefault(m.group(1), m.group(2))
    return out


def parse_tuh_path(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Describe an EDF path from the names of its parts.

    Parameters
    ----------
    path : str | os.PathLike
        Path of an EDF file in any TUH release layout, a BIDS tree or a plain
        folder.
    root : str | os.PathLike | None
        The corpus root. Only folders *below* it are read (session, montage,
        normal/abnormal, split, BIDS ``sub-``/``ses-`` folders, TUH subject
        folders), so folders above the corpus never leak into the description.
        Without it, only the file name gives the subject.

    Returns
    -------
    dict
        ``recording_id`` (the file stem), ``subject``, ``session``,
        ``segment``, ``montage``, ``year``, ``date`` (ISO string or None),
        ``pathological`` (True/False/None), ``split`` (``"train"``, ``"eval"``,
        ``"dev"`` or None), ``train`` (bool or None) and, for BIDS names,
        ``task`` and ``run``.

    Notes
    -----
    The subject is, in order: a BIDS ``sub-`` entity of the file name, a TUH
    subject code opening the file name (8 lowercase letters or 8 digits before
    the first ``_``; later tokens such as ``baseline`` or a date ``20230115``
    are not subjects), a PhysioNet motor
    imagery name (``S001R03`` -> ``S001``, run ``03``), a ``sub-`` folder or a
    TUH subject folder (8 letters or digits, holding session folders or the
    file) *inside* ``root``, the file's own folder inside ``root`` when the file
    name starts with it (``S001/S001R03.edf``), and else the first
    ``_``-separated token of the file name (``Subject00_1`` -> ``Subject00``).
    A user table with a ``subject`` column (:func:`apply_metadata`) overrides
    all of these.
    """
    return _parse_path(path, root)[0]


def _parse_path(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> tuple[dict[str, Any], bool]:
    """:func:`parse_tuh_path`, and whether the subject is the file name's first
    token (the last rule, which a plain folder of subject folders defeats)."""
    p = Path(path)
    tokens = p.stem.split("_")
    bids = _bids_entities(tokens)
    mmidb = _EEGMMIDB.match(p.stem)
    out: dict[str, Any] = {
        "recording_id": p.stem,
        "subject": (f"sub-{bids['sub']}" if "sub" in bids else None)
        # TUH names start with the subject code (``aaaaaaab_s001_t000``,
        # TUEV's ``aaaaaaar_00000001``); an 8-letter or 8-digit token later in
        # a name is a word or a date (``sub01_baseline``, ``P01_20230115``).
        or (tokens[0] if _SUBJECT.match(tokens[0]) else None)
        or (mmidb.group(1) if mmidb else None),
        "session": (f"ses-{bids['ses']}" if "ses" in bids else None)
        or next((t for t in tokens if _SESSION.match(t)), None),
        "segment": next((t for t in tokens if _SEGMENT.match(t)), None),
        "montage": None,
        "year": None,
        "date": None,
        "pathological": None,
        "split": None,
    }
    if "task" in bids:
        out["task"] = bids["task"]
    if "run" in bids:
        out["run"] = bids["run"]
    elif mmidb:
        out["run"] = mmidb.group(2)
    if root is None:
        # Without a root every folder may be above the corpus: read only those
        # whose names cannot be mistaken for a subject.
        folders = list(p.parts[:-1])
        subject_folders = False
    else:
        try:
            folders = list(p.parent.relative_to(Path(root)).parts)
        except ValueError:
            folders = list(
                Path(os.path.abspath(p.parent))
                .relative_to(Path(os.path.abspath(root)))
                .parts
            )
        subject_folders = True
    for i, part in enumerate(folders):
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
        elif subject_folders and (m := _BIDS.match(part)):
            key = m.group(1)
            if (
                key in ("sub", "ses")
                and out["subject" if key == "sub" else "session"] is None
            ):
                out["subject" if key == "sub" else "session"] = part
        elif (
            subject_folders
            and out["subject"] is None
            and _SUBJECT.match(low)
            # A TUH subject folder holds session folders (or the files): an
            # 8-letter folder above anything else ("eegmmidb/1.0.0/...") is a
            # database's name, not a subject.
            and (i == len(folders) - 1 or _SESSION_DIR.match(folders[i + 1].lower()))
        ):
            out["subject"] = low
    if (
        out["subject"] is None
        and subject_folders
        and folders
        and len(p.stem) > len(folders[-1])
        and p.stem.lower().startswith(folders[-1].lower())
    ):
        # The file's own folder when the file is named after it
        # (``S001/S001R03.edf``, ``p07/p07_rest.edf``): inside the root only.
        out["subject"] = folders[-1]
    from_name = out["subject"] is None
    if from_name:
        # A plain folder: the first token of the stem (``Subject00_1`` ->
        # ``Subject00``); a user table can override it.
        out["subject"] = tokens[0]
    out["train"] = None if out["split"] is None else out["split"] == "train"
    return out, from_name


def find_report(edf_path: Path, info: dict[str, Any]) -> Path | None:
    """Find the report ``.txt`` of a TUH recording.

    Looks, in order, for ``<stem>.txt`` beside the EDF file; then, when the
    recording has a session, for ``<subject>_<session>.txt`` or
    ``<subject>_<session>_*.txt`` beside the EDF file and in its parent folders
    up to the session folder; without a session, for ``<subject>.txt`` there (a
    report shared by a subject's recordings). A ``.txt`` named after another
    EDF file of its folder is that recording's own report and is never given to
    another one, and names match whole ``_``-separated tokens (subject ``p1``
    does not take ``p10_rest.txt``).

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

    def owned(cand: Path) -> bool:
        # Another recording's own report (``Subject04_1.txt`` beside
        # ``Subject04_1.edf``) belongs to that recording only.
        return any(cand.with_suffix(ext).is_file() for ext in (".edf", ".EDF"))

    folder = edf_path.parent
    for _ in range(3):
        cand = folder / f"{prefix}.txt"
        if cand.is_file() and not owned(cand):
            return cand
        if sess:
            # glob's ``_*`` keeps the token boundary: ``s001`` is not ``s0010``.
            hits = [h for h in sorted(folder.glob(f"{prefix}_*.txt")) if not owned(h)]
            if hits:
                return hits[0]
        if _SESSION_DIR.match(folder.name.lower()) or folder.parent == folder:
            break
        folder = folder.parent
    return None


#: How reports state the patient's age, most explicit first: "45 year old",
#: "45-yr-old", "45 yrs. old", "45 y/o", "45 y.o.", "45 yo", "45 years of age";
#: then a labelled "Age: 45" or "aged 45". A bare "2 years" is a duration ("on
#: Lamictal for 2 years").
_AGES = (
    re.compile(
        r"\b(\d{1,3})\s*-?\s*(?:years?|yrs?|y)\.?\s*-?\s*old\b"
        r"|\b(\d{1,3})\s*-?\s*(?:y\s*/\s*o\b|y\.\s*o\b\.?|yo\b)"
        r"|\b(\d{1,3})\s+(?:years?|yrs?)\.?\s+of\s+age\b",
        re.IGNORECASE,
    ),
    # "Age: 45", "Age 45", "aged 45"; not an onset ("since age 12", "at age
    # 2"), another person's ("mother's age: 35"), a gestational age, nor a
    # number of months, weeks or days ("Age: 3 m. old").
    re.compile(
        r"(?<![\w'])(?<!since )(?<!at )(?<!from )(?<!by )(?<!onset )(?<!of )"
        r"(?<!gestational )(?<!'s )(?<!\u2019s )(?:age\s*[:\-]?|aged)\s*(\d{1,3})\b"
        r"(?!\s*(?:months?|mos?\b|m\.|weeks?|wks?\b|days?|d\b|hours?|hrs?\b))",
        re.IGNORECASE,
    ),
)
#: "61 y/o F", "45 yo M": the sex letter right after the age.
_SEX_AFTER_AGE = re.compile(r"\s*,?\s*([MF])\b")
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
        m = next((m for rx in _AGES if (m := rx.search(head))), None)
        if m is not None:
            value = int(next(g for g in m.groups() if g is not None))
            age = float(value) if 0 <= value <= 120 else None
            if sx := _SEX_AFTER_AGE.match(head, m.end()):
                gender = sx.group(1)
        if gender is None:
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


def _describe(
    path: Path, root: Path | None = None
) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """Return (description, None) or (None, (reason, detail)) for one EDF file."""
    info = parse_tuh_path(path, root)
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


#: BIDS folders that hold no raw recordings of the dataset itself.
_BIDS_NON_RAW = ("derivatives", "sourcedata", "code", "stimuli")

#: EEG file formats BIDS allows; the cache reads EDF.
_BIDS_EEG_EXTENSIONS = (".edf", ".bdf", ".vhdr", ".set", ".fif")


def is_bids_root(root: str | os.PathLike[str]) -> bool:
    """True when ``root`` is a BIDS dataset (it holds ``dataset_description.json``)."""
    return (Path(root) / "dataset_description.json").is_file()


def list_bids_recordings(
    root: str | os.PathLike[str],
) -> tuple[list[Path], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The raw EEG recordings of a BIDS dataset, found by MNE-BIDS.

    Parameters
    ----------
    root : str | os.PathLike
        The BIDS root (holding ``dataset_description.json``).

    Returns
    -------
    files : list of pathlib.Path
        EDF recordings (``*_eeg.edf``), sorted by name; files under
        ``derivatives/``, ``sourcedata/``, ``code/`` or ``stimuli/`` are not
        raw recordings of the dataset and are left out.
    entities : dict
        Per file (``str(path)``): ``subject`` (``sub-<label>``), ``session``
        (``ses-<label>`` or None), ``task``, ``acquisition`` and ``run`` from
        the BIDS entities.
    other : list of dict
        Skip rows (:data:`SKIP_COLUMNS`) for EEG recordings in another format
        (BDF, BrainVision, EEGLAB, FIF), which the cache does not read.
    """
    try:
        import mne_bids
    except ImportError as err:  # pragma: no cover - installed with braindecode
        raise ImportError(
            f"{root} is a BIDS dataset; reading it needs mne-bids: pip install mne-bids"
        ) from err
    root = Path(root)
    paths = mne_bids.find_matching_paths(
        root,
        datatypes="eeg",
        suffixes="eeg",
        extensions=list(_BIDS_EEG_EXTENSIONS),
        ignore_nosub=True,
    )
    files: list[Path] = []
    entities: dict[str, dict[str, Any]] = {}
    other: list[dict[str, Any]] = []
    for bp in paths:
        path = Path(bp.fpath)
        rel = path.relative_to(root).parts
        if rel and rel[0] in _BIDS_NON_RAW:
            continue
        ent = dict(
            subject=f"sub-{bp.subject}",
            session=None if bp.session is None else f"ses-{bp.session}",
            task=bp.task,
            acquisition=bp.acquisition,
            run=bp.run,
        )
        if path.suffix.lower() != ".edf":
            other.append(
                dict(
                    recording_id=path.stem,
                    path=str(path),
                    subject=ent["subject"],
                    status="skipped",
                    reason="unsupported_format",
                    detail=f"{path.name}: the cache reads EDF; convert the "
                    "recording with mne_bids.write_raw_bids(raw, bids_path, "
                    "format='EDF')",
                )
            )
            continue
        files.append(path)
        entities[str(path)] = ent
    files.sort(key=lambda f: (f.stem, str(f)))
    return files, entities, other


def list_edf_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every ``*.edf`` file below ``root``, following symlinked folders once.

    Parameters
    ----------
    root : str | os.PathLike
        Corpus root (may itself be a symlink).

    Returns
    -------
    list of pathlib.Path
        Paths under ``root`` as given (not resolved), sorted by stem then path.
    """
    return _walk_files(root, (".edf",))


#: EEG formats MNE reads that the cache does not (one file per recording):
#: listed as skipped rows so that a plain folder of them is not ignored silently.
OTHER_EEG_EXTENSIONS = (".bdf", ".vhdr", ".set", ".fif", ".gdf", ".cnt")


def _walk_files(root: str | os.PathLike[str], suffixes: tuple[str, ...]) -> list[Path]:
    root = Path(root)
    seen: set[str] = set()
    files: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop or a folder linked twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in names:
            if name.lower().endswith(suffixes):
                files.append(Path(folder) / name)
    return sorted(files, key=lambda p: (p.stem, str(p)))


#: MNE's names of derived FIF files (epochs, ICA, evoked, ...): not recordings.
_DERIVED_FIF = ("epo", "ica", "ave", "cov", "fwd", "inv", "trans", "sol", "annot")


def _is_recording_file(path: Path) -> bool:
    if path.suffix.lower() != ".fif":
        return True
    tail = path.stem.lower().replace("_", "-").rsplit("-", 1)
    return len(tail) == 1 or tail[1] not in _DERIVED_FIF


def _other_format_rows(paths: list[Path]) -> list[dict[str, Any]]:
    """Skipped rows for the EEG files of other formats in a plain folder."""
    return [
        dict(
            recording_id=path.stem,
            path=str(path),
            subject=None,
            status="skipped",
            reason="unsupported_format",
            detail=f"{path.name}: the cache reads EDF; convert it with MNE, e.g. "
            f"mne.export.export_raw('{path.stem}.edf', mne.io.read_raw('{path.name}'))",
        )
        for path in paths
        if _is_recording_file(path)
    ]


#: Columns that key a metadata table per recording (first one found wins).
RECORDING_KEYS = ("recording_id", "recording", "path", "file", "filename", "stem")
#: Columns that key a metadata table per subject (BIDS ``participants.tsv``).
SUBJECT_KEYS = ("participant_id", "subject", "subject_id", "participant")


def read_metadata(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a metadata table (CSV, or TSV for ``.tsv``/``.tab`` files).

    Parameters
    ----------
    path : str | os.PathLike
        Table with one row per recording (a column among
        :data:`RECORDING_KEYS`: the EDF stem, its file name or its path relative
        to the corpus root) or one row per subject (a column among
        :data:`SUBJECT_KEYS`, e.g. a BIDS ``participants.tsv``). Column names
        are matched case-insensitively. Every other column becomes a
        description field (labels, age, ...); a ``subject`` column in a
        per-recording table sets the subject ids; a ``report`` column gives the
        report text of recordings without a report file.

    Returns
    -------
    pandas.DataFrame
        The table, read with string keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metadata table {path} does not exist")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    table = pd.read_csv(path, sep=sep, dtype=object, keep_default_na=True)
    table.columns = [str(c).strip() for c in table.columns]
    if _key_column(table) is None:
        raise ValueError(
            f"metadata table {path} needs a key column: one of "
            f"{list(RECORDING_KEYS)} (one row per recording) or "
            f"{list(SUBJECT_KEYS)} (one row per subject); it has "
            f"{list(table.columns)}"
        )
    return table


def _key_column(table: pd.DataFrame) -> tuple[str, str] | None:
    lower = {c.lower(): c for c in table.columns}
    for key in RECORDING_KEYS:
        if key in lower:
            return "recording", lower[key]
    for key in SUBJECT_KEYS:
        if key in lower:
            return "subject", lower[key]
    return None


#: Columns holding ids: kept as written (subject "0006" is not subject 6).
_ID_COLUMNS = frozenset(RECORDING_KEYS + SUBJECT_KEYS)


def _value(v: Any, *, text_only: bool = False) -> Any:
    """A table cell as a description value (numbers as numbers, NaN as None).

    ``text_only``: an id, kept as text (``int("0006")`` made one person two
    subjects when some recordings kept the folder's ``0006``).
    """
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    text = str(v).strip()
    if text == "" or text.lower() in ("n/a", "nan"):
        return None
    if text_only:
        return text
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _norm_subject(s: Any) -> str:
    s = str(s).strip()
    return s[4:] if s.lower().startswith("sub-") else s


#: Fields naming the same fact: a table setting one sets the other when present.
_SEX_SYNONYMS = {"sex": "gender", "gender": "sex"}

#: Description fields read from the EDF header (or a report), which a BIDS
#: ``participants.tsv`` replaces.
_HEADER_FIELDS = ("age", "sex", "gender")


def apply_metadata(
    descriptions: list[dict[str, Any]],
    metadata: pd.DataFrame | str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    source: str | None = None,
    overwrite: bool | Iterable[str] = True,
    must_match: bool = True,
) -> int:
    """Merge a metadata table into recording descriptions, in place.

    Parameters
    ----------
    descriptions : list of dict
        Descriptions with ``recording_id``, ``subject`` and ``path``.
    metadata : pandas.DataFrame | path-like
        See :func:`read_metadata`.
    root : path-like | None
        Corpus root, to match keys given as paths relative to it.
    source : str | None
        Name of the table in warnings.
    overwrite : bool | iterable of str
        Replace fields the description already has (a user table does), or
        only the fields named (any case): a BIDS ``participants.tsv`` replaces
        what the EDF header gave (``age``, ``sex``/``gender``: headers are often
        anonymised or wrong, eegmat's say ``M`` for every subject) and fills
        the other gaps. An empty cell never erases a value.
    must_match : bool
        Refuse a table that matches none of the recordings (a user's table;
        a BIDS folder's own ``participants.tsv`` need not).

    Returns
    -------
    int
        Number of descriptions that matched a row. Rows matching no recording
        and recordings without a row are reported with a warning.

    Raises
    ------
    ValueError
        For a table none of whose rows matches a recording (keys of another id
        scheme or corpus; with ``must_match``), or a key listed twice.
    """
    if not isinstance(metadata, pd.DataFrame):
        source = source or str(metadata)
        metadata = read_metadata(metadata)
    source = source or "metadata table"
    found = _key_column(metadata)
    if found is None:
        raise ValueError(
            f"{source} needs a key column among {list(RECORDING_KEYS)} or "
            f"{list(SUBJECT_KEYS)}; it has {list(metadata.columns)}"
        )
    kind, key = found
    replace_all = overwrite is True
    replace = (
        set() if isinstance(overwrite, bool) else {str(f).lower() for f in overwrite}
    )
    rows: dict[str, dict[str, Any]] = {}
    for rec in metadata.to_dict("records"):
        k = rec.get(key)
        if k is None or (isinstance(k, float) and np.isnan(k)):
            continue
        k = str(k).strip().replace("\\", "/")
        if kind == "subject":
            k = _norm_subject(k)
        if k in rows:
            raise ValueError(f"{source}: key {k!r} appears twice in column {key!r}")
        rows[k] = {
            c: _value(v, text_only=str(c).strip().lower() in _ID_COLUMNS)
            for c, v in rec.items()
            if c != key
        }
    used: set[str] = set()
    matched = 0
    unmatched: list[str] = []
    for d in descriptions:
        if kind == "subject":
            candidates = [_norm_subject(d.get("subject"))]
        else:
            rid = str(d["recording_id"])
            candidates = [rid]
            if d.get("path"):
                p = Path(d["path"])
                candidates.append(p.name)
                if root is not None:
                    try:
                        rel = p.relative_to(Path(root)).as_posix()
                        candidates += [rel, rel[: -len(p.suffix)] or rel]
                    except ValueError:
                        pass
        hit = next((c for c in candidates if c in rows), None)
        if hit is None:
            unmatched.append(str(d.get("recording_id")))
            continue
        used.add(hit)
        matched += 1
        # A column names an existing field whatever its case ("Gender" is the
        # header's "gender"), so a table overrides what the header guessed.
        existing = {str(k).lower(): k for k in d}
        for col, v in rows[hit].items():
            name = "subject" if col.lower() == "subject" else col
            if name != "subject" and name.lower() in existing:
                name = existing[name.lower()]
            if name == "subject" and kind == "subject":
                continue
            if name == "subject" and v is not None:
                d["subject"] = str(v)
            elif name.lower() == "report":
                # Report text from the table, for recordings without a file.
                if isinstance(v, str) and v.strip() and d.get("report") is None:
                    d.update(report=v, report_status="ok", report_path=source)
            elif d.get(name) is None or (
                v is not None and (replace_all or name.lower() in replace)
            ):
                d[name] = v
                other = _SEX_SYNONYMS.get(name.lower())
                if other in existing and v is not None:
                    # A table's sex is the subject's; the EDF header's "gender"
                    # is a guess (eegmat's disagree with their table on 71 of
                    # 72 files): keep the two fields in agreement.
                    d[existing[other]] = v
    unused = sorted(set(rows) - used)
    if kind == "recording" and descriptions and rows and not matched:
        # Not one label applied: keys of another id scheme or another corpus.
        # Later commands would only say that a label is missing.
        raise ValueError(
            f"{source}: none of its {len(rows)} rows (keyed by {key!r}, e.g. "
            f"{sorted(rows)[:3]}) matches one of the {len(descriptions)} "
            f"recordings, whose ids look like "
            f"{[str(d.get('recording_id')) for d in descriptions[:3]]}; key the "
            "table by those ids (or by the files' paths inside the folder)"
        )
    if kind == "subject" and must_match and descriptions and rows and not matched:
        # A per-subject table that sets nothing: its labels, ages and sexes
        # were lost with one warning, and the EDF header's guesses stayed.
        raise ValueError(
            f"{source}: none of its {len(rows)} rows (keyed by {key!r}, e.g. "
            f"{sorted(rows)[:3]}) matches the subject of one of the "
            f"{len(descriptions)} recordings, whose subjects look like "
            f"{sorted({str(d.get('subject')) for d in descriptions})[:3]}; key "
            "the table by those subject ids"
        )
    if unmatched:
        # The examples are recordings without a row (the ones to look at).
        warnings.warn(
            f"{source}: {len(unmatched)} of {len(descriptions)} recordings have "
            f"no row (keyed by {key!r}), e.g. {unmatched[:3]}",
            stacklevel=2,
        )
    if unused and kind == "recording":
        warnings.warn(
            f"{source}: {len(unused)} rows match no recording, e.g. {unused[:3]}",
            stacklevel=2,
        )
    return matched


#: How :func:`index_tuh` names recordings: by file name or by path in the folder.
ID_SCHEMES = ("stem", "path")

#: Where :func:`index_tuh` reads subjects: the rules of :func:`parse_tuh_path`,
#: or the first folder inside the corpus folder.
SUBJECT_SCHEMES = ("auto", "folder")


def _top_folder(path: Path, root: Path) -> str | None:
    """The first folder of ``path`` inside ``root`` (None for a file in it)."""
    rel = path_id(path, root)
    return rel.split("/", 1)[0] if "/" in rel else None


def _warn_name_subjects(
    descs: list[dict[str, Any]], files: list[Path], root: Path, subjects: str
) -> None:
    """Warn when subjects read from file names repeat across folders.

    ``subjA/rest.edf``, ``subjB/rest.edf`` give the subject ``rest`` to both
    people: every "subject-disjoint" split then puts each person in every part.
    The layout cannot tell a subject folder from a session folder, so this is a
    warning naming both readings, not a guess.
    """
    if subjects != "auto":
        return
    spread: dict[str, set[str]] = {}
    for d, f in zip(descs, files):
        info, from_name = _parse_path(f, root)
        top = _top_folder(f, root)
        if from_name and top is not None and str(d.get("subject")) == info["subject"]:
            spread.setdefault(info["subject"], set()).add(top)
    shared = {s: sorted(t) for s, t in spread.items() if len(t) > 1}
    if shared:
        folders = sorted({t for ts in shared.values() for t in ts})
        warnings.warn(
            f"subject ids were read from file names, and the same ones "
            f"({sorted(shared)[:4]}) occur in {len(folders)} folders "
            f"({folders[:4]}): if each folder holds one subject, pass "
            "subjects='folder' (elm preprocess --subjects folder; elm "
            "pretrain-labelled --subjects NAME=folder) or give a "
            "metadata table with a subject column, or subject-disjoint splits "
            "put one person in several parts; if the folders are sessions of "
            "the same people, the ids are right",
            UserWarning,
            stacklevel=3,
        )


def path_id(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """A recording id from the file's place in the corpus folder.

    The path relative to ``root`` in ``/`` form without the extension
    (``subject1/rest.edf`` -> ``"subject1/rest"``): unique inside one folder
    where file names repeat across subject or session folders.
    """
    p, r = Path(path), Path(root)
    tries = (
        (p, r),
        (Path(os.path.abspath(p)), Path(os.path.abspath(r))),
        # A folder on the way reached through a symlink (MNE-BIDS resolves
        # paths); the file itself may be a symlink to anywhere.
        (Path(os.path.realpath(p.parent)) / p.name, Path(os.path.realpath(r))),
    )
    for a, b in tries:
        try:
            return a.relative_to(b).with_suffix("").as_posix()
        except ValueError:
            continue
    raise ValueError(f"{path} is not inside the corpus folder {root}")


def index_tuh(
    path: str | os.PathLike[str],
    *,
    recording_ids: list[int] | list[str] | None = None,
    n_jobs: int = 1,
    on_error: str = "skip",
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    ids: str = "stem",
    subjects: str = "auto",
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Describe every EDF file of a corpus folder without opening it with MNE.

    The description rows of :class:`TUHReports` (same columns) plus the table
    of files that cannot be indexed; :func:`build_cache` uses this directly
    when given a folder, which avoids building MNE Raw objects it never needs.
    Works on TUH releases, BIDS trees and plain folders of EDF files (reports
    optional); subject ids come only from inside ``path`` (see
    :func:`parse_tuh_path`).

    Parameters
    ----------
    path : str | os.PathLike
        Corpus root (may be a symlink); searched recursively for ``*.edf``,
        following symlinked folders.
    recording_ids : list of int | list of str | None
        Subset: positions in the sorted file list or recording ids (EDF
        stems); a position or id naming no file raises ``ValueError``.
    n_jobs : int
        Threads for reading headers and reports.
    on_error : {"skip", "raise"}
        ``"raise"`` raises on the first file that cannot be indexed.
    metadata : pandas.DataFrame | path-like | list of them | None
        Tables merged into the descriptions in order (see
        :func:`read_metadata`); a ``participants.tsv`` in ``path`` (BIDS) is
        merged first, filling gaps.
    ids : {"stem", "path"}
        Recording ids: the file name without its extension (``"stem"``; TUH
        and BIDS names are unique), or the path inside ``path`` without it
        (``"path"``, :func:`path_id`: ``subject1/rest``), for folders whose
        subject or session folders hold files of one name. With ``"stem"``,
        a second file of a name already seen is skipped as ``duplicate_id``.
    subjects : {"auto", "folder"}
        Subject ids: by the rules of :func:`parse_tuh_path` (``"auto"``; a
        warning says when subjects read from file names repeat across
        folders, as in ``subjA/rest.edf``, ``subjB/rest.edf``), or the first
        folder inside ``path`` (``"folder"``: ``subjA/ses1/rest.edf`` ->
        ``subjA``; a file directly in ``path`` is skipped as
        ``no_subject_folder``). A metadata table's ``subject`` column
        overrides both.

    Returns
    -------
    descriptions : list of dict
        One description per indexable recording, sorted by recording id.
    skipped : pandas.DataFrame
        Columns :data:`SKIP_COLUMNS`.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if ids not in ID_SCHEMES:
        raise ValueError(f"ids must be one of {ID_SCHEMES}, got {ids!r}")
    if subjects not in SUBJECT_SCHEMES:
        raise ValueError(f"subjects must be one of {SUBJECT_SCHEMES}, got {subjects!r}")
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    bids = is_bids_root(root)
    entities: dict[str, dict[str, Any]] = {}
    other: list[dict[str, Any]] = []
    if bids:
        files, entities, other = list_bids_recordings(root)
    else:
        # One walk of the tree (it may be large, on a network file system).
        found = _walk_files(root, (".edf", *OTHER_EEG_EXTENSIONS))
        files = [f for f in found if f.suffix.lower() == ".edf"]
        other = _other_format_rows([f for f in found if f.suffix.lower() != ".edf"])

    def rid_of(f: Path) -> str:
        return path_id(f, root) if ids == "path" else f.stem

    if ids == "path":
        # Positions (recording_ids) and the descriptions follow the ids.
        files = sorted(files, key=rid_of)
        for r in other:
            r["recording_id"] = path_id(r["path"], root)
    if recording_ids is not None:
        # Only the asked-for recordings are reported, whatever their format.
        asked = {str(r) for r in recording_ids}
        other = [r for r in other if r["recording_id"] in asked]
    if recording_ids is not None and files:
        if all(isinstance(r, (int, np.integer)) for r in recording_ids):
            bad = [int(i) for i in recording_ids if not -len(files) <= i < len(files)]
            if bad:
                raise ValueError(
                    f"recording positions {bad[:5]} are outside the {len(files)} "
                    f"EDF files under {root}"
                )
            files = [files[int(i)] for i in recording_ids]
        else:
            wanted = {str(r).replace("\\", "/") for r in recording_ids}
            stems = {rid_of(f) for f in files}
            # An id that names no file is a typo or another corpus: say so
            # before any work rather than cache a silently smaller set.
            unknown = sorted(wanted - stems)
            if unknown:
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                raise ValueError(
                    f"{len(unknown)} of the {len(wanted)} recording ids asked for "
                    f"(recording_ids, elm --recordings) match no EDF files under "
                    f"{root}: {', '.join(map(repr, unknown[:5]))}{more}; check the "
                    + (
                        "ids: they are EDF paths inside the folder without '.edf' "
                        if ids == "path"
                        else "ids: they are EDF file names without '.edf' "
                    )
                    + f"(e.g. {rid_of(files[0])!r})"
                )
            files = [f for f in files if rid_of(f) in wanted]
    if not files:
        raise ValueError(
            f"no EDF files (*.edf) found under {root}"
            + (
                f" ({len(other)} EEG recordings in other formats, e.g. "
                f"{Path(other[0]['path']).name}; convert them to EDF: "
                + (
                    "mne_bids.write_raw_bids(..., format='EDF'))"
                    if bids
                    else "mne.export.export_raw(...))"
                )
                if other
                else ""
            )
            + (" matching the given recording ids" if recording_ids else "")
            + "; point to the folder that holds the recordings"
        )

    def describe(f: Path) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
        desc, err = _describe(f, root)
        if desc is not None and str(f) in entities:
            # MNE-BIDS parsed the entities; they win over name heuristics.
            desc.update(entities[str(f)])
        if desc is not None:
            desc["recording_id"] = rid_of(f)
        if desc is not None and subjects == "folder":
            top = _top_folder(f, root)
            if top is None:
                return None, (
                    "no_subject_folder",
                    f"{f} sits directly in {root}, not in a subject folder "
                    "(subjects='folder' reads the first folder inside it)",
                )
            desc["subject"] = top
        return desc, err

    if n_jobs == 1:
        results = [describe(f) for f in files]
    else:
        # Threads: the work is file I/O, and worker processes would each pay
        # the import of torch (via braindecode).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_jobs) as ex:
            results = list(ex.map(describe, files))
    good = [d for d, err in results if err is None]
    participants = root / "participants.tsv"
    if participants.is_file() and good:
        apply_metadata(
            good, participants, root=root, overwrite=_HEADER_FIELDS, must_match=False
        )
    if metadata is not None and good:
        tables = metadata if isinstance(metadata, (list, tuple)) else [metadata]
        for table in tables:
            apply_metadata(good, table, root=root)
    skipped: list[dict[str, Any]] = list(other)
    seen: dict[str, str] = {}
    descs = []
    for f, (desc, err) in zip(files, results):
        if err is None and desc["recording_id"] in seen:
            err = (
                "duplicate_id",
                f"recording id {desc['recording_id']} already used by "
                f"{seen[desc['recording_id']]}"
                + (
                    "; to keep both, name recordings by their path in the folder "
                    "(ids='path', elm preprocess --ids path)"
                    if ids == "stem"
                    else ""
                ),
            )
        if err is not None:
            if on_error == "raise":
                raise ValueError(f"{f}: {err[0]}: {err[1]}")
            info = parse_tuh_path(f, root)
            skipped.append(
                dict(
                    recording_id=rid_of(f),
                    path=str(f),
                    subject=(desc or info)["subject"],
                    status="skipped",
                    reason=err[0],
                    detail=err[1],
                )
            )
            continue
        seen[desc["recording_id"]] = str(f)
        descs.append(desc)
    # Files skipped as duplicate ids count too (subjA/rest, subjB/rest).
    _warn_name_subjects(
        good, [f for f, (_, err) in zip(files, results) if err is None], root, subjects
    )
    return descs, pd.DataFrame(skipped, columns=SKIP_COLUMNS)
