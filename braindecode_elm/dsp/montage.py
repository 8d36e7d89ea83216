"""Channel-name normalisation and bipolar montages (the ELM TCP montage built in).

Names are normalised in this one place and reused by the data and evaluation
layers: upper-case, without the ``EEG`` prefix or a reference suffix, with the
new 10-20 names T7/T8/P7/P8 mapped to the old T3/T4/T5/T6 used by TUH and ELM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "TCP_ELECTRODES",
    "TCP_PAIRS",
    "bipolar_montage",
    "duplicate_electrodes",
    "normalize_ch_name",
    "resolve_pairs",
    "tcp_montage",
    "warn_bad_montage_channels",
]

#: The 20 bipolar pairs of the ELM temporal central parasagittal (TCP) montage,
#: in the order of the model's input channels (anode, cathode).
TCP_PAIRS: tuple[tuple[str, str], ...] = (
    ("FP1", "F7"),
    ("F7", "T3"),
    ("T3", "T5"),
    ("T5", "O1"),
    ("FP2", "F8"),
    ("F8", "T4"),
    ("T4", "T6"),
    ("T6", "O2"),
    ("T3", "C3"),
    ("C3", "CZ"),
    ("CZ", "C4"),
    ("C4", "T4"),
    ("FP1", "F3"),
    ("F3", "C3"),
    ("C3", "P3"),
    ("P3", "O1"),
    ("FP2", "F4"),
    ("F4", "C4"),
    ("C4", "P4"),
    ("P4", "O2"),
)

#: The 17 referential electrodes the TCP montage reads, in order of first use
#: in :data:`TCP_PAIRS` (the row order of cached referential data).
TCP_ELECTRODES: tuple[str, ...] = tuple(
    dict.fromkeys(e for pair in TCP_PAIRS for e in pair)
)

# New (10-10) names of the four temporal electrodes whose old names TUH uses.
_ALIASES = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}
# "EEG FP1-REF", "EEG-FP1", "EEG:Fp1": a leading modality tag.
# "EEG Fp1" (EDF), "EEG CH Fp1", "POL Fp1" (Nihon Kohden exports).
_PREFIX = re.compile(r"^(?:EEG|EEG\s*CH|POL)[\s:_\-]+", re.IGNORECASE)
# TUH reference suffixes: -REF (averaged reference), -LE (linked ears), and the
# other common ones; a bipolar name such as "A2-A1" is left alone.
_SUFFIX = re.compile(r"[\s_\-]+(?:REF|LE|AR|AVG|MEAN|CAR)$", re.IGNORECASE)


# MNE makes repeated names unique by numbering every copy: "FP1-0", "FP1-1".
_RUNNING_NUMBER = re.compile(r"^(.+)-(\d+)$")


def _undo_running_numbers(ch_names: Sequence[str]) -> list[str]:
    """Names with MNE's numbering of repeated names removed, so a repeated
    electrode is seen as such whether or not MNE read the file."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for i, c in enumerate(ch_names):
        m = _RUNNING_NUMBER.match(c) if isinstance(c, str) else None
        if m:
            groups.setdefault(m.group(1), []).append((i, int(m.group(2))))
    out = list(ch_names)
    for stem, members in groups.items():
        if len(members) > 1 and sorted(n for _, n in members) == list(
            range(len(members))
        ):
            for i, _ in members:
                out[i] = stem
    return out


