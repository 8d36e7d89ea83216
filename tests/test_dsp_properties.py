"""Hypothesis property tests: random shapes, rates and bands against SciPy.

Small arrays keep each example cheap; together the tests run well over 1,000
examples.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

from braindecode_elm import dsp
from braindecode_elm.dsp import _reference as ref

# MNE warns when a filter rings longer than its search window (very low l_freq).
pytestmark = pytest.mark.filterwarnings("ignore:Could not properly estimate ringing")

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

rates = st.one_of(
    st.sampled_from([128.0, 200.0, 250.0, 256.0, 500.0, 512.0, 1000.0]),
    st.floats(min_value=60.0, max_value=2000.0).map(lambda v: round(v, 1)),
)


@st.composite
def band_and_rate(draw):
    sfreq = draw(rates)
    nyq = sfreq / 2
    l_freq = draw(st.floats(min_value=0.05, max_value=min(10.0, nyq / 4)))
    h_freq = draw(st.floats(min_value=l_freq * 1.5, max_value=nyq * 0.95))
    order = draw(st.integers(min_value=1, max_value=8))
    return order, l_freq, h_freq, sfreq


def _signal(seed, n_ch, n, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n_ch, n)) + rng.normal()).astype(dtype)


def _err(got, want, x):
    rms = np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))
    return np.max(np.abs(got.astype(np.float64) - want)) / rms


@SETTINGS
@given(band_and_rate())
def test_butter_sos_equals_scipy(args):
    order, l_freq, h_freq, sfreq = args
    want = signal.butter(order, [l_freq, h_freq], "bandpass", output="sos", fs=sfreq)
    np.testing.assert_allclose(
        dsp.butter_bandpass_sos(order, l_freq, h_freq, sfreq),
        want,
        rtol=1e-12,
        atol=1e-14 * np.abs(want).max(),
    )


@SETTINGS
@given(
    band_and_rate(),
    st.integers(1, 3),
    st.integers(0, 300),
    st.integers(0, 2**31),
    st.sampled_from(["odd", "mne"]),
    st.sampled_from([np.float64, np.float32]),
)
def test_sosfiltfilt_equals_reference(args, n_ch, extra, seed, padtype, dtype):
    order, l_freq, h_freq, sfreq = args
    # Keep the 0.05 Hz poles away from the edge of double precision: at very
    # low l_freq / sfreq both SciPy and the engine lose digits.
    sos = signal.butter(order, [l_freq, h_freq], "bandpass", output="sos", fs=sfreq)
    n = dsp.odd_padlen(sos) + 1 + extra
    x = _signal(seed, n_ch, n, dtype)
    got = dsp.sosfiltfilt(sos, x, padtype=padtype)
    want = ref.sosfiltfilt(sos, x, padtype=padtype)
    assert got.dtype == dtype and got.shape == x.shape
    # Relative to the filter's own rounding: an ill-conditioned filter (poles
    # within 1e-4 of z=1, high order) is as noisy in SciPy as here.
    tol = 1e-10 if dtype == np.float64 else 1e-5
    if order > 4 and l_freq / sfreq < 1e-3:
        tol = max(tol, 1e-8)
    assert _err(got, want, x) <= tol


@SETTINGS
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(2, 400),
    st.integers(1, 3),
    st.integers(0, 2**31),
    st.sampled_from(["constant", "reflect"]),
    st.sampled_from([np.float64, np.float32]),
)
def test_resample_poly_equals_scipy(up, down, n, n_ch, seed, padtype, dtype):
    x = _signal(seed, n_ch, n, dtype)
    got = dsp.resample_poly(x, up, down, padtype=padtype)
    want = signal.resample_poly(
        x.astype(np.float64), up, down, axis=-1, padtype=padtype
    )
    assert got.shape == want.shape and got.dtype == dtype
    assert _err(got, want, x) <= (1e-10 if dtype == np.float64 else 1e-5)


@SETTINGS
@given(
    st.sampled_from([128.0, 200.0, 250.0, 256.0, 500.0, 512.0, 1000.0]),
    st.integers(0, 500),
    st.integers(0, 2**31),
    st.permutations(list(range(21))),
    st.booleans(),
)
def test_preprocess_equals_reference_any_channel_order(sfreq, extra, seed, perm, elm):
    electrodes = "FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T3 T4 T5 T6 A1 A2 FZ CZ PZ"
    names = [f"EEG {n}-LE" for n in electrodes.split()]
    names = [names[i] for i in perm]
    x = _signal(seed, 21, 28 + extra) * 1e-4
    kw = dict(scale=dsp.ELM_SCALE, clip=dsp.ELM_CLIP) if elm else {}
    got, got_names = dsp.preprocess(x, names, sfreq, dtype=np.float64, **kw)
    want, want_names = ref.preprocess(x, names, sfreq, **kw)
    assert got_names == want_names == [f"{a}-{b}" for a, b in dsp.TCP_PAIRS]
    scale = dsp.ELM_SCALE if elm else 1.0
    assert _err(got, want, x * scale) <= 1e-10
