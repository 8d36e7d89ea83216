"""Reports of the synthetic corpus: TUH-style clinical text.

History, medications, description and impression follow the simulated
phenotype, age and medication, in varied wording.
"""

from __future__ import annotations

import numpy as np

_BENZOS = ["Ativan", "lorazepam", "clonazepam", "Versed"]


_AEDS = ["Keppra", "levetiracetam", "Dilantin", "Lamictal", "Depakote", "Tegretol"]


_OTHER_MEDS = ["lisinopril", "aspirin", "metoprolol", "atorvastatin", "omeprazole",
               "insulin", "metformin", "sertraline"]  # fmt: skip


_HISTORY = {
    "normal": ["headaches", "an episode of syncope", "dizziness", "migraine",
               "a single episode of loss of consciousness", "spells of unclear nature"],
    "diffuse_slowing": ["altered mental status", "confusion", "encephalopathy",
                        "progressive memory decline", "lethargy after sepsis"],
    "focal_slowing": ["a {side} hemispheric stroke", "a {side} temporal mass",
                      "a {side} subdural hematoma",
                      "a prior {side} temporal hemorrhage"],
    "epileptiform_focal": ["focal seizures", "seizures with déjà vu and staring",
                           "temporal lobe epilepsy", "recurrent focal seizures"],
    "epileptiform_generalized": ["generalized seizures", "absence spells",
                                 "staring spells and generalized epilepsy",
                                 "juvenile myoclonic epilepsy"],
}  # fmt: skip


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _report(rng: np.random.Generator, rec: dict) -> str:
    pheno, side, age = rec["phenotype"], rec["focal_side"], rec["age"]
    words = ["woman", "female"] if rec["gender"] == "F" else ["man", "male"]
    sex_word = _pick(rng, words)
    hand = _pick(rng, ["", "right-handed ", "left-handed "])
    key = "focal_slowing" if pheno.startswith("focal_slowing") else pheno
    hist = _pick(rng, _HISTORY[key]).format(side=side or "left")
    history = _pick(
        rng,
        [
            f"{age} year old {hand}{sex_word} with {hist}.",
            f"This is a {age} year old {sex_word} with a history of {hist}.",
            f"{age}-year-old {sex_word} with {hist}, referred for EEG.",
        ],
    )
    meds = ", ".join(rec["medications"]) if rec["medications"] else "None"
    intro = _pick(
        rng,
        [
            "Digital video EEG was performed using the standard 10-20 system of "
            "electrode placement with 1 channel of EKG.",
            "Routine EEG was recorded at the bedside with the international 10-20 "
            "system. The patient was awake and cooperative.",
            "A standard 21 electrode digital EEG was performed in the laboratory. "
            "Photic stimulation was performed.",
        ],
    )
    fa = rec["alpha_freq"]
    pdr = (
        f"{fa:.1f} Hz"
        if rng.random() < 0.6
        else f"{int(np.floor(fa))} to {int(np.floor(fa)) + 1} Hz"
    )
    if pheno == "diffuse_slowing":
        bg = _pick(
            rng,
            [
                f"The background is diffusely slow and disorganized, with a poorly "
                f"formed posterior dominant rhythm of {pdr} and abundant diffuse theta "
                "and delta activity.",
                f"There is generalized slowing of the background, with a low amplitude "
                f"{pdr} posterior rhythm and diffuse polymorphic theta and delta "
                "activity throughout the record.",
            ],
        )
    else:
        bg = _pick(
            rng,
            [
                f"In wakefulness there is a well-defined posterior dominant rhythm of "
                f"{pdr} which attenuates with eye opening.",
                f"The background is well organized, with a {pdr} posterior dominant "
                "rhythm that is reactive to eye opening.",
                f"The awake background shows a symmetric {pdr} alpha rhythm in the "
                "posterior regions, blocking with eye opening.",
            ],
        )
    extra = []
    if pheno.startswith("focal_slowing"):
        extra.append(
            _pick(
                rng,
                [
                    f"There is continuous focal polymorphic delta activity over the "
                    f"{side} temporal region.",
                    f"Focal slowing is seen over the {side} temporal region, with "
                    f"irregular delta activity maximal at {'T3' if side == 'left' else 'T4'}.",  # noqa: E501
                ],
            )
        )
    if pheno == "epileptiform_focal":
        e1, e2 = ("T3", "F7") if side == "left" else ("T4", "F8")
        extra.append(
            _pick(
                rng,
                [
                    f"Frequent sharp waves are seen over the {side} temporal region, "
                    f"maximal at {e1} and {e2}.",
                    f"There are frequent {side} temporal sharp and slow wave "
                    f"discharges, phase reversing at {e1}.",
                ],
            )
        )
    if pheno == "epileptiform_generalized":
        extra.append(
            _pick(
                rng,
                [
                    "Frequent bursts of generalized 3 Hz spike and wave discharges "
                    "are seen, lasting 1 to 4 seconds.",
                    "There are recurrent generalized spike and wave complexes at about "
                    "3 Hz, with a frontal predominance.",
                ],
            )
        )
    if rec["benzodiazepine"]:
        extra.append(
            _pick(
                rng,
                [
                    "There is excess diffuse beta activity, likely a medication "
                    "effect.",
                    "Prominent frontocentral beta activity is noted, consistent with "
                    "benzodiazepine effect.",
                ],
            )
        )
    extra.append(
        _pick(
            rng,
            [
                "Eye blink and muscle artifacts are present.",
                "Frequent eye blinks and intermittent temporal muscle artifact are "
                "noted.",
                "Muscle artifact is seen intermittently.",
            ],
        )
    )
    impression, corr = _impression(rng, pheno, side)
    lines = []
    if rng.random() < 0.5:
        lines.append(
            _pick(rng, ["TEMPLE UNIVERSITY HOSPITAL", "EEG REPORT", "Neurology"])
        )
    lines += [
        f"CLINICAL HISTORY: {history}",
        f"MEDICATIONS: {meds}",
        f"INTRODUCTION: {intro}",
        "DESCRIPTION OF THE RECORD: " + " ".join([bg, *extra]),
    ]
    if rng.random() < 0.3:
        lines.append(f"HR: {int(rng.integers(55, 100))} bpm")
    lines += [f"IMPRESSION: {impression}", f"CLINICAL CORRELATION: {corr}"]
    return "\n".join(lines) + "\n"


