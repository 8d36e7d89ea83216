"""A shortened ``elm demo`` end to end (synthetic corpus, and eegmat when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from braindecode_elm._config import data_dir


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path, capsys):
    from braindecode_elm.cli import main

    out = tmp_path / "demo"
    with_eegmat = (data_dir() / "eegmat").is_dir()
    args = ["demo", "--out", str(out), "--quick", "--threads", "1", "-q"]
    if not with_eegmat:
        args.append("--skip-eegmat")
    assert main(args) == 0
    cap = capsys.readouterr()
    printed = cap.out
    # --quiet: the results table, no progress lines ("[  12.3s] ...") or bars
    assert not [ln for ln in printed.splitlines() if ln.startswith("[")], printed
    assert "it/s]" not in cap.err and "rec/s]" not in cap.err, cap.err
    res = json.loads((out / "results.json").read_text())
    syn = res["synthetic"]
    elm = syn["ELM tiny-cpu"]
    # the printed table holds the computed numbers of results.json
    ba = elm["zero_shot"]["balanced_accuracy"]
    assert f"{ba:.3f}" in printed
    r1 = elm["retrieval"]["eeg_to_text"]["R@1"]
    assert f"{r1:.3f} /" in printed
    # each retrieval row names its own direction's chance (the report->EEG row
    # once showed EEG->report's)
    rows = {
        ln.split("retrieval")[0].split()[-1]: ln
        for ln in printed.splitlines()
        if ln.startswith("synthetic") and "ELM tiny-cpu" in ln and "retrieval" in ln
    }
    for direction, key in (
        ("EEG->report", "eeg_to_text"),
        ("report->EEG", "text_to_eeg"),
    ):
        chance = elm["retrieval"][key]["chance_R@1"]
        assert f"(chance R@1 {chance:.3f}" in rows[direction], rows
    # EEG->report also names what ranking texts by frequency alone gets
    prior = elm["retrieval"]["eeg_to_text"]["text_frequency_R@1"]
    assert f"no EEG: R@1 {prior:.3f})" in rows["EEG->report"], rows
    assert "no EEG" not in rows["report->EEG"]
    probe10 = elm["probe"]["summary"]["0.1"]["balanced_accuracy_mean"]
    assert f"{probe10:.3f} +-" in printed
    # held-out subjects are not in the pretraining cache
    from braindecode_elm.data import open_cache

    pre = open_cache(out / "synthetic" / "cache_pretrain")
    held = open_cache(out / "synthetic" / "cache_heldout")
    assert not set(pre.subjects) & set(held.subjects)
    assert set(elm["zero_shot"]["ids"]) == set(held.ids)
    for png in (
        "synthetic_zeroshot_confusion.png",
        "synthetic_similarity_heatmap.png",
        "synthetic_retrieval_examples.png",
        "synthetic_probe_curves.png",
    ):
        assert (out / png).stat().st_size > 2000, png
    report = (out / "REPORT.md").read_text()
    assert "elm demo --out" in report and "--quick" in report
    # the step-by-step commands reproduce the demo corpus and preset
    assert "--sessions 1 2 --duration 120 240" in report
    assert "--preset tiny-cpu-demo" in report
    # --quick embeds 8 crops per recording: the zero-shot and retrieval steps
    # say so (without it they printed other retrieval figures)
    assert report.count("--max-crops 8") == 2, report
    assert f"| {ba:.3f} |" in report
    assert (out / "synthetic" / "run" / "final" / "config.json").exists()
    if with_eegmat:
        real = res["real"]
        assert real["seeds"] == [0, 1, 2]
        assert real["data"]["eegmat_test_subjects"] == [24, 25, 26, 27]
        assert real["data"]["n_windows"]["eegmat_test"] == 4 * 2 * 12
        assert len(real["runs"]) == 3 and len(real["model_dirs"]) == 3
        summary = real["summary"]
        # the recipe's tower, the untrained tower and both baselines
        assert set(summary) == {
            "elm-open-5s",
            "untrained tower",
            "log band power + LR",
            "tangent space + LR",
        }
        probes = {
            f"eegmat {lev} probe, {f} labels"
            for lev in ("window", "recording")
            for f in ("10%", "100%")
        }
        for method, tasks in summary.items():
            assert probes <= set(tasks), method
        assert {
            "eegmat zero-shot, window",
            "eegmat zero-shot, recording",
            "eegmat zero-shot, recording, subject-centred",
        } <= set(summary["elm-open-5s"])
        # mean +- sd over the three seeds, printed as computed
        zs = summary["elm-open-5s"]["eegmat zero-shot, recording"]["balanced_accuracy"]
        assert len(zs["values"]) == 3
        assert zs["mean"] == pytest.approx(sum(zs["values"]) / 3)
        assert f"{zs['mean']:.3f} +- {zs['sd']:.3f}" in printed
        lbp = summary["log band power + LR"]["eegmat window probe, 100% labels"]
        # 100 % labels: every seed fits the same data -> the same score
        assert len(set(lbp["balanced_accuracy"]["values"])) == 1
        assert lbp["balanced_accuracy"]["sd"] == pytest.approx(0.0, abs=1e-12)
        assert "eegmat 24-27" in printed and "tangent space + LR" in printed
        if (data_dir() / "eegbci").is_dir():
            assert "eegbci S1 runs 11-11" in printed
            assert "eegbci zero-shot, window" in summary["elm-open-5s"]
        assert (out / "eegmat_probe_curves.png").stat().st_size > 2000
        for seed_dir in real["model_dirs"]:
            assert (Path(seed_dir) / "model.safetensors").is_file()
        assert res["run"]["threads"] == 1 and res["run"]["seeds"] == 3


@pytest.mark.slow
def test_real_data_part_is_deterministic(tmp_path):
    """Two short real-data runs in one process print identical numbers."""
    import time

    from braindecode_elm.cli.demo import DemoTable
    from braindecode_elm.cli.demo_experiments import real_data_part

    root = data_dir()
    if not (root / "eegmat").is_dir():
        pytest.skip(f"real eegmat data not found under {root} (set ELM_DATA_DIR)")
    bci = (3, 4, 11) if (root / "eegbci").is_dir() else ()
    results, tables = [], []
    for k in range(2):
        table = DemoTable()
        results.append(
            real_data_part(
                tmp_path / f"run{k}",
                table,
                data_dir=str(root),
                epochs=1,
                seeds=[0, 1, 2],
                t0=time.perf_counter(),
                threads=1,
                eegmat_subjects=[0, 1, 2, 3, 24, 25],
                eegbci_runs=bci,
            )
        )
        tables.append(table.text())
    assert results[0]["runs"] == results[1]["runs"]
    assert tables[0] == tables[1]
    # the seeds differ from one another (so the equality above is not trivial)
    aucs = [
        r["elm-open-5s"]["eegmat zero-shot, window"]["auroc"]
        for r in results[0]["runs"]
    ]
    assert len(set(aucs)) > 1, aucs


def test_demo_tables_refuse_quick_and_publish_full(tmp_path):
    """scripts/demo_tables.py publishes only full runs, into both files."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "demo_tables.py"
    spec = importlib.util.spec_from_file_location("demo_tables", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    row = dict(part="p", model="m", task="t", metric="balanced acc", value="0.123")
    res = {
        "table": [row],
        "real": {"seeds": [0, 1, 2]},
        "run": {
            "command": ["elm", "demo", "--out", "runs/demo"],
            "quick": False,
            "wall_s": 125.4,
            "cpu_s": 200.0,
            "threads": 2,
            "machine": "x86_64, 2 cores",
            "python": "3.12",
            "torch": "2.11",
        },
    }
    readme = tmp_path / "README.md"
    readme.write_text(
        "x\n<!-- results:demo:start -->\nold\n<!-- results:demo:end -->\n"
    )
    rst = tmp_path / "ev.rst"
    rst.write_text("x\n\n.. results:demo:start\n.. results:demo:end\n")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(res))
    assert set(mod.publish(results, readme, rst)) == {readme, rst}
    md, doc = readme.read_text(), rst.read_text()
    assert "0.123" in md and "old" not in md and "2 min 05 s" in md
    assert "0.123" in doc and "2 min 05 s" in doc and "printed::" in doc
    for bad, msg in (
        ({**res, "run": {**res["run"], "quick": True}}, "--quick"),
        ({k: v for k, v in res.items() if k != "real"}, "no real-data"),
        ({**res, "real": {"seeds": [0, 1]}}, "2 real-data seed"),
    ):
        results.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=msg):
            mod.publish(results, readme, rst)
