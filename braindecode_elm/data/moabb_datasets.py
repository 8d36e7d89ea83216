"""EEGMAT and EEGBCI as MOABB datasets that run offline.

``data_path`` resolves the local folder (the ``path`` argument, the
``ELM_DATA_DIR`` environment variable or MNE config key, ``../shared/data``,
then MNE's data folder) and never downloads unless ``download=True``: a subject
whose files are not there raises :class:`FileNotFoundError` naming the folder
and files that were expected. Subjects and sessions are selected the MOABB 1.7
way (``subjects=``/``sessions=``, :attr:`all_subjects` lists every subject).
MOABB is optional: ``pip install braindecode-elm[moabb]``.

Importing this module with MOABB installed registers both classes in
``moabb.datasets`` (see :func:`register_moabb_datasets`), so MOABB's dataset
search, ``paradigm.datasets`` and ``moabb.benchmark(include_datasets=...)``
find them like MOABB's own datasets.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._config import DATA_ENV
from ..dsp.recipe import ELM_CROP_S
from .physionet import (
    EEGBCI_EVENT_LABELS,
    EEGBCI_RUN_TASKS,
    EEGBCI_URL,
    EEGMAT_URL,
    eegbci_folder,
    eegmat_folder,
    fetch_eegbci,
    fetch_eegmat,
    load_eegbci_raw,
    load_eegmat_raw,
)

#: Longest EEGMAT epoch (s): every recording of the shared release lasts 62 s.
_EEGMAT_LONGEST_S = 60.0
#: Shortest EEGMAT epoch (s): 50 samples at the ELM rate (100 Hz).
_EEGMAT_SHORTEST_S = 0.5

try:
    from moabb.datasets.base import BaseDataset
    from moabb.datasets.metadata.schema import (
        AcquisitionMetadata,
        DatasetMetadata,
        DocumentationMetadata,
        ExperimentMetadata,
        ParticipantMetadata,
    )
except ImportError as _exc:  # pragma: no cover - exercised only without moabb
    _MOABB_ERROR: ImportError | None = _exc

    class BaseDataset:  # type: ignore[no-redef]
        """Placeholder raising a clear error when MOABB is missing."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError(
                "the MOABB datasets need moabb: pip install braindecode-elm[moabb]"
            ) from _MOABB_ERROR

    def _metadata(**kwargs: Any) -> Any:
        return None

else:
    _MOABB_ERROR = None

    def _metadata(**kwargs: Any) -> Any:
        return DatasetMetadata(
            acquisition=AcquisitionMetadata(**kwargs["acquisition"]),
            participants=ParticipantMetadata(**kwargs["participants"]),
            experiment=ExperimentMetadata(**kwargs["experiment"]),
            documentation=DocumentationMetadata(**kwargs["documentation"]),
            sessions_per_subject=kwargs.get("sessions_per_subject", 1),
            runs_per_session=kwargs.get("runs_per_session", 1),
            file_format="EDF",
        )


__all__ = ["EEGMATMOABB", "EEGBCIMOABB", "register_moabb_datasets"]

#: The 19 scalp electrodes of EEGMAT (old 10-20 names, as in the EDF headers).
EEGMAT_CHANNELS = (
    "Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4",
    "T5", "T6", "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz",
)  # fmt: skip


