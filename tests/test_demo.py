"""A shortened ``elm demo`` end to end (synthetic corpus, and eegmat when present)."""

from __future__ import annotations

import json

import pytest

from braindecode_elm._config import data_dir


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path, capsys):
    from braindecode_elm.cli import main

    out = tmp_path / "demo"
    with_eegmat = (data_dir() / "eegmat").is_dir()
    args = ["demo", "--out", str(out), "--quick", "--threads", "1"]
    if not with_eegmat:
        args.append("--skip-eegmat")
    assert main(args) == 0
    printed = capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    syn = res["synthetic"]
    elm = syn["ELM tiny-cpu"]
    # the printed table holds the computed numbers of results.json
    ba = elm["zero_shot"]["balanced_accuracy"]
    assert f"{ba:.3f}" in printed
    r1 = elm["retrieval"]["eeg_to_text"]["R@1"]
    assert f"{r1:.3f} /" in printed
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
    assert f"| {ba:.3f} |" in report
    assert (out / "synthetic" / "run" / "final" / "config.json").exists()
    if with_eegmat:
        eeg = res["eegmat"]["ELM eegmat"]
        assert set(eeg["zero_shot"]["classes"]) == {"rest", "arithmetic"}
        assert len(eeg["zero_shot"]["ids"]) == 12  # subjects 24-29, two files each
        # probes at both levels, tested on the evaluation subjects only
        assert set(eeg["probe"]) == {"window", "recording"}
        rec = eeg["probe"]["recording"]["summary"]["0.1"]["balanced_accuracy_mean"]
        assert f"{rec:.3f} +-" in printed
        assert "recording probe, 10% labels" in printed
        assert (out / "eegmat_zeroshot_confusion.png").exists()
        assert 'positives="text"' in report
