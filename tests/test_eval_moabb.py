"""ELMFeatures and the MOABB evaluations (offline, small subsets of real data)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from braindecode_elm.dsp import TCP_PAIRS
from braindecode_elm.evaluation import ELMFeatures
from braindecode_elm.evaluation.features import to_volts

ELECTRODES = sorted({e for pair in TCP_PAIRS for e in pair})


def _epochs(n=4, sfreq=250.0, seconds=5.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, len(ELECTRODES), int(sfreq * seconds))) * 1e-5


def test_elm_features_shapes_units_and_windows():
    import torch

    from braindecode_elm.dsp import ELM_CLIP, ELM_SCALE, preprocess
    from braindecode_elm.models import ELMEncoder

    X = _epochs()
    torch.manual_seed(0)
    enc = ELMEncoder(n_filters=8).eval()
    f = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, units="V").fit(X)
    Z = f.transform(X)
    assert Z.shape == (4, 256)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-6)
    # the same epoch by hand: engine -> tower -> L2 normalisation
    y, _ = preprocess(X[0], ELECTRODES, 250.0, scale=ELM_SCALE, clip=ELM_CLIP)
    with torch.no_grad():
        e = enc(torch.from_numpy(y[None]).float()).numpy()[0]
    np.testing.assert_allclose(Z[0], e / np.linalg.norm(e), atol=1e-5)
    # microvolts are detected (with a warning) and give the same features
    with pytest.warns(UserWarning, match="microvolts"):
        Zu = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0).transform(X * 1e6)
    np.testing.assert_allclose(Zu, Z, atol=1e-5)
    Zx = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, units="uV").transform(
        X * 1e6
    )
    np.testing.assert_allclose(Zx, Z, atol=1e-5)
    # 10 s epochs: two 5 s windows whose embeddings are averaged
    X10 = _epochs(2, seconds=10.0)
    f10 = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, units="V")
    Z10 = f10.transform(X10)
    halves = [f.transform(X10[:, :, :1250]), f.transform(X10[:, :, 1250:])]
    m = halves[0] + halves[1]
    assert Z10.shape == (2, 256)
    # filtering the whole 10 s differs slightly at the cut, so compare loosely
    cos = np.sum(Z10 * m / np.linalg.norm(m, axis=1, keepdims=True), axis=1)
    assert (cos > 0.95).all()
    feats = ELMFeatures(enc, ch_names=ELECTRODES, sfreq=250.0, output="features")
    assert feats.transform(X).shape == (4, 24)


def test_elm_features_errors():
    X = _epochs(2)
    with pytest.raises(ValueError, match="electrodes of the TCP montage"):
        ELMFeatures(ch_names=ELECTRODES[1:], sfreq=250.0).transform(X[:, 1:])
    with pytest.raises(ValueError, match="ch_names"):
        ELMFeatures().transform(X)
    with pytest.raises(ValueError, match="n_epochs, n_channels, n_times"):
        ELMFeatures(ch_names=ELECTRODES, sfreq=250.0).transform(X[0])
    with pytest.raises(ValueError, match="channels but ch_names"):
        ELMFeatures(ch_names=ELECTRODES[:-1], sfreq=250.0).transform(X)
    with pytest.raises(ValueError, match="units"):
        to_volts(X, "kV")
    with pytest.raises(TypeError, match="ELM bundle"):
        ELMFeatures(model=3, ch_names=ELECTRODES, sfreq=250.0).fit(X)


def test_elm_features_accepts_mne_epochs():
    import mne

    X = _epochs(3)
    info = mne.create_info(ELECTRODES + ["ECG"], 250.0, ["eeg"] * 17 + ["ecg"])
    data = np.concatenate([X, X[:, :1] * 50], axis=1)
    epochs = mne.EpochsArray(data, info, verbose="error")
    f = ELMFeatures(units="uV")  # ignored for Epochs: MNE data are volts
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = f.transform(epochs)
    Za = ELMFeatures(ch_names=ELECTRODES, sfreq=250.0, units="V").transform(X)
    np.testing.assert_allclose(Z, Za, atol=1e-6)


@pytest.mark.slow
@pytest.mark.realdata
def test_moabb_cross_subject_eegmat(eegmat_dir, tmp_path):
    """Leave-one-subject-out on 4 eegmat subjects: ELM vs CSP/TS/ShallowFBCSPNet."""
    import torch

    from braindecode_elm.data.moabb_datasets import EEGMATMOABB
    from braindecode_elm.evaluation.moabb_eval import (
        WindowParadigm,
        run_moabb_comparison,
    )

    torch.set_num_threads(1)
    ds = EEGMATMOABB(eegmat_dir, download=False)
    par = WindowParadigm(["rest", "arithmetic"], tmin=0.0, tmax=5.0)
    res = run_moabb_comparison(
        ds,
        par,
        subjects=[1, 2, 3, 4],
        n_epochs=1,
        pipelines=["ELM+LR", "CSP+LDA", "TS+LR", "ShallowFBCSPNet"],
        out_dir=tmp_path,
    )
    assert set(res["pipeline"]) == {"ELM+LR", "CSP+LDA", "TS+LR", "ShallowFBCSPNet"}
    assert set(res["subject"].astype(int)) == {1, 2, 3, 4}
    assert res["score"].between(0, 1).all()
    assert (res["samples"] > 0).all()
    assert (tmp_path / "results.csv").exists() and (tmp_path / "results.png").exists()
    # every pipeline saw the same folds: one row per (pipeline, test subject)
    assert res.groupby("pipeline").size().eq(4).all()


@pytest.mark.slow
def test_moabb_phenotype_paradigm(tmp_path):
    from eval_helpers import build_small_cache

    from braindecode_elm.evaluation.moabb_eval import (
        CorpusPhenotypeDataset,
        RecordingPhenotype,
        run_moabb_comparison,
    )

    _, labels, raw = build_small_cache(tmp_path, n_subjects=8, seed=3)
    ds = CorpusPhenotypeDataset(raw, raw / "ground_truth.csv", window_s=20)
    assert ds.event_id == {"abnormal": 1, "normal": 2}
    assert len(ds.subject_list) == 8
    par = RecordingPhenotype(window_s=20)
    res = run_moabb_comparison(
        ds, par, pipelines=["ELM+LR", "TS+LR"], n_splits=2, out_dir=tmp_path / "o"
    )
    assert set(res["pipeline"]) == {"ELM+LR", "TS+LR"}
    assert len(res) == 2 * 2  # GroupKFold: one score per fold and pipeline
    assert res["score"].between(0, 1).all()
    with pytest.raises(ValueError, match="lacks the paradigm's events"):
        from braindecode_elm.evaluation.moabb_eval import WindowParadigm

        run_moabb_comparison(ds, WindowParadigm(["rest"]), pipelines=["TS+LR"])
