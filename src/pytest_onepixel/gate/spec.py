"""A gate's criteria: threshold, mode, confidence level, clean-accuracy floor, curve points.

Three modes turn a success count into a verdict: `point` passes iff rate <= threshold; `strict`
passes only if the interval's upper end is <= threshold (a claim of robustness with
confidence); `lenient` fails only if its lower end is > threshold (a claim of fragility with
confidence). Every mode's rule is monotone in the number of successes, which is what makes the
early verdict (gate/early.py) exact.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..settings.gate_settings import GateSettings
from . import GATE_MODES
from .statistics import interval

__all__ = ["GATE_MODES", "GateSpec"]


@dataclass(frozen=True)
class GateSpec:
    """A gate's criteria. `max_success_rate_at` maps smaller budgets to their own thresholds."""

    threshold: float
    mode: str = "point"
    level: float = 0.95
    min_clean_accuracy: float | None = None
    max_success_rate_at: Mapping[int, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: GateSettings, gate: str) -> GateSpec:
        """The criteria in a gate's settings; a missing max_success_rate is an error that lists
        every place it can be set, and `max_success_rate_at` budgets must lie within the budget."""
        threshold = settings.max_success_rate
        if threshold is None:
            raise ConfigError(
                f"gate {gate!r} has no max_success_rate: set it in its YAML entry or `defaults`, "
                "in @pytest.mark.onepixel(max_success_rate=...) or onepixel.check(...), with the "
                "ini key onepixel_max_success_rate, or with --onepixel-max-success-rate."
            )
        at = settings.max_success_rate_at or {}
        beyond = [b for b in at if b > settings.budget]
        if beyond:
            raise ConfigError(
                f"gate {gate!r}: max_success_rate_at names budget {beyond[0]}, more than the "
                f"budget {settings.budget} the gate runs with; raise `budget` or drop it."
            )
        return cls(
            threshold=float(threshold),
            mode=settings.gate,
            level=settings.confidence,
            min_clean_accuracy=settings.min_clean_accuracy,
            max_success_rate_at=dict(at),
        )

    def passes(self, successes: int, trials: int, threshold: float | None = None) -> bool:
        """The mode's rule for k successes out of n attacked images."""
        limit = self.threshold if threshold is None else threshold
        if trials == 0:
            return False
        if self.mode == "point":
            return successes <= limit * trials + 1e-9
        low, high = interval(successes, trials, self.level)
        return high <= limit if self.mode == "strict" else not low > limit

    def most_passing(self, limit: float, total: int) -> int:
        """The most successes out of `total` that still pass `limit` (-1 if none do)."""
        return _most_passing(self.mode, self.level, limit, total)

    def criteria(self) -> list[tuple[int | None, float]]:
        """(budget, threshold) pairs: the main threshold (budget None) and the curve's."""
        return [(None, self.threshold), *sorted(self.max_success_rate_at.items())]

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "confidence": self.level,
            "threshold": self.threshold,
            "min_clean_accuracy": self.min_clean_accuracy,
            "max_success_rate_at": {str(b): r for b, r in self.max_success_rate_at.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateSpec:
        return cls(
            threshold=float(data["threshold"]),
            mode=data["mode"],
            level=float(data["confidence"]),
            min_clean_accuracy=data.get("min_clean_accuracy"),
            max_success_rate_at={int(b): float(r) for b, r in data["max_success_rate_at"].items()},
        )


@functools.lru_cache(maxsize=1024)
def _most_passing(mode: str, level: float, limit: float, total: int) -> int:
    """Every mode's rule is monotone in the successes, so a binary search finds the boundary
    once per (mode, level, limit, total) instead of an interval per generation."""
    rule = GateSpec(limit, mode=mode, level=level)
    low, high = -1, total  # passes(low) holds (or low = -1); the answer lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if rule.passes(middle, total) else (low, middle - 1)
    return low
