"""Bad input and faults around the preprocessed cache (issue 16).

Each case is a hostile or unlucky situation a user can reach: a build killed
mid-row, a cut-short array, a manifest naming files outside its folder, an I/O
error while writing, a killed parent with live workers. None may abort, hang,
lose data or pass silently.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from braindecode_elm.data import (
    ManifestError,
    TUHReports,
    build_cache,
    make_synthetic_tuh,
    open_cache,
)
from braindecode_elm.data import cache_recording as cache_mod


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    make_synthetic_tuh(
        root, 3, seed=5, duration_s=(62, 66), sessions_per_subject=(1, 1),
        progress=False,
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache")
    summary = build_cache(TUHReports(corpus), out, progress=False)
    assert summary.n_cached == 3 and summary.n_skipped == 0
    return out


def _copy(built, tmp_path) -> Path:
    dst = tmp_path / "cache"
    shutil.copytree(built, dst)
    return dst


def _lines(cache: Path) -> list[str]:
    return (cache / "manifest.jsonl").read_text().splitlines()


# --------------------------------------------------------------- torn manifest rows
def test_torn_last_row_is_dropped_with_warning_and_redone(corpus, built, tmp_path):
    cache = _copy(built, tmp_path)
    lines = _lines(cache)
    torn_id = json.loads(lines[-1])["recording_id"]
    (cache / "manifest.jsonl").write_text(
        "\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2]
    )
    with pytest.warns(RuntimeWarning, match="torn"):
        c = open_cache(cache)
    assert torn_id not in c.ids and len(c) == 2
    # Resume repairs the tail before appending (no glued row) and redoes it.
    with pytest.warns(RuntimeWarning, match="torn last row"):
        s = build_cache(TUHReports(corpus), cache, progress=False)
    assert s.n_cached == 1 and s.n_already == 2
    assert all(json.loads(ln) for ln in _lines(cache))
    assert open_cache(cache).ids == open_cache(built).ids


def test_torn_first_and_only_row(corpus, built, tmp_path):
    cache = _copy(built, tmp_path)
    first = _lines(cache)[0]
    (cache / "manifest.jsonl").write_text(first[:40])
    with pytest.warns(RuntimeWarning, match="torn"):
        assert len(open_cache(cache)) == 0
    with pytest.warns(RuntimeWarning):
        s = build_cache(TUHReports(corpus), cache, progress=False)
    assert s.n_cached == 3
    assert len(open_cache(cache)) == 3


def test_row_glued_onto_a_torn_one_is_recovered(corpus, built, tmp_path):
    # What older versions wrote when resuming after a kill mid-row.
    cache = _copy(built, tmp_path)
    lines = _lines(cache)
    glued = lines[0][:50] + lines[1]
    (cache / "manifest.jsonl").write_text("\n".join([glued, lines[2]]) + "\n")
    with pytest.warns(RuntimeWarning, match="torn row was dropped"):
        c = open_cache(cache)
    lost = json.loads(lines[0])["recording_id"]
    assert lost not in c.ids and len(c) == 2
    s = build_cache(TUHReports(corpus), cache, progress=False)
    assert s.n_cached == 1
    with pytest.warns(RuntimeWarning):  # the glued line stays (append-only)
        assert open_cache(cache).ids == open_cache(built).ids


def test_non_row_json_line_is_reported(built, tmp_path):
    cache = _copy(built, tmp_path)
    with open(cache / "manifest.jsonl", "a") as f:
        f.write("[1, 2, 3]\n")
    with pytest.warns(RuntimeWarning, match="no recording_id"):
        assert len(open_cache(cache)) == 3


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cut=st.floats(0.0, 1.0))
def test_manifest_cut_anywhere_never_breaks_open_or_resume(
    corpus, built, tmp_path_factory, cut
):
    cache = _copy(built, tmp_path_factory.mktemp("cut"))
    data = (cache / "manifest.jsonl").read_bytes()
    (cache / "manifest.jsonl").write_bytes(data[: int(cut * len(data))])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert set(open_cache(cache).ids) <= set(open_cache(built).ids)
        build_cache(TUHReports(corpus), cache, progress=False)
    assert open_cache(cache).ids == open_cache(built).ids


# --------------------------------------------------------------- resume verification
def test_resume_redoes_a_cut_short_array(corpus, built, tmp_path):
    cache = _copy(built, tmp_path)
    victim = sorted((cache / "recordings").glob("*.npy"))[0]
    os.truncate(victim, victim.stat().st_size // 2)
    s = build_cache(TUHReports(corpus), cache, progress=False)
    assert s.n_cached == 1 and s.n_already == 2
    rec = open_cache(cache)[victim.stem]
    np.testing.assert_array_equal(rec.data, open_cache(built)[victim.stem].data)


def test_resume_redoes_an_array_of_the_wrong_shape(corpus, built, tmp_path):
    cache = _copy(built, tmp_path)
    victim = sorted((cache / "recordings").glob("*.npy"))[1]
    np.save(victim, np.zeros((20, 7), np.float16))
    s = build_cache(TUHReports(corpus), cache, progress=False)
    assert s.n_cached == 1


@pytest.mark.parametrize("damage", ["cut_header", "cut_data", "wrong_shape"])
def test_reading_a_damaged_array_names_it_and_the_fix(built, tmp_path, damage):
    cache = _copy(built, tmp_path)
    victim = sorted((cache / "recordings").glob("*.npy"))[0]
    if damage == "cut_header":
        os.truncate(victim, 100)
    elif damage == "cut_data":
        os.truncate(victim, victim.stat().st_size // 2)
    else:
        np.save(victim, np.zeros((20, 7), np.float16))
    rec = open_cache(cache)[victim.stem]
    with pytest.raises(ValueError, match="elm preprocess again") as err:
        _ = rec.data
    assert str(victim.name) in str(err.value)


def test_resume_with_another_recipe_is_refused(corpus, built, tmp_path):
    cache = _copy(built, tmp_path)
    with pytest.raises(ValueError, match="recipe 'elm', not 'default'"):
        build_cache(TUHReports(corpus), cache, recipe="default", progress=False)


# --------------------------------------------------------------- paths outside
@pytest.mark.parametrize("bad", ["../outside.npy", "/etc/passwd", "recordings/../../x"])
def test_manifest_file_outside_the_cache_is_refused(corpus, built, tmp_path, bad):
    cache = _copy(built, tmp_path)
    lines = _lines(cache)
    row = json.loads(lines[0])
    row["file"] = bad
    lines[0] = json.dumps(row)
    (cache / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match="outside the cache folder"):
        open_cache(cache)
    with pytest.raises(ManifestError, match="outside the cache folder"):
        build_cache(TUHReports(corpus), cache, progress=False)


# --------------------------------------------------------------- write faults
def test_io_error_while_writing_an_array_leaves_no_temp_file(
    corpus, tmp_path, monkeypatch
):
    def failing_save(f, arr, *a, **k):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        build_cache(TUHReports(corpus), tmp_path / "c", progress=False)
    left = [p.name for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert not [n for n in left if n.endswith(".tmp") or n.endswith(".npy")], left


def test_workers_die_with_a_killed_parent(corpus, tmp_path):
    """build_cache(n_jobs=2) killed with SIGKILL leaves no worker behind."""
    marks = tmp_path / "marks"
    marks.mkdir()
    script = textwrap.dedent(
        f"""
        import os, time
        from braindecode_elm.data import build_cache
        from braindecode_elm.data import cache_recording as c

        def slow(task, cfg):
            open(os.path.join({str(marks)!r}, str(os.getpid())), "w").close()
            time.sleep(120)

        c._process = slow
        build_cache({str(corpus)!r}, {str(tmp_path / "c")!r},
                    n_jobs=2, progress=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while len(list(marks.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(p.name) for p in marks.iterdir()]
        assert len(workers) == 2, "workers did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        alive = workers
        while alive and time.monotonic() < deadline:
            alive = [w for w in workers if _alive(w)]
            time.sleep(0.1)
        assert not alive, f"workers {alive} outlived their killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in marks.iterdir():
            if _alive(int(p.name)):
                os.kill(int(p.name), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_n_jobs_is_checked_and_capped(eegmat_dir, tmp_path, caplog):
    """n_jobs=10**6 forked a million workers up front and hung, silent; 0 gave
    concurrent.futures' "max_workers must be greater than 0"."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("Subject00_1.edf", "Subject00_2.edf", "Subject01_1.edf"):
        (src / name).symlink_to(eegmat_dir / name)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_jobs must be a whole number"):
            build_cache(src, tmp_path / "c0", n_jobs=bad, require_report=False)
    # NumPy integers are whole numbers too.
    s = build_cache(
        src, tmp_path / "c2", n_jobs=np.int64(1), require_report=False, progress=False
    )
    assert s.n_cached == 3
    with caplog.at_level("INFO", logger="braindecode_elm"):
        s = build_cache(
            src, tmp_path / "c1", n_jobs=10**6, require_report=False, progress=False
        )
    assert s.n_cached == 3
    said = [
        r.getMessage() for r in caplog.records if "worker processes" in r.getMessage()
    ]
    n_workers = min(3, os.cpu_count() or 1)
    assert said == [
        f"n_jobs=1000000: {n_workers} worker processes (3 recordings to do, "
        f"{os.cpu_count() or 1} cores)"
    ]
