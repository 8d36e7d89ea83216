"""scikit-learn's estimator contracts, re-stated for 3-D EEG input.

scikit-learn's own ``check_estimator`` feeds 2-D tables, so the checks that apply
to an estimator of (epochs, channels, times) arrays are spelled out here for
:class:`~braindecode_elm.evaluation.moabb_eval.BraindecodeClassifier` (the
braindecode networks in the MOABB comparisons).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError

pytest.importorskip("moabb")

from braindecode_elm.evaluation.moabb_eval import BraindecodeClassifier  # noqa: E402

torch.set_num_threads(1)


def _data(n=12, n_chans=4, n_times=200, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(["left", "right"] * (n // 2))
    X = rng.normal(0, 1e-5, (n, n_chans, n_times))  # volts, ~10 uV
    X[y == "right", :, :] += 2e-5 * np.sin(np.arange(n_times) / 3.0)
    return X, y


def _clf(**kw):
    args = dict(max_epochs=2, batch_size=6, units="V", seed=0)
    args.update(kw)
    return BraindecodeClassifier(**args)


def test_unfitted_estimator_raises_not_fitted():
    X, y = _data()
    clf = _clf()
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(NotFittedError):
            method(X)
    with pytest.raises(NotFittedError):
        clf.score(X, y)
    assert not hasattr(clf, "n_features_in_")


def test_tags_say_three_d_input_and_classifier():
    clf = _clf()
    assert is_classifier(clf)
    tags = clf.__sklearn_tags__()
    assert tags.estimator_type == "classifier"
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    assert not tags.input_tags.allow_nan
    assert tags.requires_fit and tags.classifier_tags.multi_class


def test_fit_sets_attributes_and_keeps_parameters():
    X, y = _data()
    clf = _clf()
    params = clf.get_params()
    assert clf.fit(X, y) is clf
    # fit must not change constructor parameters (sklearn's
    # check_dont_overwrite_parameters)
    assert clf.get_params() == params
    assert clf.n_features_in_ == 4 and clf.n_times_in_ == 200
    assert list(clf.classes_) == ["left", "right"]
    proba = clf.predict_proba(X)
    assert proba.shape == (12, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= {"left", "right"}
    assert 0.0 <= clf.score(X, y) <= 1.0
    # clone gives an unfitted estimator with the same parameters
    fresh = clone(clf)
    assert fresh.get_params() == params and not hasattr(fresh, "net_")
    # a fitted estimator pickles and predicts the same afterwards
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), proba, rtol=1e-6)


def test_fit_is_deterministic_for_a_seed():
    X, y = _data()
    p1 = _clf().fit(X, y).predict_proba(X)
    p2 = _clf().fit(X, y).predict_proba(X)
    np.testing.assert_allclose(p1, p2, rtol=0, atol=1e-6)


def test_bad_input_at_fit_is_named():
    X, y = _data()
    with pytest.raises(ValueError, match="X holds no data"):
        _clf().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="X holds no data"):
        _clf().fit(X[:, :, :0], y)
    bad = X.copy()
    bad[3, 1, 7] = np.nan
    bad[5, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite values in 2 of 12 epochs"):
        _clf().fit(bad, y)
    with pytest.raises(ValueError, match=r"must be \(n_epochs, n_channels, n_times\)"):
        _clf().fit(X[:, 0, :], y)
    with pytest.raises(ValueError, match="one label per epoch.*for 12 epochs"):
        _clf().fit(X, y[:5])
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 'left'"):
        _clf().fit(X, np.full(12, "left"))
    with pytest.raises(ValueError, match="only one class: 'left'"):
        _clf().fit(X, np.full(12, "left", dtype=object))  # e.g. a pandas column
    with pytest.raises(ValueError, match="only one class: 3$"):
        _clf().fit(X, np.full(12, 3))
    with pytest.raises(TypeError, match="takes arrays"):
        import mne

        info = mne.create_info(4, 100.0, "eeg")
        _clf().fit(mne.EpochsArray(X, info, verbose="error"), y)


def test_predict_checks_shape_against_fit():
    X, y = _data()
    clf = _clf().fit(X, y)
    with pytest.raises(ValueError, match="3 channels x 200 samples.*fitted with 4 x"):
        clf.predict(X[:, :3])
    bad = X[:2].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values in 1 of 2 epochs"):
        clf.predict(bad)
