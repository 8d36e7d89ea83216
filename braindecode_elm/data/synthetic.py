"""A synthetic TUH-like corpus: real EDF files + clinical-style reports.

The TUH EEG corpus cannot be redistributed, so tests, the demo and the
benchmarks use this generator. It writes plain EDF files with TUH channel names
(``EEG FP1-REF`` ...) in the TUEG folder layout, with TUH-style report files.
Each subject has a *phenotype* whose ground truth is shared by the signal and
the report text (and nowhere else the model can see): the report's wording is
drawn from templates that state what the signal shows.

Signal model (volts, per electrode, common reference): 1/f background (shared
smooth fields + local noise), a posterior alpha rhythm that blocks when the
eyes open, eye blinks, temporal muscle bursts, and per phenotype:

- ``normal``: the above;
- ``diffuse_slowing``: strong diffuse delta/theta, slower and weaker alpha;
- ``focal_slowing_left`` / ``focal_slowing_right``: polymorphic delta over the
  left (T3) or right (T4) temporal region;
- ``epileptiform_focal``: frequent sharp-and-slow-wave complexes over one
  temporal region (side in the ground truth);
- ``epileptiform_generalized``: bursts of generalised 3 Hz spike-and-wave.

Age slows the alpha rhythm; benzodiazepines add diffuse beta; both appear in the
report too.

The signal model lives in :mod:`~braindecode_elm.data.synthetic_signals`, the
report text in :mod:`~braindecode_elm.data.synthetic_reports`; this module plans
the corpus and writes the files.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .edf import write_edf
from .synthetic_reports import _AEDS, _BENZOS, _OTHER_MEDS, _report
from .synthetic_signals import (
    _EEG_19,
    _EXTRAS,
    _MONTAGES,
    _extra_channel,
    _synth_signal,
)

__all__ = [
    "PHENOTYPES",
    "DEFAULT_PHENOTYPE_WEIGHTS",
    "SyntheticCorpus",
    "make_synthetic_tuh",
    "subject_code",
]

#: Phenotypes of the synthetic corpus (ground truth column ``phenotype``).
PHENOTYPES: tuple[str, ...] = (
    "normal",
    "diffuse_slowing",
    "focal_slowing_left",
    "focal_slowing_right",
    "epileptiform_focal",
    "epileptiform_generalized",
)

#: Default mix of phenotypes over subjects.
DEFAULT_PHENOTYPE_WEIGHTS: dict[str, float] = {
    "normal": 0.4,
    "diffuse_slowing": 0.15,
    "focal_slowing_left": 0.1,
    "focal_slowing_right": 0.1,
    "epileptiform_focal": 0.125,
    "epileptiform_generalized": 0.125,
}


@dataclass
class SyntheticCorpus:
    """What :func:`make_synthetic_tuh` wrote.

    Attributes
    ----------
    root : pathlib.Path
        Corpus root (holds ``edf/`` and ``ground_truth.csv``).
    ground_truth : pandas.DataFrame
        One row per recording (also in ``root / "ground_truth.csv"``).
    """

    root: Path
    ground_truth: pd.DataFrame

    @property
    def n_recordings(self) -> int:
        """Number of EDF files written."""
        return len(self.ground_truth)

    @property
    def n_subjects(self) -> int:
        """Number of distinct subjects."""
        return int(self.ground_truth["subject"].nunique())

    @property
    def hours(self) -> float:
        """Total recording time in hours."""
        return float(self.ground_truth["duration_s"].sum()) / 3600.0

    def __str__(self) -> str:
        counts = self.ground_truth["phenotype"].value_counts().to_dict()
        mix = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        return (
            f"synthetic TUH corpus at {self.root}: {self.n_recordings} recordings, "
            f"{self.n_subjects} subjects, {self.hours:.2f} h ({mix})"
        )


def subject_code(index: int) -> str:
    """TUH-style 8-letter subject code (``0 -> "aaaaaaaa"``, ``1 -> "aaaaaaab"``)."""
    letters = []
    for _ in range(8):
        index, r = divmod(index, 26)
        letters.append(chr(ord("a") + r))
    return "".join(reversed(letters))


# --------------------------------------------------------------------------- corpus
def _plan(
    rng: np.random.Generator,
    n_subjects: int,
    sessions: tuple[int, int],
    duration_s: tuple[float, float],
    sfreqs: tuple[float, ...],
    weights: dict[str, float],
) -> list[dict]:
    phenos = list(weights)
    p = np.array([weights[k] for k in phenos], dtype=float)
    p /= p.sum()
    recs = []
    for i in range(n_subjects):
        subj = subject_code(i + 1)
        pheno = phenos[int(rng.choice(len(phenos), p=p))]
        side = None
        if pheno.startswith("focal_slowing"):
            side = pheno.rsplit("_", 1)[1]
        elif pheno == "epileptiform_focal":
            side = str(rng.choice(["left", "right"]))
        gender = str(rng.choice(["F", "M"]))
        age0 = int(rng.integers(18, 86))
        n_sess = int(rng.integers(sessions[0], sessions[1] + 1))
        year = int(rng.integers(2002, 2016))
        date = _dt.datetime(year, int(rng.integers(1, 13)), int(rng.integers(1, 28)))
        for s in range(n_sess):
            date = date + _dt.timedelta(days=int(rng.integers(30, 700)))
            age = age0 + (date.year - year)
            benzo = bool(rng.random() < 0.2)
            meds = []
            if pheno.startswith("epileptiform"):
                meds.append(str(rng.choice(_AEDS)))
            if benzo:
                meds.append(str(rng.choice(_BENZOS)))
            if rng.random() < 0.5:
                meds.append(str(rng.choice(_OTHER_MEDS)))
            # Age slows the alpha rhythm; diffuse slowing much more so.
            fa = 10.4 - 0.035 * max(age - 45, 0) + float(rng.normal(0, 0.35))
            if pheno == "diffuse_slowing":
                fa = float(rng.uniform(6.5, 7.8))
            mont, ref, _ = _MONTAGES[
                int(rng.choice(len(_MONTAGES), p=[m[2] for m in _MONTAGES]))
            ]
            n_extra = int(rng.integers(0, len(_EXTRAS) + 1))
            if mont == "03_tcp_ar_a":
                n_extra = max(n_extra, 2)  # keep 21-31 channels without A1/A2
            recs.append(
                dict(
                    subject=subj,
                    session=f"s{s + 1:03d}",
                    segment="t000",
                    recording_id=f"{subj}_s{s + 1:03d}_t000",
                    phenotype=pheno,
                    abnormal=int(pheno != "normal"),
                    focal_side=side,
                    age=age,
                    gender=gender,
                    medications=meds,
                    benzodiazepine=benzo,
                    alpha_freq=round(float(np.clip(fa, 6.0, 12.0)), 2),
                    date=date,
                    montage=mont,
                    ref=ref,
                    sfreq=float(rng.choice(sfreqs)),
                    duration_s=float(
                        int(rng.uniform(duration_s[0], duration_s[1] + 1e-9))
                    ),
                    n_extra=n_extra,
                    group=f"{i // 100:03d}",
                    seed=int(rng.integers(2**31)),
                )
            )
    return recs


def _write_recording(root: Path, rec: dict) -> dict:
    rng = np.random.default_rng(rec["seed"])
    sess_dir = (
        root
        / "edf"
        / rec["group"]
        / rec["subject"]
        / f"{rec['session']}_{rec['date']:%Y_%m_%d}"
    )
    edf_path = sess_dir / rec["montage"] / f"{rec['recording_id']}.edf"
    report_path = sess_dir / f"{rec['subject']}_{rec['session']}.txt"
    electrodes = list(_EEG_19)
    if rec["montage"] != "03_tcp_ar_a":
        electrodes += ["A1", "A2"]
    extras = [
        _EXTRAS[k] for k in sorted(rng.permutation(len(_EXTRAS))[: rec["n_extra"]])
    ]
    sig_names = electrodes + [k for _, k in extras if k in ("T1", "T2")]
    sfreq, dur = rec["sfreq"], rec["duration_s"]
    eeg = _synth_signal(
        rng,
        sig_names,
        sfreq,
        dur,
        rec["phenotype"],
        rec["focal_side"],
        rec["alpha_freq"],
        rec["benzodiazepine"],
    )
    n = eeg.shape[1]
    rows = [eeg[i] for i in range(len(electrodes))]
    labels = [f"EEG {e}-{rec['ref']}" for e in electrodes]
    for label, kind in extras:
        if kind in ("T1", "T2"):
            rows.append(eeg[sig_names.index(kind)])
        else:
            rows.append(_extra_channel(rng, kind, n, sfreq, eeg[:2]))
        labels.append(label.format(ref=rec["ref"]))
    data = np.stack(rows)
    # TUH-like patient field: "<subject> <sex> <birthdate> <subject> Age:<n>".
    birth = rec["date"].year - rec["age"]
    patient = f"{rec['subject']} {rec['gender']} 01-JAN-{birth} {rec['subject']} Age:{rec['age']}"  # noqa: E501
    recording = f"Startdate {rec['date']:%d-%b-%Y}".upper() + f" {rec['recording_id']}"
    write_edf(
        edf_path,
        data,
        labels,
        sfreq,
        patient=patient,
        recording=recording,
        start=rec["date"],
    )
    report_path.write_text(_report(rng, rec), encoding="utf-8")
    out = {k: v for k, v in rec.items() if k not in ("seed", "ref", "group", "n_extra")}
    out["medications"] = ";".join(rec["medications"])
    out["date"] = f"{rec['date']:%Y-%m-%d}"
    out["n_channels"] = len(labels)
    out["edf_path"] = str(edf_path.relative_to(root))
    out["report_path"] = str(report_path.relative_to(root))
    return out


def _check_size(
    root: Path,
    n_subjects: int,
    sessions: tuple[int, int],
    duration_s: tuple[float, float],
    sfreqs: tuple[float, ...],
) -> None:
    """Refuse a corpus that cannot fit: an absurd size would otherwise run for
    days or fill the disk before failing."""
    n_ch = 21 + len(_EXTRAS) + 1  # electrodes, extra channels, annotations
    per_second = max(sfreqs) * n_ch * 2  # int16 samples
    # Expected size (mean sessions and duration) and the largest recording.
    mean_rec = (duration_s[0] + duration_s[1]) / 2 * per_second
    total = n_subjects * (sessions[0] + sessions[1]) / 2 * mean_rec
    largest = duration_s[1] * per_second * 4  # float64 signals in memory
    anchor = root
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    free = shutil.disk_usage(anchor).free if anchor.exists() else None
    if free is not None and total > free:
        raise ValueError(
            f"the synthetic corpus would take about {total / 1e9:.3g} GB "
            f"({n_subjects} subjects), more than the {free / 1e9:.3g} GB free under "
            f"{anchor}; ask for fewer subjects, sessions or seconds"
        )
    if largest > 2**34:  # 16 GiB for one recording
        raise ValueError(
            f"recordings of up to {duration_s[1]:g} s would need about "
            f"{largest / 2**30:.3g} GiB of memory each; ask for shorter ones"
        )


def make_synthetic_tuh(
    path: str | os.PathLike[str],
    n_subjects: int = 50,
    *,
    seed: int = 0,
    sfreq: tuple[float, ...] | float = (250.0, 256.0),
    sessions_per_subject: tuple[int, int] = (1, 3),
    duration_s: tuple[float, float] = (120.0, 300.0),
    phenotype_weights: dict[str, float] | None = None,
    overwrite: bool = False,
    n_jobs: int = 1,
    progress: bool = True,
) -> SyntheticCorpus:
    """Write a synthetic TUH-like corpus of EDF files and reports.

    Layout (TUEG v2): ``<path>/edf/<group>/<subject>/<sNNN_YYYY_MM_DD>/<montage>/
    <subject>_<sNNN>_t000.edf`` with the report
    ``<path>/edf/<group>/<subject>/<sNNN_YYYY_MM_DD>/<subject>_<sNNN>.txt``, and
    the ground truth in ``<path>/ground_truth.csv`` (columns ``recording_id``,
    ``subject``, ``session``, ``phenotype``, ``abnormal``, ``age``, ``gender``,
    ``medications``, ``benzodiazepine``, ``alpha_freq``, ``focal_side``,
    ``sfreq``, ``duration_s``, ``montage``, ``n_channels``, ``edf_path``,
    ``report_path``, ...). The ground truth reaches the model only through the
    signal and the report text.

    Parameters
    ----------
    path : str | os.PathLike
        Corpus root.
    n_subjects : int
        Number of subjects; each has one phenotype and 1-3 sessions.
    seed : int
        Seed; the corpus is a deterministic function of all arguments.
    sfreq : float | tuple of float
        Sampling rate(s) drawn per recording (TUH: 250 and 256 Hz, some 400/512).
    sessions_per_subject : tuple of (int, int)
        Inclusive range of sessions per subject.
    duration_s : tuple of (float, float)
        Range of recording lengths in seconds.
    phenotype_weights : dict | None
        Mix of :data:`PHENOTYPES` over subjects (default
        :data:`DEFAULT_PHENOTYPE_WEIGHTS`).
    overwrite : bool
        Remove an existing ``edf/`` folder and ground truth first; otherwise an
        existing corpus raises.
    n_jobs : int
        Worker processes.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    SyntheticCorpus
        Root and ground truth; ``str()`` gives a one-line summary.

    Raises
    ------
    FileExistsError
        If the folder already holds a corpus and ``overwrite`` is False.
    """
    from tqdm.auto import tqdm

    root = Path(path)
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be >= 1, got {n_subjects}")
    weights = dict(phenotype_weights or DEFAULT_PHENOTYPE_WEIGHTS)
    unknown = set(weights) - set(PHENOTYPES)
    if unknown:
        raise ValueError(f"unknown phenotypes {sorted(unknown)}; use {PHENOTYPES}")
    w = np.array(list(weights.values()), dtype=float)
    if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise ValueError(
            f"phenotype weights must be finite, >= 0 and not all 0, got {weights}"
        )
    lo, hi = sessions_per_subject
    if not 1 <= lo <= hi:
        raise ValueError(
            f"sessions_per_subject must be (min, max) with 1 <= min <= max, got "
            f"{tuple(sessions_per_subject)}"
        )
    lo, hi = duration_s
    if not (np.isfinite([lo, hi]).all() and 0 < lo <= hi):
        raise ValueError(
            f"duration_s (elm synth --duration) must be (min, max) seconds with "
            f"0 < min <= max, got "
            f"{tuple(duration_s)}"
        )
    sfreqs = (float(sfreq),) if np.isscalar(sfreq) else tuple(float(s) for s in sfreq)
    _check_size(root, n_subjects, sessions_per_subject, duration_s, sfreqs)
    gt_path = root / "ground_truth.csv"
    if (root / "edf").exists() or gt_path.exists():
        if not overwrite:
            raise FileExistsError(
                f"{root} already holds a corpus; choose another folder, or pass "
                "overwrite=True (--overwrite on the command line) to replace it"
            )
        shutil.rmtree(root / "edf", ignore_errors=True)
        gt_path.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    plan = _plan(rng, n_subjects, sessions_per_subject, duration_s, sfreqs, weights)
    root.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(plan), desc="synth", unit="rec", disable=not progress)
    rows: list[dict] = []
    if n_jobs == 1:
        for rec in plan:
            rows.append(_write_recording(root, rec))
            bar.update()
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=n_jobs) as ex:
            for row in ex.map(_write_recording, [root] * len(plan), plan):
                rows.append(row)
                bar.update()
    bar.close()
    gt = pd.DataFrame(rows)
    cols = ["recording_id", "subject", "session", "segment", "phenotype", "abnormal"]
    gt = gt[cols + [c for c in gt.columns if c not in cols]]
    gt.to_csv(gt_path, index=False)
    # Return what readers of the side file get (same dtypes and missing values).
    gt = pd.read_csv(gt_path, keep_default_na=True)
    return SyntheticCorpus(root=root, ground_truth=gt)
