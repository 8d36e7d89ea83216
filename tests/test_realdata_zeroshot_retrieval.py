"""Zero-shot and retrieval through the ``elm`` CLI on real eegmat captions.

A tiny ELM is pretrained (``elm pretrain``, positives by identical caption) on
eegmat subjects 0-11 with two captions, "rest" and "task", from a user table;
the evaluation commands then run as a user runs them. Prompt files with the
class keys in either order must give the same zero-shot result (labels are
matched to classes by name), integer labels need ``--label-map``, and retrieval
with shared captions counts every identical text as a right answer, next to a
chance level computed with the same positives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from braindecode_elm.cli import main
from braindecode_elm.evaluation import get_prompts

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

CAPTIONS = {
    "1": "resting EEG before a mental arithmetic task",
    "2": "EEG during mental arithmetic (serial subtraction)",
}
STATES = {"1": "rest", "2": "task"}
TRAIN_SUBJECTS = range(0, 12)
HELD_SUBJECTS = range(12, 16)


def _ids_file(path: Path, subjects: range) -> Path:
    path.write_text("".join(f"Subject{i:02d}_{k}\n" for i in subjects for k in (1, 2)))
    return path


@pytest.fixture(scope="module")
def trained(eegmat_dir, tmp_path_factory):
    """Caches of subjects 0-11 (pretraining) and 12-15, and the pretrained bundle."""
    root = tmp_path_factory.mktemp("captions")
    rows = [
        dict(
            recording_id=f.stem,
            state=STATES[f.stem[-1]],
            target=int(f.stem[-1]) - 1,
            report=CAPTIONS[f.stem[-1]],
        )
        for f in sorted(eegmat_dir.glob("Subject*_*.edf"))
    ]
    labels = root / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    caches = {}
    for name, subjects in (("train", TRAIN_SUBJECTS), ("held", HELD_SUBJECTS)):
        ids = _ids_file(root / f"{name}.txt", subjects)
        caches[name] = root / f"cache_{name}"
        argv = ["preprocess", str(eegmat_dir), str(caches[name])]
        argv += ["--recordings", str(ids), "--metadata", str(labels)]
        assert main(argv) == 0
    run = root / "run"
    rc = main(
        [
            "pretrain",
            "--preset",
            "tiny-cpu-demo",
            "--data",
            str(caches["train"]),
            "--out",
            str(run),
            "--no-progress",
            "--device",
            "cpu",
            "epochs=12",
            "seed=0",
            "positives=text",
            "drop_first_s=0.0",
        ]
    )
    assert rc == 0
    return {"model": run / "final", **caches, "root": root}


def _prompt_file(path: Path, order: list[str]) -> Path:
    prompts = get_prompts("rest_task")
    path.write_text(json.dumps({k: prompts[k] for k in order}))
    return path


def _zeroshot(trained, prompts: Path, out: Path, *extra: str) -> tuple[int, dict]:
    argv = ["zeroshot", "--model", str(trained["model"])]
    argv += ["--cache", str(trained["train"]), "--prompts", str(prompts)]
    argv += ["--out", str(out), *extra]
    rc = main(argv)
    res = json.loads((out / "zeroshot.json").read_text()) if rc == 0 else {}
    return rc, res


def _by_recording(res: dict) -> dict[str, str]:
    return dict(zip(res["ids"], res["predictions"]))


def test_zeroshot_prompt_key_order_does_not_matter(trained, tmp_path, capsys):
    fwd = _prompt_file(tmp_path / "rest_task.json", ["rest", "task"])
    rev = _prompt_file(tmp_path / "task_rest.json", ["task", "rest"])
    rc, a = _zeroshot(trained, fwd, tmp_path / "a", "--labels", "state")
    assert rc == 0
    rc, b = _zeroshot(trained, rev, tmp_path / "b", "--labels", "state")
    assert rc == 0
    print(
        f"zero-shot, labels by name: rest,task {a['balanced_accuracy']:.3f}; "
        f"task,rest {b['balanced_accuracy']:.3f}"
    )
    assert a["classes"] == ["rest", "task"] and b["classes"] == ["task", "rest"]
    assert a["balanced_accuracy"] == b["balanced_accuracy"]
    assert a["auroc"] == pytest.approx(b["auroc"], abs=1e-12)
    assert _by_recording(a) == _by_recording(b)
    # The model separates rest from task on its pretraining subjects, so a
    # class mix-up would show (a constant predictor would hide it at 0.5).
    assert a["balanced_accuracy"] > 0.7
    out = capsys.readouterr().out
    assert "labels matched to classes by name" in out

    # Integer labels: no guessing from the key order.
    rc, _ = _zeroshot(trained, rev, tmp_path / "c", "--labels", "target")
    assert rc == 2
    err = capsys.readouterr().err
    assert "not prompt class names ['task', 'rest']" in err
    assert "--label-map 0=CLASS,1=CLASS" in err

    accs = {}
    for name, prompts in (("rest,task", fwd), ("task,rest", rev)):
        rc, res = _zeroshot(
            trained,
            prompts,
            tmp_path / f"map-{name}",
            "--labels",
            "target",
            "--label-map",
            "0=rest,1=task",
        )
        assert rc == 0
        assert res["label_map"] == {"0": "rest", "1": "task"}
        accs[name] = res["balanced_accuracy"]
    print(f"zero-shot, --labels target --label-map 0=rest,1=task: {accs}")
    assert accs["rest,task"] == accs["task,rest"] == a["balanced_accuracy"]
    # The map is what decides: the opposite map turns the score around.
    rc, flipped = _zeroshot(
        trained,
        fwd,
        tmp_path / "flip",
        "--labels",
        "target",
        "--label-map",
        "1=rest,0=task",
    )
    assert rc == 0
    assert flipped["balanced_accuracy"] == pytest.approx(1 - a["balanced_accuracy"])


def _retrieve(trained, cache: str, out: Path) -> dict:
    argv = [
        "retrieve",
        "--model",
        str(trained["model"]),
        "--cache",
        str(trained[cache]),
    ]
    assert main([*argv, "--out", str(out)]) == 0
    return json.loads((out / "retrieval.json").read_text())


def test_retrieval_on_eegmat_captions_beats_stated_chance(trained, tmp_path, capsys):
    res = _retrieve(trained, "train", tmp_path / "train")
    out = capsys.readouterr().out
    assert "positives by caption identity" in out and "chance" in out
    assert res["n_recordings"] == 24 and res["n_distinct_texts"] == 2
    e2t, t2e = res["eeg_to_text"], res["text_to_eeg"]
    print(
        f"eegmat subjects 0-11 (pretraining): EEG->text R@1 {e2t['R@1']:.3f} "
        f"(chance {e2t['chance_R@1']:.3f}), text->EEG R@1 {t2e['R@1']:.3f} "
        f"(chance {t2e['chance_R@1']:.3f})"
    )
    # Two captions, 12 recordings each: half of the texts (and of the
    # recordings) are right for any query.
    assert e2t["chance_R@1"] == pytest.approx(0.5)
    assert t2e["chance_R@1"] == pytest.approx(0.5)
    assert res["chance_R@1"] == e2t["chance_R@1"]
    assert e2t["R@1"] > e2t["chance_R@1"]
    assert t2e["R@1"] > t2e["chance_R@1"]
    # Subjects the model never saw: same rule, same chance (reported, not a
    # generalisation claim: 4 subjects are too few to judge that).
    held = _retrieve(trained, "held", tmp_path / "held")
    he = held["eeg_to_text"]
    print(
        f"eegmat subjects 12-15 (held out): EEG->text R@1 {he['R@1']:.3f} "
        f"(chance {he['chance_R@1']:.3f})"
    )
    assert held["n_recordings"] == 8 and he["chance_R@1"] == pytest.approx(0.5)