def _impression(
    rng: np.random.Generator, pheno: str, side: str | None
) -> tuple[str, str]:  # noqa: E501
    if pheno == "normal":
        return (
            _pick(rng, ["Normal EEG.", "Normal awake EEG.", "This is a normal EEG."]),
            _pick(
                rng,
                [
                    "No epileptiform discharges or focal slowing were seen.",
                    "This is a normal EEG. A normal EEG does not exclude epilepsy.",
                    "The record is within normal limits.",
                ],
            ),
        )
    if pheno == "diffuse_slowing":
        return (
            _pick(
                rng,
                [
                    "Abnormal EEG due to diffuse slowing of the background.",
                    "Abnormal EEG with generalized background slowing.",
                ],
            ),
            _pick(
                rng,
                [
                    "Diffuse slowing is consistent with a diffuse cerebral dysfunction "
                    "such as an encephalopathy, which is non-specific as to etiology.",
                    "These findings suggest a diffuse encephalopathy.",
                ],
            ),
        )
    if pheno.startswith("focal_slowing"):
        return (
            _pick(
                rng,
                [
                    f"Abnormal EEG due to focal slowing in the {side} temporal region.",
                    f"Abnormal EEG with {side} temporal focal slowing.",
                ],
            ),
            f"Focal slowing over the {side} temporal region indicates focal "
            f"cerebral dysfunction in that area. No epileptiform discharges were seen.",
        )
    if pheno == "epileptiform_focal":
        return (
            _pick(
                rng,
                [
                    f"Abnormal EEG due to {side} temporal sharp waves.",
                    f"Abnormal EEG with frequent {side} temporal epileptiform "
                    "discharges.",
                ],
            ),
            f"These findings indicate a potentially epileptogenic focus in the {side} "
            "temporal region.",
        )
    return (
        _pick(
            rng,
            [
                "Abnormal EEG due to generalized spike and wave discharges.",
                "Abnormal EEG with generalized 3 Hz spike and wave bursts.",
            ],
        ),
        "This pattern is consistent with a generalized epilepsy.",
    )
