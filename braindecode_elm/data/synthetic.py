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
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import fft as sfft

from .edf import write_edf

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

# Approximate 2-D scalp positions (x: left -> right, y: back -> front).
_POS: dict[str, tuple[float, float]] = {
    "FP1": (-0.3, 0.95),
    "FP2": (0.3, 0.95),
    "F7": (-0.8, 0.6),
    "F3": (-0.4, 0.5),
    "FZ": (0.0, 0.5),
    "F4": (0.4, 0.5),
    "F8": (0.8, 0.6),
    "T3": (-1.0, 0.0),
    "C3": (-0.5, 0.0),
    "CZ": (0.0, 0.0),
    "C4": (0.5, 0.0),
    "T4": (1.0, 0.0),
    "T5": (-0.8, -0.6),
    "P3": (-0.4, -0.5),
    "PZ": (0.0, -0.5),
    "P4": (0.4, -0.5),
    "T6": (0.8, -0.6),
    "O1": (-0.3, -0.95),
    "O2": (0.3, -0.95),
    "A1": (-1.15, -0.1),
    "A2": (1.15, -0.1),
    "T1": (-0.95, 0.3),
    "T2": (0.95, 0.3),
}
_EEG_19 = [
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2",
    "F7", "F8", "T3", "T4", "T5", "T6", "FZ", "CZ", "PZ",
]  # fmt: skip
# Extra TUH channels (name, kind); 21 + up to 10 extras gives 21-31 channels.
_EXTRAS: list[tuple[str, str]] = [
    ("EEG T1-{ref}", "T1"),
    ("EEG T2-{ref}", "T2"),
    ("EEG EKG1-{ref}", "ekg"),
    ("EEG ROC-{ref}", "eog"),
    ("EEG LOC-{ref}", "eog"),
    ("EMG-{ref}", "emg"),
    ("PHOTIC-{ref}", "flat"),
    ("IBI", "flat"),
    ("BURSTS", "flat"),
    ("SUPPR", "flat"),
]
# (montage folder, reference suffix, probability); 03_tcp_ar_a has no A1/A2.
_MONTAGES = [
    ("01_tcp_ar", "REF", 0.7),
    ("02_tcp_le", "LE", 0.25),
    ("03_tcp_ar_a", "REF", 0.05),
]

_BENZOS = ["Ativan", "lorazepam", "clonazepam", "Versed"]
_AEDS = ["Keppra", "levetiracetam", "Dilantin", "Lamictal", "Depakote", "Tegretol"]
_OTHER_MEDS = ["lisinopril", "aspirin", "metoprolol", "atorvastatin", "omeprazole",
               "insulin", "metformin", "sertraline"]  # fmt: skip

_HISTORY = {
    "normal": ["headaches", "an episode of syncope", "dizziness", "migraine",
               "a single episode of loss of consciousness", "spells of unclear nature"],
    "diffuse_slowing": ["altered mental status", "confusion", "encephalopathy",
                        "progressive memory decline", "lethargy after sepsis"],
    "focal_slowing": ["a {side} hemispheric stroke", "a {side} temporal mass",
                      "a {side} subdural hematoma",
                      "a prior {side} temporal hemorrhage"],
    "epileptiform_focal": ["focal seizures", "seizures with déjà vu and staring",
                           "temporal lobe epilepsy", "recurrent focal seizures"],
    "epileptiform_generalized": ["generalized seizures", "absence spells",
                                 "staring spells and generalized epilepsy",
                                 "juvenile myoclonic epilepsy"],
}  # fmt: skip


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


# --------------------------------------------------------------------------- signal
def _shaped_noise(
    rng: np.random.Generator, n_rows: int, n: int, sfreq: float, shape
) -> np.ndarray:
    """Gaussian noise with spectrum ``shape(f)``, unit RMS per row (float32)."""
    white = rng.standard_normal((n_rows, n), dtype=np.float32)
    spec = sfft.rfft(white, axis=-1)
    f = np.fft.rfftfreq(n, 1.0 / sfreq).astype(np.float32)
    gain = shape(f).astype(np.float32)
    gain[0] = 0.0
    spec *= gain
    x = sfft.irfft(spec, n=n, axis=-1)
    x /= np.sqrt(np.mean(x * x, axis=-1, keepdims=True)) + 1e-12
    return x.astype(np.float32, copy=False)


