"""Text from labels and metadata: report-like descriptions for any labelled EEG.

ELM needs EEG paired with text, and clinical reports are rarely available (TUH no
longer distributes them). This module turns what a labelled collection *does*
have - task or state labels, events, age, sex, normal/abnormal, annotation
labels - into short TUH-style reports with the section headings the report
segmenter knows (``CLINICAL HISTORY:``, ``DESCRIPTION OF THE RECORD:``,
``IMPRESSION:``), so they flow through :func:`~braindecode_elm.data.reports.
segment_report` like real reports.

Every fact has several paraphrases, so that one fixed caption does not dominate
the text tower's input; positives follow *meaning*: a sentence is a positive of
every recording that has the fact it states, whatever its wording
(:meth:`DescriptionBuilder.positive_mask`).

Facts are ``name -> value`` strings. Recognised names and the metadata keys they
are read from (first match wins, see :data:`FACT_SOURCES`):

- ``state``: ``rest``, ``arithmetic``, ``motor_execution``, ``motor_imagery``
  (from ``state``/``label``/``condition``/``task``/``event``);
- ``movement``: ``left_hand``, ``right_hand``, ``hands``, ``feet``;
- ``eyes``: ``open``/``closed``;
- ``pathology``: ``normal``/``abnormal`` (TUAB folders, ``pathological``);
- ``finding``: TUEV/TUSZ annotation classes and synthetic phenotypes
  (``spsw``, ``gped``, ``pled``, ``eyem``, ``artf``, ``bckg``, ``seiz``,
  ``fnsz``, ``gnsz`` ..., ``diffuse_slowing`` ...);
- ``age_group``: decade (``"20s"``) from ``age``;
- ``sex``: ``female``/``male`` from ``sex``/``gender`` (``F``/``M``).

Templates are data (:data:`DEFAULT_TEMPLATES`): pass ``templates=`` to add or
replace paraphrases of any fact value, ``sections=`` to move a fact to another
heading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Sentence",
    "DescriptionBuilder",
    "DEFAULT_TEMPLATES",
    "DEFAULT_SECTIONS",
    "SECTION_ORDER",
    "FACT_SOURCES",
    "VALUE_ALIASES",
    "TUEV_CODES",
    "describe",
    "TUHEvent",
    "FactSpan",
    "read_tuh_events",
    "read_tuh_annotations",
    "tuh_facts",
    "TUH_ANNOTATION_SUFFIXES",
    "tuh_annotation_facts",
    "tuh_event_spans",
    "generic_templates",
]

#: Report headings in the order they are written (all known to the segmenter and
#: kept by :data:`~braindecode_elm.data.reports.ELM_HEADINGS`).
SECTION_ORDER: tuple[str, ...] = (
    "CLINICAL HISTORY",
    "DESCRIPTION OF THE RECORD",
    "EVENTS",
    "IMPRESSION",
)

#: Heading under which each fact is written.
DEFAULT_SECTIONS: dict[str, str] = {
    "age_group": "CLINICAL HISTORY",
    "sex": "CLINICAL HISTORY",
    "state": "DESCRIPTION OF THE RECORD",
    "movement": "DESCRIPTION OF THE RECORD",
    "eyes": "DESCRIPTION OF THE RECORD",
    "finding": "EVENTS",
    "pathology": "IMPRESSION",
}

#: Metadata keys read for each fact, in order of preference.
FACT_SOURCES: dict[str, tuple[str, ...]] = {
    "state": ("state", "condition", "label", "task", "event", "annotation"),
    "movement": ("movement", "event", "label", "annotation"),
    "eyes": ("eyes",),
    "pathology": ("pathology", "pathological", "abnormal"),
    "finding": ("finding", "phenotype", "event_type", "seizure_type"),
    "age_group": ("age_group", "age"),
    "sex": ("sex", "gender"),
}

#: Spellings mapped to canonical fact values (lower-cased look-up).
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "state": {
        "rest": "rest",
        "resting": "rest",
        "baseline": "rest",
        "t0": "rest",
        "arithmetic": "arithmetic",
        "mental_arithmetic": "arithmetic",
        "resting_state": "rest",
        "real_fists": "motor_execution",
        "real_fists_feet": "motor_execution",
        "motor_execution": "motor_execution",
        "imagined_fists": "motor_imagery",
        "imagined_fists_feet": "motor_imagery",
        "motor_imagery": "motor_imagery",
        "imagery": "motor_imagery",
    },
    "movement": {
        "left_hand": "left_hand",
        "right_hand": "right_hand",
        "hands": "hands",
        "feet": "feet",
    },
    "eyes": {"open": "open", "closed": "closed", "eo": "open", "ec": "closed"},
    "pathology": {
        "normal": "normal",
        "abnormal": "abnormal",
        "true": "abnormal",
        "false": "normal",
        "1": "abnormal",
        "0": "normal",
    },
    "sex": {
        "f": "female",
        "female": "female",
        "woman": "female",
        "m": "male",
        "male": "male",
        "man": "male",
    },
}

#: TUEV ``.rec`` label codes (1-6) and their class names.
TUEV_CODES: dict[int, str] = {
    1: "spsw",
    2: "gped",
    3: "pled",
    4: "eyem",
    5: "artf",
    6: "bckg",
}

_SEIZURE_TYPES = {
    "seiz": "a seizure",
    "fnsz": "a focal non-specific seizure",
    "gnsz": "a generalized non-specific seizure",
    "spsz": "a simple partial seizure",
    "cpsz": "a complex partial seizure",
    "absz": "an absence seizure",
    "tnsz": "a tonic seizure",
    "cnsz": "a clonic seizure",
    "tcsz": "a tonic-clonic seizure",
    "atsz": "an atonic seizure",
    "mysz": "a myoclonic seizure",
}

_DECADES = {
    0: "the first decade of life",
    10: "their teens",
    20: "their twenties",
    30: "their thirties",
    40: "their forties",
    50: "their fifties",
    60: "their sixties",
    70: "their seventies",
    80: "their eighties",
    90: "their nineties",
}


def _finding_templates() -> dict[str, list[str]]:
    out = {
        "spsw": [
            "Spike and slow wave complexes are seen.",
            "There are spike-and-wave discharges.",
            "Epileptiform spike and slow wave activity is present.",
        ],
        "gped": [
            "Generalized periodic epileptiform discharges are seen.",
            "There are generalized periodic discharges.",
            "Periodic epileptiform discharges appear over both hemispheres.",
        ],
        "pled": [
            "Lateralized periodic epileptiform discharges are seen.",
            "There are periodic discharges over one hemisphere.",
            "Lateralized periodic discharges are present.",
        ],
        "eyem": [
            "Eye movement artifact is seen.",
            "There are eye movements in the record.",
            "Ocular artifact from eye movements is present.",
        ],
        "artf": [
            "Muscle and movement artifact is present.",
            "The record contains artifact.",
            "Parts of the record are obscured by artifact.",
        ],
        "bckg": [
            "Background activity without epileptiform discharges.",
            "Only background activity is seen.",
            "No epileptiform discharges; background rhythms only.",
        ],
        "diffuse_slowing": [
            "There is diffuse slowing of the background.",
            "The background shows generalized theta and delta slowing.",
            "Diffuse slow activity is seen.",
        ],
        "focal_slowing_left": [
            "There is focal slowing over the left temporal region.",
            "Polymorphic delta activity is seen on the left temporally.",
            "Left temporal slowing is present.",
        ],
        "focal_slowing_right": [
            "There is focal slowing over the right temporal region.",
            "Polymorphic delta activity is seen on the right temporally.",
            "Right temporal slowing is present.",
        ],
        "epileptiform_focal": [
            "Focal sharp waves are seen over the temporal region.",
            "There are focal epileptiform discharges.",
            "Temporal sharp and slow wave complexes are present.",
        ],
        "epileptiform_generalized": [
            "Generalized spike and wave discharges are seen.",
            "There are bursts of generalized 3 Hz spike and wave.",
            "Generalized epileptiform discharges are present.",
        ],
    }
    for code, name in _SEIZURE_TYPES.items():
        out[code] = [
            f"The record captures {name}.",
            f"During the recording the patient has {name}.",
            f"{name[0].upper()}{name[1:]} is recorded.",
        ]
    out["normal"] = [
        "No focal or epileptiform abnormality is seen.",
        "No abnormal activity is present.",
        "The background is well organised with no abnormal findings.",
    ]
    return out


#: fact -> value -> paraphrases. ``"*"`` is a fall-back for any value and may use
#: ``{value}`` (the value with underscores as spaces) and, for ``age_group``,
#: ``{decade}``.
DEFAULT_TEMPLATES: dict[str, dict[str, list[str]]] = {
    "state": {
        "rest": [
            "The subject is awake and resting quietly.",
            "Resting state recording: relaxed, no task.",
            "The patient is at rest and not performing any task.",
            "Recorded at rest, awake and relaxed.",
        ],
        "arithmetic": [
            "The subject performs mental arithmetic, serially subtracting a "
            "two-digit number from a four-digit number.",
            "Recorded during mental calculation.",
            "The patient is concentrating on a mental arithmetic task.",
            "Serial subtraction task: the subject counts backwards mentally.",
        ],
        "motor_execution": [
            "The subject performs cued movements.",
            "Recorded while the subject moves on cue.",
            "Motor execution task: real movements as cued.",
        ],
        "motor_imagery": [
            "The subject imagines cued movements without moving.",
            "Recorded during motor imagery.",
            "Motor imagery task: movements are imagined, not executed.",
        ],
        "*": [
            "The subject is in the state: {value}.",
            "Recorded during {value}.",
            "Condition of the recording: {value}.",
        ],
    },
    "movement": {
        "left_hand": [
            "The left fist is opened and closed.",
            "Movement of the left hand.",
            "Left hand opening and closing.",
        ],
        "right_hand": [
            "The right fist is opened and closed.",
            "Movement of the right hand.",
            "Right hand opening and closing.",
        ],
        "hands": [
            "Both fists are opened and closed.",
            "Movement of both hands.",
            "Both hands open and close.",
        ],
        "feet": [
            "Both feet are moved.",
            "Movement of the feet.",
            "The feet open and close.",
        ],
        "*": ["Movement: {value}.", "The movement is {value}."],
    },
    "eyes": {
        "open": ["The eyes are open.", "Eyes open.", "Recorded with eyes open."],
        "closed": [
            "The eyes are closed.",
            "Eyes closed.",
            "Recorded with eyes closed.",
        ],
    },
    "pathology": {
        "normal": [
            "Normal EEG.",
            "This is a normal EEG recording.",
            "Normal study; no abnormality is seen.",
        ],
        "abnormal": [
            "Abnormal EEG.",
            "This EEG is abnormal.",
            "Abnormal study.",
        ],
    },
    "finding": {
        **_finding_templates(),
        "*": ["Annotated event: {value}.", "The record contains {value}."],
    },
    "age_group": {
        "*": [
            "The patient is in {decade}.",
            "Age group: {value}.",
            "A subject in {decade}.",
        ]
    },
    "sex": {
        "female": ["Female subject.", "The patient is a woman.", "Sex: female."],
        "male": ["Male subject.", "The patient is a man.", "Sex: male."],
    },
}


@dataclass(frozen=True)
class Sentence:
    """One sentence of a generated report and the fact it states.

    Attributes
    ----------
    section : str
        Report heading it is written under.
    text : str
        The sentence.
    fact : str
        Fact name (``"state"``, ``"sex"`` ...).
    value : str
        Canonical fact value; recordings with the same value are its positives.
    """

    section: str
    text: str
    fact: str
    value: str


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


_AGE_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:y|yr|yrs|years?|years\s+old)?\s*$")


def _age_group(v: Any) -> str | None:
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, str) and v.endswith("s") and v[:-1].isdigit():
        return v
    if isinstance(v, str):
        # "25", "25.5", "25 years", "25y"; a bound such as BIDS's "89+" is not
        # an age (unmatched() lists it).
        m = _AGE_TEXT.match(v.lower())
        if m is None:
            return None
        v = m.group(1)
    try:
        age = float(v)
    except (TypeError, ValueError):
        return None
    if not 0 <= age < 130:
        return None
    return f"{int(age // 10) * 10}s"


def _norm(raw: Any) -> str:
    """A value as fact values are spelled: lower case, ``_`` for space and dash
    (``1.0`` is ``1``: a column of integers with a gap is read as floats)."""
    if isinstance(raw, (float, np.floating)) and float(raw).is_integer():
        raw = int(raw)
    return str(raw).strip().lower().replace(" ", "_").replace("-", "_")


def _compact(key: str) -> str:
    """A spelling without separators (BIDS labels cannot hold ``_``:
    ``task-mentalarithmetic`` is ``mental_arithmetic``)."""
    return key.replace("_", "")


class DescriptionBuilder:
    """Turn labels and metadata into report-like text with paraphrases.

    Parameters
    ----------
    templates : mapping | None
        ``fact -> value -> [paraphrases]`` merged over :data:`DEFAULT_TEMPLATES`
        (a given value's list replaces the default one).
    sections : mapping | None
        ``fact -> heading`` merged over :data:`DEFAULT_SECTIONS`; a fact
        without one is written under ``DESCRIPTION OF THE RECORD``.
    sources : mapping | None
        ``fact -> metadata keys`` merged over :data:`FACT_SOURCES` (keys are
        matched case-insensitively; a fact with templates but no sources is
        read from the key of its own name).
    facts : sequence of str | None
        Facts to write (default: every fact with sources or templates).
    aliases : mapping | None
        ``fact -> spelling -> value`` merged over :data:`VALUE_ALIASES`, for
        spellings of a known value (``{"state": {"mathtask": "arithmetic"}}``),
        so that they stay positives of that value. Spellings and template
        keys are matched as values are read (case, spaces and dashes do not
        matter, and a spelling without separators such as BIDS's
        ``mentalarithmetic`` matches ``mental_arithmetic``).

    Notes
    -----
    A value read from a column named after its fact (``state``, ``movement``,
    ...) that no template names is written with the fact's ``"*"`` fall-back
    ("Recorded during sleep."); read from a generic column (``label``,
    ``event``, ``task``, ...) it is not taken as that fact, and
    :meth:`unmatched` lists it so that nothing is dropped unseen. A fact you
    add takes any value only with a ``"*"`` wording; otherwise a value its
    templates do not name is listed by :meth:`unmatched` (as is an age that
    is not a number, e.g. ``"89+"``).

    Examples
    --------
    >>> b = DescriptionBuilder()
    >>> f = b.facts({"state": "rest", "age": 21, "gender": "F"})
    >>> f
    {'state': 'rest', 'age_group': '20s', 'sex': 'female'}
    >>> print(b.report(f, variant=0))  # doctest: +NORMALIZE_WHITESPACE
    CLINICAL HISTORY: The patient is in their twenties. Female subject.
    <BLANKLINE>
    DESCRIPTION OF THE RECORD: The subject is awake and resting quietly.
    """

    def __init__(
        self,
        templates: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        sections: Mapping[str, str] | None = None,
        sources: Mapping[str, Sequence[str]] | None = None,
        facts: Sequence[str] | None = None,
        aliases: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.templates: dict[str, dict[str, list[str]]] = {
            k: {v: list(p) for v, p in vals.items()}
            for k, vals in DEFAULT_TEMPLATES.items()
        }
        for fact, vals in (templates or {}).items():
            for value, phr in vals.items():
                if isinstance(phr, str) or not len(phr):
                    raise ValueError(
                        f"templates[{fact!r}][{value!r}] must be a non-empty list "
                        "of strings"
                    )
                # Keys are spelled as values are read ("N-Back" is n_back).
                key = value if value == "*" else _norm(value)
                self.templates.setdefault(fact, {})[key] = list(phr)
        self.aliases = {f: dict(a) for f, a in VALUE_ALIASES.items()}
        for fact, table in (aliases or {}).items():
            known = set(self.templates.get(fact, {})) | set(
                VALUE_ALIASES.get(fact, {}).values()
            )
            for spelling, value in table.items():
                # A fact of the user's with a "*" wording takes any value; a
                # known fact's aliases must name one of its values (a typo).
                free = "*" in known and fact not in VALUE_ALIASES
                if _norm(value) not in known and not free:
                    raise ValueError(
                        f"aliases[{fact!r}][{spelling!r}] = {value!r} names no "
                        f"value of {fact!r} (known: {sorted(known - {'*'})}); "
                        "add templates for it first"
                    )
                self.aliases.setdefault(fact, {})[_norm(spelling)] = _norm(value)
        self.sections = dict(DEFAULT_SECTIONS, **(sections or {}))
        bad = {f: s for f, s in self.sections.items() if s not in SECTION_ORDER}
        if bad:
            raise ValueError(
                f"unknown report headings {bad}; use one of {list(SECTION_ORDER)}"
            )
        self.sources = {k: tuple(v) for k, v in FACT_SOURCES.items()}
        self.sources.update({k: tuple(v) for k, v in (sources or {}).items()})
        for fact in templates or {}:
            self.sources.setdefault(fact, (fact,))
        self.fact_names = tuple(facts) if facts is not None else tuple(self.sources)
        for fact in self.fact_names:
            # A new fact (given only templates or sources) is still written.
            self.sections.setdefault(fact, "DESCRIPTION OF THE RECORD")
        unknown = [f for f in self.fact_names if f not in self.templates]
        if unknown:
            raise ValueError(
                f"no templates for facts {unknown}; pass templates={{fact: {{value: "
                "[...]}}}}"
            )

    # -- facts -----------------------------------------------------------------
    def _canonical(
        self, fact: str, raw: Any, *, own_column: bool = False
    ) -> str | None:
        if _is_missing(raw):
            return None
        if fact == "age_group":
            return _age_group(raw)
        if isinstance(raw, (bool, np.bool_)):
            raw = "true" if raw else "false"
        key = _norm(raw)
        table = self.templates.get(fact, {})
        aliases = self.aliases.get(fact, {})
        if key in aliases:
            return aliases[key]
        if key in table and key != "*":
            return key
        compact = {_compact(k): v for k, v in aliases.items()}
        compact.update({_compact(k): k for k in table if k != "*"})
        if _compact(key) in compact:
            return compact[_compact(key)]
        # A value this fact does not know (e.g. an event name in "label" read
        # for "state") is not this fact, unless it sits in the fact's own
        # column and the fact has a "*" wording; a fact without aliases (one a
        # user added) takes its "*" wording from any of its columns. Else
        # unmatched() lists the value: it is not written, and not lost unseen.
        if "*" in table and (own_column or fact not in VALUE_ALIASES):
            return key
        return None

    @staticmethod
    def _lookup(description: Mapping[str, Any], key: str) -> tuple[bool, Any]:
        """``description[key]``, else the entry whose name differs only in case
        (tables say ``Age``/``Gender``; the facts read ``age``/``gender``)."""
        if key in description:
            return True, description[key]
        low = key.lower()
        for k, v in description.items():
            if isinstance(k, str) and k.lower() == low:
                return True, v
        return False, None

    def facts(self, description: Mapping[str, Any]) -> dict[str, str]:
        """Canonical facts of one recording's metadata.

        Parameters
        ----------
        description : mapping
            A description row (Braindecode/MOABB/BIDS columns, TUH index).

        Returns
        -------
        dict
            ``fact -> value`` for each fact found (missing ones left out).
        """
        return {f: v for f, (v, _) in self._read(description).items()}

    def _read(self, description: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
        """``fact -> (value, column it was read from)``."""
        out: dict[str, tuple[str, str]] = {}
        for fact in self.fact_names:
            for key in self.sources.get(fact, (fact,)):
                found, raw = self._lookup(description, key)
                if found:
                    value = self._canonical(
                        fact, raw, own_column=key.lower() == fact.lower()
                    )
                    if value is not None:
                        out[fact] = (value, key.lower())
                        break
        return out

    def event_facts(
        self, label: Any, facts: Sequence[str] = ("state", "movement")
    ) -> dict[str, str]:
        """Facts an annotation label names (``rest`` -> state, ``feet`` -> movement).

        A label is one of these facts only when an alias or a template names its
        value (no ``"*"`` fall-back: ``left_hand`` is a movement, not a state).

        Parameters
        ----------
        label : str
            An event's description.
        facts : sequence of str
            Facts the label may state.

        Returns
        -------
        dict
            ``fact -> value`` for each fact the label names.
        """
        out = {}
        for fact in facts:
            if fact in self.fact_names:
                value = self._canonical(fact, label)
                if value is not None:
                    out[fact] = value
        return out

    def unmatched(self, description: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """Values read for a fact that was not found, and why none was used.

        Parameters
        ----------
        description : mapping
            A description row.

        Returns
        -------
        list of (fact, key, value)
            For each fact :meth:`facts` leaves out although one of its source
            columns holds a value: the column and the value no template names
            (add ``templates={fact: {value: [...]}}`` to use it).
        """
        read = self._read(description)
        # A column another fact was read from (an EEGBCI "event" naming the
        # movement), or a value another fact already states (eegmat's "label"
        # repeating its "state"), is used, not lost.
        used = {key for _, key in read.values()}
        said = {_norm(self._lookup(description, key)[1]) for _, key in read.values()}
        found: dict[tuple[str, str], tuple[str, str, str]] = {}
        for fact in self.fact_names:
            if fact in read:
                continue
            for key in self.sources.get(fact, (fact,)):
                ok, raw = self._lookup(description, key)
                if ok and not _is_missing(raw):
                    if key.lower() not in used and _norm(raw) not in said:
                        # One entry per column and value (an age that is no
                        # number, "89+", too), under the fact named after the
                        # column when there is one ("condition" is read for
                        # "state" as well).
                        at = (key.lower(), str(raw))
                        if at not in found or fact.lower() == key.lower():
                            found[at] = (fact, key, str(raw))
                    break
        return list(found.values())

    # -- text ------------------------------------------------------------------
    def paraphrases(self, fact: str, value: str) -> list[str]:
        """Every paraphrase of ``fact = value``.

        Raises
        ------
        KeyError
            If neither the value nor a ``"*"`` fall-back has templates.
        """
        table = self.templates.get(fact, {})
        # A value as the user spells it ("N-Back") or as facts spell it (n_back).
        phr = table.get(value) or table.get(_norm(value)) or table.get("*")
        if phr is None:
            raise KeyError(
                f"no template for {fact}={value!r}: add templates={{{fact!r}: "
                f"{{{value!r}: [...]}}}} (known values: {sorted(table)})"
            )
        words = value.replace("_", " ")
        decade = _DECADES.get(int(value[:-1]), words) if fact == "age_group" else ""
        return [p.format(value=words, decade=decade) for p in phr]

    def sentences(
        self, facts: Mapping[str, str], variant: int | str = 0
    ) -> list[Sentence]:
        """Sentences stating ``facts``.

        Parameters
        ----------
        facts : mapping
            From :meth:`facts`.
        variant : int | "all"
            Paraphrase index (taken modulo the number of paraphrases of each
            fact), or ``"all"`` for every paraphrase of every fact.

        Returns
        -------
        list of Sentence
            In report order (by section, then fact).
        """
        out = []
        for section in SECTION_ORDER:
            for fact in self.fact_names:
                if fact not in facts or self.sections.get(fact) != section:
                    continue
                phr = self.paraphrases(fact, facts[fact])
                chosen = phr if variant == "all" else [phr[int(variant) % len(phr)]]
                out.extend(Sentence(section, t, fact, facts[fact]) for t in chosen)
        return out

    def report(self, facts: Mapping[str, str], variant: int = 0) -> str:
        """A TUH-style report (``HEADING: sentences`` paragraphs) of ``facts``.

        Parameters
        ----------
        facts : mapping
            From :meth:`facts`.
        variant : int
            Paraphrase index; different variants give differently worded
            reports of the same facts.

        Returns
        -------
        str
            The report; empty when there are no facts.
        """
        by_section: dict[str, list[str]] = {}
        for s in self.sentences(facts, variant):
            by_section.setdefault(s.section, []).append(s.text)
        return "\n\n".join(
            f"{sec}: {' '.join(by_section[sec])}"
            for sec in SECTION_ORDER
            if sec in by_section
        )

    def n_variants(self, facts: Mapping[str, str]) -> int:
        """Number of distinct report wordings (largest paraphrase count)."""
        return max((len(self.paraphrases(f, v)) for f, v in facts.items()), default=0)

    @staticmethod
    def positive_mask(
        recording_facts: Sequence[Mapping[str, str]], sentences: Sequence[Sentence]
    ) -> np.ndarray:
        """Positives by meaning: recording ``i`` x sentence ``j``.

        A sentence is a positive of every recording that has the fact it states
        with the same value, whatever the sentence's wording and whichever
        recording it was written for.

        Returns
        -------
        np.ndarray
            (n_recordings, n_sentences) bool.
        """
        mask = np.zeros((len(recording_facts), len(sentences)), dtype=bool)
        for j, s in enumerate(sentences):
            for i, f in enumerate(recording_facts):
                mask[i, j] = f.get(s.fact) == s.value
        return mask


def describe(
    description: Mapping[str, Any],
    variant: int = 0,
    builder: DescriptionBuilder | None = None,
) -> str:
    """Report-like text for one recording's metadata (see :class:`DescriptionBuilder`).

    Parameters
    ----------
    description : mapping
        Metadata (labels, age, sex ...).
    variant : int
        Paraphrase index.
    builder : DescriptionBuilder | None
        Custom templates (default :class:`DescriptionBuilder()`).

    Returns
    -------
    str
        The report.

    Raises
    ------
    ValueError
        If no known fact is found in ``description``.
    """
    b = builder or DescriptionBuilder()
    facts = b.facts(description)
    if not facts:
        raise ValueError(
            f"no known fact in the description (keys {sorted(description)}); "
            f"facts are read from {FACT_SOURCES}"
        )
    return b.report(facts, variant)


# -------------------------------------------------------------- TUH without reports
@dataclass(frozen=True)
class TUHEvent:
    """One row of a TUH annotation file.

    Attributes
    ----------
    start_s, stop_s : float
        Seconds from the start of the EDF file.
    label : str
        Event class, lower case (``spsw``, ``bckg``, ``seiz``, ``fnsz`` ...).
    channel : str
        The row's channel (a TUEV channel number, a TUSZ montage channel such as
        ``FP1-F7``, ``TERM`` for a whole-record row; ``""`` in ``.tse`` files).
    """

    start_s: float
    stop_s: float
    label: str
    channel: str


def _in_order(start: float, stop: float) -> bool:
    """Finite times in seconds with ``0 <= start <= stop``."""
    return math.isfinite(start) and math.isfinite(stop) and 0 <= start <= stop


@dataclass(frozen=True)
class FactSpan:
    """Facts that hold over a stretch of a recording (not all of it).

    Returned by ``facts_of`` hooks of
    :func:`~braindecode_elm.data.labelled_corpus.build_labelled_corpus` (such as
    :func:`tuh_annotation_facts`) to place a segment in time; a plain facts dict
    spans the whole recording.

    Attributes
    ----------
    facts : dict
        Canonical facts.
    start_s, stop_s : float
        Seconds from the start of the recording.
    """

    facts: dict[str, str]
    start_s: float
    stop_s: float

    def __post_init__(self) -> None:
        if not _in_order(float(self.start_s), float(self.stop_s)):
            # A negative start would index the signal from its end.
            raise ValueError(
                f"FactSpan needs 0 <= start_s <= stop_s (seconds from the "
                f"recording's start), got start_s={self.start_s!r}, "
                f"stop_s={self.stop_s!r}"
            )


def read_tuh_events(path: str) -> list[TUHEvent]:
    """Every row of a TUEV ``.rec`` or TUSZ ``.csv``/``.csv_bi``/``.tse`` file.

    Parameters
    ----------
    path : str
        Annotation file. TUEV ``.rec`` rows are ``channel,start,stop,code`` with
        codes 1-6 (:data:`TUEV_CODES`); TUSZ ``.csv``/``.csv_bi`` have a header
        (``channel,start_time,stop_time,label,confidence``) after ``#`` comment
        lines; ``.tse`` rows are ``start stop label [confidence]``.

    Returns
    -------
    list of TUHEvent
        In file order.

    Raises
    ------
    ValueError
        If a row cannot be read, or its times are not numbers with
        ``0 <= start <= stop`` (the message names the file and line).
    """
    from pathlib import Path

    p = Path(path)
    events: list[TUHEvent] = []
    for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower().startswith("version"):
            continue
        if p.suffix == ".rec":
            parts = [x.strip() for x in line.split(",")]
            try:
                code = int(float(parts[3]))
                label = TUEV_CODES[code]
            except (IndexError, ValueError, KeyError) as err:
                raise ValueError(
                    f"{p}:{n}: expected 'channel,start,stop,code' with code 1-6, got "
                    f"{line!r}"
                ) from err
            channel, times = parts[0], parts[1:3]
        elif p.suffix == ".tse":
            parts = line.split()
            if len(parts) < 3:
                raise ValueError(f"{p}:{n}: expected 'start stop label', got {line!r}")
            label, channel, times = parts[2].lower(), "", parts[:2]
        else:
            parts = [x.strip() for x in line.split(",")]
            if parts[0] == "channel":  # header row
                continue
            if len(parts) < 4:
                raise ValueError(
                    f"{p}:{n}: expected 'channel,start_time,stop_time,label', got "
                    f"{line!r}"
                )
            label, channel, times = parts[3].lower(), parts[0], parts[1:3]
        try:
            start, stop = (float(t) for t in times)
        except ValueError as err:
            raise ValueError(
                f"{p}:{n}: the start and stop times must be numbers (seconds), got "
                f"{line!r}"
            ) from err
        if not _in_order(start, stop):
            raise ValueError(
                f"{p}:{n}: expected 0 <= start <= stop (seconds), got start {start:g} "
                f"and stop {stop:g} in {line!r}"
            )
        events.append(TUHEvent(start, stop, label, channel))
    return events


def read_tuh_annotations(path: str) -> list[str]:
    """Event classes of a TUEV ``.rec`` or TUSZ ``.csv``/``.csv_bi``/``.tse`` file.

    Parameters
    ----------
    path : str
        Annotation file (formats as in :func:`read_tuh_events`).

    Returns
    -------
    list of str
        Distinct classes in order of first appearance.

    Raises
    ------
    ValueError
        If a row cannot be read (the message names the file and line).
    """
    labels: list[str] = []
    for ev in read_tuh_events(path):
        if ev.label not in labels:
            labels.append(ev.label)
    return labels


def tuh_event_spans(events: Iterable[TUHEvent]) -> dict[str, list[tuple[float, float]]]:
    """Where each class holds: the union of its events over all channels.

    A TUEV spike marked on three channels at once is one stretch; overlapping
    or touching stretches of a class merge.

    Parameters
    ----------
    events : iterable of TUHEvent
        Rows of an annotation file (:func:`read_tuh_events`).

    Returns
    -------
    dict
        Class -> sorted, disjoint ``(start_s, stop_s)`` stretches, classes in
        order of first appearance.
    """
    by_label: dict[str, list[tuple[float, float]]] = {}
    for ev in events:
        by_label.setdefault(ev.label, []).append((ev.start_s, ev.stop_s))
    return {label: _merge(spans) for label, spans in by_label.items()}


def _merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, disjoint stretches covering ``spans`` (overlapping or touching
    ones merge)."""
    merged: list[list[float]] = []
    for a, z in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], z)
        else:
            merged.append([a, z])
    return [(a, z) for a, z in merged]


