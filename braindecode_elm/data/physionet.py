"""Real PhysioNet EEG, offline first: EEGMAT (mental arithmetic) and EEGBCI.

Both load from the local data folder (:func:`braindecode_elm.data_dir`, the
``ELM_DATA_DIR`` environment variable, default ``../shared/data``) and never
touch the network when the files are there. Outside this workplace, when the
files are absent, they are fetched from PhysioNet with checksum verification
(:func:`fetch_eegmat`, :func:`fetch_eegbci`) into the MNE data folder.

Each recording gets a caption (its text side for CLIP-style evaluation), stored
in the description as ``caption`` and ``report`` so the cache and
``.segments()`` treat it like a report; captions are configurable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._braindecode import BaseConcatDataset, RawDataset
from .._config import DATA_ENV, data_dir

__all__ = [
    "EEGMAT",
    "EEGBCI",
    "EEGMAT_CAPTIONS",
    "EEGBCI_RUN_TASKS",
    "EEGBCI_EVENT_CAPTIONS",
    "eegmat_folder",
    "eegbci_folder",
    "fetch_eegmat",
    "fetch_eegbci",
    "load_eegmat_raw",
    "load_eegbci_raw",
]

EEGMAT_URL = "https://physionet.org/files/eegmat/1.0.0/"
EEGBCI_URL = "https://physionet.org/files/eegmmidb/1.0.0/"

#: Default captions of the two EEGMAT states (file suffix ``_1`` / ``_2``).
EEGMAT_CAPTIONS: dict[str, str] = {
    "rest": "Resting EEG, awake and relaxed, before a mental arithmetic task.",
    "arithmetic": "EEG during mental arithmetic: serial subtraction of a two-digit "
    "number from a four-digit number.",
}

#: EEGBCI run number -> (task code, run caption).
EEGBCI_RUN_TASKS: dict[int, tuple[str, str]] = {}
for _r, _code, _cap in [
    (3, "real_fists", "Motor execution EEG: opening and closing the left or right "
     "fist as cued, alternating with rest."),
    (4, "imagined_fists", "Motor imagery EEG: imagining opening and closing the left "
     "or right fist as cued, alternating with rest."),
    (5, "real_fists_feet", "Motor execution EEG: opening and closing both fists or "
     "both feet as cued, alternating with rest."),
    (6, "imagined_fists_feet", "Motor imagery EEG: imagining opening and closing both "
     "fists or both feet as cued, alternating with rest."),
]:  # fmt: skip
    for _k in range(3):
        EEGBCI_RUN_TASKS[_r + 4 * _k] = (_code, _cap)

#: Captions of EEGBCI events per task code and annotation (T0 rest, T1, T2).
EEGBCI_EVENT_CAPTIONS: dict[str, dict[str, str]] = {
    "real_fists": {
        "T0": "Resting EEG, eyes open, between motor trials.",
        "T1": "EEG while opening and closing the left fist.",
        "T2": "EEG while opening and closing the right fist.",
    },
    "imagined_fists": {
        "T0": "Resting EEG, eyes open, between motor imagery trials.",
        "T1": "EEG while imagining opening and closing the left fist.",
        "T2": "EEG while imagining opening and closing the right fist.",
    },
    "real_fists_feet": {
        "T0": "Resting EEG, eyes open, between motor trials.",
        "T1": "EEG while opening and closing both fists.",
        "T2": "EEG while opening and closing both feet.",
    },
    "imagined_fists_feet": {
        "T0": "Resting EEG, eyes open, between motor imagery trials.",
        "T1": "EEG while imagining opening and closing both fists.",
        "T2": "EEG while imagining opening and closing both feet.",
    },
}

#: Event labels per task code (used as annotation descriptions by EEGBCI).
EEGBCI_EVENT_LABELS: dict[str, dict[str, str]] = {
    "real_fists": {"T0": "rest", "T1": "left_hand", "T2": "right_hand"},
    "imagined_fists": {"T0": "rest", "T1": "left_hand", "T2": "right_hand"},
    "real_fists_feet": {"T0": "rest", "T1": "hands", "T2": "feet"},
    "imagined_fists_feet": {"T0": "rest", "T1": "hands", "T2": "feet"},
}


def _mne_data_root() -> Path:
    import mne

    return Path(mne.get_config("MNE_DATA", str(Path.home() / "mne_data")))


def eegmat_folder(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The local folder holding ``SubjectNN_{1,2}.edf``, or None.

    Looks at ``path`` (the EDF folder itself, or a data root with
    ``eegmat/files/eegmat/1.0.0`` or ``files/eegmat/1.0.0`` under it), then the
    default data folder (``ELM_DATA_DIR``), then the MNE data folder where
    :func:`fetch_eegmat` puts the files.
    """
    roots = (
        [Path(path)]
        if path is not None
        else [data_dir(), _mne_data_root() / "MNE-eegmat-data"]
    )  # noqa: E501
    for root in roots:
        for cand in (
            root,
            root / "files" / "eegmat" / "1.0.0",
            root / "eegmat" / "files" / "eegmat" / "1.0.0",
        ):
            if (cand / "Subject00_2.edf").is_file() or any(cand.glob("Subject*_2.edf")):
                return cand
    return None


