"""Confidence intervals of success rates, and the sample size a strict gate would need.

A success rate measured on a sample is an estimate, so every rate carries its Clopper-Pearson
interval, computed by `scipy.stats.binomtest(...).proportion_ci` (imported on first use, so
pytest start-up never pays for scipy).
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=4096)
def interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of a binomial proportion; (0, 1) for no trials.

    Cached: verdicts and curves ask for the same few counts again and again."""
    from scipy.stats import binomtest

    if trials == 0:
        return 0.0, 1.0
    ci = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def needed_for_strict(rate: float, threshold: float, level: float = 0.95) -> int | None:
    """Fewest attacked images whose interval's upper end is <= threshold at the observed rate;
    None when the rate itself is at or above the threshold (no sample size would do)."""
    if rate >= threshold:
        return None

    def fits(n: int) -> bool:
        return interval(round(rate * n), n, level)[1] <= threshold

    high = 1
    while not fits(high):
        high *= 2
        if high > 10**7:
            return None
    low = high // 2
    while low + 1 < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


def needed_text(rate: float, threshold: float, level: float) -> str:
    needed = needed_for_strict(rate, threshold, level)
    if needed is None:
        return f"at the observed rate {rate:.3f} no number of images would pass"
    return f"about {needed} attacked images would be needed to pass at the observed rate {rate:.3f}"