def duplicate_electrodes(
    ch_names: Sequence[str], pairs: Sequence[tuple[str, str]] | None = None
) -> list[str]:
    """Electrodes of a montage that appear more than once in ``ch_names``.

    This is the one rule for repeated electrodes, applied by :func:`resolve_pairs`
    (hence ``dsp.preprocess``), by ``build_cache`` and by ``elm preprocess``: an
    electrode the montage uses may appear only once (after name normalisation,
    and after undoing MNE's ``"FP1-0"``, ``"FP1-1"`` numbering of repeated
    names), since nothing tells which copy is the real one. Such a recording is
    refused (``ValueError``; ``build_cache`` skips it with the reason
    ``duplicate_electrodes``, recorded in the manifest). Repeated channels the
    montage does not use are ignored.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names as found in the file or the MNE ``Raw``.
    pairs : sequence of (str, str) | None
        Montage pairs; ``None`` means :data:`TCP_PAIRS`.

    Returns
    -------
    list of str
        The repeated montage electrodes (normalised names), sorted; empty when
        there are none.
    """
    pairs = TCP_PAIRS if pairs is None else pairs
    wanted = {normalize_ch_name(e) for p in pairs for e in p}
    seen: set[str] = set()
    dupes: set[str] = set()
    for c in _undo_running_numbers(list(ch_names)):
        n = normalize_ch_name(c)
        if n in seen and n in wanted:
            dupes.add(n)
        seen.add(n)
    return sorted(dupes)


def normalize_ch_name(name: str) -> str:
    """Return the canonical (upper-case 10-20) name of an EEG channel.

    Parameters
    ----------
    name : str
        A channel name as found in an EDF file, e.g. ``"EEG FP1-REF"``,
        ``"EEG FP1-LE"``, ``"EEG Fp1"``, ``"POL Fp1"``, ``"Fp1"``, ``"T7"`` or
        ``"Fp1."``
        (trailing dots, as in PhysioNet's motor imagery files, are dropped).

    Returns
    -------
    str
        The canonical name, e.g. ``"FP1"``; ``"T7"``/``"T8"``/``"P7"``/``"P8"``
        become ``"T3"``/``"T4"``/``"T5"``/``"T6"``.

    Examples
    --------
    >>> normalize_ch_name("EEG FP1-REF")
    'FP1'
    >>> normalize_ch_name("T7")
    'T3'
    >>> normalize_ch_name("Fc5.")
    'FC5'
    """
    if not isinstance(name, str):
        raise TypeError(f"channel name must be a str, got {type(name).__name__}")
    # PhysioNet's EEG Motor Movement/Imagery EDFs pad names with dots to four
    # characters ("Fc5.", "C3..", "T9.."); a dot never ends an electrode name.
    out = _PREFIX.sub("", name.strip().rstrip("."))
    out = _SUFFIX.sub("", out).strip().upper()
    return _ALIASES.get(out, out)


