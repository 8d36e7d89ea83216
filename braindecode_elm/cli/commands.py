"""Handlers of the ``elm`` subcommands (heavy imports happen here, lazily)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .._json import to_jsonable

__all__ = [
    "load_labels",
    "load_prompts",
    "resolve_device",
    "to_jsonable",
    "write_predictions",
]

logger = logging.getLogger(__name__)


#: Suffixes of label tables accepted by ``--labels FILE:COLUMN`` (case ignored).
_TABLE_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}


def load_labels(spec: str | None) -> Any:
    """``KEY`` (description key) or ``FILE:COLUMN`` (a .csv/.tsv/.tab/.txt table
    by its ``recording_id`` column, names matched whatever their case; ids
    written as paths with ``\\`` or ``.edf`` are read as the cache's ids).

    Recording ids are read as text (``001`` stays ``001``, as the cache names a
    file ``001.edf``); an empty label cell is an error naming the recordings.
    """
    if spec is None or ":" not in spec:
        return spec
    file, column = spec.rsplit(":", 1)
    suffix = Path(file).suffix.lower()
    if suffix not in _TABLE_SEPARATORS:
        return spec
    if not Path(file).is_file():
        raise FileNotFoundError(
            f"--labels {spec}: no file {file} (give FILE:COLUMN of a .csv/.tsv "
            "table with a recording_id column, or a description key)"
        )
    import pandas as pd

    sep = _TABLE_SEPARATORS[suffix]
    engine = "python" if sep is None else "c"
    # Column names matched whatever their case, as --metadata tables are.
    try:
        header = pd.read_csv(file, sep=sep, engine=engine, nrows=0).columns
        by_lower = {str(c).strip().lower(): c for c in header}
        key = by_lower.get("recording_id")
        col = column if column in header else by_lower.get(column.lower())
        for want, got in (("recording_id", key), (column, col)):
            if got is None:
                raise KeyError(f"{file} has no column {want!r}; has {list(header)}")
        table = pd.read_csv(file, sep=sep, engine=engine, dtype={key: str})
    except UnicodeDecodeError as err:
        # pandas names only the codec (a UTF-16 export from a spreadsheet).
        raise ValueError(
            f"--labels {file} is not UTF-8 text ({err.reason} at byte {err.start}): "
            "save the table as UTF-8 (CSV UTF-8 in a spreadsheet)"
        ) from None
    column = col
    ids = table[key].astype(str).map(_user_id)
    blank = table[column].isna() | (table[column].astype(str).str.strip() == "")
    if blank.any():
        which = list(ids[blank])
        raise ValueError(
            f"{file}: {int(blank.sum())} recording(s) have an empty {column!r} "
            f"label, e.g. {which[:5]}; fill them in or drop those rows"
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ValueError(
            f"{file}: recording_id {sorted(set(dup))[:5]} listed more than once; "
            "give one row per recording"
        )
    # Labels are stripped as ids are (" rest" in a hand-written CSV is rest).
    values = [v.strip() if isinstance(v, str) else v for v in table[column]]
    return dict(zip(ids, values))


def load_prompts(
    spec: str, bundle_sets: dict[str, dict[str, list[str]]] | None = None
) -> dict[str, list[str]]:
    """A built-in prompt set, one of the model bundle's, or a JSON file.

    Parameters
    ----------
    spec : str
        A built-in set name, a name in ``bundle_sets`` (the prompt sets a bundle
        ships, e.g. ``elm-open-5s``'s ``eegmat_rest_arithmetic``) or the path of a
        JSON file ``{class: [prompts]}``.
    bundle_sets : dict | None
        The model's ``prompt_sets`` (None: the model has none).

    Returns
    -------
    dict
        ``{class: [prompt, ...]}``.
    """
    from braindecode_elm.evaluation import PROMPT_SETS, get_prompts

    if spec in PROMPT_SETS or (bundle_sets and spec in bundle_sets):
        _warn_shadowed_file(spec)
        if spec in PROMPT_SETS:
            return get_prompts(spec)
        return {k: list(v) for k, v in bundle_sets[spec].items()}
    path = Path(spec)
    if not path.is_file():
        from_bundle = (
            f", one of the model's sets {sorted(bundle_sets)}," if bundle_sets else ""
        )
        raise FileNotFoundError(
            f"prompts {spec!r} is neither a built-in set {sorted(PROMPT_SETS)}"
            f"{from_bundle} nor a JSON file"
        )
    from braindecode_elm.models.bundle import check_prompt_set

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(
            f"prompts file {path} is not JSON text ({err}): write "
            '{"class": ["prompt", ...], ...} in UTF-8'
        ) from None
    return check_prompt_set(data, str(path))


def _warn_shadowed_file(spec: str) -> None:
    """Say that a file named like a prompt set is not read (the set is)."""
    if Path(spec).is_file():
        logger.warning(
            "--prompts %s names a prompt set; the file of that name in this folder "
            "is not read (give ./%s to read the file)",
            spec,
            spec,
        )


def _load_model(spec: str) -> Any:
    # The model factory pulls in torch: imported when a command needs a model.
    from braindecode_elm.models import load_model

    return load_model(spec)


def resolve_device(device: str | None) -> Any:
    """A :class:`torch.device` from ``--device`` (None/``auto``: cuda if present).

    Raises
    ------
    ValueError
        For a name torch does not know, or an accelerator this machine lacks.
    """
    import torch

    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"--device {device!r} is not a device name; use cpu, cuda, cuda:N, "
            "mps or auto"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"--device {device}: CUDA is not available on this machine (torch "
            f"{torch.__version__}); use --device cpu"
        )
    if dev.type == "cuda" and dev.index is not None:
        if dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"--device {device}: this machine has {torch.cuda.device_count()} "
                "CUDA device(s)"
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {device}: MPS is not available; use --device cpu")
    return dev


def _model(args: argparse.Namespace) -> Any:
    """The command's model on the ``--device`` it asks for."""
    device = resolve_device(getattr(args, "device", "cpu"))
    model = _load_model(args.model).to(device)
    logger.info("model %s on %s", args.model, device)
    if hasattr(args, "seconds"):
        _crop_length(args, model)
    return model


def _crop_length(args: argparse.Namespace, model: Any) -> None:
    """``--seconds``: the tower's own crop length unless given; said if not."""
    from braindecode_elm.evaluation.embedding import crop_seconds_of

    tower_s = crop_seconds_of(model)
    if args.seconds is None:
        # A 60 s tower read 5 s crops by default (and failed on every one).
        args.seconds = tower_s
    elif abs(args.seconds - tower_s) > 1e-6:
        logger.warning(
            "the model's EEG tower is trained on %g s crops; --seconds %g gives "
            "it inputs of another length (its pooling saw %g s only)",
            tower_s,
            args.seconds,
            tower_s,
        )


def _check_predictions(args: argparse.Namespace) -> None:
    path = getattr(args, "predictions", None)
    if path and Path(path).suffix.lower() != ".csv":
        raise ValueError(f"--predictions must name a .csv file, got {path}")


def write_predictions(path: str | os.PathLike[str], rows: list[dict]) -> Path:
    """Write prediction rows (dicts with the same keys) as a CSV file.

    Parameters
    ----------
    path : path-like
        The CSV file; its folder is created.
    rows : list of dict
        One row per prediction.

    Returns
    -------
    pathlib.Path
    """
    import pandas as pd

    out = Path(path)
    if out.suffix.lower() != ".csv":
        raise ValueError(f"--predictions must name a .csv file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    logger.info("%d predictions -> %s", len(rows), out)
    return out


def _threads() -> None:
    import torch

    n = int(os.environ.get("ELM_THREADS", "0") or 0)
    if n > 0:
        torch.set_num_threads(n)


def _user_id(text: str) -> str:
    """A recording id as a user may write it in a list or table: ``/`` for
    ``\\`` (paths typed on Windows) and without a leading ``./`` or a trailing
    ``.edf`` (the id of ``subjA/rest.edf`` is ``subjA/rest``)."""
    rid = str(text).strip().replace("\\", "/")
    while rid.startswith("./"):
        rid = rid[2:]
    if rid.lower().endswith(".edf") and len(rid) > 4:
        rid = rid[:-4]
    return rid


def _read_ids(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"--recordings {path} is not UTF-8 text ({err.reason} at byte "
            f"{err.start}): save it as UTF-8, one recording id per line"
        ) from None
    ids = [_user_id(x) for x in text.splitlines() if x.strip()]
    if not ids:
        raise ValueError(f"{path} lists no recording id")
    twice = sorted(k for k, n in Counter(ids).items() if n > 1)
    if twice:
        # A repeated id weighted its recording twice in zero-shot's figures and
        # failed other commands with "groups without any row".
        logger.warning(
            "--recordings %s lists %d id(s) more than once, used once each: %s",
            path,
            len(twice),
            ", ".join(twice[:10]) + (" ..." if len(twice) > 10 else ""),
        )
        ids = list(dict.fromkeys(ids))
    return ids


def _embed(args: argparse.Namespace, model: Any, *, with_text: bool) -> Any:
    from braindecode_elm.data import open_cache
    from braindecode_elm.evaluation import embed_corpus

    corpus = open_cache(args.cache)
    ids = _read_ids(args.recordings) if args.recordings else None
    emb = embed_corpus(
        model,
        corpus,
        recording_ids=ids,
        seconds=args.seconds,
        drop_first_s=args.drop_first,
        max_minutes=args.max_minutes,
        max_crops=args.max_crops,
        with_text=with_text,
        batch_size=getattr(args, "batch_size", 256),
        progress=not getattr(args, "quiet", False),
    )
    # Say which crops the figures come from (the windowing changes them).
    counts = Counter(emb.crop_groups)
    per = sorted(counts.values())
    logger.info(
        "%d recordings, %d crops of %g s (%s per recording; the first %g s of each "
        "skipped, at most %g min used: --drop-first, --max-minutes)",
        len(emb.ids),
        len(emb.crop_groups),
        args.seconds,
        f"{per[0]}" if per[0] == per[-1] else f"{per[0]}-{per[-1]}",
        args.drop_first,
        args.max_minutes,
    )
    return emb


def _out(args: argparse.Namespace) -> Path | None:
    """The ``--out`` folder, made now: a wrong path fails before the work."""
    if args.out is None:
        return None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the results")
    out.mkdir(parents=True, exist_ok=True)
    return out


def cmd_synth(args: argparse.Namespace) -> int:
    from braindecode_elm.data import make_synthetic_tuh

    weights = None
    if args.phenotypes:
        try:
            weights = {
                k.strip(): float(v)
                for k, v in (item.split("=") for item in args.phenotypes.split(","))
            }
        except ValueError as err:
            raise ValueError(
                f"--phenotypes must look like normal=0.5,diffuse_slowing=0.5, got "
                f"{args.phenotypes!r}"
            ) from err
    make_synthetic_tuh(
        args.out,
        args.subjects,
        seed=args.seed,
        phenotype_weights=weights,
        sessions_per_subject=tuple(getattr(args, "sessions", (1, 3))),
        duration_s=tuple(getattr(args, "duration", (120.0, 300.0))),
        overwrite=getattr(args, "overwrite", False),
        progress=not getattr(args, "quiet", False),
    )
    print(f"synthetic corpus with {args.subjects} subjects written to {args.out}")
    return 0


#: What to try when nothing was cached, per dominant skip reason.
_SKIP_HINTS = {
    "missing_report": "drop --require-reports to cache recordings without reports",
    "empty_report": "drop --require-reports to cache recordings without reports",
    "too_short": "lower --min-duration (seconds)",
    "too_long": "raise --max-duration (seconds, or 'none')",
    "discontinuous_edf": "split each EDF+D file at its time gaps into continuous "
    "EDF files (the manifest names the first gap of each)",
    "unsupported_format": "convert the recordings to EDF (mne.export.export_raw; "
    "for BIDS, mne_bids.write_raw_bids(..., format='EDF'))",
    "duplicate_id": "name recordings by their path in the folder (--ids path) "
    "where subject or session folders hold files of one name",
    "missing_tcp_electrodes": "the ELM montage needs the 10-20 electrodes of the "
    "TCP pairs (Fp1, F7, T3/T7, ...); check the channel names in the EDF headers",
}


def cmd_preprocess(args: argparse.Namespace) -> int:
    from braindecode_elm.data import SKIP_REASONS, build_cache, open_cache

    shard = None
    if args.shard:
        try:
            i, n = (int(v) for v in args.shard.split("/"))
        except ValueError as err:
            raise ValueError(f"--shard must look like I/N, got {args.shard!r}") from err
        shard = (i, n)
    source = Path(args.source)
    if source.is_file():
        raise ValueError(
            f"{source} is a file; elm preprocess reads a folder (searched "
            "recursively): give the folder holding it, and --recordings FILE (one "
            f"id per line, e.g. {source.stem}) to take only some recordings"
        )
    if not source.is_dir():
        raise FileNotFoundError(f"corpus folder {source} does not exist")
    ids = _read_ids(args.recordings) if args.recordings else None
    summary = build_cache(
        source,
        args.out,
        recipe=args.recipe,
        n_jobs=args.n_jobs,
        shard=shard,
        require_report=args.require_reports,
        prune_missing=args.prune_missing,
        min_duration_s=args.min_duration,
        max_duration_s=args.max_duration,
        metadata=args.metadata,
        recording_ids=ids,
        ids=args.ids,
        subjects=args.subjects,
        progress=not args.quiet,
    )
    print(summary)
    corpus = open_cache(args.out)
    n_subj = len(set(corpus.subjects))
    skipped = corpus.skipped
    with_report = sum(1 for r in corpus if r.report)
    print(
        f"cache {summary.out_dir}: {len(corpus)} recordings OK ({n_subj} subjects, "
        f"{with_report} with a report), {len(skipped)} skipped"
    )
    counts = skipped["reason"].value_counts() if len(skipped) else None
    if counts is None:
        print("skipped by reason: none")
    else:
        print("skipped by reason:")
        for reason, count in counts.items():
            print(f"  {reason:<24} {count:6d}  {SKIP_REASONS.get(reason, '')}")
    if counts is not None and "duplicate_id" in counts and args.ids == "stem":
        print(
            f"warning: {counts['duplicate_id']} recordings were skipped because "
            "another file has their name (see the manifest); to keep every one, "
            "name recordings by their path in the folder: --ids path",
            file=sys.stderr,
        )
    if len(corpus) > 1 and n_subj == 1:
        print(
            f"warning: all {len(corpus)} recordings have the subject "
            f"{corpus.subjects[0]!r}; subject-disjoint splits need several. Give "
            "subject ids with --metadata TABLE (columns recording_id, subject).",
            file=sys.stderr,
        )
    if len(corpus) == 0:
        top = None if counts is None else str(counts.index[0])
        hint = _SKIP_HINTS.get(top or "", "see the manifest for each file's reason")
        print(
            f"elm preprocess: error: nothing was cached from {source} "
            f"({len(skipped)} skipped); {hint}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    _threads()
    model = _model(args)
    emb = _embed(args, model, with_text=args.text)
    out = Path(args.out or "embeddings.npz")
    if out.suffix.lower() != ".npz":  # x.NPZ is a file too, not a folder
        out = out / "embeddings.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "ids": np.array(emb.ids),
        "crop_embeddings": emb.crop_embeddings.astype(np.float32),
        "crop_groups": np.array(emb.crop_groups),
        "recording_embeddings": emb.recording_embeddings().astype(np.float32),
    }
    # Recordings without a crop, left out with a warning: kept in the file too.
    left = list(getattr(emb, "skipped", None) or [])
    arrays["left_out_ids"] = np.array([str(r.get("recording")) for r in left])
    arrays["left_out_reasons"] = np.array([str(r.get("reason")) for r in left])
    if emb.text_embeddings is not None:
        arrays.update(
            text_embeddings=emb.text_embeddings.astype(np.float32),
            text_groups=np.array(emb.text_groups),
            texts=np.array(emb.texts),
        )
    if args.text and not len(emb.text_groups):
        logger.warning(
            "--text: the cache holds no report text, so no text was embedded; "
            "add reports with elm preprocess --metadata (a 'report' column) or "
            "a TUH/BIDS layout with reports"
        )
    # Through a file object: numpy appends ".npz" to a name ending in ".NPZ".
    with open(out, "wb") as fh:
        np.savez(fh, **arrays)
    n_text = f", {len(emb.text_groups)} text segments" if args.text else ""
    print(f"{len(emb.ids)} recordings, {len(emb.crop_groups)} crops{n_text} -> {out}")
    return 0


def cmd_zeroshot(args: argparse.Namespace) -> int:
    from braindecode_elm.evaluation import zero_shot
    from braindecode_elm.evaluation.zeroshot import bundle_offsets

    from . import plots

    _check_predictions(args)
    out = _out(args)
    _threads()
    model = _model(args)
    classes = load_prompts(args.prompts, getattr(model, "prompt_sets", None))
    offsets = None
    if not getattr(args, "no_calibration", False):
        offsets = bundle_offsets(model, args.prompts, classes)
    from braindecode_elm.evaluation.embedding import crop_seconds_of

    trained_s = crop_seconds_of(model)
    if offsets is not None and abs(args.seconds - trained_s) > 1e-6:
        logger.warning(
            "the bundle's class offsets were computed on %g s windows; with "
            "--seconds %g the scores shift and the offsets may not fit (compare "
            "--no-calibration, or keep --seconds %g)",
            trained_s,
            args.seconds,
            trained_s,
        )
    emb = _embed(args, model, with_text=False)
    crops = args.level == "crop"
    res = zero_shot(
        model,
        emb,
        classes,
        aggregate=args.level,
        labels=load_labels(args.labels),
        label_map=args.label_map,
        offsets=offsets,
    )
    # Which crop of its recording each row is (crop level): rows repeat ids.
    nth = _nth_of_group(res["ids"]) if crops else None
    if offsets is not None:
        print(
            "class offsets from the bundle's pretraining windows: "
            + ", ".join(f"{c} {v:+.4f}" for c, v in offsets.items())
            + " (subtracted from the cosine scores; --no-calibration for the raw "
            "argmax)"
        )
    for i, (rid, pred) in enumerate(zip(res["ids"], res["predictions"])):
        print(f"{rid}\t{nth[i]}\t{pred}" if crops else f"{rid}\t{pred}")
    if getattr(args, "predictions", None):
        names = res["classes"]
        rows = []
        for i, (rid, pred) in enumerate(zip(res["ids"], res["predictions"])):
            row = {"recording_id": rid, **({"crop": nth[i]} if crops else {})}
            row["prediction"] = pred
            if "y_true" in res:
                row["label"] = names[int(res["y_true"][i])]
            row.update(
                {f"score_{c}": float(res["scores"][i, k]) for k, c in enumerate(names)}
            )
            rows.append(row)
        write_predictions(args.predictions, rows)
    if "balanced_accuracy" in res:
        # Say how labels met classes: by name, or through which value map.
        how = (
            "labels matched to classes by name"
            if "label_map" not in res
            else "label map "
            + ", ".join(f"{k}={v}" for k, v in res["label_map"].items())
        )
        if np.isnan(res["balanced_accuracy"]):
            # One class among the labels: balanced accuracy would be its recall.
            only = sorted({res["classes"][int(k)] for k in res["y_true"]})
            print(
                f"balanced accuracy and AUROC need labels of two classes or more; "
                f"the {len(res['ids'])} recordings are all {', '.join(only)}: "
                f"accuracy {res['accuracy']:.3f} ({how})"
            )
        else:
            print(
                f"balanced accuracy {res['balanced_accuracy']:.3f}  "
                f"AUROC {res['auroc']:.3f}  (n={len(res['ids'])} "
                f"{'crops' if crops else 'recordings'}; classes "
                f"{', '.join(res['classes'])}; {how})"
            )
    if out is not None:
        if crops:
            res["crop"] = nth  # which crop (among those used) each row is
        # What the figures come from, so that the file can be read on its own.
        res["settings"] = _settings(
            args,
            emb,
            prompts=_where(args.prompts),
            label_map=args.label_map,
            calibrated=offsets is not None,
        )
        (out / "zeroshot.json").write_text(json.dumps(to_jsonable(res), indent=1))
        if "confusion_matrix" in res:
            plots.confusion_matrix(
                res["confusion_matrix"], res["classes"], out / "zeroshot_confusion.png"
            )
    return 0


def _where(spec: str | None) -> str | None:
    """``spec`` with a file or folder it names made absolute (``FILE:COLUMN``
    too), so that a results file can be read from anywhere; names stay."""
    if spec is None:
        return None
    if os.path.exists(spec):
        return os.path.abspath(spec)
    file, sep, column = spec.rpartition(":")
    if sep and file and os.path.isfile(file):
        return f"{os.path.abspath(file)}:{column}"
    return spec


def _settings(args: argparse.Namespace, emb: Any, **extra: Any) -> dict[str, Any]:
    """What a command's figures come from, for its results file: the model,
    cache, labels, level and crop settings, the recordings left out, and
    ``extra``."""
    return dict(
        model=_where(args.model),
        cache=os.path.abspath(args.cache),
        labels=_where(args.labels),
        level=args.level,
        **extra,
        seconds=args.seconds,
        drop_first_s=args.drop_first,
        max_minutes=args.max_minutes,
        max_crops=args.max_crops,
        recordings_file=args.recordings and os.path.abspath(args.recordings),
        left_out=list(getattr(emb, "skipped", None) or []),
    )


def _nth_of_group(ids: list[str]) -> list[int]:
    """Position of each row among the rows of its id (0, 1, ... per id)."""
    seen: Counter[str] = Counter()
    out = []
    for rid in ids:
        out.append(seen[rid])
        seen[rid] += 1
    return out


def cmd_retrieve(args: argparse.Namespace) -> int:
    from braindecode_elm.evaluation import retrieval_metrics
    from braindecode_elm.evaluation.embedding import embed_texts

    # Flags of the other mode were accepted and ignored; refused before any work.
    if args.query is None and args.top_k is not None:
        raise ValueError("--top-k lists the recordings of a --query: give --query")
    if args.query is not None and args.positives is not None:
        raise ValueError(
            "--positives sets how the metrics count right answers; a --query "
            "ranks recordings by the text alone: drop one of the two"
        )
    out = _out(args)
    _threads()
    model = _model(args)
    emb = _embed(args, model, with_text=args.query is None)
    if args.query is not None:
        q = embed_texts(model, [args.query])[0]
        sims = emb.recording_embeddings() @ q
        top_k = 5 if args.top_k is None else args.top_k
        order = np.argsort(-sims)[:top_k]
        hits = []
        for rank, i in enumerate(order, 1):
            print(f"{rank}\t{emb.ids[i]}\t{sims[i]:.3f}")
            hits.append(
                {"rank": rank, "recording_id": emb.ids[i], "similarity": sims[i]}
            )
        if out is not None:
            found = {"query": args.query, "top_k": top_k, "results": hits}
            (out / "search.json").write_text(json.dumps(to_jsonable(found), indent=1))
        return 0
    res = retrieval_metrics(model, emb, positives=args.positives or "text")
    print(
        f"{res['n_recordings']} recordings, {res['n_segments']} text segments "
        f"({res['n_distinct_texts']} distinct); {res['positives_rule']}; chance = "
        "expected recall of a random ranking with the same positives"
    )
    if res["n_texts_left_out"]:
        shown = "; ".join(repr(t) for t in res["texts_left_out"][:3])
        more = res["n_texts_left_out"] - 3
        print(
            f"left out {res['n_texts_left_out']} "
            f"{'text' if res['n_texts_left_out'] == 1 else 'texts'} held by every "
            f"recording's report ({res['n_segments_left_out']} segments), which "
            f"cannot tell recordings apart: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    for direction in ("eeg_to_text", "text_to_eeg"):
        m = res[direction]
        print(
            f"{direction}: R@1 {m['R@1']:.3f} (chance {m['chance_R@1']:.3f}) "
            f"R@5 {m['R@5']:.3f} (chance {m['chance_R@5']:.3f}) R@10 "
            f"{m['R@10']:.3f} (chance {m['chance_R@10']:.3f}) median rank "
            f"{m['median_rank']:.1f} mAP {m['mAP']:.3f} "
            f"(chance {m['chance_mAP']:.3f}), {m['n_queries']} recordings"
        )
    m = res["eeg_to_text"]
    # What ignoring the EEG gets: a score at or below it says nothing about the EEG.
    print(
        "eeg_to_text text-frequency baseline (texts ranked by how many reports "
        f"hold them, no EEG): R@1 {m['text_frequency_R@1']:.3f} R@5 "
        f"{m['text_frequency_R@5']:.3f} R@10 {m['text_frequency_R@10']:.3f} "
        f"median rank {m['text_frequency_median_rank']:.1f} mAP "
        f"{m['text_frequency_mAP']:.3f}"
    )
    if out is not None:
        (out / "retrieval.json").write_text(json.dumps(to_jsonable(res), indent=1))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from braindecode_elm.evaluation import linear_probe
    from braindecode_elm.evaluation.splits import subject_split

    from . import plots

    _check_predictions(args)
    out = _out(args)
    labels = load_labels(args.labels)
    _threads()
    model = _model(args)
    emb = _embed(args, model, with_text=False)
    subjects = [emb.subjects[r] for r in emb.ids]
    from braindecode_elm.evaluation.zeroshot import resolve_labels

    train_ids, test_ids = subject_split(
        emb.ids,
        subjects,
        [1 - args.test_size, args.test_size],
        stratify=resolve_labels(emb, labels),
    )
    fractions = list(args.fractions)
    res = linear_probe(
        model,
        emb.subset(train_ids),
        emb.subset(test_ids),
        labels=labels,
        level=args.level,
        fractions=fractions,
        seeds=args.seeds,
        val_size=args.val_size,
        return_predictions=bool(getattr(args, "predictions", None)),
    )
    if getattr(args, "predictions", None):
        rows = res.pop("predictions")
        key = "recording_id" if args.level == "recording" else "window_of"
        # The id first, as the docs list the columns (it came last).
        rows = [{key: row.pop("id"), **row} for row in rows]
        write_predictions(args.predictions, rows)
    print(format_probe_summary(res))
    for note in probe_notes(res):
        logger.warning(note)
    if out is not None:
        # The split and settings the figures come from (the test ids could not
        # be read back).
        # "train" includes the validation part linear_probe holds out of it
        # (--val-size) to choose C.
        res["split"] = {"train": list(train_ids), "test": list(test_ids)}
        res["settings"] = _settings(
            args, emb, test_size=args.test_size, val_size=args.val_size
        )
        (out / "probe.json").write_text(json.dumps(to_jsonable(res), indent=1))
        plots.probe_curves({"model": res["summary"]}, out / "probe_curves.png")
    return 0


def probe_notes(res: dict) -> list[str]:
    """What a probe summary does not show: fractions that kept the same
    training set, and a C grid whose edge was chosen in every run."""
    from braindecode_elm.evaluation.probe import PROBE_CS

    notes = []
    by_n: dict[int, list[str]] = {}
    for f, s in res["summary"].items():
        by_n.setdefault(int(s["n_train"]), []).append(f"{float(f) * 100:g}%")
    for n, fr in by_n.items():
        if len(fr) > 1:
            notes.append(
                f"label fractions {', '.join(fr)} all keep the same {n} training "
                "examples (at least one per class): their rows are one probe; use "
                "more subjects for distinct fractions"
            )
    cs = {float(r["C"]) for r in res.get("runs", [])}
    for edge, what in ((PROBE_CS[0], "smallest"), (PROBE_CS[-1], "largest")):
        if cs == {float(edge)}:
            notes.append(
                f"every run chose C={edge:g}, the {what} of the grid: the "
                "validation split is too small to choose C (ties go to the "
                "smallest); give more subjects or a larger --val-size"
            )
    return notes


def format_probe_summary(res: dict) -> str:
    """One line per label fraction: mean +- std of balanced accuracy and AUROC."""
    lines = ["fraction  n_train  balanced_acc     AUROC"]
    for f, s in res["summary"].items():
        lines.append(
            # :g, not .0f: fractions below 1 % printed as "0%" (0.4 %, 1.5 %).
            f"{float(f) * 100:>7g}%  {s['n_train']:7d}  "
            f"{s['balanced_accuracy_mean']:.3f}+-{s['balanced_accuracy_std']:.3f}  "
            f"{s['auroc_mean']:.3f}+-{s['auroc_std']:.3f}"
        )
    return "\n".join(lines)


def cmd_benchmark(args: argparse.Namespace) -> int:
    from braindecode_elm.evaluation import PROMPT_SETS
    from braindecode_elm.evaluation.benchmark import (
        bundle_prompt_sets,
        run_benchmark,
        unique_names,
    )

    _threads()
    models = [m for m in args.models.split(",") if m]
    # A name is resolved as elm zeroshot resolves it: a built-in set, else a
    # bundle's own set (with its offsets, per model), else a JSON file (here a
    # file of a set's name used to win).
    is_set = args.prompts in PROMPT_SETS or any(
        args.prompts in by_name
        for by_name in bundle_prompt_sets(
            [spec for _, spec in unique_names(models)]
        ).values()
    )
    if is_set:
        _warn_shadowed_file(args.prompts)
    board = run_benchmark(
        models=models,
        datasets=[d for d in args.datasets.split(",") if d],
        tasks=[t for t in args.tasks.split(",") if t],
        out_dir=args.out,
        labels=load_labels(args.labels),
        prompts=(
            load_prompts(args.prompts)
            if not is_set and Path(args.prompts).is_file()
            else args.prompts
        ),
        label_map=args.label_map,
        seeds=args.seeds,
        weights_dir=args.weights_dir,
        drop_first_s=args.drop_first,
        max_minutes=args.max_minutes,
        device=str(resolve_device(getattr(args, "device", None))),
        batch_size=getattr(args, "batch_size", 256),
    )
    print(board)
    import pandas as pd

    table = pd.read_csv(Path(args.out) / "leaderboard.csv")
    if not (table["metric"] != "status").any():
        # Every cell skipped or failed (e.g. a probe without --labels): the run
        # produced nothing, which a script must not mistake for success.
        print(
            "elm benchmark: error: no cell of the grid produced results; the "
            f"reasons are in the table above and in {Path(args.out) / 'cells'}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(
        args.out,
        quick=args.quick,
        n_subjects=args.subjects,
        epochs=args.epochs,
        eegmat=not args.skip_eegmat,
        data_dir=args.data_dir,
        seed=args.seed,
        seeds=args.seeds,
        real_epochs=args.real_epochs,
        threads=args.threads,
        progress=not args.quiet,
    )
    return 0


def cmd_open_recipe(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from braindecode_elm.evaluation.open_recipe import (
        OPEN_RECIPE,
        results_table,
        run_open_recipe,
    )

    recipe = (
        OPEN_RECIPE if args.epochs is None else replace(OPEN_RECIPE, epochs=args.epochs)
    )
    _refuse_earlier_run(
        Path(args.out),
        ["results.json", *(f"seed{k}" for k in args.seeds)],
        args.overwrite,
    )
    res = run_open_recipe(
        args.out,
        data_dir=args.data_dir,
        seeds=args.seeds,
        recipe=recipe,
        threads=args.threads,
        # --quiet: the results table only, no progress lines.
        log=None if args.quiet else print,
    )
    print(results_table(res))
    print(f"bundles and results.json written to {args.out}")
    return 0


def _aliases(items: list[str], templates: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``--alias FACT:LABEL=VALUE`` items as DescriptionBuilder's ``aliases``.

    Each is checked by building a DescriptionBuilder with it (and the
    ``--label-column`` templates), so that a typo is named with the flag
    rather than as a keyword argument of the library.
    """
    from braindecode_elm.data.descriptions import DescriptionBuilder, _norm

    facts = DescriptionBuilder(templates).templates
    out: dict[str, dict[str, str]] = {}
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    for item in items:
        fact, sep, rest = item.partition(":")
        label, eq, value = rest.partition("=")
        fact, label, value = fact.strip(), label.strip(), value.strip()
        if not (sep and eq and fact and label and value):
            raise ValueError(
                f"--alias {item!r}: write FACT:LABEL=VALUE, e.g. state:T0=rest"
            )
        if fact not in facts:
            raise ValueError(
                f"--alias {item!r}: no fact {fact!r} (facts: {sorted(facts)}; "
                "--label-column adds one)"
            )
        if fact == "age_group":
            # Computed from the age (a decade): an alias would never be read.
            raise ValueError(
                f"--alias {item!r}: age_group is computed from the age, not read "
                "from labels; give ages (an age column) instead"
            )
        key = _norm(label)
        earlier = spelled.setdefault((fact, key), (item, _norm(value)))
        if earlier[1] != _norm(value):
            # Spellings match as _norm reads them: the last one won in silence.
            raise ValueError(
                f"--alias {item!r} and --alias {earlier[0]!r} give {fact} "
                f"{label!r} two values (labels match whatever their case, spaces, "
                "dashes and underscores)"
            )
        try:
            DescriptionBuilder(templates, aliases={fact: {label: value}})
        except ValueError:
            raise ValueError(
                f"--alias {item!r}: {value!r} is not a value of {fact!r} "
                f"(values: {sorted(set(facts[fact]) - {'*'})})"
            ) from None
        out.setdefault(fact, {})[label] = value
    return out


def _refuse_earlier_run(out: Path, names: list[str], overwrite: bool) -> None:
    """Refuse to write a run over an earlier one unless ``--overwrite``.

    A trained bundle takes minutes to hours to make; it was replaced in silence.
    """
    found = [n for n in names if (out / n).exists()]
    if found and not overwrite:
        raise FileExistsError(
            f"--out {out} holds an earlier run ({', '.join(found)}); choose another "
            "folder, or pass --overwrite to replace it"
        )


def _named(values: list[str], what: str) -> dict[str, list[str]]:
    """``NAME=VALUE`` arguments grouped by name."""
    out: dict[str, list[str]] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{what} {item!r}: write NAME=VALUE (e.g. lab=/data/x)")
        out.setdefault(name, []).append(value)
    return out


def _per_source(values: list[str], sources: dict, option: str, choices) -> dict:
    """``--ids path`` (every source) and ``--ids NAME=path`` (one source)."""
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.rpartition("=")
        if sep and name not in sources:
            raise ValueError(
                f"{option} {item}: no --source is named {name!r} (sources: "
                f"{sorted(sources)})"
            )
        if value not in choices:
            raise ValueError(f"{option} {item}: choose one of {list(choices)}")
        for n in [name] if sep else list(sources):
            out[n] = value
    return out


def _unread_columns(tables: list[str], builder: Any) -> dict[str, list[str]]:
    """Columns of label tables that no fact reads, with a few of their values."""
    from braindecode_elm.data.tuh_index import (
        RECORDING_KEYS,
        SUBJECT_KEYS,
        read_metadata,
    )

    read = {k.lower() for keys in builder.sources.values() for k in keys}
    read |= set(builder.templates) | set(RECORDING_KEYS) | set(SUBJECT_KEYS)
    read |= {"report", "session", "run", "task", "age"}
    out: dict[str, list[str]] = {}
    for table in tables:
        frame = read_metadata(table)
        for col in frame.columns:
            if str(col).strip().lower() not in read:
                vals = frame[col].dropna().astype(str).unique()[:4]
                out.setdefault(str(col), list(vals))
    return out


def cmd_pretrain_labelled(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from braindecode_elm.data import TUHReports
    from braindecode_elm.data.descriptions import (
        DescriptionBuilder,
        generic_templates,
        tuh_annotation_facts,
    )
    from braindecode_elm.data.labelled_corpus import build_labelled_corpus
    from braindecode_elm.evaluation.heldout import set_deterministic
    from braindecode_elm.evaluation.labelled_run import run_labelled_recipe
    from braindecode_elm.training.labelled import LabelledRecipe

    sources = _named(args.source, "--source")
    twice = [n for n, v in sources.items() if len(v) > 1]
    if twice:
        raise ValueError(f"--source names {twice} more than once")
    tables = _named(args.metadata, "--metadata")
    for option, names in (
        ("--metadata", list(tables)),
        ("--events", args.events),
        ("--tuh-annotations", args.tuh_annotations),
    ):
        unknown = sorted(set(names) - set(sources))
        if unknown:
            raise ValueError(
                f"{option} names datasets {unknown} that no --source gives "
                f"(sources: {sorted(sources)})"
            )
    both = sorted(set(args.events) & set(args.tuh_annotations))
    if both:
        raise ValueError(
            f"--events and --tuh-annotations both segment {both}: choose one per "
            "dataset"
        )
    if not 0 < args.test_size < 1:
        raise ValueError(f"--test-size must be in (0, 1), got {args.test_size}")
    ids = _per_source(args.ids or ["stem"], sources, "--ids", ("stem", "path"))
    subjects = _per_source(
        args.subjects or ["auto"], sources, "--subjects", ("auto", "folder")
    )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder")
    _refuse_earlier_run(out, ["results.json", "bundle"], args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    templates = {c: generic_templates(c) for c in args.label_column}
    builder = DescriptionBuilder(
        templates=templates, aliases=_aliases(args.alias, templates)
    )
    datasets, skipped_files = {}, []
    for name, (folder,) in sources.items():
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"--source {name}={folder}: no such folder")
        datasets[name] = TUHReports(
            folder,
            metadata=tables.get(name),
            ids=ids.get(name, "stem"),
            subjects=subjects.get(name, "auto"),
        )
        for row in datasets[name].skipped.itertuples():
            logger.warning(
                "%s: left out %s: %s: %s", name, row.path, row.reason, row.detail
            )
            skipped_files.append(
                dict(dataset=name, path=row.path, reason=row.reason, detail=row.detail)
            )
        dup = datasets[name].skipped["reason"].eq("duplicate_id").sum()
        if dup and ids.get(name) == "stem":
            logger.warning(
                "%s: %d files share a name with another file; to keep every one, "
                "name recordings by their path in the folder: --ids %s=path",
                name,
                dup,
                name,
            )
    columns = {
        str(c).lower(): str(c)
        for ds in datasets.values()
        for c in getattr(ds.description, "columns", [])
    }
    absent = [c for c in args.label_column if c.lower() not in columns]
    if absent:
        # Accepted in silence before: the fact was simply never written.
        raise ValueError(
            f"--label-column {absent} names no column of the recordings' labels "
            f"or metadata tables (they have {sorted(columns.values())})"
        )
    participants = [
        str(Path(f) / "participants.tsv")
        for (f,) in sources.values()
        if (Path(f) / "participants.tsv").is_file()
    ]
    unread = _unread_columns(
        [t for ts in tables.values() for t in ts] + participants, builder
    )
    if unread:
        logger.warning(
            "columns of the label tables that no fact reads (not written into the "
            "text): %s; make one a fact with --label-column COLUMN",
            "; ".join(f"{c} (e.g. {', '.join(v)})" for c, v in unread.items()),
        )
    corpus = build_labelled_corpus(
        datasets,
        builder=builder,
        events={n: True for n in args.events},
        facts_of={n: tuh_annotation_facts for n in args.tuh_annotations},
        progress=not args.quiet,
    )
    for row in corpus.skipped:
        logger.warning("skipped %s: %s", row["recording"], row["reason"])
    known = sorted({f for s in corpus.segments for f in s.facts})
    recipe = LabelledRecipe()
    if args.epochs is not None:
        recipe = replace(recipe, epochs=args.epochs)
    if args.facts:
        wanted = [f for f in args.facts.split(",") if f]
        missing = sorted(set(wanted) - set(known))
        if missing:
            raise ValueError(
                f"--facts names {missing}, which no recording has; the corpus has "
                f"{known} (a table column becomes a fact with --label-column)"
            )
        recipe = replace(recipe, facts=tuple(wanted))
    set_deterministic(args.seed, args.threads)
    res = run_labelled_recipe(
        corpus,
        out,
        recipe=recipe,
        test_size=args.test_size,
        seed=args.seed,
        builder=builder,
        log=None if args.quiet else print,
        skipped=skipped_files,
    )
    print(
        f"{len(res['split']['train'])} training and {len(res['split']['test'])} "
        "held-out subjects"
    )
    print("fact\tvalues\tunit\tbalanced accuracy\tAUROC (held-out subjects)")
    for fact, r in res["facts"].items():
        rec = r.get("recording")
        if rec is None:
            print(f"{fact}\t{','.join(r['values'])}\t-\t{r['note']}")
            continue
        ba, auc = rec["balanced_accuracy"], rec["auroc"]
        print(
            f"{fact}\t{','.join(r['values'])}\t{r['unit']}\t"
            + ("one class" if ba is None else f"{ba:.3f}")
            + "\t"
            + ("-" if auc is None else f"{auc:.3f}")
        )
    print(f"bundle and results.json written to {out}")
    return 0


def cmd_convert_official(args: argparse.Namespace) -> int:
    from braindecode_elm.models.official_checkpoint import (
        convert_official_checkpoint,
        file_sha256,
    )

    out = convert_official_checkpoint(
        args.checkpoint, args.out, args.variant, expected_sha256=args.sha256
    )
    print(f"wrote ELM bundle {out} (official {args.variant} EEG tower, no text head)")
    print(f"source SHA-256: {file_sha256(args.checkpoint)}")
    return 0
