"""The preprocessing benchmark's goal line is computed from its results file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_preprocess", REPO / "benchmarks" / "preprocess.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(method: str, best: float, median: float, sfreq: float = 256.0) -> dict:
    return {
        "method": method,
        "sfreq": sfreq,
        "x_scipy_cpu_best": best,
        "x_scipy_cpu_median": median,
    }


def test_goal_line_judges_each_float64_level(bench):
    rows = [
        _row("scipy", 1.0, 1.0),
        _row("engine scalar", 2.4, 2.5),
        _row("engine avx2", 10.999, 11.6),
        _row("engine f32 avx2", 12.0, 12.0),  # float32: not part of the goal
        _row("engine avx512", 11.0, 10.9),
        _row("engine x2 avx512", 12.0, 12.0),  # batch row: not part of it
        _row("engine avx2", 20.0, 20.0, sfreq=512.0),  # other rate: not part
    ]
    line = bench.goal_line({"rows": rows})
    assert line.startswith("Goal: at least 11x SciPy by best CPU time")
    assert "scalar 2.40x (median 2.50x): not met" in line
    # The goal is judged on the best time, not the median and not rounded.
    assert "avx2 11.00x (median 11.60x): not met" in line
    assert "avx512 11.00x (median 10.90x): met" in line
    assert line.count(": met") + line.count(": not met") == 3


def test_docs_carry_the_goal_line_of_the_results_file(bench):
    results = json.loads((REPO / "docs" / "results" / "preprocess.json").read_text())
    line = bench.goal_line(results)
    for page in ("README.md", "docs/benchmarks.rst", "docs/preprocessing.rst"):
        assert line in (REPO / page).read_text(), page


def test_docs_are_regenerated_only_with_their_results_file(
    bench, tmp_path, monkeypatch
):
    """``--docs`` rewrote the tables and left docs/results/preprocess.json
    stale (a measurement without --json, or tables from another file)."""
    other = tmp_path / "other.json"
    results = {"rows": [], "date_utc": "x"}
    other.write_text(json.dumps(results))
    written = tmp_path / "results.json"
    monkeypatch.setattr(bench, "RESULTS", written)
    seen = []
    monkeypatch.setattr(bench, "write_docs", lambda r: seen.append(r))
    monkeypatch.setattr(bench, "table", lambda r: "")
    monkeypatch.setattr(bench, "caption", lambda r: "")
    bench.main(["--from-json", str(other), "--docs"])
    assert seen == [results] and json.loads(written.read_text()) == results
    written.unlink()
    bench.main(["--from-json", str(other)])  # no --docs: the file is not touched
    assert not written.exists()
