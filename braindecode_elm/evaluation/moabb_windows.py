"""MOABB paradigms that cut fixed windows from whole recordings.

For data without trial events: the label is the recording's (or the
window's annotation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..dsp.recipe import ELM_SFREQ
from ._moabb import BaseParadigm


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