def tuh_facts(
    description: Mapping[str, Any],
    events: Iterable[str] | None = None,
    builder: DescriptionBuilder | None = None,
) -> list[dict[str, str]]:
    """Facts of a TUH recording without its report (the "TUH without reports" recipe).

    Uses what TUH still distributes: the TUAB normal/abnormal folder
    (``pathological`` in :class:`~braindecode_elm.data.TUHReports`), the EDF
    header's age and sex, and TUEV/TUSZ annotation classes
    (:func:`read_tuh_annotations`). Each annotation class gives one fact set
    (background ``bckg`` only when it is the only class), so a recording with
    spikes and eye movements yields two descriptions.

    Parameters
    ----------
    description : mapping
        The recording's description row.
    events : iterable of str | None
        Annotation classes of the recording.
    builder : DescriptionBuilder | None
        Templates (default :class:`DescriptionBuilder()`).

    Returns
    -------
    list of dict
        One facts dict per annotation class (one dict when there are none).
    """
    b = builder or DescriptionBuilder()
    base = b.facts(description)
    ev = [e.lower() for e in (events or [])]
    if len(ev) > 1:
        ev = [e for e in ev if e != "bckg"]
    if not ev:
        return [base]
    return [dict(base, finding=e) for e in ev]


#: Annotation files looked for beside an EDF, in order (TUEV, TUSZ v2, TUSZ v1).
TUH_ANNOTATION_SUFFIXES = (".rec", ".csv_bi", ".csv", ".tse")