def fetch_eegmat(
    path: str | os.PathLike[str] | None = None, subjects: Sequence[int] | None = None
) -> Path:
    """Download EEGMAT from PhysioNet, verifying PhysioNet's SHA-256 checksums.

    Parameters
    ----------
    path : str | os.PathLike | None
        Target folder (default ``<MNE_DATA>/MNE-eegmat-data``); files go to
        ``<path>/files/eegmat/1.0.0``.
    subjects : sequence of int | None
        Subjects (0-35) to fetch; default all.

    Returns
    -------
    pathlib.Path
        The folder with the EDF files.

    Raises
    ------
    ImportError
        If pooch is not installed (``pip install braindecode-elm[moabb]``).
    ConnectionError
        When PhysioNet cannot be reached; the message says where to put the
        files by hand.
    """
    try:
        import pooch
    except ImportError as exc:
        raise ImportError(
            "fetching EEGMAT needs pooch: pip install braindecode-elm[moabb]"
        ) from exc
    from ._checksums import EEGMAT_SHA256

    root = Path(path) if path is not None else _mne_data_root() / "MNE-eegmat-data"
    dest = root / "files" / "eegmat" / "1.0.0"
    subjects = range(36) if subjects is None else subjects
    names = ["subject-info.csv"] + [
        f"Subject{s:02d}_{k}.edf" for s in subjects for k in (1, 2)
    ]
    fetcher = pooch.create(
        path=dest,
        base_url=EEGMAT_URL,
        registry={n: f"sha256:{EEGMAT_SHA256[n]}" for n in names},
    )
    try:
        for n in names:
            fetcher.fetch(n)
    except Exception as exc:  # requests/urllib errors differ by backend
        if isinstance(exc, ValueError) and "hash" in str(exc).lower():
            raise
        raise ConnectionError(
            f"could not download EEGMAT from {EEGMAT_URL} ({exc}). If you are "
            f"offline, copy the PhysioNet files into {dest} or set {DATA_ENV} to "
            "a folder holding eegmat/files/eegmat/1.0.0/"
        ) from exc
    return dest


def _eegmat_info(folder: Path) -> pd.DataFrame:
    csv = folder / "subject-info.csv"
    if not csv.is_file():
        return pd.DataFrame()
    info = pd.read_csv(csv)
    info.columns = [c.strip() for c in info.columns]
    return info.set_index("Subject")


def load_eegmat_raw(path: str | os.PathLike[str], preload: bool = False) -> Any:
    """Read one EEGMAT EDF with clean names (``Fp1`` ..., ``ECG`` as ecg).

    Parameters
    ----------
    path : str | os.PathLike
        ``SubjectNN_k.edf``.
    preload : bool
        Load the data now.

    Returns
    -------
    mne.io.Raw
        19 EEG channels (volts), ``A2-A1`` as misc and ``ECG`` as ecg.
    """
    import mne

    raw = mne.io.read_raw_edf(path, preload=preload, verbose="error")
    raw.rename_channels(lambda c: c.replace("EEG ", "").replace("ECG ", "").strip())
    types = {c: t for c, t in (("ECG", "ecg"), ("A2-A1", "misc")) if c in raw.ch_names}
    raw.set_channel_types(types, verbose="error")
    return raw


