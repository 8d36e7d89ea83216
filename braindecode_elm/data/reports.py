"""Clinical report parsing: headings, sections, sentences (the ELM text side).

ELM (Gijsen & Ritter, 2025) pairs each EEG recording with segments of its
free-text clinical report. This module splits TUH-style reports at their
headings, keeps the clinically informative sections and cuts them into
sentences or paragraphs. It also reads report files whose encoding is not
known in advance (TUH reports are not all UTF-8).
"""

from __future__ import annotations

import codecs
import os
import re
import threading

__all__ = [
    "TUH_HEADINGS",
    "ELM_HEADINGS",
    "SEGMENT_MODES",
    "normalize_report_text",
    "split_report",
    "segment_report",
    "split_sentences",
    "read_report",
    "ReportDecodeError",
    "REPORT_MAX_BYTES",
]

#: The 43 headings at which TUH reports are split (ELM, Appendix).
TUH_HEADINGS: tuple[str, ...] = (
    "DATE OF STUDY",
    "START DATE OF STUDY",
    "END DATE OF STUDY",
    "REASON FOR STUDY",
    "DAY",
    "RECORDING ENVIRONMENT",
    "EVENT",
    "EEG TYPE",
    "HISTORY",
    "CLINICAL HISTORY",
    "MEDICATIONS",
    "AED",
    "INTRODUCTION",
    "SEDATION",
    "SEIZURE TIME",
    "SEIZURES",
    "ABNORMAL DISCHARGES",
    "TECHNIQUE",
    "TECHNICAL ISSUE",
    "TECHNICAL PROBLEM",
    "TECHNICAL DIFFICULTIES",
    "DESCRIPTION OF THE RECORD",
    "DESCRIPTION OF RECORD",
    "DESCRIPTION",
    "EEG BACKGROUND",
    "BACKGROUND",
    "EPILEPTIFORM ACTIVITY",
    "OTHER PAROXYSMAL ACTIVITY (NON-EPILEPTIFORM)",
    "ACTIVATION PROCEDURES",
    "INDUCTION PROCEDURES",
    "EVENTS",
    "HEART RATE",
    "HR",
    "CONDITIONS OF THE RECORDING",
    "RANDOM WAKEFULNESS AND SLEEP",
    "IMPRESSION",
    "CLINICAL CORRELATION",
    "CORRELATION",
    "CONCLUSION",
    "SUMMARY",
    "SUMMARY OF FINDINGS",
    "DIAGNOSIS",
    "INTERPRETATION",
)

#: Headings kept for training by default (a section is kept when one of these is a
#: substring of its heading). Technical problems, recording environment,
#: activation procedures, heart rate and dates are left out, as in ELM.
ELM_HEADINGS: tuple[str, ...] = (
    "CLINICAL HISTORY",
    "HISTORY",
    "MEDICATIONS",
    "AED",
    "DESCRIPTION OF THE RECORD",
    "DESCRIPTION",
    "EEG BACKGROUND",
    "RANDOM WAKEFULNESS AND SLEEP",
    "EVENTS",
    "EVENT",
    "EPILEPTIFORM ACTIVITY",
    "OTHER PAROXYSMAL ACTIVITY (NON-EPILEPTIFORM)",
    "CORRELATION",
    "CLINICAL CORRELATION",
    "IMPRESSION",
    "CONCLUSION",
    "SUMMARY OF FINDINGS",
    "SUMMARY",
    "DIAGNOSIS",
    "INTERPRETATION",
)

#: Accepted values of ``mode`` in :func:`segment_report`.
SEGMENT_MODES: tuple[str, ...] = ("sentence", "paragraph", "report")


