"""Honest verdicts: confidence intervals, gate modes, exact early verdicts, robustness curves.

A success rate measured on a sample is an estimate, so every rate carries its Clopper-Pearson
interval (`scipy.stats.binomtest(...).proportion_ci`). Three modes turn rate and interval into a
verdict: `point` passes iff rate <= threshold; `strict` passes only if the interval's upper end
is <= threshold (a claim of robustness with confidence); `lenient` fails only if its lower end
is > threshold (a claim of fragility with confidence).

Every mode's verdict is monotone in the number of successes k out of the attacked set's N images,
so once the verdict for the k found so far equals the verdict for k plus every image still to
come, no remaining outcome can change it: the gate may stop (`settled`). That early verdict is
exactly the full run's.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .choices import GATE_MODES

if TYPE_CHECKING:
    from .result import AttackResult, ImageRecord

__all__ = ["GATE_MODES", "GateSpec", "Verdict", "interval", "robustness_curve"]
CURVE_BUDGETS = (1, 2, 5)  # then x10, x100, ...: 1, 2, 5, 10, 20, 50, 100, ...


@functools.lru_cache(maxsize=4096)
def interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of a binomial proportion; (0, 1) for no trials.

    Cached: the early verdict asks for the same few counts after every generation."""
    from scipy.stats import binomtest  # heavy: imported when a gate first needs it

    if trials == 0:
        return 0.0, 1.0
    ci = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Verdict:
    """pass / fail plus the reasons a user reads in the failure text and the summary table."""

    passed: bool
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class GateSpec:
    """A gate's criteria. `max_success_rate_at` maps smaller budgets to their own thresholds."""

    threshold: float
    mode: str = "point"
    level: float = 0.95
    min_clean_accuracy: float | None = None
    max_success_rate_at: Mapping[int, float] = field(default_factory=dict)

    def passes(self, successes: int, trials: int, threshold: float | None = None) -> bool:
        """The mode's rule for k successes out of n attacked images."""
        limit = self.threshold if threshold is None else threshold
        if trials == 0:
            return False
        if self.mode == "point":
            return successes <= limit * trials + 1e-9
        low, high = interval(successes, trials, self.level)
        return high <= limit if self.mode == "strict" else not low > limit

    def settled(
        self, found: Mapping[int | None, int], finished: int, total: int, clean_ok: bool
    ) -> bool:
        """True once no outcome of the `total - finished` images still to attack can change
        the verdict, for the main threshold and every `max_success_rate_at` budget.

        `found[budget]` counts the successes so far within that many queries (`found[None]`:
        all of them), kept as a running tally by `EarlyVerdict` so each check is O(criteria).
        """
        if not clean_ok:
            return True
        remaining = total - finished
        verdicts = []
        for budget, limit in self.criteria():
            most = _most_passing(self.mode, self.level, limit, total)
            low, high = (k <= most for k in (found[budget], found[budget] + remaining))
            if low == high and not low:
                return True  # one settled failure fails the gate
            verdicts.append(low == high)
        return all(verdicts)

    def criteria(self) -> list[tuple[int | None, float]]:
        """(budget, threshold) pairs: the main threshold (budget None) and the curve's."""
        return [(None, self.threshold), *sorted(self.max_success_rate_at.items())]

    def judge(self, result: AttackResult) -> Verdict:
        """The verdict of a run; with skipped images it is the settled early verdict, which
        equals the full run's by construction."""
        reasons: list[str] = []
        failed = False
        accuracy = result.clean_accuracy
        if self.min_clean_accuracy is not None and accuracy < self.min_clean_accuracy:
            failed = True
            reasons.append(
                f"clean accuracy {accuracy:.3f} < min_clean_accuracy {self.min_clean_accuracy:.3f}"
            )
        total = result.attacked + result.skipped
        if total == 0:
            return Verdict(False, (*reasons, _nothing_attacked(result)))
        for budget, limit in self.criteria():
            found = _successes_within(result.records, budget)
            ok = self.passes(found, total, limit)
            if result.skipped:
                decided = ok == self.passes(found + result.skipped, total, limit)
                failed |= decided and not ok
                if budget is None or (decided and not ok):
                    reasons.append(self._explain_early(found, result, limit, ok, decided, budget))
                continue
            failed |= not ok
            if budget is None or not ok:
                reasons.append(self._explain(found, result.attacked, limit, ok, budget))
        if result.skipped:
            reasons.append(
                f"settled after {result.attacked} of {total} images: no outcome of the other "
                f"{result.skipped} could change the verdict"
            )
        return Verdict(not failed, tuple(reasons))

    def _explain_early(
        self,
        found: int,
        result: AttackResult,
        limit: float,
        ok: bool,
        decided: bool,
        budget: int | None,
    ) -> str:
        """A criterion after an early verdict: the rate over the attacked prefix, and what the
        full run's verdict is whatever the skipped images would have done."""
        rate = found / result.attacked if result.attacked else 0.0
        low, high = interval(found, result.attacked, self.level)
        where = "" if budget is None else f" at budget {budget}"
        shown = (
            f"success rate{where} {rate:.3f} [{low:.3f}, {high:.3f}] over the "
            f"{result.attacked} images attacked"
        )
        if not decided:
            return f"{shown}: not decided (another criterion settled the verdict first)"
        outcome = "passes" if ok else "fails"
        return (
            f"{shown}: the full run {outcome} threshold {limit:.3f} in {self.mode} mode "
            f"whatever the other {result.skipped} images do"
        )

    def _explain(self, found: int, trials: int, limit: float, ok: bool, budget: int | None) -> str:
        rate = found / trials if trials else 0.0
        low, high = interval(found, trials, self.level)
        where = "" if budget is None else f" at budget {budget}"
        shown = f"success rate{where} {rate:.3f} [{low:.3f}, {high:.3f}]"
        sign = "<=" if ok else ">"
        level = f"{self.level:.0%}"
        if self.mode == "point":
            return f"{shown} {sign} threshold {limit:.3f} (point mode)"
        if self.mode == "strict":
            text = (
                f"{shown}: the {level} interval's upper end {high:.3f} {sign} threshold "
                f"{limit:.3f} (strict mode passes only when it is <= the threshold)"
            )
            if not ok:
                text += "; " + needed_text(rate, limit, self.level)
            return text
        return (
            f"{shown}: the {level} interval's lower end {low:.3f} "
            f"{'>' if not ok else '<='} threshold {limit:.3f} (lenient mode fails only when it is "
            "above the threshold)"
        )