def _annotate_epochs(raw: Any, label: str, seconds: float) -> Any:
    import mne

    n = int(raw.times[-1] // seconds)
    onsets = np.arange(n) * seconds
    raw.set_annotations(
        mne.Annotations(
            onsets, [seconds] * n, [label] * n, orig_time=raw.annotations.orig_time
        )
    )
    return raw


def _missing(
    name: str, subject: int, files: Sequence[Path], where: str, url: str
) -> FileNotFoundError:
    shown = ", ".join(str(f) for f in list(files)[:2])
    more = f" (+{len(files) - 2} more)" if len(files) > 2 else ""
    return FileNotFoundError(
        f"{name} subject {subject}: data not found; expected {shown}{more} "
        f"under {where}. Put the PhysioNet files there (from {url}), point "
        f"path=... or {DATA_ENV} (environment variable or MNE config key) at "
        "the folder that holds them, or pass download=True to fetch them "
        "(checksums verified)."
    )


class EEGMATMOABB(BaseDataset):
    """EEGMAT (rest vs mental arithmetic) as a MOABB dataset, offline.

    .. admonition:: Dataset summary

        =================== ======
                  **#Subj**     36
                  **#Chan**     19
               **#Classes**      2
        **#Blocks / class**      1
          **Trials length**    5 s
                   **Freq** 500 Hz
              **#Sessions**      1
        =================== ======

    Resting EEG and EEG during serial subtraction (Zyma et al. 2019,
    PhysioNet ``eegmat``). This is not motor imagery: the dataset declares
    MOABB's resting-state paradigm ``"rstate"`` (like MOABB's mental-workload
    dataset ``Hinss2021``), so ``MotorImagery()`` and the other imagery
    paradigms reject it; evaluate it with
    :class:`~braindecode_elm.evaluation.ELMRestingState` or MOABB's
    ``RestingStateToP300Adapter(events=["rest", "arithmetic"], tmin=0, tmax=5)``
    (its default window, 10-50 s after each 5 s-spaced event, gives epochs that
    overlap almost entirely).

    MOABB subject ``k`` (1-36) is PhysioNet ``Subject{k-1:02d}``. One session
    (``"0"``) with two runs, ``0rest`` and ``1arithmetic``; each run is
    annotated with consecutive ``epoch_seconds``-long events ``rest`` (1) /
    ``arithmetic`` (2), so a paradigm with ``interval=[0, epoch_seconds]``
    epochs it. "Trials length" in the summary is the default ``epoch_seconds``.

    Parameters
    ----------
    path : str | os.PathLike | None
        Data root or EDF folder (default :func:`braindecode_elm.data_dir`).
    epoch_seconds : float
        Length of the labelled segments, in [0.5, 60] s.
    download : bool
        Fetch missing files from PhysioNet (checksums verified). Default
        False: a missing subject raises :class:`FileNotFoundError` naming the
        expected files.
    subjects : list of int | None
        Subjects to use (MOABB's ``selected_subjects``; default all 36); an
        unknown subject raises :class:`ValueError`.
    sessions : list of int | str | None
        Sessions to keep (MOABB's ``selected_sessions``; there is one, ``0``).
    """

    METADATA = _metadata(
        acquisition=dict(
            sampling_rate=500.0,
            channel_types={"eeg": 19, "ecg": 1, "misc": 1},
            sensors=list(EEGMAT_CHANNELS),
            sensor_type="EEG",
            reference="linked ears (A1+A2)",
            hardware="Neurocom EEG 23-channel system (XAI-MEDICA)",
            line_freq=50.0,
            montage="standard_1020",
        ),
        participants=dict(n_subjects=36, health_status="healthy", species="human"),
        experiment=dict(
            paradigm="rstate",
            task_type="mental arithmetic (serial subtraction) vs rest",
            events={"rest": 1, "arithmetic": 2},
            n_classes=2,
            class_labels=["rest", "arithmetic"],
            trial_duration=5.0,
            study_domain="mental workload",
        ),
        documentation=dict(
            doi="10.3390/data4010014",
            repository="PhysioNet",
            data_url=EEGMAT_URL,
            license="ODC-By-1.0",
            publication_year=2019,
        ),
        runs_per_session=2,
    )

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        epoch_seconds: float = ELM_CROP_S,
        download: bool = False,
        subjects: Sequence[int] | None = None,
        sessions: Sequence[int | str] | None = None,
    ) -> None:
        e = epoch_seconds
        if (
            isinstance(e, bool)
            or not isinstance(e, numbers.Real)
            or not _EEGMAT_SHORTEST_S <= e <= _EEGMAT_LONGEST_S  # NaN, inf too
        ):
            # 0 overflowed deep inside; -5 or 100 gave a dataset of 0 events, and
            # 1e-9 asked for 62 billion events.
            raise ValueError(
                f"epoch_seconds must be a number of seconds in "
                f"[{_EEGMAT_SHORTEST_S:g}, {_EEGMAT_LONGEST_S:g}] (the recordings "
                f"last 62 s), got {e!r}"
            )
        super().__init__(
            subjects=list(range(1, 37)),
            sessions_per_subject=1,
            events={"rest": 1, "arithmetic": 2},
            # MOABB keys its cached results on the code: a variant must not
            # be served another variant's scores.
            code="EEGMAT-MOABB"
            # (MOABB wants [A-Za-z0-9-] and lower-case suffixes: 2.5 s -> -2p5s)
            + (
                ""
                if epoch_seconds == ELM_CROP_S
                else f"-{float(epoch_seconds):g}s".replace(".", "p")
            ),
            interval=[0, epoch_seconds],
            paradigm="rstate",
            doi="10.3390/data4010014",
            selected_subjects=subjects,
            selected_sessions=sessions,
        )
        self._path = path
        self.epoch_seconds = float(epoch_seconds)
        self.download = download

    @property
    def metadata(self) -> Any:
        """The dataset's :class:`~moabb.datasets.metadata.schema.DatasetMetadata`."""
        return self.METADATA

    def _files(self, folder: Path, subject: int) -> list[Path]:
        return [folder / f"Subject{subject - 1:02d}_{k}.edf" for k in (1, 2)]

    def data_path(
        self,
        subject: int,
        path: str | os.PathLike[str] | None = None,
        force_update: bool = False,
        update_path: bool | None = None,
        verbose: Any = None,
    ) -> list[str]:
        """Local paths of the two files of ``subject`` (no download by default).

        Raises
        ------
        ValueError
            ``subject`` is not one of the dataset's subjects.
        FileNotFoundError
            The files are not there and ``download`` is False.
        """
        if subject not in self.all_subjects:
            raise ValueError(f"invalid subject {subject!r}; EEGMAT subjects are 1-36")
        if path is not None:
            self._path = path
        folder = eegmat_folder(self._path)
        files = None if folder is None else self._files(folder, subject)
        if files is None or not all(f.is_file() for f in files) or force_update:
            if not self.download:
                where = folder if folder is not None else self._where()
                files = self._files(Path(where), subject)
                raise _missing("EEGMAT", subject, files, str(where), EEGMAT_URL)
            folder = fetch_eegmat(self._path, subjects=[subject - 1])
            files = self._files(folder, subject)
        return [str(f) for f in files]

    def _where(self) -> str:
        from .._config import data_dir

        root = Path(self._path) if self._path is not None else data_dir()
        return str(root / "eegmat" / "files" / "eegmat" / "1.0.0")

    def _get_single_subject_data(self, subject: int) -> dict[str, dict[str, Any]]:
        rest, task = self.data_path(subject)
        runs = {}
        for name, f, label in (
            ("0rest", rest, "rest"),
            ("1arithmetic", task, "arithmetic"),
        ):
            raw = load_eegmat_raw(f, preload=True)
            raw.pick("eeg")
            raw.set_montage("standard_1020", on_missing="ignore", verbose="error")
            runs[name] = _annotate_epochs(raw, label, self.epoch_seconds)
        return {"0": runs}