def _heading_regex(headings: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first so that "CLINICAL HISTORY" wins over "HISTORY" in the
    # alternation; the negative look-ahead stops "EVENT" matching "EVENTS".
    alts = "|".join(re.escape(h) for h in sorted(set(headings), key=len, reverse=True))
    return re.compile(
        rf"^[ \t]*(?P<head>{alts})(?![A-Za-z0-9])[ \t]*(?P<colon>:)?",
        re.IGNORECASE | re.MULTILINE,
    )


_HEADING_RE = _heading_regex(TUH_HEADINGS)
_CANONICAL = {h.upper(): h for h in TUH_HEADINGS}


class ReportDecodeError(ValueError):
    """A report file could not be decoded as text."""


def normalize_report_text(text: str) -> str:
    """Apply ELM's clean-up before splitting.

    Line separators (``\\u2028``) and carriage returns become newlines and runs
    of spaces become one space.

    Parameters
    ----------
    text : str
        Raw report text.

    Returns
    -------
    str
        Cleaned text.
    """
    text = text.replace("\u2028", "\n").replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ")
    return re.sub(r" {2,}", " ", text)


#: Headings that are abbreviations, written in capitals in prose as well.
_ABBREVIATION_HEADINGS = frozenset({"AED", "HR"})


def _is_heading_match(m: re.Match[str], line_rest: str) -> bool:
    # A heading counts when followed by a colon, when alone on its line, or
    # when written in capitals (TUH style "IMPRESSION Normal EEG."). This keeps
    # prose like "History of seizures since 2010" inside its section.
    if m.group("colon"):
        return True
    rest = line_rest.strip()
    if not rest:
        return True
    head = m.group("head")
    if head.upper() in _ABBREVIATION_HEADINGS:
        # An abbreviation is in capitals in prose too ("AED levels were
        # low."): without a colon it heads a section only before a capital
        # or a number ("HR 72 bpm", "AED Keppra 500 mg").
        return head.isupper() and (rest[0].isupper() or rest[0].isdigit())
    return head.isupper()


def split_report(text: str | None) -> list[tuple[str, str]]:
    """Split a report into ordered ``(heading, content)`` sections.

    Headings (:data:`TUH_HEADINGS`) are matched case-insensitively at line
    starts, longest first; a colon after a heading is removed; headings are
    returned upper case. When the report has at least one heading, a first
    line that does not start with a heading (e.g. a hospital name) is dropped;
    other text before the first heading is returned under the heading ``""``.
    A text with no heading at all is one ``("", text)`` section.

    Parameters
    ----------
    text : str | None
        Report text. ``None`` or blank text gives an empty list.

    Returns
    -------
    list of tuple of (str, str)
        Sections in their order in the report; contents are stripped, with
        internal whitespace collapsed to single spaces.
    """
    if text is None:
        return []
    text = normalize_report_text(text)
    if not text.strip():
        return []
    text = _BULLET_LINE_RE.sub(f"\n{_BULLET} ", text)
    matches = []
    for m in _HEADING_RE.finditer(text):
        eol = text.find("\n", m.end())
        rest = text[m.end() : eol if eol >= 0 else len(text)]
        if _is_heading_match(m, rest):
            matches.append(m)
    if not matches:
        return [("", _squash(text))]

    sections: list[tuple[str, str]] = []
    preamble = text[: matches[0].start()]
    lines = [ln for ln in preamble.split("\n") if ln.strip()]
    # ELM drops a first line without a known heading (usually a letterhead).
    if lines:
        lines = lines[1:]
    if lines and _squash("\n".join(lines)):
        sections.append(("", _squash("\n".join(lines))))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        head = _CANONICAL.get(m.group("head").upper(), m.group("head").upper())
        # "HEADING :: text", "HEADING - text": the separator is not content.
        body = _squash(text[m.end() : end]).lstrip(":;-\u2013\u2014 ")
        sections.append((head, body))
    return sections


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# Words that end with a period without ending the sentence.
_ABBREVIATIONS = frozenset(
    {
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "approx",
        "e.g",
        "i.e",
        "eg",
        "ie",
        "etc",
        "vs",
        "no",
        "nos",
        "fig",
        "st",
        "jr",
        "sr",
        "min",
        "max",
        "sec",
        "hr",
        "hrs",
        "yr",
        "yrs",
        "y.o",
        "mg",
        "mcg",
        "pt",
        "cf",
        "al",
        "inc",
        "dept",
        "q",
        "b.i.d",
        "t.i.d",
        "q.i.d",
        "p.o",
        "a.m",
        "p.m",
    }
)

# The look-behind lets a match start only at the first mark of a run and the
# possessive quantifiers never give back what they took: linear time on runs
# of "." / "!" / "?" (a plain ``[.!?]+`` backtracks quadratically on them).
_BOUNDARY_RE = re.compile(
    r"(?<![.!?])([.!?]++)([\"')\]]*+)\s++(?=[\"'(\[]?([A-Za-z0-9]))"
)
# Clinical abbreviations that end with a period inside a sentence; a period
# after one of them (or after a token with an inner dot, "m.d.") does not end a
# sentence before a lower-case letter ("hx. of", "M.D. on"). Before a capital
# they end sentences often enough to keep the plain rule there.
_LOWER_ABBREVIATIONS = frozenset(
    {"hx", "sz", "szs", "dx", "tx", "rx", "mo", "mos", "wk", "wks", "msec"}
    | {"cps", "freq", "resp", "abn", "pts", "w"}
)

#: A list item opening a line ("- alpha 9 Hz", "* ...", "• ..."): split_report
#: writes it as "• ", which survives the squashing of white space and ends the
#: sentence before it.
_BULLET_LINE_RE = re.compile(r"\n[ \t]*[-*\u2022\u2023\u25e6\u2043][ \t]+")
_BULLET = "\u2022"


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences with a rule-based splitter.

    A sentence ends at ``.``, ``!`` or ``?`` followed by white space and a
    letter or digit ("normal eeg. no spikes." is two), except after
    abbreviations ("Dr.", "approx.", "e.g."; before a lower-case letter also
    clinical ones such as "hx.", "sz.", "mos.", "spikes/min." and tokens with
    an inner dot, "M.D."),
    single-letter initials ("J. Smith"), list markers ("1.", "2.") and inside
    decimals ("2.5 Hz", never followed by white space); and before a list item
    (a line opening with ``-``, ``*`` or ``•``, see :func:`split_report`).

    Parameters
    ----------
    text : str
        Prose; line breaks are treated as spaces.

    Returns
    -------
    list of str
        Non-empty, stripped sentences.
    """
    text = _squash(text)
    if not text:
        return []
    if _BULLET in text:
        return [
            s
            for item in text.split(_BULLET)
            if item.strip()
            for s in split_sentences(item)
        ]
    out: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        if m.group(1) == ".":
            # rfind, not split: a long run of abbreviations must stay linear.
            cut = text.rfind(" ", start, m.start())
            before = text[max(cut + 1, start) : m.start()]
            token = before.lstrip("(\"'[").lower()
            # Initials ("J."), abbreviations and list markers ("1.", "12.")
            # keep the sentence going.
            if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
                continue
            if m.group(3).islower() and (
                token in _LOWER_ABBREVIATIONS
                or "." in token  # "m.d.", "u.s."
                or token.rsplit("/", 1)[-1] in _ABBREVIATIONS  # "spikes/min."
            ):
                continue
            if token.isdigit() and len(token) <= 2:
                continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def segment_report(
    text: str | None,
    mode: str = "sentence",
    headings: tuple[str, ...] | list[str] | None = ELM_HEADINGS,
) -> list[str]:
    """Cut a report into the text segments ELM trains on.

    Parameters
    ----------
    text : str | None
        The report (or a short caption). ``None``/blank gives ``[]``.
    mode : {"sentence", "paragraph", "report"}
        ``"sentence"``: every sentence of every kept section;
        ``"paragraph"``: every kept section as ``"HEADING: text"``;
        ``"report"``: one string with the kept sections (the filtered report).
    headings : sequence of str | None
        Sections to keep: a section is kept when one of these is a substring
        of its heading (case-insensitive). ``None`` keeps every section.

    Returns
    -------
    list of str
        The segments. Fallbacks (as in ELM): when no heading of the report is
        in ``headings``, the whole report is one paragraph; when the text has
        no heading at all (e.g. a caption), its sentences are returned.

    Raises
    ------
    ValueError
        If ``mode`` is not one of :data:`SEGMENT_MODES`.
    """
    if mode not in SEGMENT_MODES:
        raise ValueError(f"mode must be one of {SEGMENT_MODES}, got {mode!r}")
    sections = split_report(text)
    if not sections:
        return []
    if all(head == "" for head, _ in sections):
        return split_sentences(" ".join(body for _, body in sections))
    if isinstance(headings, str):  # one heading, not its characters
        headings = (headings,)
    wanted = None if headings is None else [h.upper() for h in headings]
    kept = [
        (head, body)
        for head, body in sections
        if head and body and (wanted is None or any(w in head for w in wanted))
    ]
    if not kept:
        whole = " ".join(f"{h}: {b}" if h else b for h, b in sections if b)
        return [whole] if whole else []
    if mode == "sentence":
        return [s for _, body in kept for s in split_sentences(body)]
    paragraphs = [f"{head}: {body}" for head, body in kept]
    if mode == "paragraph":
        return paragraphs
    return ["\n".join(paragraphs)]


#: Largest report file :func:`read_report` reads (TUH reports are a few kB).
REPORT_MAX_BYTES = 1024**2

# Control characters a text report may hold (tab, newline, form feed, CR, and
# the line separator normalize_report_text handles).
_TEXT_CONTROLS = frozenset("\t\n\x0b\x0c\r\u2028\u2029\x1a")


# White space between words (without NBSP and the C0 separators, which random
# bytes hit as often as the rest).
_WORD_GAPS = frozenset(" \t\n\r\x0b\x0c")

#: Encodings in which every byte became one character (see _looks_binary).
_SINGLE_BYTE = ("cp1252", "latin-1", "utf-8+cp1252")


def _looks_binary(text: str, encoding: str = "utf-8") -> str | None:
    """Why ``text`` is not a report (None when it reads as text).

    Random bytes without NUL decode as Latin-1 anyway; what gives them away is
    the share of control characters (C0/C1 except white space) and of code
    points no encoding assigns, which prose in any language keeps near zero.
    When the text came from a single-byte ``encoding`` (random bytes always
    do: they are not valid UTF-8) it must also look like words: prose
    separates them with white space (one character in 6-8; random bytes give
    one in 40) and is mostly letters and digits (random bytes: about half).
    Those two checks catch 64 random bytes the first one misses (~1 in 130),
    and so does the share of characters above ASCII (prose in a Latin script:
    a few in a hundred; random bytes: half): of 20,000 draws of 64 random
    bytes, 2 pass all four.
    """
    if not text:
        return None
    bad = sum(
        1
        for ch in text
        if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch == "\ufffd")
        and ch not in _TEXT_CONTROLS
    )
    if bad > max(2, 0.01 * len(text)):
        return (
            f"{bad} of {len(text)} characters are control characters or "
            "undecodable bytes: binary data, not a text report"
        )
    if len(text) >= 64 and not any(ch.isalpha() for ch in text):
        return "no letters at all: not a text report"
    if encoding in _SINGLE_BYTE and len(text) >= 64:
        gaps = sum(ch in _WORD_GAPS for ch in text)
        if 16 * gaps < len(text):
            return (
                f"{gaps} white-space characters in {len(text)}: no words, "
                "not a text report"
            )
        wordy = gaps + sum(ch.isalnum() for ch in text)
        if wordy < 0.6 * len(text):
            return (
                f"only {wordy} of {len(text)} characters are letters, digits or "
                "white space: not a text report"
            )
        # Prose in a Latin script is mostly ASCII (accents are a few in a
        # hundred); random bytes are half above 0x7F.
        high = sum(ord(ch) > 0x7F for ch in text)
        if high > 0.3 * len(text):
            return (
                f"{high} of {len(text)} characters are outside ASCII: binary data "
                "or a code page other than UTF-8/Windows-1252 (convert the report "
                "to UTF-8), not a text report"
            )
    return None


def read_report(
    path: str | os.PathLike[str], *, max_bytes: int = REPORT_MAX_BYTES
) -> tuple[str, str]:
    """Read a report file, detecting its encoding.

    Tries, in order: a byte-order mark (UTF-8/UTF-16), UTF-8, then Windows-1252
    (the usual encoding of non-UTF-8 TUH reports), then Latin-1.

    Parameters
    ----------
    path : str | os.PathLike
        The ``.txt`` report.
    max_bytes : int
        Larger files are refused (a report is a few kB; a huge file is not a
        report and would stall the sentence splitter and the text tower).

    Returns
    -------
    text : str
        The decoded text.
    encoding : str
        The encoding that decoded it (``"utf-8"``, ``"utf-16"``, ``"cp1252"``,
        ``"latin-1"``).

    Raises
    ------
    ReportDecodeError
        If the file holds binary data (NUL bytes outside UTF-16, or mostly
        control characters and undecodable bytes), or is larger than
        ``max_bytes``: it is not a text report.
    OSError
        If the file cannot be read.
    """
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ReportDecodeError(
            f"report {path} is larger than {max_bytes} bytes: not a text report "
            "(pass max_bytes= to read larger ones)"
        )
    text, encoding = _decode_report(raw, path)
    why = _looks_binary(text, encoding)
    if why:
        raise ReportDecodeError(f"report {path}: {why}")
    return text, encoding


#: Bytes the handler below read as Windows-1252 in this thread's last decode.
_STRAY = threading.local()
_STRAY_HANDLER = "braindecode-elm-stray-cp1252"


def _stray_cp1252(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: bytes that are not UTF-8 read as Windows-1252."""
    _STRAY.n = getattr(_STRAY, "n", 0) + err.end - err.start
    return err.object[err.start : err.end].decode("cp1252", "replace"), err.end


# Registered once (the registry keeps every handler for the process's life).
codecs.register_error(_STRAY_HANDLER, _stray_cp1252)


def _decode_report(raw: bytes, path: str | os.PathLike[str]) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" in raw:
        raise ReportDecodeError(
            f"report {path} contains NUL bytes: it is binary, not a text report"
        )
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few stray Windows-1252 bytes (an editor's curly quote
    # pasted in): decoding it all as cp1252 would garble every UTF-8 letter
    # ("café" -> "cafÃ©"), so only the stray bytes are read as cp1252.
    _STRAY.n = 0
    mixed = raw.decode("utf-8", errors=_STRAY_HANDLER)
    stray = _STRAY.n
    n_high = sum(b >= 0x80 for b in raw)
    if stray < n_high / 2:
        return mixed, "utf-8+cp1252"
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"