@functools.lru_cache(maxsize=1024)
def _most_passing(mode: str, level: float, limit: float, total: int) -> int:
    """The most successes out of `total` that still pass (-1 if none do). Every mode's rule is
    monotone in the successes, so a binary search replaces an interval per generation."""
    rule = GateSpec(limit, mode=mode, level=level)
    low, high = -1, total  # passes(low) holds (or low = -1); the answer lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if rule.passes(middle, total) else (low, middle - 1)
    return low


class EarlyVerdict:
    """`attack(stop_when=...)` for a gate: keeps running success counts per criterion over the
    finished records it has not seen yet, then asks `GateSpec.settled`."""

    def __init__(self, spec: GateSpec) -> None:
        self._spec = spec
        self._found: dict[int | None, int] = {budget: 0 for budget, _ in spec.criteria()}
        self._seen = 0

    def __call__(
        self, finished: Sequence[ImageRecord], attacked_set: int, clean_accuracy: float
    ) -> bool:
        for record in finished[self._seen :]:
            for budget in self._found:
                self._found[budget] += _succeeded_within(record, budget)
        self._seen = len(finished)
        floor = self._spec.min_clean_accuracy
        clean_ok = floor is None or clean_accuracy >= floor
        return self._spec.settled(self._found, self._seen, attacked_set, clean_ok)


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


def robustness_curve(result: AttackResult, level: float = 0.95) -> list[dict[str, float]]:
    """Success rate with interval at budgets 1, 2, 5, 10, 20, 50, ... up to the budget used."""
    budget = int(result.settings["budget"])
    budgets = sorted(
        {b * 10**e for e in range(12) for b in CURVE_BUDGETS if b * 10**e <= budget} | {budget}
    )
    curve = []
    for b in budgets:
        found = _successes_within(result.records, b)
        low, high = interval(found, result.attacked, level)
        rate = found / result.attacked if result.attacked else 0.0
        curve.append({"budget": b, "successes": found, "rate": rate, "low": low, "high": high})
    return curve


def _succeeded_within(record: ImageRecord, budget: int | None) -> bool:
    return record.success and (budget is None or record.first_success_query <= budget)


def _successes_within(records: Sequence[ImageRecord], budget: int | None) -> int:
    return sum(_succeeded_within(record, budget) for record in records)


def _nothing_attacked(result: AttackResult) -> str:
    return (
        f"no image was attacked: the model classified none of the {len(result.records)} "
        f"sampled images correctly (clean accuracy {result.clean_accuracy:.3f})"
    )
