"""MOABB evaluations of ELM features against classical and deep baselines.

Everything runs offline on local data: the datasets are MOABB ``BaseDataset``
subclasses whose ``data_path`` never downloads (the data layer's EEGMAT/EEGBCI
adapters, and :class:`CorpusPhenotypeDataset` below for TUH-like corpora).
Requires ``pip install braindecode-elm[moabb]``.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..dsp.recipe import ELM_SFREQ

try:
    import moabb  # noqa: F401
    from moabb.datasets.base import BaseDataset
    from moabb.paradigms.base import BaseParadigm
except ImportError as _err:  # pragma: no cover - exercised without moabb only
    raise ImportError(
        "MOABB evaluations need MOABB: pip install braindecode-elm[moabb]"
    ) from _err

from .features import ELMFeatures, check_clip_fraction, to_volts, units_from_unit_factor

__all__ = [
    "WindowParadigm",
    "RecordingPhenotype",
    "CorpusPhenotypeDataset",
    "BraindecodeClassifier",
    "moabb_pipelines",
    "run_moabb_comparison",
    "plot_moabb_results",
    "run_real_data_comparisons",
    "summarize_moabb_results",
    "moabb_summary_table",
    "DEFAULT_PIPELINES",
]

DEFAULT_PIPELINES = ("ELM+LR", "CSP+LDA", "TS+LR", "ShallowFBCSPNet", "EEGNet")


class WindowParadigm(BaseParadigm):
    """Fixed windows after chosen events, one wide band (any dataset, any events).

    Parameters
    ----------
    events : list of str
        Event names to classify (must be in ``dataset.event_id``).
    tmin, tmax : float
        Window relative to each event (s).
    fmin, fmax : float
        Band-pass applied by MOABB before epoching (Hz).
    resample : float | None
        Resample to this rate (Hz) before epoching.
    scorer : str | None
        sklearn scorer; default ROC AUC for two classes, else accuracy.
    label_map : mapping | None
        Rename event names into class labels, e.g. all imagery events to
        ``"imagery"`` for rest vs imagery.
    **kwargs
        Passed to MOABB's ``BaseParadigm``.
    """

    def __init__(
        self,
        events: Sequence[str],
        tmin: float = 0.0,
        tmax: float | None = None,
        fmin: float = 0.5,
        fmax: float = 45.0,
        resample: float | None = ELM_SFREQ,
        scorer: str | None = None,
        label_map: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.label_map = None if label_map is None else dict(label_map)
        super().__init__(
            filters=[(fmin, fmax)],
            events=list(events),
            tmin=tmin,
            tmax=tmax,
            resample=resample,
            scorer=scorer,
            **kwargs,
        )

    def get_data(self, *args: Any, **kwargs: Any) -> Any:
        """MOABB's ``get_data``, with event names merged through ``label_map``."""
        X, y, meta = super().get_data(*args, **kwargs)
        if self.label_map:
            y = np.array([self.label_map.get(v, v) for v in y])
        return X, y, meta

    def is_valid(self, dataset: Any) -> bool:
        """True when the dataset has all the requested events."""
        return set(self.events) <= set(dataset.event_id)

    def used_events(self, dataset: Any) -> dict[str, int]:
        """The requested events with the dataset's codes."""
        return {ev: dataset.event_id[ev] for ev in self.events}

    @property
    def datasets(self) -> list:
        """No automatic dataset search: pass datasets explicitly (offline)."""
        return []

    @property
    def scoring(self) -> str:
        """ROC AUC for two classes, accuracy otherwise (or the given scorer)."""
        if self.scorer is not None:
            return self.scorer
        n = len(set((self.label_map or {}).get(e, e) for e in self.events))
        return "roc_auc" if n == 2 else "accuracy"


