"""EEGMAT and EEGBCI from the shared PhysioNet folder, offline; MOABB adapters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from braindecode_elm.data import (
    EEGBCI,
    EEGMAT,
    EEGMAT_CAPTIONS,
    build_cache,
    open_cache,
)

pytestmark = pytest.mark.realdata


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Any network access would be a bug: the data are local.
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_eegmat_loads_offline_with_descriptions(eegmat_dir):
    ds = EEGMAT(eegmat_dir, subjects=[0, 5], download=False)
    d = ds.description
    assert d["recording_id"].tolist() == [
        "Subject00_1",
        "Subject00_2",
        "Subject05_1",
        "Subject05_2",
    ]
    assert d["target"].tolist() == [0, 1, 0, 1]
    assert d["label"].tolist() == ["rest", "arithmetic"] * 2
    assert d["subject"].tolist() == ["eegmat-00"] * 2 + ["eegmat-05"] * 2
    info = pd.read_csv(eegmat_dir / "subject-info.csv").set_index("Subject")
    assert d["age"].iloc[2] == info.loc["Subject05", "Age"]
    assert d["gender"].iloc[2] == info.loc["Subject05", "Gender"]
    assert d["count_quality"].iloc[2] == info.loc["Subject05", "Count quality"]
    assert d["caption"].iloc[0] == EEGMAT_CAPTIONS["rest"]
    assert d["report"].iloc[1] == EEGMAT_CAPTIONS["arithmetic"]
    raw = ds.datasets[0].raw
    assert raw.info["sfreq"] == 500.0 and raw.times[-1] == pytest.approx(62.0, abs=0.01)
    assert raw.ch_names[:3] == ["Fp1", "Fp2", "F3"] and "ECG" in raw.ch_names
    x, y = ds[0]
    assert y == 0 and x.shape == (21, 1)
    # Default path resolution (ELM_DATA_DIR / ../shared/data) finds the same files.
    assert len(EEGMAT(subjects=[1], download=False).datasets) == 2
    custom = EEGMAT(eegmat_dir, subjects=[1], captions={"rest": "Eyes closed rest."})
    assert custom.description["caption"].tolist()[0] == "Eyes closed rest."
    with pytest.raises(ValueError, match="0-35"):
        EEGMAT(eegmat_dir, subjects=[40])


def test_eegmat_cache_with_lowered_length_rule(eegmat_dir, tmp_path):
    ds = EEGMAT(eegmat_dir, subjects=[2], download=False)
    s = build_cache(ds, tmp_path, progress=False)
    assert s.n_cached == 2
    c = open_cache(tmp_path)
    rec = c["Subject02_2"]
    assert rec.n_times == 6200 and rec.description["target"] == 1
    assert rec.segments() == [EEGMAT_CAPTIONS["arithmetic"]]
    # 62 s: no 60-s crop after dropping 10 s; the evaluation setting drops none.
    assert rec.crops(60.0).shape[0] == 0
    assert rec.crops(60.0, drop_first_s=0).shape == (1, 20, 6000)
    assert rec.crops(5.0, drop_first_s=0).shape == (12, 20, 500)
    # A stricter minimum length skips them, with the reason.
    s = build_cache(ds, tmp_path / "strict", min_duration_s=70.0, progress=False)
    assert s.reasons == {"too_short": 2}


def test_eegbci_loads_offline_with_events_and_captions(eegbci_dir):
    ds = EEGBCI(eegbci_dir, runs=[4, 5], download=False)
    d = ds.description
    assert d["recording_id"].tolist() == ["S001R04", "S001R05"]
    assert d["task"].tolist() == ["imagined_fists", "real_fists_feet"]
    assert d["subject"].tolist() == ["eegbci-001"] * 2
    raw = ds.datasets[0].raw
    assert raw.info["sfreq"] == 160.0 and len(raw.ch_names) == 64
    labels = set(raw.annotations.description)
    assert labels == {"rest", "left_hand", "right_hand"}
    assert len(raw.annotations) == 30
    assert set(ds.datasets[1].raw.annotations.description) == {"rest", "hands", "feet"}
    caps = d["event_captions"].iloc[0]
    assert caps["left_hand"].endswith("left fist.") and "imagining" in caps["left_hand"]
    assert "imagery" in d["caption"].iloc[0].lower()
    raw_codes = EEGBCI(eegbci_dir, runs=[4], rename_events=False, download=False)
    assert set(raw_codes.datasets[0].raw.annotations.description) == {"T0", "T1", "T2"}
    assert set(raw_codes.description["event_captions"].iloc[0]) == {"T0", "T1", "T2"}
    with pytest.raises(ValueError, match="3-14"):
        EEGBCI(eegbci_dir, runs=[1])


def test_eegbci_cache_tcp(eegbci_dir, tmp_path):
    ds = EEGBCI(eegbci_dir, runs=[4], download=False)
    s = build_cache(ds, tmp_path, progress=False)
    assert s.n_cached == 1
    rec = open_cache(tmp_path)["S001R04"]
    assert rec.data.shape == (20, 12500) and rec.ch_names[1] == "F7-T3"
    assert np.isfinite(rec.data).all()


def test_moabb_adapters_run_offline(eegmat_dir, eegbci_dir):
    pytest.importorskip("moabb")
    from moabb.paradigms import MotorImagery, RestingStateToP300Adapter

    from braindecode_elm.data import EEGBCIMOABB, EEGMATMOABB

    m = EEGMATMOABB(eegmat_dir.parents[3], download=False)
    paths = m.data_path(1)
    assert paths == [
        str(eegmat_dir / "Subject00_1.edf"),
        str(eegmat_dir / "Subject00_2.edf"),
    ]
    # rest vs arithmetic is not motor imagery: MOABB's resting-state adapter
    # takes EEGMAT, MotorImagery refuses it
    assert not MotorImagery(events=["rest", "arithmetic"], n_classes=2).is_valid(m)
    p = RestingStateToP300Adapter(
        events=["rest", "arithmetic"], fmin=1, fmax=40, tmin=0, tmax=5, resample=None
    )
    X, y, meta = p.get_data(m, [1])
    assert X.shape[0] == 24 and X.shape[1] == 19
    assert sorted(set(y)) == ["arithmetic", "rest"]
    assert meta["subject"].unique().tolist() == [1]

    e = EEGBCIMOABB(eegbci_dir, download=False)
    assert all(p.endswith(("R04.edf", "R06.edf", "R08.edf", "R10.edf", "R12.edf",
                           "R14.edf")) for p in e.data_path(1))  # fmt: skip
    p = MotorImagery(events=["left_hand", "right_hand"], n_classes=2)
    X, y, _ = p.get_data(e, [1])
    assert X.shape[0] == 45 and X.shape[1] == 64
    assert sorted(set(y)) == ["left_hand", "right_hand"]


def test_dataset_classes_never_download_by_default(tmp_path):
    # README/getting_started promise: no download unless download=True.
    for cls, name in ((EEGMAT, "EEGMAT"), (EEGBCI, "EEGBCI")):
        with pytest.raises(FileNotFoundError, match=f"{name} not found") as err:
            cls(tmp_path)
        assert "download=True" in str(err.value) and "path=" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing fetched or created


def test_missing_data_errors_and_offline_fetch_message(tmp_path):
    from braindecode_elm.data import fetch_eegmat

    with pytest.raises(FileNotFoundError, match="EEGMAT not found"):
        EEGMAT(tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match="EEGBCI not found"):
        EEGBCI(tmp_path, download=False)
    # With the network refused, the fetch path fails with a message saying what
    # to do; it writes nothing usable.
    pytest.importorskip("pooch")
    with pytest.raises(ConnectionError, match="offline"):
        fetch_eegmat(tmp_path, subjects=[0])
    assert not list(tmp_path.rglob("*.edf"))
