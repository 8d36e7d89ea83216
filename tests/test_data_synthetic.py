"""Synthetic TUH-like corpus: real EDF, layout, determinism, signal <-> report truth."""

from __future__ import annotations

import time
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest
from scipy.signal import butter, sosfiltfilt, welch

from braindecode_elm.data import PHENOTYPES, make_synthetic_tuh, segment_report
from braindecode_elm.data.synthetic import subject_code
from braindecode_elm.dsp import normalize_ch_name

SCALP = ["FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8",
         "T3", "T4", "T5", "T6", "FZ", "CZ", "PZ"]  # fmt: skip


def _one(tmp_path, phenotype, n=2, seed=0, **kw):
    kw.setdefault("duration_s", (60, 70))
    return make_synthetic_tuh(
        tmp_path / phenotype,
        n,
        seed=seed,
        phenotype_weights={phenotype: 1.0},
        sessions_per_subject=(1, 1),
        progress=False,
        **kw,
    )


def _raw(corpus, i=0):
    row = corpus.ground_truth.iloc[i]
    raw = mne.io.read_raw_edf(
        corpus.root / row["edf_path"], preload=True, verbose="error"
    )
    return raw, row


def _picks(raw, electrodes):
    return [i for i, c in enumerate(raw.ch_names) if normalize_ch_name(c) in electrodes]


def _band_power(raw, electrodes, lo, hi):
    x = raw.get_data(picks=_picks(raw, electrodes))
    f, p = welch(x, fs=raw.info["sfreq"], nperseg=int(2 * raw.info["sfreq"]))
    return p[:, (f >= lo) & (f < hi)].sum(axis=1).mean()


def test_real_edf_tuh_names_layout_and_ground_truth(tmp_path):
    c = make_synthetic_tuh(tmp_path, 5, seed=1, duration_s=(60, 80), progress=False)
    gt = pd.read_csv(tmp_path / "ground_truth.csv")
    pd.testing.assert_frame_equal(
        gt, c.ground_truth.reset_index(drop=True), check_dtype=False
    )
    for col in ("recording_id", "subject", "phenotype", "abnormal", "age", "gender"):
        assert col in gt.columns
    assert set(gt["phenotype"]) <= set(PHENOTYPES)
    assert (gt["abnormal"] == (gt["phenotype"] != "normal").astype(int)).all()
    assert gt["recording_id"].is_unique
    for _, row in gt.iterrows():
        edf = tmp_path / row["edf_path"]
        parts = edf.relative_to(tmp_path).parts
        # edf/<group>/<subject>/<sNNN_YYYY_MM_DD>/<montage>/<subject>_<sNNN>_t000.edf
        assert parts[0] == "edf" and parts[2] == row["subject"]
        assert parts[3] == f"{row['session']}_{row['date'].replace('-', '_')}"
        assert parts[4] == row["montage"]
        assert (
            edf.stem == row["recording_id"] == f"{row['subject']}_{row['session']}_t000"
        )
        assert (tmp_path / row["report_path"]).parent == edf.parent.parent
        raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
        assert 21 <= len(raw.ch_names) <= 31
        assert raw.info["sfreq"] in (250.0, 256.0)
        assert raw.times[-1] + 1 / raw.info["sfreq"] == pytest.approx(row["duration_s"])
        ref = "LE" if row["montage"] == "02_tcp_le" else "REF"
        assert f"EEG FP1-{ref}" in raw.ch_names and f"EEG O2-{ref}" in raw.ch_names
        eeg = raw.get_data(picks=[c for c in raw.ch_names if c.startswith("EEG F")])
        rms = np.sqrt((eeg**2).mean())
        assert 5e-6 < rms < 150e-6  # plausible scalp EEG amplitudes in volts
    assert subject_code(1) == "aaaaaaab" and subject_code(26) == "aaaaaaba"


def test_deterministic_by_seed_and_refuses_overwrite(tmp_path):
    a = make_synthetic_tuh(
        tmp_path / "a", 3, seed=7, duration_s=(60, 61), progress=False
    )
    b = make_synthetic_tuh(
        tmp_path / "b", 3, seed=7, duration_s=(60, 61), progress=False
    )
    pd.testing.assert_frame_equal(a.ground_truth, b.ground_truth)
    par = make_synthetic_tuh(
        tmp_path / "par", 3, seed=7, duration_s=(60, 61), n_jobs=2, progress=False
    )
    pd.testing.assert_frame_equal(a.ground_truth, par.ground_truth)
    for p in a.ground_truth["edf_path"]:
        assert (a.root / p).read_bytes() == (b.root / p).read_bytes()
        assert (a.root / p).read_bytes() == (par.root / p).read_bytes()
        report = (a.root / p).parent.parent / f"{Path(p).stem.rsplit('_', 1)[0]}.txt"
        assert report.read_text() == (par.root / report.relative_to(a.root)).read_text()
    c = make_synthetic_tuh(
        tmp_path / "c", 3, seed=8, duration_s=(60, 61), progress=False
    )
    assert (a.root / a.ground_truth["edf_path"][0]).read_bytes() != (
        c.root / c.ground_truth["edf_path"][0]
    ).read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        make_synthetic_tuh(tmp_path / "a", 3, seed=7, progress=False)
    d = make_synthetic_tuh(
        tmp_path / "a", 2, seed=7, duration_s=(60, 61), overwrite=True, progress=False
    )
    assert len(list((tmp_path / "a").rglob("*.edf"))) == d.n_recordings
    with pytest.raises(ValueError, match="unknown phenotypes"):
        make_synthetic_tuh(tmp_path / "x", 1, phenotype_weights={"weird": 1.0})
    assert "recordings" in str(d) and "subjects" in str(d)


