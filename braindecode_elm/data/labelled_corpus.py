"""One pretraining corpus from several labelled EEG collections (text from labels).

:func:`build_labelled_corpus` takes any number of Braindecode/MOABB-style
datasets (a ``BaseConcatDataset`` of Raws with description rows: the shared
EEGMAT and EEGBCI, a MOABB dataset converted by Braindecode, a BIDS folder read
by MNE-BIDS, TUH through :class:`~braindecode_elm.data.TUHReports`), runs each
recording once through the ELM preprocessing (Rust engine: TCP montage,
0.1-49 Hz, x1e5, clip +-80, 100 Hz) and turns its labels and metadata into
facts (:class:`~braindecode_elm.data.descriptions.DescriptionBuilder`). With
``events=True`` every annotated event becomes its own segment whose facts add
the event's label (EEGBCI rest / left hand / feet trials).

The corpus keeps the dataset of every segment, so batches can be drawn per
dataset (:meth:`LabelledCorpus.batches`) and splits are subject-disjoint within
each dataset (:meth:`LabelledCorpus.split`, using the package's one split
function :func:`~braindecode_elm.data.splits.subject_split`, checked with
:func:`~braindecode_elm.data.splits.check_no_subject_overlap`). Subjects are
namespaced by dataset (``"eegmat/eegmat-03"``) so two collections that both
number their subjects from 1 never collide.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dsp.recipe import ELM_CROP_S, ELM_SFREQ
from .descriptions import DescriptionBuilder, FactSpan
from .splits import check_no_subject_overlap, split_names, subject_split

__all__ = ["Segment", "LabelledCorpus", "build_labelled_corpus"]

#: Output rate of the ELM preprocessing (Hz).
_SFREQ = ELM_SFREQ


@dataclass(frozen=True)
class Segment:
    """A labelled stretch of one recording.

    Attributes
    ----------
    dataset : str
        Source name given to :func:`build_labelled_corpus`.
    subject : str
        ``"<dataset>/<subject>"``.
    recording : str
        ``"<dataset>/<recording_id>"`` (key of :attr:`LabelledCorpus.signals`).
    start, stop : int
        Sample range at 100 Hz.
    facts : dict
        Canonical facts (see :mod:`~braindecode_elm.data.descriptions`).
    """

    dataset: str
    subject: str
    recording: str
    start: int
    stop: int
    facts: dict[str, str] = field(hash=False)


class LabelledCorpus:
    """Preprocessed signals and their labelled segments, from several datasets.

    Parameters
    ----------
    signals : dict
        ``recording -> (20, n_times)`` float32 arrays in ELM units at 100 Hz.
    segments : list of Segment
        Labelled stretches of those recordings.
    skipped : list of dict
        Recordings left out, with ``dataset``, ``recording`` and ``reason``.
    """

    def __init__(
        self,
        signals: dict[str, np.ndarray],
        segments: list[Segment],
        skipped: list[dict[str, str]] | None = None,
    ) -> None:
        missing = {s.recording for s in segments} - set(signals)
        if missing:
            raise ValueError(f"segments refer to unknown recordings {sorted(missing)}")
        self.signals = signals
        self.segments = list(segments)
        self.skipped = list(skipped or [])

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def datasets(self) -> list[str]:
        """Dataset names in order of first appearance."""
        return list(dict.fromkeys(s.dataset for s in self.segments))

    @property
    def subjects(self) -> list[str]:
        """Subject of every segment."""
        return [s.subject for s in self.segments]

    def subset(self, index: Sequence[int]) -> LabelledCorpus:
        """The corpus restricted to segments ``index`` (signals shared)."""
        segs = [self.segments[int(i)] for i in index]
        keep = {s.recording for s in segs}
        return LabelledCorpus(
            {k: v for k, v in self.signals.items() if k in keep}, segs, self.skipped
        )

    def select(self, **criteria: Any) -> LabelledCorpus:
        """Segments whose attributes match, e.g. ``select(dataset="eegmat")``.

        A criterion value may be a single value or a collection of values.
        """

        def ok(seg: Segment) -> bool:
            for k, v in criteria.items():
                got = getattr(seg, k)
                if isinstance(v, (list, tuple, set, frozenset)):
                    if got not in v:
                        return False
                elif got != v:
                    return False
            return True

        return self.subset([i for i, s in enumerate(self.segments) if ok(s)])

    # -- splits ----------------------------------------------------------------
    def split(
        self,
        fractions: Mapping[str, float] | Sequence[float] = (0.8, 0.2),
        *,
        seed: int = 0,
        fixed: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    ) -> dict[str, LabelledCorpus]:
        """Subject-disjoint splits, made within each dataset.

        Parameters
        ----------
        fractions : mapping or sequence of float
            Share of each dataset's subjects per split (as
            :func:`~braindecode_elm.data.splits.subject_split`).
        seed : int
            Seed of the subject order.
        fixed : mapping | None
            ``dataset -> split name -> subjects`` for datasets split by a given
            list instead (e.g. EEGMAT subjects 24-35 held out); subjects are the
            :attr:`Segment.subject` strings. A dataset listed here must assign
            every one of its subjects.

        Returns
        -------
        dict of str to LabelledCorpus
            One corpus per split name.

        Raises
        ------
        SubjectLeakageError
            If a subject ends up in two splits (cannot happen by construction;
            checked anyway).
        ValueError
            If ``fixed`` leaves a subject of its dataset unassigned.
        """
        fixed = fixed or {}
        unknown = sorted(set(fixed) - set(self.datasets))
        if unknown:
            raise ValueError(
                f"fixed names datasets {unknown} that the corpus does not hold; "
                f"its datasets are {self.datasets}"
            )
        parts: dict[str, list[int]] = {}
        for ds in self.datasets:
            idx = [i for i, s in enumerate(self.segments) if s.dataset == ds]
            subj = [self.segments[i].subject for i in idx]
            if ds in fixed:
                where = {str(s): name for name, subs in fixed[ds].items() for s in subs}
                lost = sorted(set(subj) - set(where))
                if lost:
                    raise ValueError(
                        f"fixed split of {ds!r} does not place subjects {lost[:5]}"
                        f" ({len(lost)} in all); list every subject"
                    )
                absent = sorted(set(where) - set(subj))
                if absent:
                    raise ValueError(
                        f"fixed split of {ds!r} lists subjects it does not hold: "
                        f"{absent[:5]} ({len(absent)} in all); its subjects look "
                        f"like {sorted(set(subj))[:3]} (dataset/subject)"
                    )
                for i, s in zip(idx, subj):
                    parts.setdefault(where[s], []).append(i)
                continue
            for name, pos in subject_split(subj, fractions, seed=seed).items():
                parts.setdefault(name, []).extend(idx[p] for p in pos)
        out = {name: self.subset(sorted(ix)) for name, ix in parts.items()}
        check_no_subject_overlap({n: c.subjects for n, c in out.items()})
        names: list[Any] = []
        if any(ds not in fixed for ds in self.datasets):
            # The fractions' parts (with a share), only where some dataset is
            # split by them.
            shares = (
                list(fractions.values())
                if isinstance(fractions, Mapping)
                else list(fractions)
            )
            names = [n for n, f in zip(split_names(fractions), shares) if f > 0]
        names += [n for d in fixed.values() for n in d]
        empty = [n for n in dict.fromkeys(names) if not len(out.get(n, ()))]
        if empty:
            # A part with no subject (too few subjects for the fractions) is
            # empty or missing in the result: said, not left for a KeyError.
            warnings.warn(
                f"split parts {empty} got no subject (the corpus has "
                f"{len(set(self.subjects))} subjects in {len(self.datasets)} "
                "dataset(s)); they are empty",
                UserWarning,
                stacklevel=2,
            )
        return out

    # -- crops and batches -------------------------------------------------------
    def crops(
        self, seconds: float = ELM_CROP_S, *, max_crops: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Non-overlapping crops of every segment.

        A segment shorter than ``seconds`` gives one crop starting at its onset
        (running into what follows, clamped to the recording), so short event
        trials (4 s EEGBCI cues) still give a full-length crop.

        Parameters
        ----------
        seconds : float
            Crop length.
        max_crops : int | None
            At most this many evenly spaced crops per segment.

        Returns
        -------
        crops : np.ndarray
            (n_crops, 20, seconds * 100) float32.
        segment : np.ndarray
            Index of the segment of each crop.
        """
        n = int(round(seconds * _SFREQ))
        xs, seg_idx = [], []
        for i, s in enumerate(self.segments):
            sig = self.signals[s.recording]
            if sig.shape[1] < n:
                continue
            k = max(1, (s.stop - s.start) // n)
            starts = np.minimum(s.start + n * np.arange(k), sig.shape[1] - n)
            if max_crops is not None and k > max_crops:
                starts = starts[np.linspace(0, k - 1, max_crops).round().astype(int)]
            for st in starts:
                xs.append(sig[:, st : st + n])
                seg_idx.append(i)
        if not xs:
            raise ValueError(f"no segment gives a {seconds} s crop")
        return np.stack(xs).astype(np.float32), np.asarray(seg_idx)

    def batches(
        self,
        items: Sequence[int],
        batch_size: int,
        *,
        seed: int = 0,
        by_dataset: bool = True,
    ) -> Iterator[np.ndarray]:
        """Shuffled mini-batches of positions into ``items``, dataset-aware.

        Parameters
        ----------
        items : sequence of int
            Segment index of each item (e.g. the ``segment`` array of
            :meth:`crops`).
        batch_size : int
            Items per batch.
        seed : int
            Shuffling seed.
        by_dataset : bool
            Every batch holds items of one dataset only (contrasts stay within a
            collection, as CLIP-style training on mixed sources does, so the
            model cannot win by telling datasets apart); batches of the datasets
            are interleaved at random. False mixes everything.

        Yields
        ------
        np.ndarray
            Positions into ``items``.
        """
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {batch_size}")
        rng = np.random.default_rng(seed)
        items = np.asarray(items)
        groups = (
            [
                np.flatnonzero([self.segments[j].dataset == ds for j in items])
                for ds in self.datasets
            ]
            if by_dataset
            else [np.arange(len(items))]
        )
        batches = []
        for g in groups:
            g = rng.permutation(g)
            batches += [g[i : i + batch_size] for i in range(0, len(g), batch_size)]
        for k in rng.permutation(len(batches)):
            if len(batches[k]) >= 2:
                yield batches[k]


def _eeg_signal(raw: Any) -> np.ndarray:
    import mne

    from ..dsp import ELM_CLIP, ELM_SCALE, preprocess

    picks = mne.pick_types(raw.info, eeg=True, exclude=[])
    names = [raw.ch_names[i] for i in picks]
    x = raw.get_data(picks=picks)
    y, _ = preprocess(
        x, names, float(raw.info["sfreq"]), scale=ELM_SCALE, clip=ELM_CLIP
    )
    return np.asarray(y, dtype=np.float32)


def _plain(desc: Any) -> dict[str, Any]:
    return {str(k): v for k, v in dict(desc).items()}


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in ("", "nan", "n/a", "none")


def _id_text(v: Any) -> str:
    """An id as text: ``1``, ``1.0`` and ``np.int64(1)`` are all ``"1"`` (a
    pandas column of integers with a gap is read as floats)."""
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _recording_id(desc: Mapping[str, Any], key: str, subject_key: str) -> str | None:
    """The recording id of a description row, or None when it has none.

    The ``key`` column when present; else (a MOABB dataset converted by
    Braindecode describes a recording by ``subject``, ``session`` and ``run``)
    those columns joined with ``_``.
    """
    if key in desc and not _missing(desc[key]):
        return _id_text(desc[key])
    if key != "recording_id" or not ({"session", "run"} & set(desc)):
        return None
    parts = [desc.get(k) for k in (subject_key, "session", "run") if k in desc]
    if any(_missing(p) for p in parts):
        return None
    return "_".join(_id_text(p) for p in parts)


def build_labelled_corpus(
    sources: Mapping[str, Any],
    *,
    builder: DescriptionBuilder | None = None,
    events: bool | Mapping[str, bool] = False,
    subject_key: str = "subject",
    recording_key: str = "recording_id",
    min_seconds: float = ELM_CROP_S,
    facts_of: Callable[..., Sequence[Mapping[str, str] | FactSpan]]
    | Mapping[str, Callable[..., Sequence[Mapping[str, str] | FactSpan]]]
    | None = None,
    progress: bool = False,
) -> LabelledCorpus:
    """Preprocess several labelled datasets into one :class:`LabelledCorpus`.

    Parameters
    ----------
    sources : mapping
        ``name -> dataset``: a Braindecode ``BaseConcatDataset`` of Raw
        datasets with description rows (labels, age, sex ...).
    builder : DescriptionBuilder | None
        Facts and templates (default :class:`DescriptionBuilder()`).
    events : bool | mapping
        Segment recordings by their annotations (per dataset when a mapping):
        each annotation gives a segment with the recording's facts plus the
        event label (as ``state`` when it names one, e.g. ``rest``, else as
        ``movement``/``finding``); annotations that give no new fact are left
        out. False: one segment per recording.
    subject_key, recording_key : str
        Description columns with the subject and recording ids (subjects come
        from inside the data, never from folder names). Without a
        ``recording_id`` column, a row's ``subject``, ``session`` and ``run``
        (as MOABB datasets converted by Braindecode have) make the id. Ids are
        text (``1`` and ``1.0`` are one subject); a recording id given to two
        recordings of a dataset, or a recording without a subject, is an error.
        Datasets are assumed to hold different people (subjects are namespaced
        by dataset): give recordings of the same people as one source.
    min_seconds : float
        Recordings shorter than this (one crop) are skipped (listed in
        :attr:`LabelledCorpus.skipped`).
    facts_of : callable | mapping | None
        Facts from somewhere other than the description row (per dataset when a
        mapping): called with the row and the corpus's builder (whose templates
        and aliases it should use), it returns a list of fact dicts, each of
        which becomes a segment spanning the recording, or of
        :class:`~braindecode_elm.data.descriptions.FactSpan` (facts over a
        stretch in seconds from the recording's start; stretches starting after
        the end are left out with a warning); an empty list, or a
        ``ValueError`` (a malformed annotation file), skips the recording with
        the reason. For TUH without reports,
        :func:`~braindecode_elm.data.descriptions.tuh_annotation_facts` reads
        the TUEV/TUSZ annotation file beside each EDF and places each annotated
        stretch in time. Not with ``events``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    LabelledCorpus
        Recordings without any known fact, without the montage's channels or
        shorter than ``min_seconds`` are not dropped silently: they are listed
        in :attr:`LabelledCorpus.skipped` with the reason.
    """
    b = builder or DescriptionBuilder()
    signals: dict[str, np.ndarray] = {}
    segments: list[Segment] = []
    skipped: list[dict[str, str]] = []
    # Label values no template names: said once, not dropped unseen.
    unused: Counter[tuple[str, str, str, str]] = Counter()
    dropped_events: Counter[tuple[str, str]] = Counter()
    late_spans: Counter[tuple[str, str]] = Counter()
    todo = [(name, d) for name, ds in sources.items() for d in ds.datasets]
    it: Any = todo
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(todo, desc="preprocessing", unit="rec")
    owner: dict[str, str] = {}
    n_samples = int(round(min_seconds * _SFREQ))
    for name, d in it:
        desc = _plain(d.description)
        rid = _recording_id(desc, recording_key, subject_key)
        if recording_key in desc and rid is None:
            raise ValueError(
                f"{name}: a recording of subject {desc.get(subject_key)!r} has an "
                f"empty {recording_key!r} ({desc[recording_key]!r}); give every "
                "row an id"
            )
        if subject_key not in desc or rid is None:
            missing = subject_key if subject_key not in desc else recording_key
            raise KeyError(
                f"{name}: description has no {missing!r} column (columns "
                f"{sorted(desc)}); pass subject_key=/recording_key= naming the "
                "columns that hold them"
                + (
                    " (or give the rows session and run columns, as MOABB "
                    "datasets converted by Braindecode have)"
                    if missing == "recording_id"
                    else ""
                )
            )
        if _missing(desc[subject_key]):
            raise ValueError(
                f"{name}: recording {rid!r} has no subject ({subject_key}="
                f"{desc[subject_key]!r}); subject-disjoint splits need one for "
                "every recording: fill it in (a metadata table with a subject "
                "column) or leave the recording out"
            )
        rec = f"{name}/{rid}"
        subj = f"{name}/{_id_text(desc[subject_key])}"
        if rec in owner:
            # Two recordings under one id would share one signal array, and a
            # "subject-disjoint" split would then put the same EEG in two parts.
            raise ValueError(
                f"{name}: recording id {rid!r} names two recordings (subjects "
                f"{owner[rec]!r} and {subj!r}); ids must be unique within a "
                f"dataset: give each row its own {recording_key!r} (e.g. "
                "'<subject>_<name>'), or pass recording_key= naming a unique column"
            )
        owner[rec] = subj
        facts = b.facts(desc)
        for fact, key, value in b.unmatched(desc):
            unused[(name, fact, key, value)] += 1
        by_event = events.get(name, False) if isinstance(events, Mapping) else events
        hook = facts_of.get(name) if isinstance(facts_of, Mapping) else facts_of
        if hook is not None and by_event:
            raise ValueError(
                f"{name}: facts_of and events=True both segment the recordings; "
                "choose one"
            )
        try:
            sig = _eeg_signal(d.raw)
        except ValueError as err:
            skipped.append(dict(dataset=name, recording=rec, reason=str(err)))
            continue
        if sig.shape[1] < n_samples:
            skipped.append(
                dict(
                    dataset=name,
                    recording=rec,
                    reason=f"shorter ({sig.shape[1] / _SFREQ:.1f} s) than one "
                    f"{min_seconds:g} s crop",
                )
            )
            continue
        new: list[Segment] = []
        if by_event:
            ann = d.raw.annotations
            t0 = float(getattr(d.raw, "first_time", 0.0) or 0.0)
            for onset, dur, label in zip(ann.onset, ann.duration, ann.description):
                ev = b.event_facts(label)
                key = str(label).strip().lower()
                if key in b.templates.get("finding", {}) and key != "*":
                    ev["finding"] = key
                if not ev:
                    # Said at the end: an EEGBCI run read from its files has
                    # T0/T1/T2, whose meaning depends on the run.
                    dropped_events[(name, str(label))] += 1
                    continue
                f = dict(facts, **ev)
                if ev.get("state") == "rest":
                    f.pop("movement", None)
                start = int(round((onset - t0) * _SFREQ))
                stop = int(round((onset - t0 + dur) * _SFREQ))
                new.append(Segment(name, subj, rec, start, max(stop, start + 1), f))
        elif hook is not None:
            total = sig.shape[1]
            try:
                found = list(hook(desc, b))
            except ValueError as err:
                # A malformed annotation file: this recording is skipped with
                # the reason, the others go on (it stopped the whole run).
                skipped.append(dict(dataset=name, recording=rec, reason=str(err)))
                continue
            for f in found:
                if isinstance(f, FactSpan):
                    start = int(round(f.start_s * _SFREQ))
                    stop = min(int(round(f.stop_s * _SFREQ)), total)
                    if start >= total:
                        # Said at the end: an annotation file of another (longer)
                        # recording, or times in another unit.
                        late_spans[(name, rec)] += 1
                        continue
                    if f.facts:
                        new.append(
                            Segment(
                                name, subj, rec, start, max(stop, start + 1), f.facts
                            )
                        )
                elif f:
                    new.append(Segment(name, subj, rec, 0, total, dict(f)))
        elif facts:
            new.append(Segment(name, subj, rec, 0, sig.shape[1], facts))
        if not new and late_spans[(name, rec)]:
            skipped.append(
                dict(
                    dataset=name,
                    recording=rec,
                    reason=f"every annotated stretch starts after its end "
                    f"({sig.shape[1] / _SFREQ:.1f} s)",
                )
            )
            continue
        if not new:
            skipped.append(
                dict(
                    dataset=name,
                    recording=rec,
                    reason="no known fact in its labels/metadata"
                    + (" or annotations" if by_event else "")
                    + (" (facts_of gave none)" if hook is not None else ""),
                )
            )
            continue
        signals[rec] = sig
        segments.extend(new)
    if not segments:
        raise ValueError(
            "no labelled segment in any source: "
            + "; ".join(f"{s['recording']}: {s['reason']}" for s in skipped[:5])
        )
    _warn_partial_facts(segments)
    _warn_subject_facts(segments)
    if late_spans:
        shown = "; ".join(f"{rec} ({n})" for (_, rec), n in late_spans.most_common(8))
        warnings.warn(
            f"annotated stretches that start after their recording's end were "
            f"left out: {shown}; check that each annotation file belongs to its "
            "EDF and gives seconds from the file's start",
            UserWarning,
            stacklevel=2,
        )
    if dropped_events:
        shown = "; ".join(
            f"{name}: {label!r} ({n})"
            for (name, label), n in dropped_events.most_common(8)
        )
        warnings.warn(
            f"annotations that name no fact were left out of the event segments: "
            f"{shown}; name them with DescriptionBuilder(aliases={{'state': "
            "{label: value}}) or templates (elm pretrain-labelled --alias "
            "state:LABEL=VALUE) (EEGBCI's T0/T1/T2 mean different "
            "things in different runs: the EEGBCI dataset class names them)",
            UserWarning,
            stacklevel=2,
        )
    if unused:
        shown = "; ".join(
            f"{name}: {fact} {value!r} from column {key!r} ({n} recordings)"
            for (name, fact, key, value), n in unused.most_common(8)
        )
        warnings.warn(
            f"label values that no template names were not written into the "
            f"text: {shown}; add templates={{fact: {{value: [...]}}}} to "
            "DescriptionBuilder to use them",
            UserWarning,
            stacklevel=2,
        )
    return LabelledCorpus(signals, segments, skipped)


def _warn_partial_facts(segments: Sequence[Segment]) -> None:
    """Warn about recordings that lack a fact others of their dataset have
    (an empty label cell): their text leaves the fact out, which is easy to miss."""
    by_ds: dict[str, dict[str, set[str]]] = {}
    for seg in segments:
        recs = by_ds.setdefault(seg.dataset, {})
        recs.setdefault(seg.recording, set()).update(seg.facts)
    lines = []
    for ds, recs in by_ds.items():
        facts = set().union(*recs.values())
        for fact in sorted(facts):
            lack = sorted(r for r, fs in recs.items() if fact not in fs)
            if lack and len(lack) < len(recs):
                lines.append(
                    f"{ds}: {len(lack)} of {len(recs)} recordings have no "
                    f"{fact!r} (e.g. {lack[:3]})"
                )
    if lines:
        warnings.warn(
            "recordings without a fact that others of their dataset have (an "
            "empty or unknown label?): "
            + "; ".join(lines[:8])
            + "; their text leaves the fact out",
            UserWarning,
            stacklevel=3,
        )


#: Facts of a person, not of a recording: one value per subject.
SUBJECT_FACTS = ("sex",)


def _warn_subject_facts(segments: Sequence[Segment]) -> None:
    """Warn when a subject's recordings disagree on a fact of the person.

    EDF headers are often anonymised or wrong (eegmat's give one subject both
    sexes across its two files): the contrast would then learn a recording
    property as "sex", and score it.
    """
    values: dict[tuple[str, str], set[str]] = {}
    for seg in segments:
        for fact in SUBJECT_FACTS:
            if fact in seg.facts:
                values.setdefault((fact, seg.subject), set()).add(seg.facts[fact])
    bad = sorted((f, s, sorted(v)) for (f, s), v in values.items() if len(v) > 1)
    if bad:
        shown = "; ".join(f"{s}: {f} {'/'.join(v)}" for f, s, v in bad[:5])
        warnings.warn(
            f"{len(bad)} subjects have recordings that disagree on a fact of the "
            f"person ({shown}): EDF headers are often anonymised; give a table "
            "with each subject's value (metadata / --metadata keyed by subject) "
            "or leave the fact out (facts= / --facts)",
            UserWarning,
            stacklevel=3,
        )
