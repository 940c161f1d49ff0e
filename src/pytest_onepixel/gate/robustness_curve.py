"""The robustness curve: success rate (with interval) against queries, from one run's records.

Each record keeps `first_success_query`, so one run at budget B gives the rate at every budget
b <= B for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..result import Counts, ImageRecord, successes_within
from .statistics import interval

CURVE_BUDGETS = (1, 2, 5)  # then x10, x100, ...: 1, 2, 5, 10, 20, 50, 100, ...


@dataclass(frozen=True)
class CurvePoint:
    """The success rate within `budget` queries, with its interval."""

    budget: int
    successes: int
    rate: float
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def robustness_curve(
    records: Sequence[ImageRecord], budget: int, level: float = 0.95
) -> tuple[CurvePoint, ...]:
    """Success rate with interval at budgets 1, 2, 5, 10, 20, 50, ... up to `budget`."""
    budgets = sorted(
        {b * 10**e for e in range(12) for b in CURVE_BUDGETS if b * 10**e <= budget} | {budget}
    )
    attacked = Counts.of(records).attacked
    points = []
    for b in budgets:
        found = successes_within(records, b)
        low, high = interval(found, attacked, level)
        rate = found / attacked if attacked else 0.0
        points.append(CurvePoint(b, found, rate, low, high))
    return tuple(points)
