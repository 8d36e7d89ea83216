"""EEGMAT and EEGBCI as MOABB datasets that run offline.

``data_path`` resolves the local folder (``ELM_DATA_DIR`` / ``../shared/data``)
and never downloads when the files are there; only when they are absent does it
fetch them from PhysioNet with checksum verification. MOABB is optional:
``pip install braindecode-elm[moabb]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .physionet import (
    EEGBCI_EVENT_LABELS,
    EEGBCI_RUN_TASKS,
    eegbci_folder,
    eegmat_folder,
    fetch_eegbci,
    fetch_eegmat,
    load_eegbci_raw,
    load_eegmat_raw,
)

try:
    from moabb.datasets.base import BaseDataset
except ImportError as _exc:  # pragma: no cover - exercised only without moabb
    _MOABB_ERROR: ImportError | None = _exc

    class BaseDataset:  # type: ignore[no-redef]
        """Placeholder raising a clear error when MOABB is missing."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError(
                "the MOABB datasets need moabb: pip install braindecode-elm[moabb]"
            ) from _MOABB_ERROR
else:
    _MOABB_ERROR = None

__all__ = ["EEGMATMOABB", "EEGBCIMOABB"]


def _annotate_epochs(raw: Any, label: str, seconds: float) -> Any:
    import mne

    n = int(raw.times[-1] // seconds)
    onsets = np.arange(n) * seconds
    raw.set_annotations(
        mne.Annotations(
            onsets, [seconds] * n, [label] * n, orig_time=raw.annotations.orig_time
        )  # noqa: E501
    )
    return raw


class EEGMATMOABB(BaseDataset):
    """EEGMAT (rest vs mental arithmetic) as a MOABB dataset, offline.

    MOABB subject ``k`` (1-36) is PhysioNet ``Subject{k-1:02d}``. One session
    with two runs, ``0rest`` and ``1arithmetic``; each run is annotated with
    consecutive ``epoch_seconds``-long events ``rest`` (1) / ``arithmetic`` (2),
    so any MOABB paradigm with ``interval=[0, epoch_seconds]`` epochs it.

    Parameters
    ----------
    path : str | os.PathLike | None
        Data root or EDF folder (default :func:`braindecode_elm.data_dir`).
    epoch_seconds : float
        Length of the labelled segments.
    download : bool
        Fetch from PhysioNet (checksums verified) when there is no local copy.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        epoch_seconds: float = 5.0,
        download: bool = True,
    ) -> None:
        super().__init__(
            subjects=list(range(1, 37)),
            sessions_per_subject=1,
            events={"rest": 1, "arithmetic": 2},
            code="EEGMAT-MOABB",
            interval=[0, epoch_seconds],
            paradigm="imagery",
            doi="10.3390/data4010014",
        )
        self._path = path
        self.epoch_seconds = float(epoch_seconds)
        self.download = download

    def _folder(self) -> Path:
        folder = eegmat_folder(self._path)
        if folder is None:
            if not self.download:
                raise FileNotFoundError("EEGMAT data not found and download=False")
            folder = fetch_eegmat(self._path)
        return folder

    def data_path(
        self,
        subject: int,
        path: str | os.PathLike[str] | None = None,
        force_update: bool = False,
        update_path: bool | None = None,
        verbose: Any = None,
    ) -> list[str]:
        """Local paths of the two files of ``subject`` (no download if present)."""
        if subject not in self.subject_list:
            raise ValueError(f"invalid subject {subject}; EEGMAT subjects are 1-36")
        if path is not None:
            self._path = path
        folder = self._folder()
        return [str(folder / f"Subject{subject - 1:02d}_{k}.edf") for k in (1, 2)]

    def _get_single_subject_data(self, subject: int) -> dict[str, dict[str, Any]]:
        rest, task = self.data_path(subject)
        runs = {}
        for name, f, label in (
            ("0rest", rest, "rest"),
            ("1arithmetic", task, "arithmetic"),
        ):  # noqa: E501
            raw = load_eegmat_raw(f, preload=True)
            raw.pick("eeg")
            raw.set_montage("standard_1020", on_missing="ignore", verbose="error")
            runs[name] = _annotate_epochs(raw, label, self.epoch_seconds)
        return {"0": runs}


class EEGBCIMOABB(BaseDataset):
    """EEGBCI (PhysioNet motor imagery) as a MOABB dataset, offline.

    Reads the runs through MNE's ``eegbci`` loader from the local folder.
    Events: ``rest`` (1), ``left_hand`` (2), ``right_hand`` (3), ``hands`` (4),
    ``feet`` (5), as MOABB's ``PhysionetMI``. Only subject 1 is staged here.

    Parameters
    ----------
    path : str | os.PathLike | None
        Folder holding ``MNE-eegbci-data`` (default the shared data folder).
    imagined : bool
        Use motor-imagery runs (4, 6, 8, 10, 12, 14).
    executed : bool
        Use motor-execution runs (3, 5, 7, 9, 11, 13).
    subjects : list of int | None
        Subjects (default ``[1]``).
    download : bool
        Fetch from PhysioNet (MNE checks checksums) when no local copy exists.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        imagined: bool = True,
        executed: bool = False,
        subjects: list[int] | None = None,
        download: bool = True,
    ) -> None:
        if not (imagined or executed):
            raise ValueError("choose imagined and/or executed runs")
        super().__init__(
            subjects=subjects or [1],
            sessions_per_subject=1,
            events={"rest": 1, "left_hand": 2, "right_hand": 3, "hands": 4, "feet": 5},
            code="EEGBCI-MOABB",
            interval=[0, 3],
            paradigm="imagery",
            doi="10.1109/TBME.2004.827072",
        )
        runs = []
        if executed:
            runs += [3, 5, 7, 9, 11, 13]
        if imagined:
            runs += [4, 6, 8, 10, 12, 14]
        self.runs = sorted(runs)
        self._path = path
        self.download = download

    def data_path(
        self,
        subject: int,
        path: str | os.PathLike[str] | None = None,
        force_update: bool = False,
        update_path: bool | None = None,
        verbose: Any = None,
    ) -> list[str]:
        """Local paths of the runs of ``subject`` (no download if present)."""
        if subject not in self.subject_list:
            raise ValueError(f"invalid subject {subject}")
        if path is not None:
            self._path = path
        root = eegbci_folder(self._path)
        files = []
        if root is not None:
            base = root / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
            files = [
                base / f"S{subject:03d}" / f"S{subject:03d}R{r:02d}.edf"
                for r in self.runs
            ]  # noqa: E501
        if root is None or not all(f.is_file() for f in files):
            if not self.download:
                raise FileNotFoundError("EEGBCI data not found and download=False")
            root = fetch_eegbci([subject], self.runs, self._path)
            base = root / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
            files = [
                base / f"S{subject:03d}" / f"S{subject:03d}R{r:02d}.edf"
                for r in self.runs
            ]  # noqa: E501
        return [str(f) for f in files]

    def _get_single_subject_data(self, subject: int) -> dict[str, dict[str, Any]]:
        runs = {}
        for i, (run, f) in enumerate(zip(self.runs, self.data_path(subject))):
            raw = load_eegbci_raw(f, preload=True)
            labels = EEGBCI_EVENT_LABELS[EEGBCI_RUN_TASKS[run][0]]
            raw.annotations.description = np.array(
                [labels.get(d, d) for d in raw.annotations.description]
            )
            raw.pick("eeg")
            runs[str(i)] = raw
        return {"0": runs}
