"""The exact early verdict: stop attacking once no outcome still to come can change the verdict.

Every mode's verdict is monotone in the number of successes k out of the attacked set's N
images, so once the verdict for the k found so far equals the verdict for k plus every image
still to come, no remaining outcome can change it: the gate may stop. That early verdict is
exactly the full run's (tests/test_gate.py proves it over random outcome sequences).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..result import ImageRecord
from .spec import GateSpec


def settled(
    spec: GateSpec, found: Mapping[int | None, int], finished: int, total: int, clean_ok: bool
) -> bool:
    """True once no outcome of the `total - finished` images still to attack can change the
    verdict, for the main threshold and every `max_success_rate_at` budget.

    `found[budget]` counts the successes so far within that many queries (`found[None]`: all
    of them), kept as a running tally by `EarlyVerdict` so each check is O(criteria).
    """
    if not clean_ok:
        return True
    remaining = total - finished
    verdicts = []
    for budget, limit in spec.criteria():
        most = spec.most_passing(limit, total)
        low, high = (k <= most for k in (found[budget], found[budget] + remaining))
        if low == high and not low:
            return True  # one settled failure fails the gate
        verdicts.append(low == high)
    return all(verdicts)


def settled_bracket(
    spec: GateSpec, records: Sequence[ImageRecord], total: int, clean_ok: bool
) -> bool:
    """`search: certify`'s early verdict: the main threshold is judged on the vulnerability
    bracket, so it is settled once the lower end (fooled; every image still open counted safe)
    fails, or the upper end (every image not certified counted fooled) passes; the
    `max_success_rate_at` budgets are settled as in `settled`. A record without an outcome
    (searched, not proven yet) is open, so the DE search alone only ever settles a failure."""
    if not clean_ok:
        return True
    verdicts = []
    remaining = total - len(records)
    certified = sum(r.outcome == "certified" for r in records)
    for budget, limit in spec.criteria():
        most = spec.most_passing(limit, total)
        found = sum(r.succeeded_within(budget) for r in records)
        low = found <= most
        high = (total - certified if budget is None else found + remaining) <= most
        if not low:
            return True  # one settled failure fails the gate
        verdicts.append(high)
    return all(verdicts)


class EarlyVerdict:
    """`attack(stop_when=...)` for a gate: keeps running success counts per criterion over the
    finished records it has not seen yet, then asks `settled` (`settled_bracket`, recounted
    each time, for a `search: certify` gate: `bracket=True`)."""

    def __init__(self, spec: GateSpec, bracket: bool = False) -> None:
        self._spec = spec
        self._bracket = bracket
        self._found: dict[int | None, int] = {budget: 0 for budget, _ in spec.criteria()}
        self._seen = 0

    def __call__(
        self, finished: Sequence[ImageRecord], attacked_set: int, clean_accuracy: float
    ) -> bool:
        floor = self._spec.min_clean_accuracy
        clean_ok = floor is None or clean_accuracy >= floor
        if self._bracket:
            return settled_bracket(self._spec, finished, attacked_set, clean_ok)
        for record in finished[self._seen :]:
            for budget in self._found:
                self._found[budget] += record.succeeded_within(budget)
        self._seen = len(finished)
        return settled(self._spec, self._found, self._seen, attacked_set, clean_ok)