def _pink(f: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(np.maximum(f, 0.5))


def _bump(fc: float, bw: float):
    return lambda f: np.exp(-0.5 * ((f - fc) / bw) ** 2)


def _band(lo: float, hi: float):
    return lambda f: ((f >= lo) & (f <= hi)).astype(np.float32)


def _weights(names: list[str], centre: tuple[float, float], sigma: float) -> np.ndarray:
    xy = np.array([_POS.get(n, (0.0, 0.0)) for n in names])
    d2 = ((xy - np.asarray(centre)) ** 2).sum(axis=1)
    return np.exp(-0.5 * d2 / sigma**2).astype(np.float32)


def _gate(n: int, sfreq: float, intervals: list[tuple[float, float]]) -> np.ndarray:
    """1 with eyes closed, 0.2 with eyes open, 0.3 s ramps in between."""
    g = np.ones(n, dtype=np.float32)
    for a, b in intervals:
        g[int(a * sfreq) : int(b * sfreq)] = 0.2
    k = max(1, int(0.3 * sfreq))
    return np.convolve(g, np.ones(k, dtype=np.float32) / k, mode="same")


def _eyes_open(rng: np.random.Generator, dur: float) -> list[tuple[float, float]]:
    out, t = [], float(rng.uniform(5, 25))
    while t < dur:
        length = float(rng.uniform(6, 14))
        out.append((t, min(t + length, dur)))
        t += length + float(rng.uniform(18, 40))
    return out


def _add_events(
    x: np.ndarray,
    w: np.ndarray,
    onsets: np.ndarray,
    wave: np.ndarray,
) -> None:
    n = x.shape[1]
    for o in onsets:
        o = int(o)
        m = min(len(wave), n - o)
        if m > 0:
            x[:, o : o + m] += w[:, None] * wave[None, :m]


def _spike_wave(sfreq: float, amp: float) -> np.ndarray:
    """Sharp wave (~80 ms, negative) followed by a slow wave (~250 ms)."""
    t1 = np.arange(int(0.08 * sfreq)) / sfreq
    sharp = -amp * np.sin(np.pi * t1 / 0.08) ** 3
    t2 = np.arange(int(0.25 * sfreq)) / sfreq
    slow = 0.45 * amp * np.sin(np.pi * t2 / 0.25)
    return np.concatenate([sharp, slow]).astype(np.float32)


def _synth_signal(
    rng: np.random.Generator,
    names: list[str],
    sfreq: float,
    dur: float,
    pheno: str,
    side: str | None,
    alpha_freq: float,
    benzo: bool,
) -> np.ndarray:
    """Monopolar EEG in volts for the electrodes ``names`` (10-20 labels)."""
    n = int(round(dur * sfreq))
    nc = len(names)
    uv = 1e-6
    x = np.zeros((nc, n), dtype=np.float32)
    # Background: local 1/f noise plus a few smooth shared fields.
    x += 9.0 * uv * _shaped_noise(rng, nc, n, sfreq, _pink)
    fields = _shaped_noise(rng, 3, n, sfreq, _pink)
    for k, centre in enumerate([(-0.6, 0.3), (0.6, 0.3), (0.0, -0.6)]):
        x += 8.0 * uv * _weights(names, centre, 0.7)[:, None] * fields[k]
    # Beta, fronto-central; benzodiazepines add much more of it.
    beta = _shaped_noise(rng, 1, n, sfreq, _bump(20.0, 3.0))[0]
    wb = _weights(names, (0.0, 0.4), 0.8) * (12.0 if benzo else 2.5) * uv
    x += wb[:, None] * beta
    # Posterior alpha (two hemispheric generators), blocked with eyes open.
    open_iv = _eyes_open(rng, dur)
    gate = _gate(n, sfreq, open_iv)
    alpha_amp = 22.0 * uv * (0.45 if pheno == "diffuse_slowing" else 1.0)
    alpha = _shaped_noise(rng, 2, n, sfreq, _bump(alpha_freq, 0.35))
    for k, cx in enumerate((-0.35, 0.35)):
        wa = _weights(names, (cx, -0.9), 0.45) * alpha_amp
        if pheno.startswith("focal_slowing") and (cx < 0) == (side == "left"):
            wa *= 0.6  # focal lesions depress the ipsilateral alpha a little
        x += wa[:, None] * (alpha[k] * gate)
    if pheno == "diffuse_slowing":
        delta = _shaped_noise(rng, 2, n, sfreq, _band(0.8, 3.5))
        theta = _shaped_noise(rng, 2, n, sfreq, _band(4.0, 7.0))
        local = _shaped_noise(rng, nc, n, sfreq, _band(0.8, 7.0))
        for k, cx in enumerate((-0.5, 0.5)):
            wd = 0.6 + 0.6 * _weights(names, (cx, 0.2), 0.9)
            x += (30.0 * uv) * wd[:, None] * delta[k] + (16.0 * uv) * wd[
                :, None
            ] * theta[k]
        x += 12.0 * uv * local
    if pheno.startswith("focal_slowing"):
        centre = (-1.0, 0.0) if side == "left" else (1.0, 0.0)
        poly = _shaped_noise(rng, 1, n, sfreq, _band(0.8, 3.0))[0]
        x += (55.0 * uv) * _weights(names, centre, 0.42)[:, None] * poly
    if pheno == "epileptiform_focal":
        centre = (-0.9, 0.3) if side == "left" else (0.9, 0.3)
        w = _weights(names, centre, 0.38)
        onsets = np.cumsum(rng.uniform(1.2, 3.5, size=int(dur / 1.2) + 2)) * sfreq
        onsets = onsets[onsets < n]
        for o in onsets:
            amp = float(rng.uniform(90, 160)) * uv
            _add_events(x, w, np.array([o]), _spike_wave(sfreq, amp))
    if pheno == "epileptiform_generalized":
        # Frontal-maximal field: a uniform one would cancel in bipolar montages.
        w = 0.25 + 0.95 * _weights(names, (0.0, 0.65), 0.45)
        t = float(rng.uniform(1.0, 4.0))
        while t < dur:
            n_cyc = int(rng.integers(4, 12))  # 1.3-4 s of 3 Hz spike-and-wave
            amp = float(rng.uniform(120, 200)) * uv
            f0 = float(rng.uniform(2.8, 3.4))
            period = int(sfreq / f0)
            cycle = np.zeros(period, dtype=np.float32)
            sw = _spike_wave(sfreq, amp)[:period]
            cycle[: len(sw)] = sw
            wave = np.tile(cycle, n_cyc)
            _add_events(x, w, np.array([t * sfreq]), wave)
            t += n_cyc / f0 + float(rng.uniform(3.0, 7.0))
    # Eye blinks: large frontal positive deflections, mostly with eyes open.
    wblink = np.exp(-((np.array([_POS.get(c, (0, 0))[1] for c in names]) - 1.0) ** 2)
                    / 0.08).astype(np.float32)  # fmt: skip
    tb = np.arange(int(0.4 * sfreq)) / sfreq
    blink = (np.sin(np.pi * tb / 0.4) ** 2).astype(np.float32)
    for a, b in open_iv:
        for o in np.arange(a, b, rng.uniform(1.5, 4.0)):
            amp = float(rng.uniform(120, 220)) * uv
            _add_events(x, wblink * amp, np.array([o * sfreq]), blink)
    # Muscle bursts over temporal regions.
    wm = np.maximum(
        _weights(names, (-1.0, 0.2), 0.35), _weights(names, (1.0, 0.2), 0.35)
    )
    t = float(rng.uniform(10, 40))
    emg_src = _shaped_noise(rng, 1, n, sfreq, _band(25.0, min(90.0, sfreq / 2.2)))[0]
    while t < dur:
        a, b = int(t * sfreq), int(min(dur, t + rng.uniform(0.5, 2.0)) * sfreq)
        x[:, a:b] += (25.0 * uv) * wm[:, None] * emg_src[None, a:b]
        t += float(rng.uniform(20, 50))
    return x


def _extra_channel(
    rng: np.random.Generator, kind: str, n: int, sfreq: float, eeg: np.ndarray
) -> np.ndarray:
    if kind == "ekg":
        hr = rng.uniform(55, 95) / 60.0
        out = np.zeros(n, dtype=np.float32)
        beats = (np.arange(0, n / sfreq, 1.0 / hr) * sfreq).astype(int)
        qrs = 800e-6 * np.hanning(max(3, int(0.06 * sfreq))).astype(np.float32)
        for b in beats:
            m = min(len(qrs), n - b)
            out[b : b + m] += qrs[:m]
        return out + 10e-6 * rng.standard_normal(n).astype(np.float32)
    if kind == "eog":
        return eeg.mean(axis=0) * 2.0
    if kind == "emg":
        return 15e-6 * rng.standard_normal(n).astype(np.float32)
    return np.zeros(n, dtype=np.float32)


# --------------------------------------------------------------------------- text
def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _report(rng: np.random.Generator, rec: dict) -> str:
    pheno, side, age = rec["phenotype"], rec["focal_side"], rec["age"]
    words = ["woman", "female"] if rec["gender"] == "F" else ["man", "male"]
    sex_word = _pick(rng, words)
    hand = _pick(rng, ["", "right-handed ", "left-handed "])
    key = "focal_slowing" if pheno.startswith("focal_slowing") else pheno
    hist = _pick(rng, _HISTORY[key]).format(side=side or "left")
    history = _pick(
        rng,
        [
            f"{age} year old {hand}{sex_word} with {hist}.",
            f"This is a {age} year old {sex_word} with a history of {hist}.",
            f"{age}-year-old {sex_word} with {hist}, referred for EEG.",
        ],
    )
    meds = ", ".join(rec["medications"]) if rec["medications"] else "None"
    intro = _pick(
        rng,
        [
            "Digital video EEG was performed using the standard 10-20 system of "
            "electrode placement with 1 channel of EKG.",
            "Routine EEG was recorded at the bedside with the international 10-20 "
            "system. The patient was awake and cooperative.",
            "A standard 21 electrode digital EEG was performed in the laboratory. "
            "Photic stimulation was performed.",
        ],
    )
    fa = rec["alpha_freq"]
    pdr = (
        f"{fa:.1f} Hz"
        if rng.random() < 0.6
        else f"{int(np.floor(fa))} to {int(np.floor(fa)) + 1} Hz"
    )
    if pheno == "diffuse_slowing":
        bg = _pick(
            rng,
            [
                f"The background is diffusely slow and disorganized, with a poorly "
                f"formed posterior dominant rhythm of {pdr} and abundant diffuse theta "
                "and delta activity.",
                f"There is generalized slowing of the background, with a low amplitude "
                f"{pdr} posterior rhythm and diffuse polymorphic theta and delta "
                "activity throughout the record.",
            ],
        )
    else:
        bg = _pick(
            rng,
            [
                f"In wakefulness there is a well-defined posterior dominant rhythm of "
                f"{pdr} which attenuates with eye opening.",
                f"The background is well organized, with a {pdr} posterior dominant "
                "rhythm that is reactive to eye opening.",
                f"The awake background shows a symmetric {pdr} alpha rhythm in the "
                "posterior regions, blocking with eye opening.",
            ],
        )
    extra = []
    if pheno.startswith("focal_slowing"):
        extra.append(
            _pick(
                rng,
                [
                    f"There is continuous focal polymorphic delta activity over the "
                    f"{side} temporal region.",
                    f"Focal slowing is seen over the {side} temporal region, with "
                    f"irregular delta activity maximal at {'T3' if side == 'left' else 'T4'}.",  # noqa: E501
                ],
            )
        )
    if pheno == "epileptiform_focal":
        e1, e2 = ("T3", "F7") if side == "left" else ("T4", "F8")
        extra.append(
            _pick(
                rng,
                [
                    f"Frequent sharp waves are seen over the {side} temporal region, "
                    f"maximal at {e1} and {e2}.",
                    f"There are frequent {side} temporal sharp and slow wave "
                    f"discharges, phase reversing at {e1}.",
                ],
            )
        )
    if pheno == "epileptiform_generalized":
        extra.append(
            _pick(
                rng,
                [
                    "Frequent bursts of generalized 3 Hz spike and wave discharges "
                    "are seen, lasting 1 to 4 seconds.",
                    "There are recurrent generalized spike and wave complexes at about "
                    "3 Hz, with a frontal predominance.",
                ],
            )
        )
    if rec["benzodiazepine"]:
        extra.append(
            _pick(
                rng,
                [
                    "There is excess diffuse beta activity, likely a medication "
                    "effect.",
                    "Prominent frontocentral beta activity is noted, consistent with "
                    "benzodiazepine effect.",
                ],
            )
        )
    extra.append(
        _pick(
            rng,
            [
                "Eye blink and muscle artifacts are present.",
                "Frequent eye blinks and intermittent temporal muscle artifact are "
                "noted.",
                "Muscle artifact is seen intermittently.",
            ],
        )
    )
    impression, corr = _impression(rng, pheno, side)
    lines = []
    if rng.random() < 0.5:
        lines.append(
            _pick(rng, ["TEMPLE UNIVERSITY HOSPITAL", "EEG REPORT", "Neurology"])
        )
    lines += [
        f"CLINICAL HISTORY: {history}",
        f"MEDICATIONS: {meds}",
        f"INTRODUCTION: {intro}",
        "DESCRIPTION OF THE RECORD: " + " ".join([bg, *extra]),
    ]
    if rng.random() < 0.3:
        lines.append(f"HR: {int(rng.integers(55, 100))} bpm")
    lines += [f"IMPRESSION: {impression}", f"CLINICAL CORRELATION: {corr}"]
    return "\n".join(lines) + "\n"


def _impression(
    rng: np.random.Generator, pheno: str, side: str | None
) -> tuple[str, str]:  # noqa: E501
    if pheno == "normal":
        return (
            _pick(rng, ["Normal EEG.", "Normal awake EEG.", "This is a normal EEG."]),
            _pick(
                rng,
                [
                    "No epileptiform discharges or focal slowing were seen.",
                    "This is a normal EEG. A normal EEG does not exclude epilepsy.",
                    "The record is within normal limits.",
                ],
            ),
        )
    if pheno == "diffuse_slowing":
        return (
            _pick(
                rng,
                [
                    "Abnormal EEG due to diffuse slowing of the background.",
                    "Abnormal EEG with generalized background slowing.",
                ],
            ),
            _pick(
                rng,
                [
                    "Diffuse slowing is consistent with a diffuse cerebral dysfunction "
                    "such as an encephalopathy, which is non-specific as to etiology.",
                    "These findings suggest a diffuse encephalopathy.",
                ],
            ),
        )
    if pheno.startswith("focal_slowing"):
        return (
            _pick(
                rng,
                [
                    f"Abnormal EEG due to focal slowing in the {side} temporal region.",
                    f"Abnormal EEG with {side} temporal focal slowing.",
                ],
            ),
            f"Focal slowing over the {side} temporal region indicates focal "
            f"cerebral dysfunction in that area. No epileptiform discharges were seen.",
        )
    if pheno == "epileptiform_focal":
        return (
            _pick(
                rng,
                [
                    f"Abnormal EEG due to {side} temporal sharp waves.",
                    f"Abnormal EEG with frequent {side} temporal epileptiform "
                    "discharges.",
                ],
            ),
            f"These findings indicate a potentially epileptogenic focus in the {side} "
            "temporal region.",
        )
    return (
        _pick(
            rng,
            [
                "Abnormal EEG due to generalized spike and wave discharges.",
                "Abnormal EEG with generalized 3 Hz spike and wave bursts.",
            ],
        ),
        "This pattern is consistent with a generalized epilepsy.",
    )


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
            f"duration_s must be (min, max) seconds with 0 < min <= max, got "
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