def tuh_annotation_facts(
    description: Mapping[str, Any],
    builder: DescriptionBuilder | None = None,
    *,
    min_background_s: float = 5.0,
) -> list[dict[str, str] | FactSpan]:
    """Facts of a TUH recording in time, its annotations read from beside its EDF.

    For :func:`~braindecode_elm.data.labelled_corpus.build_labelled_corpus`'s
    ``facts_of``: the annotation file has the EDF's name with one of
    :data:`TUH_ANNOTATION_SUFFIXES` (``00000254_s005_t000.rec`` beside
    ``00000254_s005_t000.edf``). Each annotated stretch of a class (merged over
    channels, :func:`tuh_event_spans`) becomes a :class:`FactSpan` with the
    recording's facts (TUAB label, age, sex) plus ``finding``: a seizure from
    120 s to 150 s of a TUSZ file is a segment of those 30 s. Background
    (``bckg``) segments are the ``bckg`` stretches that no other event covers on
    any channel (TUEV and per-channel TUSZ files mark ``bckg`` on the channels
    an event spares), at least ``min_background_s`` long (a shorter gap between
    two events would give a crop reaching into them). Without an annotation
    file, or with an empty one, the recording's facts come from its
    description alone and span the whole recording.

    Parameters
    ----------
    description : mapping
        The recording's description row (its ``path`` locates the EDF).
    builder : DescriptionBuilder | None
        Templates (default :class:`DescriptionBuilder()`).
    min_background_s : float
        Shortest background stretch kept, and the stretch an event shorter than
        it covers from its onset (its crop): s, default one 5 s crop.

    Returns
    -------
    list of dict or FactSpan
        One :class:`FactSpan` per annotated stretch, in time order; or the facts
        of :func:`tuh_facts` without events (one dict, the whole recording).
    """
    from pathlib import Path

    b = builder or DescriptionBuilder()
    path = description.get("path")
    events: list[TUHEvent] = []
    if path:
        for suffix in TUH_ANNOTATION_SUFFIXES:
            ann = Path(str(path)).with_suffix(suffix)
            if ann.is_file():
                events = read_tuh_events(str(ann))
                break
    if not events:
        return tuh_facts(description, None, b)
    base = b.facts(description)
    by_class = tuh_event_spans(events)
    background = by_class.pop("bckg", [])
    # TUEV and per-channel TUSZ files mark bckg on the channels an event
    # spares, at the event's time: background is what no event covers.
    # An event shorter than a crop is trained as the crop from its onset: the
    # background starts after that crop, not inside it.
    covered = _merge(
        (a, max(z, a + min_background_s))
        for stretches in by_class.values()
        for a, z in stretches
    )
    background = [
        (a, z) for a, z in _subtract(background, covered) if z - a >= min_background_s
    ]
    spans = [
        FactSpan(dict(base, finding=label), a, z)
        for label, stretches in [*by_class.items(), ("bckg", background)]
        for a, z in stretches
    ]
    if not spans:
        # Only background stretches shorter than a crop: the recording keeps
        # the facts of its description (it was dropped as having none).
        return tuh_facts(description, None, b)
    return sorted(spans, key=lambda f: (f.start_s, f.stop_s))