class RecordingPhenotype(WindowParadigm):
    """Recording-level phenotype labels (e.g. normal vs abnormal) as a paradigm.

    Each recording of a :class:`CorpusPhenotypeDataset` carries one label; the
    dataset marks consecutive windows of ``window_s`` seconds after the first
    ``drop_first_s`` seconds with that label, and this paradigm epochs them. A
    subject's recordings usually share one phenotype, so per-subject scores use
    accuracy (ROC AUC is undefined on a single class).

    Parameters
    ----------
    events : sequence of str
        Phenotype names, default ``("normal", "abnormal")``.
    window_s : float
        Epoch length (s); must equal the dataset's ``window_s``.
    **kwargs
        Passed to :class:`WindowParadigm`.
    """

    def __init__(
        self,
        events: Sequence[str] = ("normal", "abnormal"),
        window_s: float = 30.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("scorer", "accuracy")
        super().__init__(events=events, tmin=0.0, tmax=window_s, **kwargs)
        self.window_s = window_s


class CorpusPhenotypeDataset(BaseDataset):
    """A TUH-like EDF corpus with recording-level labels as a MOABB dataset.

    Subjects are numbered 1..N in sorted order of their ids; each recording is a
    run of session ``"0"``. Nothing is downloaded: ``data_path`` returns the local
    folder.

    Parameters
    ----------
    root : path-like
        Folder holding the EDF files (searched recursively).
    labels : mapping or path-like
        Recording id (EDF stem) -> phenotype name, or a CSV with columns
        ``recording_id``, ``subject`` and ``label_column``.
    subjects : mapping | None
        Recording id -> subject id (required with a mapping ``labels``).
    label_column : str
        Column of the CSV with the label (``abnormal``: 0/1 -> normal/abnormal).
    window_s, drop_first_s : float
        Marked windows and the skipped start of each recording (s).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        labels: Mapping[str, str] | str | os.PathLike,
        subjects: Mapping[str, str] | None = None,
        label_column: str = "abnormal",
        window_s: float = 30.0,
        drop_first_s: float = 10.0,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"corpus folder {self.root} does not exist")
        if isinstance(labels, Mapping):
            if subjects is None:
                raise ValueError("pass subjects= (recording id -> subject) with labels")
            lab = {str(k): str(v) for k, v in labels.items()}
            subj = {str(k): str(v) for k, v in subjects.items()}
        else:
            import pandas as pd

            table = pd.read_csv(labels)
            for col in ("recording_id", "subject", label_column):
                if col not in table.columns:
                    raise KeyError(f"{labels} has no column {col!r}")
            values = table[label_column]
            if label_column == "abnormal":
                values = values.map(lambda v: "abnormal" if int(v) else "normal")
            lab = dict(zip(table["recording_id"].astype(str), values.astype(str)))
            subj = dict(
                zip(table["recording_id"].astype(str), table["subject"].astype(str))
            )
        edfs = {p.stem: p for p in self.root.rglob("*.edf")}
        missing = sorted(set(lab) - set(edfs))
        if missing:
            raise FileNotFoundError(
                f"no EDF under {self.root} for recordings {missing[:5]}"
            )
        self._edfs = edfs
        self._labels = lab
        names = sorted(set(lab.values()))
        self._subject_ids = sorted({subj[r] for r in lab})
        self._recs: dict[int, list[str]] = {}
        for r in sorted(lab):
            self._recs.setdefault(self._subject_ids.index(subj[r]) + 1, []).append(r)
        self.window_s = float(window_s)
        self.drop_first_s = float(drop_first_s)
        super().__init__(
            subjects=list(range(1, len(self._subject_ids) + 1)),
            sessions_per_subject=1,
            events={name: i + 1 for i, name in enumerate(names)},
            code="CorpusPhenotypeDataset",
            interval=[0, self.window_s],
            paradigm="phenotype",
        )

    def _get_single_subject_data(self, subject: int) -> dict:
        import mne

        runs = {}
        for i, rid in enumerate(self._recs[subject]):
            raw = _tcp_electrodes(
                mne.io.read_raw_edf(self._edfs[rid], preload=True, verbose="error")
            )
            onsets = np.arange(
                self.drop_first_s, raw.times[-1] - self.window_s, self.window_s
            )
            raw.set_annotations(
                mne.Annotations(
                    onsets, [0.0] * len(onsets), [self._labels[rid]] * len(onsets)
                )
            )
            runs[str(i)] = raw
        return {"0": runs}

    def data_path(
        self,
        subject: int,
        path=None,
        force_update=False,
        update_path=None,
        verbose=None,
    ) -> list[str]:
        """Local EDF paths of a subject (never downloads)."""
        return [str(self._edfs[r]) for r in self._recs[subject]]


def _tcp_electrodes(raw: Any) -> Any:
    """Keep the TCP electrodes, canonically named and ordered (corpora differ)."""
    from braindecode_elm.dsp import TCP_ELECTRODES, normalize_ch_name

    needed = sorted(TCP_ELECTRODES)
    where: dict[str, str] = {}
    for name in raw.ch_names:
        canon = normalize_ch_name(name)
        if canon in needed and canon not in where:
            where[canon] = name
    missing = [e for e in needed if e not in where]
    if missing:
        raise ValueError(f"recording {raw.filenames[0]} lacks TCP electrodes {missing}")
    raw.pick([where[e] for e in needed])
    raw.rename_channels({where[e]: e for e in needed})
    raw.set_channel_types(dict.fromkeys(needed, "eeg"))
    return raw


class BraindecodeClassifier(ClassifierMixin, BaseEstimator):
    """A braindecode model trained on MOABB arrays (string labels).

    Reads the arrays in ``units`` (MOABB gives ``volts x dataset.unit_factor``,
    microvolts by default), scales them to ELM units (volts x 1e5, so the networks
    see order-one values), casts to float32 and encodes string labels. More than
    ``max_clip_fraction`` of the scaled samples beyond +-80 means the unit is
    wrong; ``on_clip`` decides whether that raises (default) or warns.

    Parameters
    ----------
    model : str
        Braindecode model name (``ShallowFBCSPNet``, ``EEGNet``, ...).
    max_epochs : int
        Training epochs (small on CPU).
    batch_size : int
    lr : float
        AdamW learning rate.
    seed : int
    units : {"V", "mV", "uV", "auto"} | float
        Unit of the arrays (a number: volts per unit).
    on_clip : {"raise", "warn", "ignore"}
        Reaction to a unit mistake (too many samples beyond +-80 ELM units).
    max_clip_fraction : float
        Tolerated fraction of samples beyond +-80 ELM units.

    Attributes
    ----------
    classes_ : np.ndarray
        The labels seen at ``fit`` (sorted).
    n_features_in_ : int
        Number of channels seen at ``fit`` (input is 3-D: epochs x channels x
        times, so this counts channels, as for
        :class:`~braindecode_elm.evaluation.ELMFeatures`).
    n_times_in_ : int
        Number of samples per epoch seen at ``fit``.
    net_ : braindecode.EEGClassifier
        The trained network.
    """

    def __init__(
        self,
        model: str = "ShallowFBCSPNet",
        max_epochs: int = 10,
        batch_size: int = 32,
        lr: float = 1e-3,
        seed: int = 0,
        units: str | float = "uV",
        on_clip: str = "raise",
        max_clip_fraction: float = 0.01,
    ) -> None:
        self.model = model
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.units = units
        self.on_clip = on_clip
        self.max_clip_fraction = max_clip_fraction

    def _x(self, X: np.ndarray) -> np.ndarray:
        from braindecode_elm.dsp import ELM_CLIP, ELM_SCALE

        x, units = to_volts(np.asarray(X, dtype=np.float64), self.units)
        x = x * ELM_SCALE
        self.clip_fraction_ = check_clip_fraction(
            x,
            ELM_CLIP,
            units=units,
            on_clip=self.on_clip,
            max_fraction=self.max_clip_fraction,
            what=f"BraindecodeClassifier({self.model})",
        )
        return x.astype(np.float32)

    def _check_X(self, X: Any) -> np.ndarray:
        name = f"BraindecodeClassifier({self.model})"
        if hasattr(X, "get_data") and hasattr(X, "info"):
            raise TypeError(
                f"{name} takes arrays (n_epochs, n_channels, n_times) in "
                f"units={self.units!r}, as MOABB gives them; for mne.Epochs pass "
                "epochs.get_data(units='uV') or use braindecode.EEGClassifier"
            )
        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 3:
            raise ValueError(
                f"{name}: X must be (n_epochs, n_channels, n_times), got shape "
                f"{data.shape}"
            )
        if 0 in data.shape:
            raise ValueError(
                f"{name}: X holds no data (shape {data.shape}): pass at least one "
                "epoch with channels and samples"
            )
        if not np.isfinite(data).all():
            bad = int((~np.isfinite(data)).any(axis=(1, 2)).sum())
            raise ValueError(
                f"{name}: X has NaN or infinite values in {bad} of {len(data)} "
                "epochs; drop or interpolate them first (e.g. mne's "
                "interpolate_bads)"
            )
        return data

    def fit(self, X: np.ndarray, y: Sequence[Any]) -> BraindecodeClassifier:
        """Train the network from scratch.

        Parameters
        ----------
        X : np.ndarray
            Epochs (n_epochs, n_channels, n_times) in ``units``.
        y : sequence
            One label per epoch; at least two distinct labels.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If ``X`` is not 3-D, is empty or holds NaN/inf, if ``y`` does not
            have one label per epoch, or if ``y`` has a single class.
        """
        import torch
        from braindecode import EEGClassifier

        import braindecode_elm.models  # noqa: F401  (registers "ELMEncoder" by name)

        data = self._check_X(X)
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or len(y_arr) != len(data):
            raise ValueError(
                f"BraindecodeClassifier({self.model}): y must hold one label per "
                f"epoch: got y of shape {y_arr.shape} for {len(data)} epochs"
            )
        classes, yi = np.unique(y_arr, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"BraindecodeClassifier({self.model}) needs samples of at least 2 "
                f"classes, but y contains only one class: {classes.tolist()[0]!r}"
            )
        self.classes_ = classes
        torch.manual_seed(self.seed)
        X = self._x(data)
        self.n_features_in_ = int(X.shape[1])
        self.n_times_in_ = int(X.shape[2])
        self.net_ = EEGClassifier(
            self.model,
            module__n_chans=X.shape[1],
            module__n_times=X.shape[2],
            module__n_outputs=len(self.classes_),
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            train_split=None,
            verbose=0,
        )
        self.net_.fit(X, yi.astype(np.int64))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``.

        Parameters
        ----------
        X : np.ndarray
            Epochs (n_epochs, n_channels, n_times) in ``units``, with the
            channels and length seen at ``fit``.

        Returns
        -------
        np.ndarray
            (n_epochs, n_classes) probabilities.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "net_")
        data = self._check_X(X)
        if data.shape[1:] != (self.n_features_in_, self.n_times_in_):
            raise ValueError(
                f"X has {data.shape[1]} channels x {data.shape[2]} samples, but "
                f"BraindecodeClassifier({self.model}) was fitted with "
                f"{self.n_features_in_} x {self.n_times_in_}"
            )
        return self.net_.predict_proba(self._x(data))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels (original names)."""
        proba = self.predict_proba(X)  # checks fitted state and input first
        return self.classes_[proba.argmax(axis=1)]

    def score(
        self, X: np.ndarray, y: Sequence[Any], sample_weight: Any = None
    ) -> float:
        """Accuracy of :meth:`predict` on ``(X, y)``.

        Parameters
        ----------
        X : np.ndarray
            Epochs (n, channels, times) in volts.
        y : sequence
            True labels.
        sample_weight : array-like | None
            Optional sample weights.

        Returns
        -------
        float
            Accuracy.
        """
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        """3-D input (epochs x channels x times), no NaN, needs fit."""
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        tags.classifier_tags.multi_class = True
        # Short CPU trainings score near chance; sklearn's checks must not expect
        # a high accuracy from a from-scratch network.
        tags.classifier_tags.poor_score = True
        tags.non_deterministic = False
        return tags


def moabb_pipelines(
    ch_names: Sequence[str],
    sfreq: float,
    names: Sequence[str] = DEFAULT_PIPELINES,
    *,
    model: Any = None,
    n_epochs: int = 10,
    units: str | float = "uV",
    seed: int = 0,
) -> dict[str, Any]:
    """The compared pipelines, ready for a MOABB evaluation.

    Parameters
    ----------
    ch_names : sequence of str
        Channels of the paradigm's arrays (for the ELM montage).
    sfreq : float
        Their sampling rate.
    names : sequence of str
        Among ``ELM+LR``, ``CSP+LDA``, ``TS+LR``, ``ShallowFBCSPNet``, ``EEGNet``.
    model : ELM | ELMEncoder | str | dict | None
        Model for ``ELM+LR`` (None: untrained tower); a dict ``{label: model}``
        gives one ``ELM[label]+LR`` pipeline per model.
    n_epochs : int
        Training epochs of the braindecode networks.
    units : {"V", "mV", "uV"} | float
        Unit of the arrays the pipelines get: MOABB hands them ``volts x
        dataset.unit_factor`` (see
        :func:`~braindecode_elm.evaluation.features.units_from_unit_factor`);
        the default ``"uV"`` is MOABB's default factor 1e6.
    seed : int
        Seed of the braindecode networks and of the untrained ELM tower.

    Returns
    -------
    dict
        Name -> sklearn pipeline.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict[str, Any] = {}
    for name in names:
        if name == "ELM+LR":
            models = model if isinstance(model, Mapping) else {None: model}
            for label, m in models.items():
                key = name if label is None else f"ELM[{label}]+LR"
                out[key] = make_pipeline(
                    ELMFeatures(
                        m, ch_names=list(ch_names), sfreq=sfreq, units=units, seed=seed
                    ),
                    StandardScaler(),
                    LogisticRegression(class_weight="balanced", max_iter=2000),
                )
        elif name == "CSP+LDA":
            from mne.decoding import CSP

            out[name] = make_pipeline(CSP(n_components=8), LinearDiscriminantAnalysis())
        elif name == "TS+LR":
            from pyriemann.estimation import Covariances
            from pyriemann.tangentspace import TangentSpace

            out[name] = make_pipeline(
                Covariances("oas"),
                TangentSpace(metric="riemann"),
                LogisticRegression(max_iter=2000),
            )
        elif name in ("ShallowFBCSPNet", "EEGNet"):
            out[name] = BraindecodeClassifier(
                name, max_epochs=n_epochs, units=units, seed=seed
            )
        else:
            raise ValueError(
                f"unknown pipeline {name!r}; choose from {list(DEFAULT_PIPELINES)}"
            )
    return out


def _channels(paradigm: Any, dataset: Any, subject: int) -> tuple[list[str], float]:
    epochs, _, _ = paradigm.get_data(dataset, [subject], return_epochs=True)
    return list(epochs.ch_names), float(epochs.info["sfreq"])


def run_moabb_comparison(
    dataset: Any,
    paradigm: Any,
    *,
    evaluation: str = "cross-subject",
    pipelines: Sequence[str] | Mapping[str, Any] = DEFAULT_PIPELINES,
    model: Any = None,
    subjects: Sequence[int] | None = None,
    n_splits: int | None = None,
    n_epochs: int = 10,
    out_dir: str | os.PathLike | None = None,
    random_state: int = 0,
) -> Any:
    """Run a MOABB evaluation of ELM features and baselines on one dataset.

    Parameters
    ----------
    dataset : moabb BaseDataset
        E.g. the data layer's EEGMAT/EEGBCI adapters (offline).
    paradigm : BaseParadigm
        E.g. :class:`WindowParadigm` or :class:`RecordingPhenotype`.
    evaluation : {"cross-subject", "within-session"}
        MOABB ``CrossSubjectEvaluation`` or ``WithinSessionEvaluation``.
    pipelines : sequence of str | dict
        Names for :func:`moabb_pipelines`, or ready pipelines.
    model : ELM | ELMEncoder | str | None
        Model of ``ELM+LR``.
    subjects : sequence of int | None
        Restrict the dataset to these subjects.
    n_splits : int | None
        Cross-subject folds, subjects shuffled by ``random_state`` (None: leave
        one subject out).
    n_epochs : int
        Training epochs of the deep baselines.
    out_dir : path-like | None
        Where to write ``results.csv`` and ``results.png`` (and MOABB's HDF5).
    random_state : int
        Seed of the evaluation (folds), of the braindecode networks and of an
        untrained ELM tower.

    Returns
    -------
    pandas.DataFrame
        MOABB's results frame (one row per pipeline, subject/fold and session).
    """
    from moabb.evaluations import CrossSubjectEvaluation, WithinSessionEvaluation

    if subjects is not None:
        # restrict a copy: the caller's dataset keeps its own subject_list
        unknown = [s for s in subjects if s not in dataset.subject_list]
        if unknown:
            raise ValueError(
                f"subjects {unknown} are not in {dataset.code}'s subject_list "
                f"{dataset.subject_list}"
            )
        dataset = copy.copy(dataset)
        dataset.subject_list = list(subjects)
    if not paradigm.is_valid(dataset):
        raise ValueError(
            f"dataset {dataset.code} lacks the paradigm's events "
            f"{getattr(paradigm, 'events', None)}; it has {sorted(dataset.event_id)}"
        )
    if isinstance(pipelines, Mapping):
        pipes = dict(pipelines)
    else:
        ch, sf = _channels(paradigm, dataset, dataset.subject_list[0])
        pipes = moabb_pipelines(
            ch,
            sf,
            pipelines,
            model=model,
            n_epochs=n_epochs,
            units=units_from_unit_factor(getattr(dataset, "unit_factor", 1e6)),
            seed=random_state,
        )
    classes = {
        "cross-subject": CrossSubjectEvaluation,
        "within-session": WithinSessionEvaluation,
    }
    if evaluation not in classes:
        raise ValueError(f"evaluation must be one of {sorted(classes)}")
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory()
        hdf5 = tmp.name
    else:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        hdf5 = str(out_dir)
    kwargs: dict[str, Any] = dict(
        paradigm=paradigm,
        datasets=[dataset],
        overwrite=True,
        hdf5_path=hdf5,
    )
    if evaluation == "cross-subject" and n_splits is not None:
        # subject folds shuffled by the seed, so seeds differ in their folds too
        from sklearn.model_selection import GroupKFold

        kwargs["cv_class"] = GroupKFold
        kwargs["cv_kwargs"] = dict(
            n_splits=n_splits, shuffle=True, random_state=random_state
        )
    else:
        kwargs["random_state"] = random_state
    results = classes[evaluation](**kwargs).process(pipes)
    if out_dir is not None:
        results.to_csv(Path(out_dir) / "results.csv", index=False)
        plot_moabb_results(results, Path(out_dir) / "results.png")
    if tmp is not None:
        tmp.cleanup()
    return results


def plot_moabb_results(results: Any, path: str | os.PathLike) -> Path:
    """Bar plot (mean +- std over subjects/folds) of the score per pipeline."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    g = results.groupby("pipeline")["score"]
    mean, std = g.mean().sort_values(), g.std().fillna(0.0)
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(mean)))
    ax.barh(mean.index, mean.values, xerr=std[mean.index].values, color="tab:blue")
    ax.axvline(0.5, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("score")
    ds = ", ".join(sorted(results["dataset"].astype(str).unique()))
    ax.set_title(f"MOABB: {ds}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_real_data_comparisons(
    out_dir: str | os.PathLike,
    *,
    model: Any = None,
    data_path: str | os.PathLike | None = None,
    eegmat_subjects: Sequence[int] | None = None,
    n_splits: int | None = 6,
    n_epochs: int = 10,
    pipelines: Sequence[str] = DEFAULT_PIPELINES,
    seeds: Sequence[int] = (0, 1, 2),
) -> dict[str, Any]:
    """The two offline comparisons on the shared PhysioNet data, over seeds.

    * eegmat, rest vs mental arithmetic, 5 s windows, ``CrossSubjectEvaluation``
      (``n_splits`` subject folds shuffled by the seed; None = leave one subject
      out);
    * EEGBCI subject 1, rest vs motor imagery (left/right hand, both hands, feet
      merged), 3 s windows, ``WithinSessionEvaluation`` (5 folds by the seed).

    Every pipeline of a seed runs in the same process on the same folds; the seed
    also sets the braindecode networks' and an untrained ELM tower's
    initialisation. Arrays reach the pipelines in the dataset's unit
    (``unit_factor``), read by :func:`run_moabb_comparison`.

    Parameters
    ----------
    out_dir : path-like
        ``eegmat/seed<k>/`` and ``eegbci/seed<k>/`` result folders (CSV + PNG),
        ``results.csv`` (every fold of every seed) and ``summary.csv``/
        ``summary.md`` (mean +- sd over seeds of the per-seed mean score).
    model : ELM | ELMEncoder | str | dict | None
        Model of ``ELM+LR`` (a dict gives one ``ELM[label]+LR`` row per model).
    data_path : path-like | None
        Data root (default :func:`braindecode_elm.data_dir`).
    eegmat_subjects : sequence of int | None
        MOABB subject numbers 1-36 (default all).
    n_splits : int | None
        Cross-subject folds on eegmat.
    n_epochs : int
        Training epochs of the braindecode networks.
    pipelines : sequence of str
        Compared pipelines.
    seeds : sequence of int
        Seeds (at least one; report >= 3).

    Returns
    -------
    dict
        ``{"eegmat": DataFrame, "eegbci": DataFrame, "summary": DataFrame}``;
        the per-dataset frames have a ``seed`` column.
    """
    import pandas as pd

    from braindecode_elm.data.moabb_datasets import EEGBCIMOABB, EEGMATMOABB

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("pass at least one seed")
    out = Path(out_dir)
    imagery = ["left_hand", "right_hand", "hands", "feet"]
    setups = {
        "eegmat": (
            EEGMATMOABB(data_path, download=False),
            WindowParadigm(["rest", "arithmetic"], tmin=0.0, tmax=5.0),
            dict(
                evaluation="cross-subject", subjects=eegmat_subjects, n_splits=n_splits
            ),
        ),
        "eegbci": (
            EEGBCIMOABB(data_path, subjects=[1], download=False),
            WindowParadigm(
                ["rest", *imagery],
                tmin=0.0,
                tmax=3.0,
                label_map=dict.fromkeys(imagery, "imagery"),
            ),
            dict(evaluation="within-session"),
        ),
    }
    frames: dict[str, Any] = {}
    for name, (dataset, paradigm, kw) in setups.items():
        per_seed = []
        for seed in seeds:
            df = run_moabb_comparison(
                dataset,
                paradigm,
                n_epochs=n_epochs,
                model=model,
                pipelines=pipelines,
                out_dir=out / name / f"seed{seed}",
                random_state=seed,
                **kw,
            )
            per_seed.append(df.assign(seed=seed))
        frames[name] = pd.concat(per_seed, ignore_index=True)
    everything = pd.concat(
        [f.assign(comparison=k) for k, f in frames.items()], ignore_index=True
    )
    everything.to_csv(out / "results.csv", index=False)
    summary = summarize_moabb_results(everything)
    summary.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(moabb_summary_table(summary))
    frames["summary"] = summary
    return frames


def summarize_moabb_results(results: Any) -> Any:
    """Mean +- sd over seeds of each seed's mean score, per comparison and pipeline.

    Parameters
    ----------
    results : pandas.DataFrame
        MOABB result rows with ``comparison``, ``pipeline``, ``seed``, ``score``
        and ``time`` columns (as written by :func:`run_real_data_comparisons`).

    Returns
    -------
    pandas.DataFrame
        One row per comparison and pipeline, best score first.
    """
    import pandas as pd

    rows = []
    for (comp, pipe), g in results.groupby(["comparison", "pipeline"], sort=False):
        per_seed = g.groupby("seed")["score"].mean()
        rows.append(
            dict(
                dataset=comp,
                pipeline=pipe,
                score_mean=float(per_seed.mean()),
                score_sd=float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0,
                n_seeds=int(len(per_seed)),
                n_folds=int(len(g) // len(per_seed)),
                fit_time_s=float(g["time"].mean()),
            )
        )
    summary = pd.DataFrame(rows)
    return summary.sort_values(
        ["dataset", "score_mean"], ascending=[False, False], kind="stable"
    ).reset_index(drop=True)


def moabb_summary_table(summary: Any) -> str:
    """An RST simple table of :func:`summarize_moabb_results` (for the docs).

    ``scores/seed`` is the number of MOABB scores averaged per seed: one per
    cross-subject fold, but one per subject and session for a within-session
    evaluation (MOABB averages its folds into that one score).
    """
    head = (
        "dataset",
        "pipeline",
        "ROC AUC (mean +- sd over seeds)",
        "seeds",
        "scores/seed",
    )
    rows = [
        (
            r.dataset,
            r.pipeline,
            f"{r.score_mean:.3f} +- {r.score_sd:.3f}",
            str(r.n_seeds),
            str(r.n_folds),
        )
        for r in summary.itertuples()
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    rule = "  ".join("=" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [rule, fmt.format(*head), rule]
    lines += [fmt.format(*r) for r in rows]
    lines.append(rule)
    return "\n".join(line.rstrip() for line in lines) + "\n"
