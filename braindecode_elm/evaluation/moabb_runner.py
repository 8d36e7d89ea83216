"""Run MOABB evaluations of ELM features against classical and deep baselines.

The pipelines, one dataset's comparison, and the real-data comparison over
seeds.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .braindecode_classifier import BraindecodeClassifier
from .features import ELMFeatures, units_from_unit_factor
from .moabb_report import (
    moabb_summary_table,
    plot_moabb_results,
    summarize_moabb_results,
)
from .moabb_windows import WindowParadigm

DEFAULT_PIPELINES = ("ELM+LR", "CSP+LDA", "TS+LR", "ShallowFBCSPNet", "EEGNet")


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
    comparisons: Sequence[str] = ("eegmat", "eegbci"),
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
    comparisons : sequence of str
        Which of ``"eegmat"`` and ``"eegbci"`` to run (e.g. only eegmat on the
        subjects a pretrained bundle never saw).

    Returns
    -------
    dict
        One DataFrame per comparison run (``"eegmat"``, ``"eegbci"``; each with
        a ``seed`` column) and ``"summary"``.
    """
    import pandas as pd

    from braindecode_elm.data.moabb_datasets import EEGBCIMOABB, EEGMATMOABB

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("pass at least one seed")
    comparisons = list(dict.fromkeys(comparisons))
    unknown = sorted(set(comparisons) - {"eegmat", "eegbci"})
    if unknown or not comparisons:
        raise ValueError(
            f"comparisons must be among 'eegmat' and 'eegbci', got {unknown or []}"
        )
    out = Path(out_dir)
    imagery = ["left_hand", "right_hand", "hands", "feet"]

    def setup(name: str) -> tuple[Any, Any, dict[str, Any]]:
        # Built only for the comparisons asked for (a missing dataset folder
        # matters only when its comparison runs).
        if name == "eegmat":
            return (
                EEGMATMOABB(data_path, download=False),
                WindowParadigm(["rest", "arithmetic"], tmin=0.0, tmax=5.0),
                dict(
                    evaluation="cross-subject",
                    subjects=eegmat_subjects,
                    n_splits=n_splits,
                ),
            )
        return (
            EEGBCIMOABB(data_path, subjects=[1], download=False),
            WindowParadigm(
                ["rest", *imagery],
                tmin=0.0,
                tmax=3.0,
                label_map=dict.fromkeys(imagery, "imagery"),
            ),
            dict(evaluation="within-session"),
        )

    frames: dict[str, Any] = {}
    for name in comparisons:
        dataset, paradigm, kw = setup(name)
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