class EEGMAT(BaseConcatDataset):
    """PhysioNet EEGMAT: rest vs mental arithmetic, 36 subjects, as Braindecode data.

    19 10-20 electrodes at 500 Hz (plus ``A2-A1`` and ECG); per subject one
    resting file (``_1``, target 0, label ``"rest"``) and one task file
    (``_2``, target 1, label ``"arithmetic"``), each 62 s here (the staged
    resting files are cut to 62 s, see the data PROVENANCE). Zyma et al., Data
    4(1):14, 2019, doi:10.3390/data4010014; ODC-By 1.0.

    Description columns: ``recording_id`` (file stem), ``subject``
    (``"eegmat-NN"``), ``subject_index`` (NN), ``state``/``label``,
    ``target``, ``age``, ``gender``, ``recording_year``, ``n_subtractions``,
    ``count_quality`` (1 good / 0 bad counter, from ``subject-info.csv``),
    ``caption`` and ``report`` (the caption), ``path``.

    Note: the files are 62 s long, so ELM's 60-s minimum passes but dropping
    10 s leaves 52 s: use ``drop_first_s=0`` or 5-s windows for evaluation.

    Parameters
    ----------
    path : str | os.PathLike | None
        Data root or EDF folder; default :func:`braindecode_elm.data_dir`.
    subjects : sequence of int | None
        Subject numbers 0-35 (default all found).
    states : sequence of str
        ``"rest"`` and/or ``"arithmetic"``.
    captions : mapping | None
        Caption per state; defaults :data:`EEGMAT_CAPTIONS`.
    preload : bool
        Load signals now.
    target_name : str | None
        Description column used as target (default ``"target"``).
    download : bool
        Fetch from PhysioNet when no local copy is found (default False: a
        missing copy is an error naming where it was looked for).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        subjects: Sequence[int] | None = None,
        *,
        states: Sequence[str] = ("rest", "arithmetic"),
        captions: Mapping[str, str] | None = None,
        preload: bool = False,
        target_name: str | None = "target",
        download: bool = False,
    ) -> None:
        folder = eegmat_folder(path)
        if folder is None:
            if not download:
                raise FileNotFoundError(
                    f"EEGMAT not found under {path or data_dir()}; pass path= (the "
                    f"folder holding eegmat/), set {DATA_ENV}, or pass download=True "
                    "to fetch it from PhysioNet"
                )
            folder = fetch_eegmat(None if path is None else path, subjects)
        caps = dict(EEGMAT_CAPTIONS, **(captions or {}))
        unknown = set(states) - set(EEGMAT_CAPTIONS)
        if unknown:
            raise ValueError(
                f"unknown states {sorted(unknown)}; use 'rest' or 'arithmetic'"
            )
        info = _eegmat_info(folder)
        if subjects is None:
            subjects = sorted({int(p.stem[7:9]) for p in folder.glob("Subject*_*.edf")})
        datasets = []
        for s in subjects:
            if not 0 <= int(s) <= 35:
                raise ValueError(f"EEGMAT subjects are 0-35, got {s}")
            row = info.loc[f"Subject{int(s):02d}"] if len(info) else None
            for state in states:
                k = 1 if state == "rest" else 2
                f = folder / f"Subject{int(s):02d}_{k}.edf"
                if not f.is_file():
                    raise FileNotFoundError(f"EEGMAT file {f} is missing")
                desc = {
                    "recording_id": f.stem,
                    "subject": f"eegmat-{int(s):02d}",
                    "subject_index": int(s),
                    "state": state,
                    "label": state,
                    "target": k - 1,
                    "caption": caps[state],
                    "report": caps[state],
                    "path": str(f),
                }
                if row is not None:
                    desc.update(
                        age=float(row["Age"]),
                        gender=str(row["Gender"]).strip(),
                        recording_year=int(row["Recording year"]),
                        n_subtractions=float(row["Number of subtractions"]),
                        count_quality=int(row["Count quality"]),
                    )
                raw = load_eegmat_raw(f, preload=preload)
                datasets.append(
                    RawDataset(raw, pd.Series(desc), target_name=target_name)
                )
        super().__init__(datasets)
        self.folder = folder


# --------------------------------------------------------------------------- EEGBCI
def eegbci_folder(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding ``MNE-eegbci-data`` (MNE's layout), or None."""
    roots = [Path(path)] if path is not None else [data_dir(), _mne_data_root()]
    for root in roots:
        for cand in (root, root / "eegbci"):
            if (cand / "MNE-eegbci-data" / "files" / "eegmmidb").is_dir():
                return cand
    return None


def fetch_eegbci(
    subjects: Sequence[int] = (1,),
    runs: Sequence[int] = tuple(range(3, 15)),
    path: str | os.PathLike[str] | None = None,
) -> Path:
    """Download EEGBCI runs with MNE's loader (it verifies PhysioNet checksums).

    Parameters
    ----------
    subjects, runs : sequence of int
        What to fetch.
    path : str | os.PathLike | None
        Folder that will hold ``MNE-eegbci-data`` (default the MNE data folder).

    Returns
    -------
    pathlib.Path
        The folder holding ``MNE-eegbci-data``.

    Raises
    ------
    ConnectionError
        When PhysioNet cannot be reached.
    """
    from mne.datasets import eegbci

    root = Path(path) if path is not None else _mne_data_root()
    try:
        eegbci.load_data(list(subjects), list(runs), path=root, update_path=False)
    except Exception as exc:
        raise ConnectionError(
            f"could not download EEGBCI from {EEGBCI_URL} ({exc}). If you are "
            f"offline, put MNE's MNE-eegbci-data folder under {root} or set "
            f"{DATA_ENV}"
        ) from exc
    return root


