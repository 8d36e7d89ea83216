"""The preprocessing recipe: presets, validation, and the one path through it."""

from __future__ import annotations

import json
import warnings

import mne
import numpy as np
import pandas as pd
import pytest

from braindecode_elm import dsp
from braindecode_elm.dsp import _reference as ref

TCP_NAMES = [f"{a}-{b}" for a, b in dsp.TCP_PAIRS]


def _x(n_ch: int = 17, n: int = 256 * 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n_ch, n)) * 2e-5


def test_presets_hold_the_documented_defaults():
    elm = dsp.RECIPES["elm"]
    assert (elm.l_freq, elm.h_freq, elm.order, elm.out_sfreq) == (0.1, 49.0, 4, 100.0)
    assert (elm.montage, elm.scale, elm.clip) == ("tcp", 1e5, 80.0)
    assert (elm.padtype, elm.resample_padtype, elm.method) == (
        "odd",
        "constant",
        "engine",
    )
    assert dsp.RECIPES["default"].scale is None and dsp.RECIPES["default"].clip is None
    off = dsp.RECIPES["elm_official"]
    assert off.method == "mne" and off.drop_first_s == 10.0
    assert off.replace(method="engine", drop_first_s=0.0).to_dict(
        name=False
    ) == elm.to_dict(name=False)
    assert dsp.ELM_SCALE == elm.scale and dsp.ELM_CLIP == elm.clip
    assert dsp.ELM_SFREQ == elm.out_sfreq == 100.0 and dsp.ELM_CROP_S == 5.0
    assert dsp.Recipe.preset("elm") is elm
    assert elm.unit == "volts x 1e5 (ELM units)"
    assert dsp.RECIPES["default"].unit == "volts"