def _subtract(
    spans: Sequence[tuple[float, float]], holes: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Parts of sorted, disjoint ``spans`` outside sorted, disjoint ``holes``."""
    out = []
    for a, z in spans:
        for h0, h1 in holes:
            if h1 <= a or h0 >= z:
                continue
            if h0 > a:
                out.append((a, h0))
            a = max(a, h1)
            if a >= z:
                break
        if a < z:
            out.append((a, z))
    return out


def generic_templates(column: str) -> dict[str, list[str]]:
    """Wordings of a fact read from a table column that no template knows.

    For ``elm pretrain-labelled --label-column diagnosis``: the column becomes a
    fact whose every value is written in a few generic sentences ("Diagnosis:
    epilepsy.", "The diagnosis is epilepsy." ...), so a lab's own label enters
    the text without templates written for it.

    Parameters
    ----------
    column : str
        The column (and fact) name.

    Returns
    -------
    dict
        ``{"*": [paraphrases]}`` with ``{value}`` placeholders.
    """
    name = column.replace("_", " ").strip()
    title = name[:1].upper() + name[1:]
    return {
        "*": [
            f"{title}: {{value}}.",
            f"The {name} is {{value}}.",
            f"{title} {{value}}.",
            f"Recorded with {name} {{value}}.",
        ]
    }
