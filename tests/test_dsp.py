"""Parity of the Rust engine with SciPy (default modes) and MNE (mne/reflect modes)."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from scipy import signal

from braindecode_elm import dsp
from braindecode_elm.dsp import _reference as ref

RATES = [128.0, 200.0, 250.0, 256.0, 500.0, 512.0, 1000.0]
TOL64 = 1e-10  # max error / signal RMS, float64 I/O
TOL32 = 1e-5  # max error / signal RMS, float32 I/O
NAMES21 = [
    f"EEG {n}-REF"
    for n in "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ".split()
]


def _signal(n_ch: int, n: int, seed: int = 0, dtype=np.float64) -> np.ndarray:
    # Broadband noise plus a DC offset and a slow drift, like raw EEG.
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = rng.standard_normal((n_ch, n)) + 2.0 + 0.5 * np.sin(2 * np.pi * t / 997.0)
    return (x * 1e-5).astype(dtype)


def _rel_err(got: np.ndarray, want: np.ndarray, x: np.ndarray) -> float:
    rms = np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))
    return float(np.max(np.abs(got.astype(np.float64) - want)) / rms)


def test_backend_is_rust():
    assert dsp.backend() == "rust"


@pytest.mark.parametrize("sfreq", RATES)
@pytest.mark.parametrize(
    "order,band", [(4, (0.1, 49.0)), (3, (1.0, 40.0)), (2, (8, 30))]
)
def test_butter_sos_matches_scipy(sfreq, order, band):
    got = dsp.butter_bandpass_sos(order, band[0], band[1], sfreq)
    want = signal.butter(order, band, btype="bandpass", output="sos", fs=sfreq)
    assert got.shape == want.shape == (order, 6)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_sosfilt_zi_and_firwin_match_scipy():
    from braindecode_elm import _rust

    for sfreq in RATES:
        sos = signal.butter(4, [0.1, 49.0], "bandpass", output="sos", fs=sfreq)
        zi = signal.sosfilt_zi(sos)
        # lfilter_zi's 2x2 solve is ill-conditioned near the 0.1 Hz poles.
        np.testing.assert_allclose(_rust.sosfilt_zi(sos), zi, rtol=0, atol=1e-12)
    for numtaps, cutoff in [(1281, 1 / 64), (101, 1 / 5), (21, 0.25), (2561, 1 / 128)]:
        want = signal.firwin(numtaps, cutoff, window=("kaiser", 5.0))
        np.testing.assert_allclose(
            _rust.firwin_kaiser(numtaps, cutoff, 5.0), want, rtol=0, atol=1e-15
        )


@pytest.mark.parametrize("sfreq", RATES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sosfiltfilt_odd_matches_scipy(sfreq, dtype):
    sos = dsp.butter_bandpass_sos(4, 0.1, 49.0, sfreq)
    for n in (28, 29, 1009, int(sfreq * 4)):  # minimal, odd, prime, 4 s
        x = _signal(3, n, seed=n, dtype=dtype)
        got = dsp.sosfiltfilt(sos, x)
        assert got.dtype == dtype and got.shape == x.shape
        want = signal.sosfiltfilt(sos, x.astype(np.float64), axis=-1)
        tol = TOL64 if dtype == np.float64 else TOL32
        assert _rel_err(got, want, x) <= tol


def test_sosfiltfilt_1d_and_noncontiguous():
    sos = dsp.butter_bandpass_sos(4, 1.0, 30.0, 250.0)
    x = _signal(4, 600)
    np.testing.assert_allclose(
        dsp.sosfiltfilt(sos, x[1]), signal.sosfiltfilt(sos, x[1]), rtol=0, atol=1e-16
    )
    xt = np.asfortranarray(x)[:, ::2]
    want = signal.sosfiltfilt(sos, xt, axis=-1)
    assert _rel_err(dsp.sosfiltfilt(sos, xt), want, xt) <= TOL64


@pytest.mark.parametrize("sfreq", RATES)
def test_sosfiltfilt_mne_mode_matches_mne(sfreq):
    n = int(sfreq * 20) + 3
    x = _signal(2, n, seed=int(sfreq))
    want = mne.filter.filter_data(
        x,
        sfreq,
        0.1,
        49.0,
        method="iir",
        iir_params=dict(order=4, ftype="butter", output="sos"),
        verbose="error",
    )
    sos = dsp.butter_bandpass_sos(4, 0.1, 49.0, sfreq)
    got = dsp.sosfiltfilt(sos, x, padtype="mne")
    assert _rel_err(got, want, x) <= TOL64
    got32 = dsp.sosfiltfilt(sos, x.astype(np.float32), padtype="mne")
    assert got32.dtype == np.float32
    assert _rel_err(got32, want, x) <= TOL32


def test_sosfiltfilt_mne_mode_short_signal_caps_padding():
    # MNE caps its padding at n_times - 1: a 100-sample signal still filters.
    sos = dsp.butter_bandpass_sos(4, 0.1, 49.0, 256.0)
    x = _signal(2, 100)
    want = ref.sosfiltfilt(sos, x, padtype="mne")
    assert _rel_err(dsp.sosfiltfilt(sos, x, padtype="mne"), want, x) <= TOL64


@pytest.mark.parametrize(
    "up,down", [(25, 64), (2, 5), (1, 5), (25, 128), (1, 10), (1, 2), (25, 32), (3, 2)]
)
@pytest.mark.parametrize("padtype", ["constant", "reflect"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resample_poly_matches_scipy(up, down, padtype, dtype):
    # SciPy's upfirdn dies with SIGFPE on a 1-sample signal in reflect mode.
    for n in (1, 2, 7, 97, 1031, 3000) if padtype == "constant" else (2, 7, 97, 3000):
        x = _signal(2, n, seed=n, dtype=dtype)
        got = dsp.resample_poly(x, up, down, padtype=padtype)
        want = signal.resample_poly(
            x.astype(np.float64), up, down, axis=-1, padtype=padtype
        )
        assert got.dtype == dtype
        assert got.shape == want.shape == (2, -(-n * up // down))
        assert _rel_err(got, want, x) <= (TOL64 if dtype == np.float64 else TOL32)


def test_resample_reduces_by_gcd():
    x = _signal(1, 500)
    np.testing.assert_array_equal(
        dsp.resample_poly(x, 50, 128), dsp.resample_poly(x, 25, 64)
    )


@pytest.mark.parametrize("sfreq", [256.0, 250.0, 512.0, 1000.0])
def test_resample_reflect_matches_mne_polyphase(sfreq):
    up, down, _ = dsp.rational_factors(sfreq, 100.0)
    n = down * 40  # a length MNE maps to the same up/down
    x = _signal(3, n, seed=3)
    info = mne.create_info(3, sfreq, "eeg")
    raw = mne.io.RawArray(x, info, verbose="error")
    raw.resample(100.0, method="polyphase", verbose="error")
    got = dsp.resample_poly(x, up, down, padtype="reflect")
    assert _rel_err(got, raw.get_data(), x) <= TOL64


@pytest.mark.parametrize(
    "sfreq,updown",
    [
        (256.0, (25, 64)),
        (250.0, (2, 5)),
        (500.0, (1, 5)),
        (512.0, (25, 128)),
        (1000.0, (1, 10)),
        (200.0, (1, 2)),
        (128.0, (25, 32)),
    ],
)
def test_rational_factors(sfreq, updown):
    up, down, err = dsp.rational_factors(sfreq, 100.0)
    assert (up, down) == updown and err == 0.0


def test_rational_factors_approximates_odd_rates():
    with pytest.warns(UserWarning, match="relative rate error"):
        up, down, err = dsp.rational_factors(173.61, 100.0)
    assert max(up, down) <= 1000
    assert err == pytest.approx(abs(173.61 * up / down - 100.0) / 100.0)
    assert err < 1e-4


@pytest.mark.parametrize("sfreq", RATES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_preprocess_matches_scipy_chain(sfreq, dtype):
    n = int(sfreq * 6) + 1
    x = _signal(21, n, seed=5, dtype=dtype)
    got, names = dsp.preprocess(x, NAMES21, sfreq, dtype=dtype)
    want, want_names = ref.preprocess(x, NAMES21, sfreq)
    assert names == want_names and len(names) == 20 and names[0] == "FP1-F7"
    assert got.dtype == dtype and got.shape == want.shape
    up, down, _ = dsp.rational_factors(sfreq, 100.0)
    assert got.shape == (20, -(-n * up // down))
    bip = ref.bipolar_montage(x.astype(np.float64), dsp.resolve_pairs(NAMES21)[0])
    assert _rel_err(got, want, bip) <= (TOL64 if dtype == np.float64 else TOL32)


def test_preprocess_counted_returns_the_clip_share_instead_of_warning():
    """The cache's entry: the same output as preprocess, its clip share
    returned (once counted) and no warning; None without a clip."""
    import warnings

    from braindecode_elm.dsp.engine import clip_fraction, preprocess_counted

    rng = np.random.default_rng(3)
    names = [
        "Fp1",
        "F7",
        "T3",
        "T5",
        "O1",
        "Fp2",
        "F8",
        "T4",
        "T6",
        "O2",
        "F3",
        "C3",
        "P3",
        "F4",
        "C4",
        "P4",
        "Fz",
        "Cz",
        "Pz",
        "A1",
        "A2",
    ]
    x = rng.standard_normal((21, 256 * 20)) * 50.0  # microvolts given as volts
    rec = dsp.as_recipe("elm")
    with pytest.warns(UserWarning, match="preprocess: over"):
        y, out_names = dsp.preprocess(x, names, 256.0, recipe=rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y2, names2, frac = preprocess_counted(x, names, 256.0, rec)
    np.testing.assert_array_equal(y, y2)
    assert names2 == out_names
    assert frac == clip_fraction(y, rec.clip) and frac > 0.3
    _, _, none = preprocess_counted(x * 1e-6, names, 256.0, rec.replace(clip=None))
    assert none is None


def test_preprocess_scale_clip_and_modes():
    x = _signal(21, 2560, seed=9) * 100  # ~1 mV: x1e5 exceeds the +-80 clip
    for kw in (
        dict(scale=dsp.ELM_SCALE, clip=dsp.ELM_CLIP),
        dict(scale=2e5, clip=50.0),
        dict(padtype="mne", resample_padtype="reflect"),
        dict(l_freq=1.0, h_freq=40.0, order=2, out_sfreq=128.0),
    ):
        got, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64, **kw)
        want, _ = ref.preprocess(x, NAMES21, 256.0, **kw)
        scale = kw.get("scale", 1.0)
        bip = ref.bipolar_montage(x, dsp.resolve_pairs(NAMES21)[0]) * scale
        assert _rel_err(got, want, bip) <= TOL64, kw
        if "clip" in kw:
            # The clip bites (the input is far beyond it); clipping happens before
            # resampling, so the output may ring slightly past the limit.
            assert np.abs(bip).max() > 2 * kw["clip"]
            same_rate, _ = dsp.preprocess(x, NAMES21, 256.0, out_sfreq=256.0, **kw)
            assert np.abs(same_rate).max() == np.float32(kw["clip"])


def test_preprocess_no_montage_and_custom_pairs():
    x = _signal(21, 1000, seed=2)
    got, names = dsp.preprocess(x, NAMES21, 250.0, montage=None, dtype=np.float64)
    assert names == NAMES21 and got.shape == (21, 400)
    want, _ = ref.preprocess(x, NAMES21, 250.0, montage=False)
    assert _rel_err(got, want, x) <= TOL64
    pairs = [("Cz", "Pz"), ("T7", "P7")]
    got, names = dsp.preprocess(x, NAMES21, 250.0, montage=pairs, dtype=np.float64)
    assert names == ["CZ-PZ", "T3-T5"]
    want, _ = ref.preprocess(x, NAMES21, 250.0, pairs=pairs)
    assert _rel_err(got, want, x) <= TOL64


@pytest.mark.parametrize(
    "pairs",
    [
        # TCP with its pairs reversed and reordered: other channels derived.
        [(b, a) for a, b in reversed(dsp.TCP_PAIRS)],
        # A complete graph on 6 electrodes: 15 channels, 10 derived.
        [
            (a, b)
            for i, a in enumerate("FP1 F3 C3 P3 O1 CZ".split())
            for b in "FP1 F3 C3 P3 O1 CZ".split()[i + 1 :]
        ],
        # One pair 37 times: 36 derived rows, more than the basis takes.
        [("FP1", "F7")] * 37,
    ],
    ids=["tcp-reversed", "complete-6", "repeated-37"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_preprocess_dependent_channels_match_scipy(pairs, dtype):
    # Montages whose channels are sums of others go through the engine's
    # spanning-forest basis at AVX2/AVX-512 (ELM_SIMD reruns cover the levels).
    x = _signal(21, 256 * 20 + 3, seed=13, dtype=dtype)
    got, names = dsp.preprocess(x, NAMES21, 256.0, montage=pairs, dtype=dtype)
    want, _ = ref.preprocess(x, NAMES21, 256.0, pairs=pairs)
    assert got.shape == want.shape and len(names) == len(pairs)
    bip = ref.bipolar_montage(
        x.astype(np.float64), dsp.resolve_pairs(NAMES21, pairs)[0]
    )
    assert _rel_err(got, want, bip) <= (TOL64 if dtype == np.float64 else TOL32)
    two, _ = dsp.preprocess(x, NAMES21, 256.0, montage=pairs, dtype=dtype, n_threads=2)
    np.testing.assert_array_equal(two, got)


def test_preprocess_threads_and_batch_agree():
    xs = [_signal(21, 3000 + 17 * i, seed=i) for i in range(3)]
    rates = [256.0, 250.0, 500.0]
    single = [dsp.preprocess(x, NAMES21, s, n_threads=1) for x, s in zip(xs, rates)]
    two = dsp.preprocess(xs[0], NAMES21, 256.0, n_threads=2)
    np.testing.assert_array_equal(two[0], single[0][0])
    for n_threads in (1, 2):
        batch = dsp.preprocess_batch(xs, [NAMES21] * 3, rates, n_threads=n_threads)
        for (yb, nb), (ys, ns) in zip(batch, single):
            assert nb == ns
            np.testing.assert_array_equal(yb, ys)


def test_normalize_ch_name():
    cases = {
        "EEG FP1-REF": "FP1",
        "EEG FP1-LE": "FP1",
        "EEG Fp1": "FP1",
        "Fp1": "FP1",
        "FP1": "FP1",
        "T7": "T3",
        "t8": "T4",
        "EEG P7-REF": "T5",
        "P8": "T6",
        "EEG CZ-REF": "CZ",
        "EEG A2-A1": "A2-A1",
        " O2 ": "O2",
        # PhysioNet motor imagery (EEGBCI) names, dot-padded to four characters
        "Fc5.": "FC5",
        "C3..": "C3",
        "T7..": "T3",
        "P8..": "T6",
        "Fp1.": "FP1",
        # Nihon Kohden exports
        "POL Fp1": "FP1",
        "POL T7": "T3",
    }
    for raw_name, want in cases.items():
        assert dsp.normalize_ch_name(raw_name) == want
    # Electrodes against a named reference are not renamed, but the error says
    # what the names look like and what to do.
    names = [f"EEG {e}-A1" for e in dsp.TCP_ELECTRODES]
    with pytest.raises(ValueError, match=r"look referenced to \['A1'\]"):
        dsp.resolve_pairs(names)


def test_tcp_montage_from_eegbci_names():
    """The 64 dot-padded EEGBCI names give the TCP montage, and the pairs take
    the right rows."""
    eegbci = (
        "Fc5. Fc3. Fc1. Fcz. Fc2. Fc4. Fc6. C5.. C3.. C1.. Cz.. C2.. C4.. C6.. Cp5. "
        "Cp3. Cp1. Cpz. Cp2. Cp4. Cp6. Fp1. Fpz. Fp2. Af7. Af3. Afz. Af4. Af8. F7.. "
        "F5.. F3.. F1.. Fz.. F2.. F4.. F6.. F8.. Ft7. Ft8. T7.. T8.. T9.. T10. Tp7. "
        "Tp8. P7.. P5.. P3.. P1.. Pz.. P2.. P4.. P6.. P8.. Po7. Po3. Poz. Po4. Po8. "
        "O1.. Oz.. O2.. Iz.."
    ).split()
    assert len(eegbci) == 64
    x = _signal(64, 50)
    y, names = dsp.tcp_montage(x, eegbci)
    assert names[:2] == ["FP1-F7", "F7-T3"]
    np.testing.assert_array_equal(
        y[1], x[eegbci.index("F7..")] - x[eegbci.index("T7..")]
    )


def test_tcp_montage_values_and_names():
    x = _signal(21, 50)
    y, names = dsp.tcp_montage(x, NAMES21)
    assert len(dsp.TCP_PAIRS) == 20
    assert names[:4] == ["FP1-F7", "F7-T3", "T3-T5", "T5-O1"]
    assert names[-1] == "P4-O2"
    idx = {dsp.normalize_ch_name(c): i for i, c in enumerate(NAMES21)}
    for row, (a, b) in zip(y, dsp.TCP_PAIRS):
        np.testing.assert_array_equal(row, x[idx[a]] - x[idx[b]])
    # New 10-20 names work too.
    new_names = [n.replace("T3", "T7").replace("T5", "P7") for n in NAMES21]
    y2, names2 = dsp.tcp_montage(x, new_names)
    assert names2 == names
    np.testing.assert_array_equal(y2, y)


# Recordings long enough for the one-sweep path (rust/src/onepass.rs: chunks
# over which the slowest mode decays 10-fold, i.e. 2.4k samples at 128 Hz to
# 9.6k at 1000 Hz, and at least three of them). Shorter ones (above) run the
# two-pass kernel; both must match SciPy.
@pytest.mark.parametrize("sfreq", RATES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_preprocess_long_recordings_match_scipy(sfreq, dtype):
    n = int(sfreq * 75) + 3
    x = _signal(21, n, seed=11, dtype=dtype)
    got, _ = dsp.preprocess(x, NAMES21, sfreq, dtype=dtype, scale=dsp.ELM_SCALE)
    want, _ = ref.preprocess(x.astype(np.float64), NAMES21, sfreq, scale=dsp.ELM_SCALE)
    bip = ref.bipolar_montage(x.astype(np.float64), dsp.resolve_pairs(NAMES21)[0])
    tol = TOL64 if dtype == np.float64 else TOL32
    assert _rel_err(got, want, bip * dsp.ELM_SCALE) <= tol


@pytest.mark.parametrize(
    "extra",
    [0, 1, 63, 64, 4999],  # lengths around chunk and grid boundaries
)
def test_preprocess_one_sweep_lengths_threads_and_lanes(extra):
    n = 3 * 2496 - 54 + extra  # 3 chunks of 2496 at 256 Hz, minus the padding
    x = _signal(21, n, seed=extra)
    pairs = [("Cz", "Pz"), ("T7", "P7"), ("Fp1", "F3")]
    for montage, n_threads in (("tcp", 2), (pairs, 1)):
        got, _ = dsp.preprocess(
            x, NAMES21, 256.0, montage=montage, n_threads=n_threads, dtype=np.float64
        )
        want, _ = ref.preprocess(
            x, NAMES21, 256.0, pairs=None if montage == "tcp" else montage
        )
        assert got.shape == want.shape
        assert _rel_err(got, want, x - x.mean()) <= TOL64


def test_preprocess_one_sweep_mne_padding_and_nan():
    x = _signal(21, 256 * 90, seed=4)
    kw = dict(padtype="mne")
    got, _ = dsp.preprocess(x, NAMES21, 256.0, dtype=np.float64, **kw)
    want, _ = ref.preprocess(x, NAMES21, 256.0, **kw)
    bip = ref.bipolar_montage(x, dsp.resolve_pairs(NAMES21)[0])
    assert _rel_err(got, want, bip) <= TOL64
    x[3, 20_000] = np.nan  # F4 (row 3) is in TCP pairs FP2-F4 and F4-C4
    msg = r"channel 3 \('EEG F4-REF'\), first bad sample 20000"
    with pytest.raises(ValueError, match=msg):
        dsp.preprocess(x, NAMES21, 256.0)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_preprocess_one_sweep_all_channels(n_threads):
    # 21 lanes (the 24-lane kernel on one thread; 11 + 10 lanes on two).
    x = _signal(21, 500 * 90 + 7, seed=3)
    got, names = dsp.preprocess(
        x, NAMES21, 500.0, montage=None, dtype=np.float64, n_threads=n_threads
    )
    want, _ = ref.preprocess(x, NAMES21, 500.0, montage=False)
    assert names == NAMES21 and got.shape == want.shape == (21, 9002)
    assert _rel_err(got, want, x - x.mean(axis=1, keepdims=True)) <= TOL64
