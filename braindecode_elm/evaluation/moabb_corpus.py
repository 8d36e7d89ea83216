"""A TUH-like EDF corpus as a MOABB dataset: one label per recording.

Everything is read offline from local files (``data_path`` never downloads).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._moabb import BaseDataset


class CorpusPhenotypeDataset(BaseDataset):
    """A TUH-like EDF corpus with recording-level labels as a MOABB dataset.

    Subjects are numbered 1..N in sorted order of their ids; each recording is a
    run of session ``"0"``. Nothing is downloaded: ``data_path`` returns the local
    folder.

    Parameters
    ----------
    root : path-like
        Folder holding the EDF files (searched recursively).
    labels : mapping or path-like
        Recording id (EDF stem) -> phenotype name, or a CSV with columns
        ``recording_id``, ``subject`` and ``label_column``.
    subjects : mapping | None
        Recording id -> subject id (required with a mapping ``labels``).
    label_column : str
        Column of the CSV with the label (``abnormal``: 0/1 -> normal/abnormal).
    window_s, drop_first_s : float
        Marked windows and the skipped start of each recording (s).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        labels: Mapping[str, str] | str | os.PathLike,
        subjects: Mapping[str, str] | None = None,
        label_column: str = "abnormal",
        window_s: float = 30.0,
        drop_first_s: float = 10.0,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"corpus folder {self.root} does not exist")
        if isinstance(labels, Mapping):
            if subjects is None:
                raise ValueError("pass subjects= (recording id -> subject) with labels")
            lab = {str(k): str(v) for k, v in labels.items()}
            subj = {str(k): str(v) for k, v in subjects.items()}
        else:
            import pandas as pd

            table = pd.read_csv(labels)
            for col in ("recording_id", "subject", label_column):
                if col not in table.columns:
                    raise KeyError(f"{labels} has no column {col!r}")
            values = table[label_column]
            if label_column == "abnormal":
                values = values.map(lambda v: "abnormal" if int(v) else "normal")
            lab = dict(zip(table["recording_id"].astype(str), values.astype(str)))
            subj = dict(
                zip(table["recording_id"].astype(str), table["subject"].astype(str))
            )
        edfs = {p.stem: p for p in self.root.rglob("*.edf")}
        missing = sorted(set(lab) - set(edfs))
        if missing:
            raise FileNotFoundError(
                f"no EDF under {self.root} for recordings {missing[:5]}"
            )
        self._edfs = edfs
        self._labels = lab
        names = sorted(set(lab.values()))
        self._subject_ids = sorted({subj[r] for r in lab})
        self._recs: dict[int, list[str]] = {}
        for r in sorted(lab):
            self._recs.setdefault(self._subject_ids.index(subj[r]) + 1, []).append(r)
        self.window_s = float(window_s)
        self.drop_first_s = float(drop_first_s)
        super().__init__(
            subjects=list(range(1, len(self._subject_ids) + 1)),
            sessions_per_subject=1,
            events={name: i + 1 for i, name in enumerate(names)},
            code="CorpusPhenotypeDataset",
            interval=[0, self.window_s],
            paradigm="phenotype",
        )

    def _get_single_subject_data(self, subject: int) -> dict:
        import mne

        runs = {}
        for i, rid in enumerate(self._recs[subject]):
            raw = _tcp_electrodes(
                mne.io.read_raw_edf(self._edfs[rid], preload=True, verbose="error")
            )
            onsets = np.arange(
                self.drop_first_s, raw.times[-1] - self.window_s, self.window_s
            )
            raw.set_annotations(
                mne.Annotations(
                    onsets, [0.0] * len(onsets), [self._labels[rid]] * len(onsets)
                )
            )
            runs[str(i)] = raw
        return {"0": runs}

    def data_path(
        self,
        subject: int,
        path=None,
        force_update=False,
        update_path=None,
        verbose=None,
    ) -> list[str]:
        """Local EDF paths of a subject (never downloads)."""
        return [str(self._edfs[r]) for r in self._recs[subject]]


def _tcp_electrodes(raw: Any) -> Any:
    """Keep the TCP electrodes, canonically named and ordered (corpora differ)."""
    from braindecode_elm.dsp import TCP_ELECTRODES, normalize_ch_name

    needed = sorted(TCP_ELECTRODES)
    where: dict[str, str] = {}
    for name in raw.ch_names:
        canon = normalize_ch_name(name)
        if canon in needed and canon not in where:
            where[canon] = name
    missing = [e for e in needed if e not in where]
    if missing:
        raise ValueError(f"recording {raw.filenames[0]} lacks TCP electrodes {missing}")
    raw.pick([where[e] for e in needed])
    raw.rename_channels({where[e]: e for e in needed})
    raw.set_channel_types(dict.fromkeys(needed, "eeg"))
    return raw