def resolve_pairs(
    ch_names: Sequence[str],
    pairs: Sequence[tuple[str, str]] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Map bipolar pairs onto channel indices.

    Parameters
    ----------
    ch_names : sequence of str
        Names of the input channels (any spelling :func:`normalize_ch_name` knows).
    pairs : sequence of (str, str) | None
        ``(anode, cathode)`` pairs; ``None`` means :data:`TCP_PAIRS`.

    Returns
    -------
    index : np.ndarray of int64, shape (n_pairs, 2)
        Row ``i`` holds the input indices of anode and cathode of pair ``i``.
    names : list of str
        Output channel names such as ``"FP1-F7"``.

    Raises
    ------
    ValueError
        When electrodes are missing (the message lists the missing and the
        available names) or an electrode appears twice in ``ch_names``.
    """
    if pairs is None:
        pairs = TCP_PAIRS
    pairs = [tuple(p) for p in pairs]
    if len(pairs) == 0:
        raise ValueError("pairs is empty: give at least one (anode, cathode) pair")
    for p in pairs:
        if len(p) != 2:
            raise ValueError(f"each pair must be (anode, cathode), got {p!r}")
        if normalize_ch_name(p[0]) == normalize_ch_name(p[1]):
            # An electrode minus itself is a channel of zeros.
            raise ValueError(
                f"pair {p!r} subtracts an electrode from itself (a channel of "
                "zeros); give two different electrodes"
            )
    canon = [normalize_ch_name(c) for c in _undo_running_numbers(list(ch_names))]
    where: dict[str, int] = {}
    for i, c in enumerate(canon):
        where.setdefault(c, i)
    wanted = [normalize_ch_name(e) for p in pairs for e in p]
    missing = sorted({e for e in wanted if e not in where})
    if missing:
        # "FP1-A1", "FP1-M2": electrodes against a named reference. They are
        # not renamed silently: left and right electrodes against different
        # ears would not cancel the reference in the bipolar differences.
        refs = sorted(
            {c.split("-", 1)[1] for c in canon if c.count("-") == 1}
            & {"A1", "A2", "M1", "M2", "CZ", "FZ", "PZ", "OZ"}
        )
        hint = (
            f"; the names look referenced to {refs}: if every electrode has the "
            "same reference, rename the channels to the electrode names "
            "(mne: raw.rename_channels)"
            if refs
            else ""
        )
        raise ValueError(
            f"montage needs electrodes {missing} that are not in the recording; "
            f"available (normalised) channels: {canon}{hint}"
        )
    ambiguous = duplicate_electrodes(ch_names, pairs)
    if ambiguous:
        raise ValueError(
            f"electrodes {ambiguous} appear more than once in ch_names "
            f"({list(ch_names)}), so which copy is meant is unknown; drop or rename "
            "the extra copies first"
        )
    index = np.array(
        [[where[normalize_ch_name(a)], where[normalize_ch_name(b)]] for a, b in pairs],
        dtype=np.int64,
    )
    names = [f"{normalize_ch_name(a)}-{normalize_ch_name(b)}" for a, b in pairs]
    return index, names


def bipolar_montage(x: npt.ArrayLike, index: np.ndarray) -> np.ndarray:
    """Differences ``x[anode] - x[cathode]`` for each row of ``index`` (NumPy)."""
    x = np.asarray(x)
    return x[index[:, 0]] - x[index[:, 1]]


def tcp_montage(
    x: npt.ArrayLike,
    ch_names: Sequence[str],
    pairs: Sequence[tuple[str, str]] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Bipolar montage of a channel-major array (the ELM TCP montage by default).

    Parameters
    ----------
    x : array-like, shape (n_channels, n_times)
        The referential recording (any unit; the output has the same unit).
    ch_names : sequence of str
        Names of the rows of ``x``.
    pairs : sequence of (str, str) | None
        ``(anode, cathode)`` pairs; ``None`` means :data:`TCP_PAIRS`.

    Returns
    -------
    y : np.ndarray, shape (n_pairs, n_times)
        ``x[anode] - x[cathode]`` per pair, same dtype as ``x``.
    names : list of str
        Output names, e.g. ``"FP1-F7"``.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (n_channels, n_times), got shape {x.shape}")
    if x.shape[0] != len(ch_names):
        raise ValueError(
            f"x has {x.shape[0]} channels but {len(ch_names)} names were given"
        )
    index, names = resolve_pairs(ch_names, pairs)
    return bipolar_montage(x, index), names


def warn_bad_montage_channels(
    ch_names: Sequence[str],
    bads: Sequence[str] | None,
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    stacklevel: int = 3,
) -> list[str]:
    """Warn when channels marked bad feed the bipolar montage.

    The montage needs its electrodes, so a bad one cannot simply be left out
    (as MNE's ``picks`` would): it is used as it is, which the user should know
    (every entry point, :func:`~braindecode_elm.dsp.preprocess_raw` and
    ``ELMFeatures``, does the same).

    Parameters
    ----------
    ch_names : sequence of str
        Input channel names.
    bads : sequence of str | None
        Channels marked bad (``info["bads"]``).
    pairs : sequence of (str, str) | None
        Montage pairs (None: the TCP montage).
    stacklevel : int
        Passed to :func:`warnings.warn`.

    Returns
    -------
    list of str
        The bad channels the montage uses.
    """
    import warnings

    bad = set(bads or ())
    if not bad:
        return []
    try:
        index, _ = resolve_pairs(ch_names, pairs)
    except ValueError:
        return []  # missing electrodes: the engine's own error follows
    used = sorted({ch_names[i] for i in np.unique(index)} & bad)
    if used:
        warnings.warn(
            f"channels marked bad in info['bads'] feed the montage and are used as "
            f"they are: {used}; interpolate them first (interpolate_bads()) or "
            "clear info['bads'] to silence this",
            UserWarning,
            stacklevel=stacklevel,
        )
    return used
