"""Rational up/down factors for polyphase resampling between two rates."""

from __future__ import annotations

import math
import numbers
import warnings
from fractions import Fraction

__all__ = ["MAX_FACTOR", "rational_factors"]

#: Largest up or down factor used before falling back to an approximation: the
#: anti-aliasing filter has ``20 * max(up, down) + 1`` taps.
MAX_FACTOR = 1000


def _as_fraction(rate: float, name: str) -> Fraction:
    if getattr(rate, "ndim", None) == 0:
        rate = rate.item()  # a 0-d array (np.array(256.0)) is one number
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        # "500" from a CSV or a header string: math.isfinite said only
        # "must be real number, not str".
        raise TypeError(
            f"{name} must be a number in Hz, got {type(rate).__name__} {rate!r}"
            + (f"; convert it with float({rate!r})" if isinstance(rate, str) else "")
        )
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {rate!r}")
    # Rates in EDF headers are decimal numbers (256, 250, 173.61): read them as such.
    return Fraction(repr(float(rate))).limit_denominator(10**6)


def rational_factors(
    sfreq: float, out_sfreq: float, max_factor: int = MAX_FACTOR
) -> tuple[int, int, float]:
    """Up and down factors that take ``sfreq`` to ``out_sfreq``.

    The exact ratio ``out_sfreq / sfreq`` reduced by the gcd is used when both
    factors are at most ``max_factor`` (256 -> 100 Hz gives 25/64, 250 -> 100 Hz
    2/5). Otherwise (e.g. 173.61 Hz) the closest fraction with factors at most
    ``max_factor`` is used and a :class:`UserWarning` states the relative error of
    the resulting output rate ``sfreq * up / down``.

    Parameters
    ----------
    sfreq, out_sfreq : float
        Input and output sampling rates in Hz.
    max_factor : int
        Largest allowed up or down factor.

    Returns
    -------
    up, down : int
        The factors, coprime.
    rel_error : float
        ``|sfreq * up / down - out_sfreq| / out_sfreq`` (0.0 when exact).
    """
    ratio = _as_fraction(out_sfreq, "out_sfreq") / _as_fraction(sfreq, "sfreq")
    if max(ratio.numerator, ratio.denominator) <= max_factor:
        return ratio.numerator, ratio.denominator, 0.0
    best: Fraction | None = None
    # limit_denominator bounds only the denominator; shrink it until both fit.
    limit = max_factor
    while limit >= 1:
        cand = ratio.limit_denominator(limit)
        if cand.numerator >= 1 and max(cand.numerator, cand.denominator) <= max_factor:
            best = cand
            break
        limit = limit * 9 // 10 if limit > 10 else limit - 1
    if best is None:
        raise ValueError(
            f"cannot resample {sfreq} Hz to {out_sfreq} Hz with factors <= "
            f"{max_factor}; resample in two steps or raise max_factor"
        )
    rel = abs(float(best) - float(ratio)) / float(ratio)
    warnings.warn(
        f"{sfreq} Hz -> {out_sfreq} Hz is not a small rational ratio; using "
        f"up={best.numerator}, down={best.denominator}: the output rate is "
        f"{float(sfreq) * float(best):.6f} Hz (relative rate error {rel:.2e})",
        UserWarning,
        stacklevel=2,
    )
    return best.numerator, best.denominator, rel
