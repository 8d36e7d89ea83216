"""Where the data is: argument, ELM_DATA_DIR, MNE's config key, checkout default."""

from __future__ import annotations

import json

import mne

from braindecode_elm._config import DATA_ENV, data_dir


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".mne").mkdir(parents=True)
    monkeypatch.setenv("_MNE_FAKE_HOME_DIR", str(home))
    from_config, from_env, explicit = (tmp_path / n for n in ("cfg", "env", "arg"))
    (home / ".mne" / "mne-python.json").write_text(
        json.dumps({DATA_ENV: str(from_config)})
    )
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert mne.get_config(DATA_ENV) == str(from_config)
    assert data_dir() == from_config.resolve()  # MNE-style config key
    monkeypatch.setenv(DATA_ENV, str(from_env))
    assert data_dir() == from_env.resolve()  # the environment wins over the file
    assert data_dir(explicit) == explicit.resolve()  # an argument wins over all