class EEGBCIMOABB(BaseDataset):
    """EEGBCI (PhysioNet motor movement/imagery) as a MOABB dataset, offline.

    .. admonition:: Dataset summary

        =================== ======
                  **#Subj**    109
                  **#Chan**     64
               **#Classes**      5
          **Trials length**    3 s
                   **Freq** 160 Hz
              **#Sessions**      1
        =================== ======

    Reads the runs through MNE's ``eegbci`` loader from the local folder.
    Events: ``rest`` (1), ``left_hand`` (2), ``right_hand`` (3), ``hands`` (4),
    ``feet`` (5), as MOABB's ``PhysionetMI`` (which downloads; this class
    reads a local copy). All 109 subjects are listed (:attr:`all_subjects`);
    loading a subject whose files are not on disk raises
    :class:`FileNotFoundError` naming the expected files unless
    ``download=True``. Subject 88 was recorded at 128 Hz, the others at
    160 Hz: do not mix it with others in one paradigm without resampling.

    Parameters
    ----------
    path : str | os.PathLike | None
        Folder holding ``MNE-eegbci-data`` (default the shared data folder).
    imagined : bool
        Use motor-imagery runs (4, 6, 8, 10, 12, 14).
    executed : bool
        Use motor-execution runs (3, 5, 7, 9, 11, 13).
    subjects : list of int | None
        Subjects to use (MOABB's ``selected_subjects``; default all 109); an
        unknown subject raises :class:`ValueError`.
    sessions : list of int | str | None
        Sessions to keep (MOABB's ``selected_sessions``; there is one, ``0``).
    download : bool
        Fetch missing runs from PhysioNet (MNE checks checksums). Default
        False: a missing subject raises :class:`FileNotFoundError`.
    """

    METADATA = _metadata(
        acquisition=dict(
            sampling_rate=160.0,
            channel_types={"eeg": 64},
            sensor_type="EEG",
            software="BCI2000",
            line_freq=60.0,
            montage="standard_1005",
        ),
        participants=dict(n_subjects=109, health_status="healthy", species="human"),
        experiment=dict(
            paradigm="imagery",
            events={"rest": 1, "left_hand": 2, "right_hand": 3, "hands": 4, "feet": 5},
            n_classes=5,
            class_labels=["rest", "left_hand", "right_hand", "hands", "feet"],
            trial_duration=3.0,
            feedback_type="visual",
            stimulus_type="cue-based",
        ),
        documentation=dict(
            doi="10.1109/TBME.2004.827072",
            repository="PhysioNet",
            data_url=EEGBCI_URL,
            license="ODC-By-1.0",
            publication_year=2004,
        ),
        runs_per_session=6,
    )

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        imagined: bool = True,
        executed: bool = False,
        subjects: Sequence[int] | None = None,
        sessions: Sequence[int | str] | None = None,
        download: bool = False,
    ) -> None:
        if not (imagined or executed):
            raise ValueError(
                "choose imagined=True and/or executed=True (both are False)"
            )
        super().__init__(
            subjects=list(range(1, 110)),
            sessions_per_subject=1,
            events={"rest": 1, "left_hand": 2, "right_hand": 3, "hands": 4, "feet": 5},
            # MOABB keys its cached results on the code (see EEGMATMOABB).
            code="EEGBCI-MOABB"
            + {(True, False): "", (False, True): "-executed"}.get(
                (imagined, executed), "-imagined-executed"
            ),
            interval=[0, 3],
            paradigm="imagery",
            doi="10.1109/TBME.2004.827072",
            selected_subjects=subjects,
            selected_sessions=sessions,
        )
        runs = []
        if executed:
            runs += [3, 5, 7, 9, 11, 13]
        if imagined:
            runs += [4, 6, 8, 10, 12, 14]
        self.imagined = imagined
        self.executed = executed
        self.runs = sorted(runs)
        self._path = path
        self.download = download

    @property
    def metadata(self) -> Any:
        """The dataset's :class:`~moabb.datasets.metadata.schema.DatasetMetadata`."""
        return self.METADATA

    def _files(self, root: Path, subject: int) -> list[Path]:
        base = root / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0"
        return [
            base / f"S{subject:03d}" / f"S{subject:03d}R{r:02d}.edf" for r in self.runs
        ]

    def data_path(
        self,
        subject: int,
        path: str | os.PathLike[str] | None = None,
        force_update: bool = False,
        update_path: bool | None = None,
        verbose: Any = None,
    ) -> list[str]:
        """Local paths of the runs of ``subject`` (no download by default).

        Raises
        ------
        ValueError
            ``subject`` is not one of the dataset's subjects.
        FileNotFoundError
            The runs are not there and ``download`` is False.
        """
        if subject not in self.all_subjects:
            raise ValueError(f"invalid subject {subject!r}; EEGBCI subjects are 1-109")
        if path is not None:
            self._path = path
        root = eegbci_folder(self._path)
        files = [] if root is None else self._files(root, subject)
        if root is None or not all(f.is_file() for f in files) or force_update:
            if not self.download:
                if root is None:
                    from .._config import data_dir

                    root = Path(self._path) if self._path is not None else data_dir()
                    root = root / "eegbci"
                files = self._files(root, subject)
                raise _missing(
                    "EEGBCI", subject, files, str(root / "MNE-eegbci-data"), EEGBCI_URL
                )
            root = fetch_eegbci([subject], self.runs, self._path)
            files = self._files(root, subject)
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


def register_moabb_datasets() -> list[str]:
    """Make MOABB's dataset search see :class:`EEGMATMOABB` and :class:`EEGBCIMOABB`.

    MOABB has no plugin hook: ``paradigm.datasets`` and ``moabb.benchmark``
    list the dataset classes found in the ``moabb.datasets`` namespace. This
    adds ours there (idempotent) and refreshes MOABB's registry if it was
    already built. Runs on import of this module when MOABB is installed.

    Returns
    -------
    list of str
        The class names registered (empty without MOABB).
    """
    if _MOABB_ERROR is not None:
        return []
    import moabb.datasets as mdb
    from moabb.datasets import utils as mutils

    names = []
    for cls in (EEGMATMOABB, EEGBCIMOABB):
        if getattr(mdb, cls.__name__, None) is not cls:
            setattr(mdb, cls.__name__, cls)
        names.append(cls.__name__)
    if mutils.dataset_list:
        mutils._init_dataset()
    return names


register_moabb_datasets()