def _eegbci_files(root: Path, subject: int, runs: Sequence[int]) -> list[Path]:
    from mne.datasets import eegbci

    files = []
    for run in runs:
        local = (
            root / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
            / f"S{subject:03d}" / f"S{subject:03d}R{run:02d}.edf"
        )  # fmt: skip
        if not local.is_file():
            raise FileNotFoundError(f"EEGBCI run file {local} is missing")
        files.append(local)
    # Same answer from MNE's own loader, offline (it finds the files and does
    # not download); kept as a check that the layout is MNE's.
    found = eegbci.load_data(
        subject, list(runs), path=root, update_path=False, verbose="error"
    )
    return [Path(p) for p in found] if len(found) == len(files) else files


def load_eegbci_raw(path: str | os.PathLike[str], preload: bool = False) -> Any:
    """Read one EEGBCI run with standard names and the 10-05 montage.

    Parameters
    ----------
    path : str | os.PathLike
        ``SxxxRyy.edf``.
    preload : bool
        Load the data now.

    Returns
    -------
    mne.io.Raw
        64 EEG channels in volts, 160 Hz, annotations T0/T1/T2.
    """
    import mne
    from mne.datasets import eegbci

    raw = mne.io.read_raw_edf(path, preload=preload, verbose="error")
    eegbci.standardize(raw)
    raw.set_montage("standard_1005", on_missing="ignore", verbose="error")
    return raw


class EEGBCI(BaseConcatDataset):
    """PhysioNet EEG Motor Movement/Imagery (EEGBCI), offline, as Braindecode data.

    Loaded through MNE's own ``eegbci.load_data`` from the local folder (no
    download when present). One dataset per run, with annotations renamed per
    task (``rest``, ``left_hand``, ``right_hand``, ``hands``, ``feet``) and
    caption columns. Schalk et al., IEEE TBME 51(6), 2004; ODC-By 1.0. Only
    subject 1, runs 3-14 are staged here.

    Description columns: ``recording_id`` (``S001R04``), ``subject``
    (``"eegbci-001"``), ``subject_index``, ``run``, ``task``, ``imagined``,
    ``caption`` and ``report`` (the run caption), ``event_captions`` (JSON-able
    dict from event label to caption), ``path``.

    Parameters
    ----------
    path : str | os.PathLike | None
        Folder holding ``MNE-eegbci-data``; default the shared data folder.
    runs : sequence of int
        Runs 3-14 (default all).
    subjects : sequence of int
        Subjects (default ``(1,)``).
    preload : bool
        Load signals now.
    rename_events : bool
        Rename T0/T1/T2 annotations to the task labels (``rest``,
        ``left_hand``, ``right_hand``, ``hands``, ``feet``); False keeps
        PhysioNet's T0/T1/T2.
    download : bool
        Fetch from PhysioNet when no local copy is found (default False: a
        missing copy is an error naming where it was looked for).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        runs: Sequence[int] = tuple(range(3, 15)),
        *,
        subjects: Sequence[int] = (1,),
        preload: bool = False,
        rename_events: bool = True,
        download: bool = False,
    ) -> None:
        bad = [r for r in runs if r not in EEGBCI_RUN_TASKS]
        if bad:
            raise ValueError(f"EEGBCI task runs are 3-14, got {bad}")
        root = eegbci_folder(path)
        if root is None:
            if not download:
                raise FileNotFoundError(
                    f"EEGBCI not found under {path or data_dir()}; pass path= (the "
                    f"folder holding eegbci/), set {DATA_ENV}, or pass download=True "
                    "to fetch it from PhysioNet"
                )
            root = fetch_eegbci(subjects, runs, path)
        datasets = []
        for s in subjects:
            for run, f in zip(runs, _eegbci_files(root, int(s), runs)):
                task, caption = EEGBCI_RUN_TASKS[run]
                raw = load_eegbci_raw(f, preload=preload)
                labels = EEGBCI_EVENT_LABELS[task]
                if rename_events:
                    desc_arr = np.array(
                        [labels.get(d, d) for d in raw.annotations.description]
                    )
                    raw.annotations.description = desc_arr
                # Keyed like the annotations: task labels, or T0/T1/T2 as read.
                event_caps = {
                    (labels[k] if rename_events else k): v
                    for k, v in EEGBCI_EVENT_CAPTIONS[task].items()
                }
                desc = {
                    "recording_id": f"S{int(s):03d}R{run:02d}",
                    "subject": f"eegbci-{int(s):03d}",
                    "subject_index": int(s),
                    "run": int(run),
                    "task": task,
                    "imagined": task.startswith("imagined"),
                    "caption": caption,
                    "report": caption,
                    "event_captions": event_caps,
                    "path": str(f),
                }
                datasets.append(RawDataset(raw, pd.Series(desc)))
        super().__init__(datasets)
        self.folder = root
