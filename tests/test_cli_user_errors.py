"""``elm`` on a plain folder of real eegmat files, the way a user scripts it: label
tables with numeric ids, blanks or TSV, outputs that must exist, exit codes that
must tell failure from success, and wrong paths named before any work."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from braindecode_elm.cli import main

#: file name in the plain folder -> (eegmat file, state)
FILES = {
    "001": ("Subject24_1", "rest"),
    "002": ("Subject24_2", "arithmetic"),
    "003": ("Subject25_1", "rest"),
    "004": ("Subject25_2", "arithmetic"),
}


@pytest.fixture(scope="module")
def numeric_cache(eegmat_dir, tmp_path_factory):
    """A cache of four eegmat recordings whose files are named 001-004."""
    root = tmp_path_factory.mktemp("numeric")
    src = root / "edf"
    src.mkdir()
    for name, (stem, _) in FILES.items():
        shutil.copy(eegmat_dir / f"{stem}.edf", src / f"{name}.edf")
    assert main(["preprocess", str(src), str(root / "cache"), "-q"]) == 0
    return root


def _table(
    path: Path, rows: list[tuple[str, str]], sep: str = ",", key: str = "recording_id"
) -> Path:
    path.write_text("\n".join(sep.join(r) for r in [(key, "state"), *rows]))
    return path


def _zeroshot(cache: Path, labels: str, *extra: str) -> list[str]:
    return [
        "zeroshot", "--model", "elm-open-5s", "--cache", str(cache), "--prompts",
        "eegmat_rest_arithmetic", "--labels", labels, "--drop-first", "0",
        "--device", "cpu", "-q", *extra,
    ]  # fmt: skip


def test_numeric_ids_and_tsv_tables_match_the_cache(numeric_cache, tmp_path, capsys):
    rows = [(name, state) for name, (_, state) in FILES.items()]
    cache = numeric_cache / "cache"
    for table in (
        _table(tmp_path / "labels.csv", rows),
        _table(tmp_path / "labels.TSV", rows, sep="\t"),
        _table(tmp_path / "labels.tab", rows, sep="\t"),
    ):
        capsys.readouterr()
        assert main(_zeroshot(cache, f"{table}:state")) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "balanced accuracy" in out and "n=4" in out
        assert "001\t" in out and "004\t" in out


def test_blank_or_repeated_labels_name_the_rows(numeric_cache, tmp_path, capsys):
    cache = numeric_cache / "cache"
    rows = [("001", "rest"), ("002", ""), ("003", "rest"), ("004", "arithmetic")]
    blank = _table(tmp_path / "blank.csv", rows)
    for cmd in (
        _zeroshot(cache, f"{blank}:state"),
        ["probe", "--model", "elm-open-5s", "--cache", str(cache), "--labels",
         f"{blank}:state", "-q"],
    ):  # fmt: skip
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert "1 recording(s) have an empty 'state' label, e.g. ['002']" in err
    # the key column in another case, as --metadata accepts it
    cased = _table(
        tmp_path / "cased.csv", [(n, "rest") for n in FILES], key="Recording_ID"
    )
    assert main(_zeroshot(cache, f"{cased}:state")) == 0
    capsys.readouterr()
    twice = _table(tmp_path / "twice.csv", [*rows[:1], *rows[:1]])
    assert main(_zeroshot(cache, f"{twice}:state")) == 2
    assert "recording_id ['001'] listed more than once" in capsys.readouterr().err


def test_out_that_is_a_file_fails_before_the_work(numeric_cache, tmp_path, capsys):
    labels = _table(tmp_path / "l.csv", [(n, s) for n, (_, s) in FILES.items()])
    afile = tmp_path / "afile"
    afile.write_text("x")
    argv = _zeroshot(numeric_cache / "cache", f"{labels}:state", "--out", str(afile))
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert f"--out {afile} is a file" in cap.err
    assert "balanced accuracy" not in cap.out  # refused before the model ran


def test_retrieve_query_writes_its_ranking(numeric_cache, tmp_path, capsys):
    import json

    out = tmp_path / "ret"
    argv = ["retrieve", "--model", "elm-open-5s", "--cache"]
    argv += [str(numeric_cache / "cache"), "--query", "mental arithmetic"]
    argv += ["--top-k", "3", "--out", str(out), "--device", "cpu", "-q"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    found = json.loads((out / "search.json").read_text())
    assert found["query"] == "mental arithmetic" and len(found["results"]) == 3
    assert [f"{r['rank']}\t{r['recording_id']}\t{r['similarity']:.3f}"
            for r in found["results"]] == printed  # fmt: skip


def test_benchmark_that_produced_nothing_exits_1(numeric_cache, tmp_path, capsys):
    argv = ["benchmark", "--models", "elm-open-5s", "--datasets"]
    argv += [str(numeric_cache / "cache"), "--tasks", "probe", "--out"]
    argv += [str(tmp_path / "bench"), "--device", "cpu", "-q"]
    assert main(argv) == 1
    cap = capsys.readouterr()
    assert "probe needs labels (--labels)" in cap.out + cap.err
    # the one-line form of every other command's error
    assert "elm benchmark: error: no cell of the grid produced results" in cap.err


def test_probe_with_one_class_says_so(numeric_cache, tmp_path, capsys):
    one = _table(tmp_path / "one.csv", [(n, "rest") for n in FILES])
    argv = ["probe", "--model", "elm-open-5s", "--cache"]
    argv += [str(numeric_cache / "cache"), "--labels", f"{one}:state", "-q"]
    assert main(argv) == 2
    assert "every label is 'rest'" in capsys.readouterr().err


def test_embed_text_without_reports_warns(numeric_cache, tmp_path, capsys):
    out = tmp_path / "emb.npz"
    argv = ["embed", "--model", "elm-open-5s", "--cache"]
    argv += [str(numeric_cache / "cache"), "--text", "--out", str(out)]
    argv += ["--max-crops", "2", "--device", "cpu"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "the cache holds no report text" in cap.err
    assert "0 text segments" in cap.out


def test_preprocess_of_a_file_names_the_folder_rule(numeric_cache, capsys):
    edf = numeric_cache / "edf" / "001.edf"
    assert main(["preprocess", str(edf), str(numeric_cache / "x")]) == 2
    err = capsys.readouterr().err
    assert "is a file; elm preprocess reads a folder" in err and "001" in err


def test_convert_official_on_a_broken_file_never_suggests_unsafe_loading(
    tmp_path, capsys
):
    bad = tmp_path / "model_0_checkpoint.pt"
    bad.write_bytes(b"not a checkpoint" * 64)
    argv = ["convert-official", str(bad), str(tmp_path / "b"), "--variant", "5s"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is not a readable checkpoint of tensors" in err
    assert "weights_only` set to `False" not in err and "weights_only=False" not in err


def test_demo_report_command_keeps_skip_eegmat_and_data_dir():
    from braindecode_elm.cli.demo import _command

    cmd = _command(Path("o"), True, 4, 1, 0, 3, 1, None, eegmat=False, data_dir="/d")
    assert "--skip-eegmat" in cmd and cmd[cmd.index("--data-dir") + 1] == "/d"
    assert "--skip-eegmat" not in _command(Path("o"), True, 4, 1, 0, 3, 1, None)


def test_output_piped_into_head_stops_quietly(numeric_cache):
    import subprocess
    import sys

    # `elm preprocess ... | head -1`: the rerun prints three lines into a pipe
    # that closes after the first.
    code = (
        "import sys; from braindecode_elm.cli import main; "
        f"sys.exit(main(['preprocess', {str(numeric_cache / 'edf')!r}, "
        f"{str(numeric_cache / 'cache')!r}, '-q']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # the reader goes away before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141
    assert "Broken pipe" not in err and "error" not in err, err


def test_other_eeg_formats_in_a_plain_folder_are_listed(eegmat_dir, tmp_path, capsys):
    from braindecode_elm.data import open_cache

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(eegmat_dir / "Subject30_1.edf", src / "a.edf")
    (src / "b.bdf").write_bytes(b"0" * 256)
    (src / "c.vhdr").write_text("Brain Vision Data Exchange Header File")
    (src / "c.eeg").write_bytes(b"\0" * 16)  # BrainVision data: not a recording
    (src / "d-epo.fif").write_bytes(b"\0" * 16)  # MNE epochs: derived, not listed
    assert main(["preprocess", str(src), str(tmp_path / "cache"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "unsupported_format" in out and "2 skipped" in out
    skipped = open_cache(tmp_path / "cache").skipped
    assert sorted(skipped["recording_id"]) == ["b", "c"]
    assert set(skipped["reason"]) == {"unsupported_format"}
    only = tmp_path / "only"
    only.mkdir()
    (only / "b.bdf").write_bytes(b"0" * 256)
    assert main(["preprocess", str(only), str(tmp_path / "c2")]) == 2
    err = capsys.readouterr().err
    assert "1 EEG recordings in other formats, e.g. b.bdf" in err
    assert "mne.export.export_raw" in err


def test_subject_table_overrides_the_header_sex(eegmat_dir, tmp_path, capsys):
    # eegmat's EDF headers do not hold the subjects' sex (Subject00_1's says
    # "M"); subject-info.csv (Subject, Age, Gender) says a 21-year-old woman.
    from braindecode_elm.data import open_cache
    from braindecode_elm.data.descriptions import DescriptionBuilder

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(eegmat_dir / "Subject00_1.edf", src / "Subject00_1.edf")
    info = eegmat_dir / "subject-info.csv"
    argv = ["preprocess", str(src), str(tmp_path / "c"), "--metadata", str(info)]
    assert main([*argv, "-q"]) == 0
    desc = open_cache(tmp_path / "c")["Subject00_1"].description
    assert (desc["gender"], float(desc["age"])) == ("F", 21.0)
    assert DescriptionBuilder().facts(desc)["sex"] == "female"


def test_pretrain_on_labels_without_reports_points_to_the_label_recipe(
    numeric_cache, tmp_path, capsys
):
    argv = ["pretrain", "--preset", "tiny-cpu", "--data"]
    argv += [str(numeric_cache / "cache"), "--out", str(tmp_path / "run"), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "none has report text" in err and "pretrain_labelled" in err


def test_console_warnings_are_plain_lines(capsys):
    """The elm console script shows this package's warnings as 'warning: ...'
    (not file:line and the source line); other packages' keep Python's way."""
    import warnings

    from braindecode_elm._logging import plain_warnings

    before = warnings.showwarning
    with pytest.warns(UserWarning) as rec:
        warnings.simplefilter("always")
        with plain_warnings():
            warnings.warn_explicit(
                "pass --subjects folder", UserWarning, "/x/braindecode_elm/data/a.py", 3
            )
            from braindecode_elm.data.cache_manifest import ManifestWarning

            warnings.warn_explicit(
                "1 manifest line unusable",
                ManifestWarning,
                "/x/braindecode_elm/b.py",
                4,
            )
            # numpy's RuntimeWarning raised in package code keeps file and line
            warnings.warn_explicit(
                "divide by zero", RuntimeWarning, "/x/braindecode_elm/c.py", 5
            )
            warnings.warn_explicit("other", UserWarning, "/x/sklearn/metrics.py", 7)
    err = capsys.readouterr().err
    assert err == "warning: pass --subjects folder\nwarning: 1 manifest line unusable\n"
    # the other package's warning went the usual way (here: pytest's record)
    assert [(str(w.message), w.filename) for w in rec] == [
        ("divide by zero", "/x/braindecode_elm/c.py"),
        ("other", "/x/sklearn/metrics.py"),
    ]
    assert warnings.showwarning is before


def test_benchmark_probe_failure_names_the_benchmarks_split(
    numeric_cache, tmp_path, capsys
):
    """A failed probe cell pointed to elm probe's --val-size / --test-size,
    which elm benchmark does not have (outside user)."""
    two = _table(tmp_path / "two.csv", [(n, s) for n, (_, s) in FILES.items()])
    argv = ["benchmark", "--models", "elm-open-5s", "--datasets"]
    argv += [str(numeric_cache / "cache"), "--tasks", "probe", "--out"]
    argv += [str(tmp_path / "bench"), "--labels", f"{two}:state"]
    argv += ["--device", "cpu", "-q"]
    assert main(argv) == 1
    cells = list((tmp_path / "bench" / "cells").glob("*.json"))
    cell = json.loads(cells[0].read_text())
    assert cell["status"] == "failed", cell
    assert "elm benchmark tests on 30 % of the subjects" in cell["reason"], cell
    assert "(elm probe --val-size" not in cell["reason"]
    assert "larger share" not in cell["reason"]


def test_duration_limits(numeric_cache, tmp_path, capsys):
    """--min-duration -5 was accepted and --max-duration could not be lifted
    (the library's max_duration_s=None keeps all) (outside user)."""
    src = numeric_cache / "edf"
    argv = ["preprocess", str(src), str(tmp_path / "c1"), "-q"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--min-duration", "-5"])
    assert exc.value.code == 2
    assert "--min-duration: must be a finite number >= 0" in capsys.readouterr().err
    argv = ["preprocess", str(src), str(tmp_path / "c2"), "--max-duration", "none"]
    assert main([*argv, "--min-duration", "0", "-q"]) == 0
    from braindecode_elm.data import open_cache

    assert len(open_cache(tmp_path / "c2").ids) == 4
    # and a limit still skips: the 62 s files are longer than 10 s
    argv = ["preprocess", str(src), str(tmp_path / "c3"), "--max-duration", "10"]
    assert main([*argv, "--min-duration", "0", "-q"]) == 1


def test_crop_length_follows_the_tower(numeric_cache, tmp_path, capsys):
    """A 60 s bundle got 5 s crops by default (every one too short for it), and
    a 5 s tower ran on 60 s crops without a word (outside user)."""
    import numpy as np
    import torch

    from braindecode_elm.models import ELM, ELMEncoder

    torch.manual_seed(0)
    ELM(ELMEncoder(variant="60s"), has_text_head=False).save_pretrained(
        tmp_path / "b60"
    )
    cache = str(numeric_cache / "cache")
    out = tmp_path / "e.npz"
    argv = ["embed", "--model", str(tmp_path / "b60"), "--cache", cache]
    argv += ["--drop-first", "0", "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    # one 60 s crop of each 62 s recording
    assert np.load(out)["crop_embeddings"].shape == (4, 256)
    assert "warning:" not in capsys.readouterr().err
    argv = ["embed", "--model", "elm-open-5s", "--cache", cache, "--seconds", "60"]
    argv += ["--drop-first", "0", "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    assert "trained on 5 s crops; --seconds 60" in capsys.readouterr().err


def test_zero_padded_subject_ids_stay_text(eegmat_dir, tmp_path, capsys):
    """A table's subject '0006' became 6 (then '6'), while recordings without a
    row kept the folder's '0006': one person was two subjects, split across
    train and test; a per-subject table keyed '0006' then matched nothing and
    its ages and sexes were lost with one warning (outside user)."""
    from braindecode_elm.data import open_cache

    src = tmp_path / "src"
    for n in range(3):
        folder = src / f"000{n}"
        folder.mkdir(parents=True)
        for k, state in ((1, "rest"), (2, "task")):
            shutil.copy(
                eegmat_dir / f"Subject2{n}_{k}.edf", folder / f"s0{n}_{state}.edf"
            )
    rec = tmp_path / "rec.csv"  # only the task runs have a row
    rec.write_text(
        "recording_id,subject,state\n"
        + "".join(f"s0{n}_task,000{n},arithmetic\n" for n in range(3))
    )
    subj = tmp_path / "subj.csv"
    subj.write_text(
        "participant_id,age,sex\n" + "".join(f"000{n},2{n},F\n" for n in range(3))
    )
    argv = ["preprocess", str(src), str(tmp_path / "c"), "--subjects", "folder"]
    argv += ["--metadata", str(rec), "--metadata", str(subj), "-q"]
    assert main(argv) == 0
    corpus = open_cache(tmp_path / "c")
    assert sorted(set(corpus.subjects)) == ["0000", "0001", "0002"]
    for r in corpus:
        assert r.description["age"] == 20 + int(r.subject), r.description
        assert r.description["sex"] == "F"
    # a per-subject table that matches no recording is an error, as a
    # per-recording one is
    other = tmp_path / "other.csv"
    other.write_text("participant_id,age\nsub-99,30\n")
    argv = ["preprocess", str(src), str(tmp_path / "c2"), "--subjects", "folder"]
    assert main([*argv, "--metadata", str(other), "-q"]) == 2
    assert "none of its 1 rows (keyed by 'participant_id'" in capsys.readouterr().err


def test_recordings_too_short_for_a_crop_are_left_out_not_fatal(
    eegmat_dir, tmp_path, capsys
):
    """One 62 s recording stopped a 60 s tower from embedding a whole corpus
    (it needs 70 s with the default 10 s drop) (outside user)."""
    import numpy as np
    import torch

    from braindecode_elm.data import read_edf_data, read_edf_header, write_edf
    from braindecode_elm.models import ELM, ELMEncoder

    src = tmp_path / "src"
    src.mkdir()
    for n in (1, 2):
        shutil.copy(eegmat_dir / f"Subject0{n}_1.edf", src / f"short{n}.edf")
    h = read_edf_header(eegmat_dir / "Subject03_1.edf")
    keep = [i for i, lbl in enumerate(h.labels) if lbl.startswith("EEG ")]
    x = read_edf_data(h, keep)
    write_edf(
        src / "long.edf",
        np.concatenate([x, x], axis=1),
        [h.labels[i] for i in keep],
        500.0,
    )
    assert main(["preprocess", str(src), str(tmp_path / "c"), "-q"]) == 0
    torch.manual_seed(0)
    ELM(ELMEncoder(variant="60s"), has_text_head=False).save_pretrained(
        tmp_path / "b60"
    )
    out = tmp_path / "e.npz"
    argv = ["embed", "--model", str(tmp_path / "b60"), "--cache", str(tmp_path / "c")]
    said = "2 of 3 recordings yield no 60 s crop after dropping the first 10 s"
    with pytest.warns(UserWarning, match=said):
        assert main([*argv, "--out", str(out), "--device", "cpu"]) == 0
    data = np.load(out)
    assert list(data["ids"]) == ["long"] and data["crop_embeddings"].shape == (1, 256)
    # the file says what was left out, and why
    assert sorted(data["left_out_ids"]) == ["short1", "short2"]
    assert all("yields no 60 s crop" in r for r in data["left_out_reasons"])


def test_label_column_naming_no_column_is_refused(numeric_cache, tmp_path, capsys):
    """--label-column diagnosys (a typo) was accepted and the fact silently
    never written (outside user)."""
    argv = ["pretrain-labelled", "--source", f"m={numeric_cache / 'edf'}"]
    argv += ["--label-column", "diagnosys", "--out", str(tmp_path / "run"), "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--label-column ['diagnosys'] names no column" in err, err


def test_crop_length_of_a_tower_built_for_another_window(numeric_cache, tmp_path):
    """The default crop came from the variant (60 s) for a tower built for
    10 s windows (LabelledRecipe(crop_seconds=10) makes such towers), and
    labels given as a list failed with a bare count mismatch when recordings
    were left out (diff review)."""
    import numpy as np
    import torch

    from braindecode_elm.data import open_cache
    from braindecode_elm.evaluation import embed_corpus
    from braindecode_elm.evaluation.embedding import crop_seconds_of
    from braindecode_elm.models import ELM, ELMEncoder

    torch.manual_seed(0)
    ten = ELM(ELMEncoder(variant="60s", n_times=1000, sfreq=100), has_text_head=False)
    assert crop_seconds_of(ten) == 10.0
    assert crop_seconds_of(ELMEncoder(variant="60s")) == 60.0
    cache = open_cache(numeric_cache / "cache")
    emb = embed_corpus(ten, cache, drop_first_s=0)
    assert len(emb.crop_groups) == 4 * 6  # six 10 s crops of each 62 s file
    from braindecode_elm.evaluation.embedding import EmbeddedCorpus
    from braindecode_elm.evaluation.zeroshot import resolve_labels

    left = EmbeddedCorpus(
        ids=["long"],
        crop_embeddings=np.zeros((1, 256)),
        crop_groups=["long"],
        skipped=[{"recording": "short", "reason": "too short"}],
    )
    with pytest.raises(
        ValueError, match=r"left out as too short for a crop, e.g. \['short'\]"
    ):
        resolve_labels(left, ["rest", "arithmetic"])


def test_repeated_recording_ids_are_used_once(numeric_cache, tmp_path, capsys, caplog):
    # A repeated id weighted its recording twice in zero-shot's figures (0.640
    # for 0.750 on 24 recordings) and failed probe/retrieve/embed with "groups
    # without any row"; a file that is not UTF-8 was named only by the codec.
    rows = [(name, state) for name, (_, state) in FILES.items()]
    labels = _table(tmp_path / "labels.csv", rows)
    cache = numeric_cache / "cache"
    once = tmp_path / "once.txt"
    once.write_text("\n".join(FILES) + "\n")
    twice = tmp_path / "twice.txt"
    twice.write_text("\n".join([*FILES, "001", "001", "003"]) + "\n")
    out = {}
    for name, ids in (("once", once), ("twice", twice)):
        capsys.readouterr()
        with caplog.at_level("WARNING", logger="braindecode_elm"):
            rc = main(_zeroshot(cache, f"{labels}:state", "--recordings", str(ids)))
        assert rc == 0, capsys.readouterr().err
        out[name] = capsys.readouterr().out
    assert out["once"] == out["twice"]
    assert "n=4" in out["twice"]
    assert "lists 2 id(s) more than once, used once each: 001, 003" in caplog.text
    emb = tmp_path / "emb.NPZ"  # any case: a file, not a folder "emb.NPZ/"
    args = ["embed", "--model", "elm-open-5s", "--cache", str(cache)]
    args += ["--recordings", str(twice)]
    assert main([*args, "--drop-first", "0", "--out", str(emb), "-q"]) == 0
    assert emb.is_file() and list(np.load(emb)["ids"]) == list(FILES)
    twice.write_bytes("001\n\xff\xfe".encode("latin-1"))
    assert main(_zeroshot(cache, f"{labels}:state", "--recordings", str(twice))) == 2
    assert f"--recordings {twice} is not UTF-8 text" in capsys.readouterr().err


def test_prompt_names_resolve_alike_in_zeroshot_and_benchmark(
    numeric_cache, tmp_path, monkeypatch, capsys, caplog
):
    # A file named like the bundle's prompt set was read by elm benchmark and
    # ignored by elm zeroshot (0.500 against 0.750 on 24 recordings); files
    # that are not JSON or not UTF-8 were named only by the parser's message.
    rows = [(name, state) for name, (_, state) in FILES.items()]
    labels = _table(tmp_path / "labels.csv", rows)
    cache = numeric_cache / "cache"
    monkeypatch.chdir(tmp_path)
    other = {"rest": ["a recording at rest"], "task": ["a recording of a task"]}
    (tmp_path / "eegmat_rest_arithmetic").write_text(json.dumps(other))
    with caplog.at_level("WARNING", logger="braindecode_elm"):
        assert main(_zeroshot(cache, f"{labels}:state")) == 0
    zs = capsys.readouterr().out
    assert "the file of that name in this folder is not read" in caplog.text
    caplog.clear()
    bench = ["benchmark", "--models", "elm-open-5s", "--datasets", str(cache),
             "--tasks", "zeroshot", "--labels", f"{labels}:state", "--prompts",
             "eegmat_rest_arithmetic", "--drop-first", "0", "--out",
             str(tmp_path / "b")]  # fmt: skip
    with caplog.at_level("WARNING", logger="braindecode_elm"):
        assert main(bench) == 0, capsys.readouterr().err
    board = capsys.readouterr().out
    assert "the file of that name in this folder is not read" in caplog.text
    ba = re.search(r"balanced accuracy (\d\.\d+)", zs).group(1)
    assert f"| elm-open-5s | {ba} |" in board  # the same set, the same figure
    # ./NAME reads the file
    own = _zeroshot(cache, f"{labels}:state", "--prompts", "./eegmat_rest_arithmetic")
    assert main(own) == 2
    assert "the prompts ['rest', 'task']" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert main(_zeroshot(cache, f"{labels}:state", "--prompts", str(bad))) == 2
    assert f"prompts file {bad} is not JSON text" in capsys.readouterr().err
    utf16 = tmp_path / "labels16.csv"
    utf16.write_bytes(labels.read_text().encode("utf-16"))
    assert main(_zeroshot(cache, f"{utf16}:state")) == 2
    assert f"--labels {utf16} is not UTF-8 text" in capsys.readouterr().err


def test_recordings_whose_files_are_gone_are_said_and_pruned_on_request(
    eegmat_dir, tmp_path, capsys
):
    # A deleted EDF (a withdrawn consent) stayed in the cache and in every
    # command's figures: "0 cached, 24 already done" and nothing else.
    from braindecode_elm.data import open_cache

    src = tmp_path / "edf"
    src.mkdir()
    for name, (stem, _) in FILES.items():
        (src / f"{name}.edf").symlink_to(eegmat_dir / f"{stem}.edf")
    cache = tmp_path / "cache"
    assert main(["preprocess", str(src), str(cache), "-q"]) == 0
    m = open_cache(cache).manifest
    array = cache / m.loc[m["recording_id"] == "002", "file"].iloc[0]
    assert array.is_file()
    (src / "002.edf").unlink()
    capsys.readouterr()
    assert main(["preprocess", str(src), str(cache), "-q"]) == 0
    err = capsys.readouterr().err
    assert "1 cached recording(s) come from files that are gone, e.g. 002" in err
    assert "--prune-missing" in err
    assert "002" in open_cache(cache).ids  # kept, as said
    assert main(["preprocess", str(src), str(cache), "--prune-missing", "-q"]) == 0
    after = open_cache(cache)
    assert "002" not in after.ids and sorted(after.ids) == ["001", "003", "004"]
    assert not array.exists()  # the array is deleted, not only hidden
    assert after.skipped_reason("002") == "source_gone"
    capsys.readouterr()
    assert main(["preprocess", str(src), str(cache), "-q"]) == 0
    assert "are gone" not in capsys.readouterr().err  # said once, then settled


def test_pruning_never_judges_sources_it_cannot_place(
    eegmat_dir, tmp_path, monkeypatch, capsys
):
    # Sources are stored relative to the folder a build ran from: a rerun from
    # another folder, or on another source folder of the same cache, called
    # every such file gone and --prune-missing deleted arrays of files still
    # there (diff review).
    (tmp_path / "a" / "data").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "b").mkdir()
    for name, (stem, _) in FILES.items():
        folder = tmp_path / ("a/data" if name < "003" else "other")
        (folder / f"{name}.edf").symlink_to(eegmat_dir / f"{stem}.edf")
    monkeypatch.chdir(tmp_path / "a")
    assert main(["preprocess", "data", "cache", "-q"]) == 0  # sources data/...
    arrays = sorted((tmp_path / "a" / "cache" / "recordings").iterdir())
    assert len(arrays) == 2
    monkeypatch.chdir(tmp_path / "b")  # elsewhere: data/001.edf is not here
    capsys.readouterr()
    argv = ["preprocess", "../other", "../a/cache", "--prune-missing", "-q"]
    assert main(argv) == 0  # another source folder of the same cache
    one = tmp_path / "one.txt"
    one.write_text("001\n")
    argv = ["preprocess", "../a/data", "../a/cache", "--prune-missing", "-q"]
    assert main([*argv, "--recordings", str(one)]) == 0  # a subset, elsewhere
    # another site's folder of the same relative name (second review: its
    # files were called gone and pruned)
    (tmp_path / "b" / "data").mkdir()
    (tmp_path / "b" / "data" / "009.edf").symlink_to(eegmat_dir / "Subject26_1.edf")
    argv = ["preprocess", "data", "../a/cache", "--prune-missing", "-q"]
    assert main(argv) == 0
    assert "gone" not in capsys.readouterr().err
    kept = sorted((tmp_path / "a" / "cache" / "recordings").iterdir())
    assert set(arrays) <= set(kept) and len(kept) == 5
    # the folder named through a symlink still finds a file really deleted
    (tmp_path / "link").symlink_to(tmp_path / "a" / "data")
    (tmp_path / "a" / "data" / "002.edf").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["preprocess", "link", "a/cache", "-q"]) == 0
    assert "1 cached recording(s) come from files that are gone, e.g. 002" in (
        capsys.readouterr().err
    )
