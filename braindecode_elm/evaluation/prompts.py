"""Prompt sets for zero-shot classification, written for this project.

The official ELM release ships no prompts. Each class maps to several phrasings in
the style of clinical EEG reports (what the text tower saw during pretraining);
zero-shot averages their L2-normalised embeddings (a prompt ensemble).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["PROMPT_SETS", "PROMPT_LABEL_MAPS", "get_prompts", "default_label_map"]

PROMPT_SETS: dict[str, dict[str, list[str]]] = {
    # Phrased like the IMPRESSION lines of clinical reports (what the text tower
    # saw during pretraining), not like descriptions of findings: negated
    # findings ("no focal slowing") embed close to the findings themselves in
    # small sentence encoders, so they would pull "normal" towards "abnormal".
    "normal_abnormal": {
        "normal": [
            "Normal EEG.",
            "Normal awake EEG.",
            "This is a normal EEG.",
            "The record is within normal limits.",
            "IMPRESSION: Normal EEG.",
            "Normal EEG in wakefulness.",
        ],
        "abnormal": [
            "Abnormal EEG.",
            "This is an abnormal EEG.",
            "Abnormal EEG due to diffuse slowing of the background.",
            "Abnormal EEG due to focal slowing in the temporal region.",
            "Abnormal EEG with frequent temporal epileptiform discharges.",
            "Abnormal EEG due to generalized spike and wave discharges.",
        ],
    },
    "slowing": {
        "no_slowing": [
            "Normal background without slowing.",
            "No focal or diffuse slowing is present.",
            "The posterior dominant rhythm is normal for age.",
        ],
        "diffuse_slowing": [
            "Diffuse slowing of the background.",
            "Generalized theta and delta slowing.",
            "The background is diffusely slow, consistent with encephalopathy.",
            "Excess diffuse delta and theta activity with a slow alpha rhythm.",
        ],
        "focal_slowing": [
            "Focal slowing over the temporal region.",
            "Intermittent focal delta slowing in the left temporal region.",
            "Intermittent focal delta slowing in the right temporal region.",
            "Focal polymorphic delta activity, suggesting focal dysfunction.",
        ],
    },
    "epileptiform": {
        "no_discharges": [
            "No epileptiform discharges were seen.",
            "No spikes or sharp waves.",
            "Normal EEG without epileptiform activity.",
        ],
        "epileptiform": [
            "Epileptiform discharges are present.",
            "Focal sharp waves over the temporal region.",
            "Generalized spike and wave discharges.",
            "Interictal epileptiform activity, consistent with epilepsy.",
        ],
    },
    "rest_task": {
        "rest": [
            "Resting EEG, awake and relaxed, before a mental arithmetic task.",
            "Resting state EEG with eyes closed.",
            "The subject is at rest, relaxed and not performing a task.",
            "EEG at rest.",
        ],
        "task": [
            "EEG during mental arithmetic: serial subtraction of a two-digit number "
            "from a four-digit number.",
            "EEG while the subject performs mental arithmetic.",
            "The subject is concentrating on a calculation task.",
            "EEG during a cognitive task.",
        ],
    },
}


def get_prompts(name: str) -> dict[str, list[str]]:
    """Return a copy of a named prompt set.

    Parameters
    ----------
    name : str
        One of ``PROMPT_SETS`` (``normal_abnormal``, ``slowing``,
        ``epileptiform``, ``rest_task``).

    Returns
    -------
    dict
        Class name -> list of phrasings.
    """
    if name not in PROMPT_SETS:
        raise KeyError(f"unknown prompt set {name!r}; available: {sorted(PROMPT_SETS)}")
    return {k: list(v) for k, v in PROMPT_SETS[name].items()}


#: Integer/boolean label meaning of the built-in sets that have a fixed one:
#: TUAB's ``pathological`` flag (and any 0/1 abnormality flag) is 1/True for
#: abnormal. Other sets have no agreed integer coding (eegmat alone is coded
#: 0/1 in its files and 1/2 in MOABB), so their integer labels need a map.
PROMPT_LABEL_MAPS: dict[str, dict[Any, str]] = {
    "normal_abnormal": {0: "normal", 1: "abnormal"},
}


def default_label_map(class_names: Iterable[str]) -> dict[Any, str] | None:
    """The built-in label map of the prompt set with exactly these class names.

    Parameters
    ----------
    class_names : iterable of str
        The prompt classes (in any order).

    Returns
    -------
    dict | None
        Label value -> class name, or None when no built-in set with these
        classes defines one.
    """
    names = set(class_names)
    for set_name, mapping in PROMPT_LABEL_MAPS.items():
        if set(PROMPT_SETS[set_name]) == names:
            return dict(mapping)
    return None
