"""ELMFeatures and ELM.embed_eeg on real eegmat epochs, the way MNE and
scikit-learn users call them: refitting after set_params, channels marked bad,
cross-validation on mne.Epochs, data given in the wrong unit, too-short epochs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from braindecode_elm.evaluation import ELMFeatures
from braindecode_elm.evaluation.features import ClipWarning


@pytest.fixture(scope="module")
def epochs(eegmat_dir):
    """5 s epochs of subject 24 at rest and during arithmetic (volts, 500 Hz)."""
    import mne

    parts, y = [], []
    for state in (1, 2):
        raw = mne.io.read_raw_edf(
            eegmat_dir / f"Subject24_{state}.edf", preload=True, verbose=False
        )
        ep = mne.make_fixed_length_epochs(
            raw, duration=5.0, preload=True, verbose=False
        )[:6]
        parts.append(ep)
        y += [state - 1] * len(ep)
    return mne.concatenate_epochs(parts, verbose=False), np.asarray(y)


def _names(ep) -> list[str]:
    return [
        ep.ch_names[i] for i in range(len(ep.ch_names)) if ep.ch_names[i] != "ECG ECG"
    ]


def test_fit_uses_the_current_parameters(epochs):
    ep, _ = epochs
    f = ELMFeatures(None, seed=0).fit(ep)
    z0 = f.transform(ep)
    z1 = f.set_params(seed=1).fit(ep).transform(ep)
    assert not np.allclose(z0, z1)
    np.testing.assert_allclose(z1, ELMFeatures(None, seed=1).fit_transform(ep))
    g = ELMFeatures("elm-open-5s").fit(ep)
    loaded = g._model_
    assert g.fit(ep)._model_ is loaded  # same parameters: not loaded again
    zb = g.transform(ep)
    zu = g.set_params(model=None).fit(ep).transform(ep)
    np.testing.assert_allclose(zu, z0)  # the untrained tower of seed 0 again
    assert not np.allclose(zb, zu)


def test_channels_marked_bad_are_used_by_the_montage_with_a_warning(epochs):
    # As preprocess_raw does: the montage needs its electrodes whatever their
    # mark (before, any bad channel failed: 'x has 20 channels but 21 names').
    ep, _ = epochs
    ref = ELMFeatures(None).fit_transform(ep)
    marked = ep.copy()
    marked.info["bads"] = ["EEG Fz", "EEG A2-A1"]  # not in the TCP montage
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        f = ELMFeatures(None).fit(marked)
        np.testing.assert_array_equal(f.transform(marked), ref)
    assert f.n_features_in_ == len(ep.ch_names)
    marked.info["bads"] = ["EEG C3"]  # needed by the montage
    with pytest.warns(UserWarning, match=r"\['EEG C3'\].*interpolate_bads") as rec:
        got = ELMFeatures(None).fit_transform(marked)
    np.testing.assert_array_equal(got, ref)
    # said once, not once by fit and again by transform (outside user)
    assert sum("EEG C3" in str(w.message) for w in rec) == 1


def test_cross_validation_on_epochs_equals_arrays(epochs):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    ep, y = epochs
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    on_epochs = cross_val_score(
        make_pipeline(ELMFeatures("elm-open-5s"), LogisticRegression()), ep, y, cv=cv
    )
    names = _names(ep)
    X = ep.get_data(picks=names)
    on_arrays = cross_val_score(
        make_pipeline(
            ELMFeatures("elm-open-5s", ch_names=names, sfreq=500.0, units="V"),
            LogisticRegression(),
        ),
        X,
        y,
        cv=cv,
    )
    np.testing.assert_allclose(on_epochs, on_arrays)
    assert on_epochs.shape == (3,)


def test_raw_is_refused_at_fit(epochs, eegmat_dir):
    import mne

    raw = mne.io.read_raw_edf(eegmat_dir / "Subject24_1.edf", verbose=False)
    with pytest.raises(ValueError, match="make_fixed_length_epochs"):
        ELMFeatures(None).fit(raw)


def test_data_read_too_small_is_a_unit_mistake(epochs):
    ep, _ = epochs
    names = _names(ep)
    volts = ep.get_data(picks=names)
    f = ELMFeatures(None, ch_names=names, sfreq=500.0, units="uV")
    with pytest.raises(ValueError, match=r"uV rms .*unit mistake"):
        f.fit_transform(volts)  # volts declared as microvolts
    with pytest.warns(ClipWarning, match="unit mistake"):
        f.set_params(on_clip="warn").fit_transform(volts)
    # the right unit passes without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClipWarning)
        ELMFeatures(None, ch_names=names, sfreq=500.0, units="uV").fit_transform(
            volts * 1e6
        )


def test_too_short_epochs_name_the_minimum(epochs):
    ep, _ = epochs
    short = ep.copy().crop(tmax=1.0)
    with pytest.raises(ValueError, match=r"too short .* at least 1.08 s"):
        ELMFeatures(None).fit_transform(short)
    assert ELMFeatures(None).fit_transform(ep.copy().crop(tmax=1.5)).shape == (
        len(ep),
        256,
    )


def test_embed_eeg_checks_its_input(epochs):
    from braindecode_elm.dsp import preprocess
    from braindecode_elm.models import ELM

    ep, _ = epochs
    names = _names(ep)
    model = ELM.from_pretrained("elm-open-5s").eval()
    x = np.stack(
        [preprocess(e, names, 500.0, recipe="elm")[0] for e in ep.get_data(picks=names)]
    )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = model.embed_eeg(x)  # ELM units: no warning
        ro = x.copy()
        ro.setflags(write=False)  # as a cache's memory map: no torch warning
        torch.testing.assert_close(model.embed_eeg(ro), ok)
        assert ok.shape == (len(ep), 256)
        with pytest.warns(UserWarning, match="Data in volts"):
            warnings.simplefilter("default")
            flat = model.embed_eeg(x / 1e5)
    # what the warning is about: volts embed to nearly one vector
    assert float((flat @ flat.T).min()) > 0.999 > float((ok @ ok.T).min())
    bad = x.copy()
    bad[1, 3, 10] = np.nan
    with (
        torch.no_grad(),
        pytest.raises(ValueError, match="NaN or infinite values in 1"),
    ):
        model.embed_eeg(bad)
    with (
        torch.no_grad(),
        warnings.catch_warnings(),
        pytest.raises(ValueError, match="expected 20 channels"),
    ):
        # the shape error alone: a unit warning first pointed elsewhere
        warnings.simplefilter("error")
        model.embed_eeg(x[:, :19] / 1e5)
    # microvolts given as ELM units (10x): a different embedding, now said
    with torch.no_grad(), pytest.warns(UserWarning, match=r"Microvolts\? .*divide"):
        micro = model.embed_eeg(x * 10)
    assert float((micro * ok).sum(1).max()) < 0.9


def test_preprocess_warns_when_the_input_is_not_volts(epochs):
    from braindecode_elm.dsp import preprocess

    ep, _ = epochs
    names = _names(ep)
    volts = ep.get_data(picks=names)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preprocess(volts, names, 500.0, recipe="elm")
    with pytest.warns(
        UserWarning, match=r"over 1 % of the output samples are at the clip"
    ):
        y, _ = preprocess(volts * 1e6, names, 500.0, recipe="elm")
    assert np.mean(np.abs(y) >= 79.2) > 0.3
    # the unscaled recipe has no clip: nothing to say
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preprocess(volts * 1e6, names, 500.0, recipe="default")


def test_the_unused_end_of_an_epoch_is_said(epochs):
    """A 7.5 s epoch is embedded from its first 5 s, as ELM crops recordings;
    that was silent (outside user)."""
    ep, _ = epochs
    names = _names(ep)
    data = ep.get_data(picks=names)
    long = np.concatenate([data[:2], data[2:4]], axis=-1)  # 10 s, 2 epochs
    f = ELMFeatures(None, ch_names=names, sfreq=500.0, units="V")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ten = f.fit_transform(long)
    cut = long[..., : int(7.5 * 500)]
    g = ELMFeatures(None, ch_names=names, sfreq=500.0, units="V")
    with pytest.warns(UserWarning, match=r"the last 2.5 s of each epoch are not used"):
        seven = g.fit_transform(cut)
    assert seven.shape == ten.shape


def test_fit_refuses_what_transform_would(epochs):
    """fit accepted 1 s epochs, window_seconds=0, output='foo', sfreq=30 and
    missing electrodes; they failed only at transform, some as internal errors
    (ZeroDivisionError, range() arg 3 must not be zero) (outside user)."""
    ep, _ = epochs
    x = ep.get_data()
    names = list(ep.ch_names)
    arr = dict(ch_names=names, sfreq=500.0, units="V")
    cases = [
        (dict(arr), x[..., :100], r"epochs of 0.2 s are too short .* at least 1.08 s"),
        (dict(arr, window_seconds=0), x, r"window_seconds must be a positive number"),
        (dict(arr, batch_size=0), x, r"batch_size must be a positive integer, got 0"),
        (dict(arr, output="foo"), x, r"output must be 'embedding' or 'features'"),
        (dict(arr, on_clip="nope"), x, r"on_clip must be 'raise', 'warn' or 'ignore'"),
        (dict(arr, sfreq=0.0), x, r"sfreq must be a positive number of Hz, got 0.0"),
        (dict(arr, sfreq=-500.0), x, r"sfreq must be a positive number of Hz"),
        (dict(arr, sfreq=30.0), x, r"sampled at 30 Hz, whose Nyquist"),
        (
            dict(arr, ch_names=[n.replace("Cz", "Xx") for n in names]),
            x,
            r"needs the 17 electrodes of the TCP montage",
        ),
    ]
    for kwargs, data, msg in cases:
        f = ELMFeatures(None, **kwargs)
        with pytest.raises(ValueError, match=msg):
            f.fit(data)
        assert not hasattr(f, "n_features_in_"), kwargs
    with pytest.raises(ValueError, match=r"window_seconds=0.5 is shorter than"):
        ELMFeatures(None, window_seconds=0.5, **arr).fit(x)
    # set after a good fit: transform says it too, not an internal error
    f = ELMFeatures(None, **arr).fit(x)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        f.set_params(batch_size=0).transform(x)
    # a refit that fails leaves it unfitted (for scikit-learn too)
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    f.set_params(batch_size=8)
    with pytest.raises(ValueError, match="too short"):
        f.fit(x[..., :100])
    with pytest.raises(NotFittedError):
        check_is_fitted(f)
    with pytest.raises(NotFittedError):
        f.transform(x)


def test_a_60s_tower_gets_60s_windows(eegmat_dir):
    """window_seconds was 5 s whatever the tower: a 60 s tower failed on every
    epoch with a traceback saying 'ELM is trained on 5 s' (outside user)."""
    import mne

    from braindecode_elm.dsp import preprocess
    from braindecode_elm.models import ELMEncoder

    torch.manual_seed(0)
    enc = ELMEncoder(variant="60s").eval()
    raw = mne.io.read_raw_edf(
        eegmat_dir / "Subject24_1.edf", preload=True, verbose=False
    )
    ep = mne.make_fixed_length_epochs(raw, duration=60.0, preload=True, verbose=False)
    got = ELMFeatures(enc).fit_transform(ep)
    y, _ = preprocess(
        ep.get_data()[0], list(ep.ch_names), 500.0, recipe="elm", dtype=np.float32
    )
    with torch.no_grad():
        ref = torch.nn.functional.normalize(enc(torch.from_numpy(y[None])), dim=-1)
    np.testing.assert_allclose(got, ref.numpy(), atol=1e-5)
    short = mne.make_fixed_length_epochs(raw, duration=5.0, preload=True, verbose=False)
    with pytest.raises(ValueError, match=r"at least 5.76 s .* trained on 60 s windows"):
        ELMFeatures(enc).fit(short)
    # a tower built for 10 s windows gets 10 s windows, as the CLI crops
    ten = ELMEncoder(variant="60s", n_times=1000, sfreq=100).eval()
    f = ELMFeatures(ten).fit(ep)
    assert f._window_s() == 10.0 and f.transform(ep).shape == (1, 256)


def test_random_elm_by_name_takes_the_seed_and_leaves_the_callers_rng(epochs):
    """'random-elm' reset torch's global generator to 0 and ignored seed=:
    a seed loop gave identical 'random' baselines (outside user)."""
    ep, _ = epochs
    torch.manual_seed(42)
    ref = torch.rand(3)
    torch.manual_seed(42)
    z5 = ELMFeatures("random-elm", seed=5).fit_transform(ep)
    assert torch.equal(torch.rand(3), ref)
    z0 = ELMFeatures("random-elm", seed=0).fit_transform(ep)
    assert not np.allclose(z5, z0)
    np.testing.assert_allclose(z5, ELMFeatures("random-elm", seed=5).fit_transform(ep))
