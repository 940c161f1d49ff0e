"""`GateLedger`: every gate the session knows of, and what became of it.

A report that lists only the gates that finished reads "all passed" when a gate errored before
producing an outcome, when its pytest-xdist worker crashed, or when the run was cut short. So
the ledger records the gates collected (YAML items, including the one item of a gate file that
cannot be read, and tests that use the `onepixel` fixture or marker), the outcomes that arrive
on test reports, the failures that arrive without one, and the gates a `-k`/`-m` run deselected;
`final()` gives one entry for each, with a status.

Under pytest-xdist the controller does not collect: it learns the YAML gates from the node ids
each worker collected (their file names match the gate-file patterns), the others from reports
and from what each worker sends when it finishes (`workeroutput`: collected and deselected).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..gate.outcome import GateOutcome

#: The key under which an item's test reports carry its gate outcomes.
REPORT_ATTRIBUTE = "onepixel"
#: Why a deselected gate has no verdict.
DESELECTED_REASON = "left out of this run (-k, -m, --deselect or --lf): no verdict"
#: How many lines of a failure's text an error entry keeps.
ERROR_LINES = 12


@dataclass
class GateLedger:
    """Collected gates by node id, their outcomes, and failures without an outcome."""

    expected: dict[str, str] = field(default_factory=dict)  # node id -> gate name
    outcomes: list[GateOutcome] = field(default_factory=list)  # gates that ran (or errored)
    failures: dict[str, str] = field(default_factory=dict)  # node id -> failure, no outcome
    deselected: dict[str, str] = field(default_factory=dict)  # node id -> name, left out (-k/-m)

    def expect(self, nodeid: str, name: str) -> None:
        self.expected.setdefault(nodeid, name)

    def deselect(self, nodeid: str, name: str) -> None:
        """A gate collected and then left out of this run (-k, -m, --deselect, --lf)."""
        self.deselected.setdefault(nodeid, name)

    def expect_ids(self, ids: list[str], patterns: list[str]) -> None:
        """YAML gates among node ids `FILE::NAME` whose file matches a gate-file pattern."""
        for nodeid in ids:
            path, _, name = nodeid.rpartition("::")
            if path and any(fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in patterns):
                self.expect(nodeid, name)

    def collect(self, report: Any) -> None:
        """A test report: its outcomes, or (failed without one) why it failed."""
        carried = getattr(report, REPORT_ATTRIBUTE, None)
        if carried:
            from ..gate.outcome import GateOutcome

            self.outcomes.extend(GateOutcome.from_json(o) for o in carried)
            self.failures.pop(report.nodeid, None)
        elif report.failed and report.nodeid not in {o.nodeid for o in self.outcomes}:
            self.failures.setdefault(report.nodeid, failure_text(report))
        if REPORT_ATTRIBUTE in getattr(report, "keywords", {}):
            self.expect(report.nodeid, report.nodeid.rpartition("::")[2])

    def final(self) -> list[GateOutcome]:
        """One entry per gate: its outcomes, else an error (its test failed without one), else
        not run; and one per gate this run deselected."""
        from ..gate.outcome import GateOutcome
        from ..gate.status import GateStatus

        finished = {outcome.nodeid for outcome in self.outcomes}
        entries = list(self.outcomes)
        for nodeid, name in self.expected.items():
            if nodeid in finished:
                continue
            if nodeid in self.failures:
                entries.append(GateOutcome.errored(name, self.failures[nodeid], nodeid))
            else:
                entries.append(GateOutcome(name=name, status=GateStatus.NOT_RUN, nodeid=nodeid))
        for nodeid, name in self.deselected.items():
            if nodeid not in finished and nodeid not in self.expected:
                entries.append(
                    GateOutcome(
                        name=name,
                        status=GateStatus.DESELECTED,
                        nodeid=nodeid,
                        reasons=(DESELECTED_REASON,),
                    )
                )
        return entries


def failure_text(report: Any) -> str:
    """The first lines of why a report failed (a crashed worker, a setup error, ...)."""
    text = getattr(report, "longreprtext", "") or str(getattr(report, "longrepr", ""))
    lines = text.strip().splitlines()
    cut = len(lines) > ERROR_LINES
    return "\n".join(lines[:ERROR_LINES] + (["..."] if cut else [])) or "failed"
