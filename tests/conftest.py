"""Shared pytest fixtures: where the real data is, a skip that says why, and a
Hugging Face cache laid out offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from braindecode_elm._config import DATA_ENV, data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared PhysioNet data folder; skips with a clear message when absent."""
    root = data_dir()
    if not (root / "eegmat").is_dir() and not (root / "eegbci").is_dir():
        pytest.skip(
            f"shared EEG data not found at {root}; set {DATA_ENV} to the folder "
            "holding eegmat/ and eegbci/ to run the real-data tests"
        )
    return root


@pytest.fixture(scope="session")
def eegmat_dir(shared_data: Path) -> Path:
    path = shared_data / "eegmat" / "files" / "eegmat" / "1.0.0"
    if not path.is_dir():
        pytest.skip(f"eegmat data not found at {path} (set {DATA_ENV})")
    return path


@pytest.fixture(scope="session")
def eegbci_dir(shared_data: Path) -> Path:
    path = shared_data / "eegbci"
    if not (path / "MNE-eegbci-data").is_dir():
        pytest.skip(f"EEGBCI data not found at {path} (set {DATA_ENV})")
    return path


def _fill_hf_cache(
    cache: Path, repo_id: str, folder: Path, commit: str = "a" * 40
) -> Path:
    """Lay out ``folder`` as the Hugging Face cache holds a downloaded repo."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        (snap / f.name).write_bytes(f.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return snap


@pytest.fixture
def fill_hf_cache() -> Callable[..., Path]:
    """``fill_hf_cache(cache, repo_id, folder)``: a saved bundle as a cached hub repo.

    Lets ``from_pretrained("user/repo")`` be tested offline (``HF_HUB_OFFLINE``)
    without a network download; returns the snapshot folder.
    """
    return _fill_hf_cache


def pytest_report_header(config: pytest.Config) -> str:
    """Say which SIMD kernels the engine runs (``ELM_SIMD`` may force one)."""
    from braindecode_elm import _rust

    return (
        f"braindecode-elm engine: simd_level={_rust.simd_level()} "
        f"(cpu {_rust.cpu_simd_level()}, kernels {_rust.kernel_simd_levels()})"
    )
