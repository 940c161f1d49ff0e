"""Compare gates against a previous JSON report, in the manner of pytest-benchmark's compare.

A comparison rule is a small object (as pytest-benchmark's `RegressionCheck` subclasses are):
`IntervalRule`, the default, fails a gate when the baseline rate lies below the new rate's
confidence interval (the rise is more than sampling noise); `ToleranceRule` fails it when the
rate rose by more than a fixed tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, ReportError
from .outcome import Comparison, GateOutcome
from .report_reader import read_document

#: What a comparison's reason says when the two runs attacked different samples.
OTHER_DATA = "the sampled data differ from the baseline's"


@dataclass(frozen=True)
class IntervalRule:
    """Fail when the baseline rate lies below the new rate's interval."""

    def check(self, before: float, outcome: GateOutcome) -> tuple[bool, str]:
        low, high = outcome.summary.interval
        return before >= low, (
            f"the baseline rate {before:.3f} lies below the new rate's interval "
            f"[{low:.3f}, {high:.3f}]"
        )


@dataclass(frozen=True)
class ToleranceRule:
    """Fail when the rate rose by more than `tolerance` over the baseline's."""

    tolerance: float

    def check(self, before: float, outcome: GateOutcome) -> tuple[bool, str]:
        change = outcome.summary.success_rate - before
        return change <= self.tolerance, (
            f"the rise {change:+.3f} exceeds the tolerance {self.tolerance:.3f}"
        )


CompareRule = IntervalRule | ToleranceRule


def rule_for(tolerance: float | None) -> CompareRule:
    return IntervalRule() if tolerance is None else ToleranceRule(tolerance)


def load_baseline(path: Path, option: str | None = "--onepixel-compare") -> dict[str, GateOutcome]:
    """Baseline gates that have a rate, by node id and by name (for gates whose id changed).
    The report is read as untrusted input (gate/report_reader.py): a ConfigError names
    `option` (when given), the file and the field that does not fit."""
    try:
        _, gates = read_document(path)
    except ReportError as error:
        raise ConfigError(f"{option}: {error}" if option else str(error)) from None
    by_key: dict[str, GateOutcome] = {}
    for gate in gates:
        if gate.summary is None:
            continue
        by_key.setdefault(gate.name, gate)
        by_key[gate.key] = gate
    return by_key


def compare(
    outcome: GateOutcome, baseline: Mapping[str, GateOutcome], rule: CompareRule
) -> Comparison:
    """How this gate's rate moved against its baseline, and whether `rule` accepts it."""
    old = baseline.get(outcome.key) or baseline.get(outcome.name)
    now = outcome.summary.success_rate
    if old is None:
        return Comparison(None, now, None, True, "no baseline for this gate")
    before = old.summary.success_rate
    change = now - before
    passed, rule_text = rule.check(before, outcome)
    reason = f"success rate {before:.3f} -> {now:.3f} ({change:+.3f}) against the baseline"
    if not passed:
        reason += f": {rule_text}"
    if old.data.get("hash") != outcome.data.get("hash"):
        reason += f" ({OTHER_DATA})"
    return Comparison(before, now, change, passed, reason)
