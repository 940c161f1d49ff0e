"""Thresholds from measurement: what `pytest-onepixel calibrate` proposes, from the report of a
run that attacked every image of every gate (`--onepixel-full`).

The rule: a gate's proposed `max_success_rate` is the upper end of its measured success rate's
interval (Clopper-Pearson, at the gate's `confidence`, 95% by default) plus a margin (0.05 by
default), rounded up to the next 0.01 and at most 1. The interval's upper end is the highest
rate the sample leaves plausible for this model, so the proposal passes the measured model in
every gate mode (point, strict, lenient) on the same sample; the margin is the room left for
the next model, which a retraining moves by some points. A margin of 0 pins the threshold to
the model as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..gate.outcome import GateOutcome
from ..gate.status import GateStatus
from .text import format_table, terminal_text

DEFAULT_MARGIN = 0.05
RULE = (
    "the upper end of the measured rate's interval plus the margin, rounded up to 0.01 (at most 1)"
)
COLUMNS = ("gate", "attacked", "successes", "rate", "interval", "threshold", "verdict", "proposed")


def proposed_threshold(high: float, margin: float) -> float:
    """RULE: `high + margin` rounded up to 0.01 (the rounding to 1e-6 first keeps a sum such
    as 0.21 + 0.05 = 0.26000000000000001 from becoming 0.27), at most 1."""
    return min(1.0, math.ceil(round((high + margin) * 100, 6)) / 100)


@dataclass(frozen=True)
class Proposal:
    """One measured gate and the threshold proposed for it."""

    outcome: GateOutcome
    threshold: float

    @property
    def comment(self) -> str:
        summary = self.outcome.summary
        low, high = summary.interval
        return (
            f"measured {summary.success_rate:.3f} [{low:.3f}, {high:.3f}] "
            f"on {summary.attacked} images"
        )

    def row(self) -> tuple[str, ...]:
        summary = self.outcome.summary
        low, high = summary.interval
        return (
            self.outcome.name,
            str(summary.attacked),
            str(summary.successes),
            f"{summary.success_rate:.3f}",
            f"[{low:.3f}, {high:.3f}]",
            f"{self.outcome.threshold:.3f}",
            "pass" if self.outcome.passed else "FAIL",
            f"{self.threshold:.2f}",
        )


def unmeasured_reason(outcome: GateOutcome) -> str | None:
    """Why a gate's report entry gives no rate to calibrate on (None: it does)."""
    if outcome.status == GateStatus.ERROR:
        return f"error: {(outcome.error or '').strip()}"
    if outcome.summary is None:
        return f"{outcome.status.value} (no measurement)"
    if outcome.status == GateStatus.SHARD:
        return "one shard's images only (an ini key onepixel_shard?): run it unsharded"
    if outcome.summary.attacked == 0:
        return "no image attacked (the model classified no sampled image correctly)"
    if not outcome.full:
        return "not every image was attacked (an early verdict): run it with --onepixel-full"
    return None


@dataclass(frozen=True)
class Calibration:
    """The proposals for the gates a full run measured, and the gates it could not."""

    margin: float
    proposals: tuple[Proposal, ...]
    unmeasured: tuple[tuple[GateOutcome, str], ...]
    deselected: tuple[GateOutcome, ...]

    @classmethod
    def of(cls, outcomes: Sequence[GateOutcome], margin: float) -> Calibration:
        proposals, unmeasured, deselected = [], [], []
        for outcome in sorted(outcomes, key=lambda o: o.key):
            if outcome.status == GateStatus.DESELECTED:
                deselected.append(outcome)
            elif (reason := unmeasured_reason(outcome)) is not None:
                unmeasured.append((outcome, reason))
            else:
                high = outcome.summary.interval[1]
                proposals.append(Proposal(outcome, proposed_threshold(high, margin)))
        return cls(margin, tuple(proposals), tuple(unmeasured), tuple(deselected))

    @property
    def exit_code(self) -> int:
        """0 when every gate the run selected was measured, 1 when one was not."""
        return 1 if self.unmeasured else 0

    def lines(self) -> list[str]:
        """The summary, the table, the lines to paste, and the gates left unmeasured."""
        count = len(self.proposals)
        lines = [
            f"calibrate: {count} gate{'s' * (count != 1)} measured with --onepixel-full; "
            f"proposed max_success_rate = {RULE.replace('the margin', f'margin {self.margin:g}')}",
        ]
        if self.proposals:
            lines += ["", *format_table([COLUMNS, *(p.row() for p in self.proposals)])]
        lines += [
            f"note: {p.outcome.name}'s proposal {p.threshold:.2f} is above its threshold "
            f"{p.outcome.threshold:.3f}: loosening a gate is a decision, not a measurement"
            for p in self.proposals
            if p.threshold > p.outcome.threshold
        ]
        for file, group in _by_file(self.proposals):
            lines += ["", *_paste_lines(file, group)]
        if self.deselected:
            names = ", ".join(o.name for o in self.deselected)
            lines += ["", f"left out of this run (-k, -m, ...): {names}"]
        for outcome, reason in self.unmeasured:
            lines.append(f"not measured: {outcome.name}: {reason}")
        return [terminal_text(line) for line in lines]


def _by_file(proposals: Sequence[Proposal]) -> list[tuple[str, list[Proposal]]]:
    """Proposals grouped by the file that holds the gate (the node id's path), in order."""
    groups: dict[str, list[Proposal]] = {}
    for proposal in proposals:
        file = proposal.outcome.nodeid.split("::")[0] or proposal.outcome.name
        groups.setdefault(file, []).append(proposal)
    return list(groups.items())


def _paste_lines(file: str, group: Sequence[Proposal]) -> list[str]:
    """A YAML gate file's entries as `- name:` lines with the key under them; a Python test
    file's gates as the marker line under each test's name."""
    if PurePosixPath(file).suffix in (".yaml", ".yml"):
        lines = [f"paste into {file}, under each gate's entry:"]
        for proposal in group:
            lines.append(f"  - name: {_yaml_name(proposal.outcome.name)}")
            lines.append(f"    max_success_rate: {proposal.threshold:.2f}  # {proposal.comment}")
        return lines
    lines = [f"paste into {file} (@pytest.mark.onepixel or onepixel.check()):"]
    for proposal in group:
        lines.append(f"  {proposal.outcome.name}:")
        lines.append(
            f"    @pytest.mark.onepixel(max_success_rate={proposal.threshold:.2f})"
            f"  # {proposal.comment}"
        )
    return lines


def _yaml_name(name: str) -> str:
    """The name as a YAML scalar: plain when that reads back as the same string."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name) and name.lower() not in _YAML_WORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}
