"""Signals of the synthetic corpus, per electrode, in volts.

1/f background, a posterior alpha rhythm blocked when the eyes open, blinks,
muscle bursts, and the rhythms and events of each phenotype, spread over the
scalp by smooth spatial weights.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

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