def test_phenotype_signal_effects(tmp_path):
    normal = _raw(_one(tmp_path, "normal"))[0]
    diffuse = _raw(_one(tmp_path, "diffuse_slowing"))[0]
    left = _raw(_one(tmp_path, "focal_slowing_left"))[0]
    right = _raw(_one(tmp_path, "focal_slowing_right"))[0]
    # Diffuse slowing: much more delta/theta everywhere.
    ratio = _band_power(diffuse, SCALP, 1, 7) / _band_power(normal, SCALP, 1, 7)
    assert ratio > 4, ratio
    # Focal slowing: delta lateralised to the named side (T3 left, T4 right).
    for raw, hi, lo in ((left, ["T3"], ["T4"]), (right, ["T4"], ["T3"])):
        r = _band_power(raw, hi, 1, 3) / _band_power(raw, lo, 1, 3)
        assert r > 4, r


def test_alpha_frequency_and_blocking_match_ground_truth(tmp_path):
    c = _one(tmp_path, "normal", n=3, seed=4)
    for i in range(3):
        raw, row = _raw(c, i)
        x = raw.get_data(picks=_picks(raw, ["O1", "O2"])).mean(axis=0)
        f, p = welch(x, fs=raw.info["sfreq"], nperseg=int(8 * raw.info["sfreq"]))
        band = (f > 6) & (f < 13)
        peak = f[band][np.argmax(p[band])]
        assert abs(peak - row["alpha_freq"]) < 0.6, (peak, row["alpha_freq"])
        # Alpha blocks with eyes open: its 2-s power varies a lot over time.
        sf = int(raw.info["sfreq"])
        segs = x[: len(x) // (2 * sf) * 2 * sf].reshape(-1, 2 * sf)
        fs, ps = welch(segs, fs=sf, nperseg=sf)
        a = ps[:, (fs >= 8) & (fs <= 12)].sum(axis=1)
        assert a.max() / a.min() > 4
    # Age slows the alpha rhythm in the plan of a larger corpus.
    big = make_synthetic_tuh(
        tmp_path / "big", 60, seed=3, duration_s=(1, 2), progress=False,
        phenotype_weights={"normal": 1.0},
    )  # fmt: skip
    gt = big.ground_truth
    assert np.corrcoef(gt["age"], gt["alpha_freq"])[0, 1] < -0.3


def test_epileptiform_signal(tmp_path):
    focal = _one(tmp_path, "epileptiform_focal", n=2, seed=1)
    gen = _raw(_one(tmp_path, "epileptiform_generalized"))[0]
    normal = _raw(_one(tmp_path, "normal"))[0]

    def sharpness(raw, names):
        # Peak amplitude in 3-15 Hz, where sharp waves live (muscle is faster,
        # blinks are frontal and slower).
        x = raw.get_data(picks=_picks(raw, names))
        sos = butter(4, [3, 15], "bandpass", fs=raw.info["sfreq"], output="sos")
        return np.percentile(np.abs(sosfiltfilt(sos, x)), 99.5)

    for i in range(2):
        raw, row = _raw(focal, i)
        side, other = (["T3", "F7"], ["T4", "F8"])
        if row["focal_side"] == "right":
            side, other = other, side
        assert sharpness(raw, side) > 2.5 * sharpness(raw, other)
    front = ["FZ", "F3", "F4"]
    assert sharpness(gen, front) > 4 * sharpness(normal, front)


def test_reports_state_the_ground_truth(tmp_path):
    words = {
        "normal": ["normal"],
        "diffuse_slowing": ["diffuse", "generalized"],
        "focal_slowing_left": ["left temporal"],
        "focal_slowing_right": ["right temporal"],
        "epileptiform_focal": ["sharp", "epileptiform"],
        "epileptiform_generalized": ["spike and wave"],
    }
    for pheno, keys in words.items():
        c = _one(tmp_path, pheno, n=3, seed=2, duration_s=(1, 2))
        for _, row in c.ground_truth.iterrows():
            text = (c.root / row["report_path"]).read_text()
            (impression,) = segment_report(text, "paragraph", headings=["IMPRESSION"])
            low = impression.lower()
            assert any(k in low for k in keys), (pheno, impression)
            if pheno != "normal":
                assert "abnormal" in low
            else:
                assert "abnormal" not in text.lower()
            if row["focal_side"] in ("left", "right"):
                other = "right" if row["focal_side"] == "left" else "left"
                assert f"{other} temporal" not in text
            assert f"{row['age']}" in text
            if row["benzodiazepine"]:
                assert "beta" in text
            for med in str(row["medications"]).split(";"):
                if med and med != "nan":
                    assert med in text


@pytest.mark.slow
def test_hundred_recordings_in_under_a_minute(tmp_path):
    t0 = time.perf_counter()
    c = make_synthetic_tuh(
        tmp_path, 50, seed=0, sessions_per_subject=(2, 2), duration_s=(120, 300),
        progress=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    assert c.n_recordings == 100
    assert 120 <= c.ground_truth["duration_s"].min()
    assert c.ground_truth["duration_s"].max() <= 300
    assert elapsed < 60, elapsed