def test_recipe_is_frozen_and_round_trips_through_json():
    rec = dsp.RECIPES["elm"].replace(montage=[("FP1", "F7"), ("C3", "CZ")])
    assert rec.name == "custom" and rec.montage == (("FP1", "F7"), ("C3", "CZ"))
    with pytest.raises(AttributeError):
        rec.l_freq = 1.0  # type: ignore[misc]
    back = dsp.Recipe.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert back == rec and hash(back) == hash(rec)
    assert dsp.RECIPES["elm"].replace(l_freq=0.1).name == "elm"  # nothing changed


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(l_freq=49.0, h_freq=0.1), "l_freq .* must be < h_freq"),
        (dict(l_freq=0.0), "l_freq must be > 0"),
        (dict(h_freq=float("nan")), "h_freq must be a finite number"),
        (dict(order=0), "order must be an integer from 1 to 32"),
        (dict(out_sfreq=-100.0), "out_sfreq must be a positive"),
        (dict(scale=0.0), "scale must be positive or None"),
        (dict(clip=-1.0), "clip must be positive or None"),
        (dict(montage="banana"), "montage must be 'tcp'"),
        (dict(montage=[]), "empty list of pairs"),
        (dict(padtype="even"), "padtype must be one of"),
        (dict(resample_padtype="edge"), "resample_padtype must be one of"),
        (dict(method="torch"), "method must be one of"),
        (dict(drop_first_s=5.0), "drop_first_s=5 needs method='mne'"),
    ],
)
def test_bad_options_fail_when_the_recipe_is_built(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dsp.Recipe(**kwargs)


def test_unknown_names_and_fields_are_refused():
    with pytest.raises(ValueError, match="recipe must be one of"):
        dsp.as_recipe("fast")
    with pytest.raises(ValueError, match=r"unknown recipe fields \['lfreq'\]"):
        dsp.Recipe.from_dict({"lfreq": 1.0})
    with pytest.raises(TypeError, match="recipe must be a Recipe"):
        dsp.as_recipe(3.0)  # type: ignore[arg-type]


def test_band_above_nyquist_is_checked_against_the_recording():
    rec = dsp.Recipe(h_freq=60.0)
    rec.check_rate(256.0)
    with pytest.raises(ValueError, match="Nyquist"):
        rec.check_rate(100.0)
    with pytest.raises(ValueError, match="Nyquist"):
        dsp.preprocess(_x(), dsp.TCP_ELECTRODES, 100.0, recipe=rec)


def test_recipe_and_keywords_give_the_same_result():
    x = _x()
    names = list(dsp.TCP_ELECTRODES)
    by_kw, n1 = dsp.preprocess(
        x, names, 256.0, scale=dsp.ELM_SCALE, clip=dsp.ELM_CLIP, dtype=np.float64
    )
    by_name, n2 = dsp.preprocess(x, names, 256.0, recipe="elm", dtype=np.float64)
    by_obj, n3 = dsp.preprocess(
        x, names, 256.0, recipe=dsp.RECIPES["elm"], dtype=np.float64
    )
    np.testing.assert_array_equal(by_kw, by_name)
    np.testing.assert_array_equal(by_kw, by_obj)
    assert n1 == n2 == n3 == TCP_NAMES
    want, _ = ref.preprocess(x, names, 256.0, recipe=dsp.RECIPES["elm"])
    assert np.max(np.abs(by_obj - want)) <= 1e-10 * np.sqrt(np.mean(want**2))
    # A keyword overrides the recipe's field.
    wide, _ = dsp.preprocess(x, names, 256.0, recipe="elm", h_freq=40.0)
    narrow, _ = dsp.preprocess(
        x, names, 256.0, recipe=dsp.RECIPES["elm"].replace(h_freq=40.0)
    )
    np.testing.assert_array_equal(wide, narrow)
    # The streaming path and the batch take the same recipe.
    chunked, _ = dsp.preprocess_chunked(
        x, names, 256.0, recipe="elm", dtype=np.float64, block_seconds=600.0
    )
    np.testing.assert_array_equal(chunked, by_obj)
    [(batch, _)] = dsp.preprocess_batch(
        [x], [names], [256.0], recipe="elm", dtype=np.float64
    )
    np.testing.assert_array_equal(batch, by_obj)


def test_engine_refuses_the_mne_recipe():
    with pytest.raises(ValueError, match="preprocess_raw"):
        dsp.preprocess(_x(), list(dsp.TCP_ELECTRODES), 256.0, recipe="elm_official")


def test_true_output_rate():
    rec = dsp.RECIPES["elm"]
    assert rec.output_sfreq(256.0) == 100.0 and rec.output_sfreq(250.0) == 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert rec.output_sfreq(173.61) == pytest.approx(173.61 * 72 / 125)
    assert rec.output_sfreq(173.61) != 100.0


def test_cache_manifest_stores_recipe_and_true_rate(tmp_path):
    from braindecode.datasets import BaseConcatDataset, RawDataset

    from braindecode_elm.data import build_cache, open_cache

    chans = list(dsp.TCP_ELECTRODES)
    rows = []
    for rid, sfreq in (("even", 256.0), ("odd", 173.61)):
        n = int(sfreq * 70)
        info = mne.create_info(chans, sfreq, ch_types="eeg")
        raw = mne.io.RawArray(_x(len(chans), n, seed=3), info, verbose="error")
        rows.append(RawDataset(raw, pd.Series({"recording_id": rid, "report": "r"})))
    recipe = dsp.RECIPES["elm"].replace(h_freq=40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = build_cache(
            BaseConcatDataset(rows), tmp_path, recipe=recipe, progress=False
        )
    assert s.n_cached == 2
    manifest = [json.loads(line) for line in (tmp_path / "manifest.jsonl").open()]
    by_id = {r["recording_id"]: r for r in manifest}
    for r in manifest:
        assert r["recipe"] == "custom"
        assert dsp.Recipe.from_dict({"name": "custom", **r["params"]}) == recipe
        assert r["sfreq"] == 100.0
    assert by_id["even"]["true_sfreq"] == 100.0
    assert by_id["odd"]["true_sfreq"] == pytest.approx(173.61 * 72 / 125)
    assert open_cache(tmp_path)["odd"].true_sfreq == by_id["odd"]["true_sfreq"]
    # Resuming with another band is refused: the stored fields differ.
    with pytest.raises(ValueError, match="stored fields"):
        build_cache(
            BaseConcatDataset(rows),
            tmp_path,
            recipe=recipe.replace(h_freq=45.0),
            progress=False,
        )
