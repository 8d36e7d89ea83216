"""MOABB paradigms that hand ELM pipelines a fixed montage and rate.

A MOABB pipeline gets bare arrays, without channel names. These paradigms pick
the 17 electrodes of the ELM TCP montage from any dataset (matching names
through :func:`~braindecode_elm.dsp.normalize_ch_name`, so ``T7`` and ``T3``
are the same electrode), rename them to :data:`ELM_ELECTRODES` and put them in
that order, and resample to 100 Hz. An ELM pipeline file can then declare
``ELMFeatures(ch_names=ELM_ELECTRODES, sfreq=100, units="uV")`` once and run on
every dataset the paradigm accepts (see
``braindecode_elm/evaluation/pipelines/`` and :func:`pipelines_dir`).

* :class:`ELMRestingState`: MOABB's resting-state datasets (``paradigm ==
  "rstate"``), e.g. EEGMAT rest vs mental arithmetic.
* :class:`ELMMotorImagery`: motor imagery datasets (``paradigm == "imagery"``).

Importing this module registers both classes in ``moabb.paradigms`` (MOABB has
no plugin hook; ``moabb.benchmark`` looks paradigms up there by name), so a
pipeline file may say ``"paradigms": ["ELMRestingState"]``. Requires
``pip install braindecode-elm[moabb]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    from moabb.datasets.preprocessing import (
        NamedFunctionTransformer,
        get_filter_pipeline,
        make_fixed_pipeline,
    )
    from moabb.paradigms.base import BaseParadigm
except ImportError as _err:  # pragma: no cover - exercised without moabb only
    raise ImportError(
        "the ELM MOABB paradigms need MOABB: pip install braindecode-elm[moabb]"
    ) from _err

from braindecode_elm.dsp.montage import TCP_ELECTRODES, normalize_ch_name
from braindecode_elm.dsp.recipe import ELM_SFREQ

# Registers EEGMATMOABB/EEGBCIMOABB with MOABB so ``datasets`` finds them.
from ..data import moabb_datasets as _moabb_datasets  # noqa: F401

__all__ = [
    "ELM_ELECTRODES",
    "ELM_SFREQ",
    "ELMMotorImagery",
    "ELMRestingState",
    "pick_elm_electrodes",
    "pipelines_dir",
    "register_moabb_paradigms",
]

#: The electrodes of the ELM TCP montage, in the order the paradigms return.
ELM_ELECTRODES: tuple[str, ...] = TCP_ELECTRODES


def pipelines_dir() -> str:
    """The folder of the ELM pipeline files for ``moabb.benchmark(pipelines=...)``.

    MOABB writes a ``.lock`` file beside each YAML pipeline file it reads, so
    when the installed package folder is read-only the files are copied to a
    folder of the temporary directory and that copy is returned.

    Returns
    -------
    str
        Absolute path of ``braindecode_elm/evaluation/pipelines`` (or its copy).
    """
    import os
    import shutil
    import tempfile

    shipped = Path(__file__).resolve().parent / "pipelines"
    if os.access(shipped, os.W_OK):
        return str(shipped)
    user = getattr(os, "getuid", lambda: "user")()
    copy = Path(tempfile.gettempdir()) / f"braindecode_elm_pipelines_{user}"
    copy.mkdir(exist_ok=True)
    for f in shipped.iterdir():
        if f.suffix in (".py", ".yml", ".yaml"):
            shutil.copy2(f, copy / f.name)
    return str(copy)


def pick_elm_electrodes(raw: Any) -> Any:
    """Keep the ELM electrodes of ``raw`` (renamed, in :data:`ELM_ELECTRODES` order).

    Non-EEG channels (e.g. MOABB's stim channel) are kept after them; other
    EEG channels are dropped.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Modified in place.

    Returns
    -------
    mne.io.BaseRaw

    Raises
    ------
    ValueError
        When electrodes of the montage are missing (names listed).
    """
    types = raw.get_channel_types()
    found: dict[str, str] = {}
    for name, kind in zip(raw.ch_names, types):
        if kind != "eeg":
            continue
        canon = normalize_ch_name(name)
        if canon in ELM_ELECTRODES and canon not in found:
            found[canon] = name
    missing = [c for c in ELM_ELECTRODES if c not in found]
    if missing:
        raise ValueError(
            f"the ELM montage needs electrodes {missing}, which this recording "
            f"lacks (it has {raw.ch_names}); use a dataset with the 10-20 "
            "electrodes or a paradigm with explicit channels"
        )
    others = [n for n, k in zip(raw.ch_names, types) if k != "eeg"]
    raw.pick([found[c] for c in ELM_ELECTRODES] + others)
    raw.rename_channels({found[c]: c for c in ELM_ELECTRODES if found[c] != c})
    return raw


class _ELMParadigm(BaseParadigm):
    """Shared code: ELM electrodes, one band, one rate; events chosen by name."""

    #: MOABB paradigm string of the datasets this paradigm accepts.
    _kind = ""

    def __init__(
        self,
        events: Sequence[str] | None = None,
        n_classes: int | None = None,
        tmin: float = 0.0,
        tmax: float | None = None,
        fmin: float = 0.5,
        fmax: float = 45.0,
        resample: float | None = ELM_SFREQ,
        scorer: str | None = None,
        subjects: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        if resample is None or float(resample) != ELM_SFREQ:
            # ELM pipeline files declare sfreq=100 once (arrays carry no rate):
            # 250 Hz arrays were embedded as if 100 Hz, with no error.
            raise ValueError(
                f"{type(self).__name__}(resample={resample!r}): ELM paradigms hand "
                f"their pipelines {ELM_SFREQ:g} Hz arrays, the rate ELM pipeline "
                "files declare (ELMFeatures(sfreq=100)); for another rate use a "
                "MOABB paradigm of your own and give ELMFeatures that sfreq"
            )
        self.subjects = None if subjects is None else [int(s) for s in subjects]
        if n_classes is not None and events is not None and n_classes > len(events):
            raise ValueError(
                f"n_classes={n_classes} exceeds the {len(events)} events {events}"
            )
        self.n_classes = n_classes
        super().__init__(
            filters=[(fmin, fmax)],
            events=None if events is None else list(events),
            tmin=tmin,
            tmax=tmax,
            resample=resample,
            scorer=scorer,
            **kwargs,
        )

    def _get_raw_pipelines(self) -> list[Any]:
        # The electrodes are picked and renamed before filtering, so every array
        # has ELM_ELECTRODES in order whatever the dataset calls them.
        pick = NamedFunctionTransformer(
            func=pick_elm_electrodes, display_name="ELM electrodes"
        )
        return [
            make_fixed_pipeline(pick, get_filter_pipeline(fmin, fmax))
            for fmin, fmax in self.filters
        ]

    def is_valid(self, dataset: Any) -> bool:
        """True for a dataset of this paradigm's kind holding the requested events."""
        if dataset.paradigm != self._kind:
            return False
        if self.events is not None:
            have = set(self.events) & set(dataset.event_id)
            need = len(self.events) if self.n_classes is None else self.n_classes
            return len(have) >= need
        return self.n_classes is None or len(dataset.event_id) >= self.n_classes

    def used_events(self, dataset: Any) -> dict[str, int]:
        """The requested events (default all of the dataset's) with their codes."""
        names = list(dataset.event_id) if self.events is None else self.events
        out = {e: dataset.event_id[e] for e in names if e in dataset.event_id}
        if self.n_classes is not None:
            out = dict(list(out.items())[: self.n_classes])
        return out

    @property
    def datasets(self) -> list[Any]:
        """Every dataset registered with MOABB that :meth:`is_valid` accepts.

        With ``subjects``, each dataset is restricted to those of its subjects
        (datasets holding none of them are left out).
        """
        from moabb.datasets import utils as mutils

        if not mutils.dataset_list:
            mutils._init_dataset()
        out = []
        for cls in mutils.dataset_list:
            if "Fake" in cls.__name__:
                continue
            try:
                ds = cls()
            except Exception:  # noqa: BLE001 - a dataset needing arguments
                continue
            if not self.is_valid(ds):
                continue
            if self.subjects is not None:
                keep = [s for s in self.subjects if s in ds.subject_list]
                if not keep:
                    continue
                ds.subject_list = keep
            out.append(ds)
        return out

    @property
    def scoring(self) -> Any:
        """ROC AUC for two classes, accuracy otherwise (or the given scorer).

        Without ``events``/``n_classes`` the class count is known only once
        the classifier is fitted: a scorer then picks ROC AUC or accuracy from
        the fitted classes, so a two-class dataset is scored alike whether its
        events are named or not (they were scored with accuracy, named with ROC
        AUC, in the same ``score`` column).
        """
        if self.scorer is not None:
            return self.scorer
        n = self.n_classes or (len(self.events) if self.events else None)
        if n is None:
            return _TwoClassAUC()
        return "roc_auc" if n == 2 else "accuracy"


class _TwoClassAUC:
    """ROC AUC when the fitted classifier has two classes, else accuracy."""

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        from sklearn.metrics import get_scorer

        classes = getattr(estimator, "classes_", None)
        n = len(classes) if classes is not None else len(np.unique(y))
        return get_scorer("roc_auc" if n == 2 else "accuracy")(estimator, X, y)

    def __repr__(self) -> str:
        return "roc_auc if two classes else accuracy"


class ELMRestingState(_ELMParadigm):
    """Resting-state / mental-state windows (datasets with ``paradigm="rstate"``).

    Parameters
    ----------
    events : list of str | None
        Event names to classify (default all of the dataset's), e.g.
        ``["rest", "arithmetic"]`` for EEGMAT.
    n_classes : int | None
        Keep the first ``n_classes`` events (default all).
    tmin, tmax : float
        Window relative to each event (s); ``tmax=None`` uses the dataset's
        interval.
    fmin, fmax : float
        Band-pass (Hz) applied before epoching.
    resample : float
        Output rate in Hz: :data:`ELM_SFREQ`, the ELM input rate, the only one
        accepted (ELM pipeline files declare it; another rate raises
        ``ValueError``).
    scorer : str | None
        sklearn scorer; default ROC AUC for two classes, else accuracy.
    subjects : list of int | None
        Subjects of the datasets the :attr:`datasets` property offers, i.e.
        what ``moabb.benchmark`` evaluates (default all). MOABB's benchmark
        builds its datasets with their defaults, so a benchmark's
        ``contexts`` file sets this to run on a few subjects, e.g.
        ``ELMRestingState: {subjects: [1, 2, 3]}``. Datasets passed directly
        to an evaluation keep their own subjects.
    **kwargs
        Passed to MOABB's ``BaseParadigm`` (``baseline``, ...).
    """

    _kind = "rstate"


class ELMMotorImagery(_ELMParadigm):
    """Motor-imagery windows (datasets with ``paradigm="imagery"``).

    Same parameters as :class:`ELMRestingState`; e.g. ``events=["left_hand",
    "right_hand"]``.
    """

    _kind = "imagery"


def register_moabb_paradigms() -> list[str]:
    """Add :class:`ELMRestingState` and :class:`ELMMotorImagery` to ``moabb.paradigms``.

    ``moabb.benchmark`` finds a pipeline file's paradigms by name in that
    namespace. Idempotent; runs on import of this module.

    Returns
    -------
    list of str
        The names registered.
    """
    import moabb.paradigms as mp

    names = []
    for cls in (ELMRestingState, ELMMotorImagery):
        if getattr(mp, cls.__name__, None) is not cls:
            setattr(mp, cls.__name__, cls)
        names.append(cls.__name__)
    return names


register_moabb_paradigms()
