"""`GateStatus`: what became of a gate, one name per meaning (like syrupy's `ItemStatus`).

A str-valued enum, so the JSON report keeps its plain strings ("passed", "not run", ...):
`json.dumps` writes a member as its value, and `GateStatus.of` reads the value back. It is
`(str, Enum)` rather than `StrEnum` because Python 3.10 is supported; `__str__` and
`__format__` give the value, so f-strings and `str()` print "passed" on every version.
"""

from __future__ import annotations

import enum


class GateStatus(str, enum.Enum):
    """A gate's status in the report.

    - PASSED: the gate ran and its verdict passed (and any baseline comparison held).
    - FAILED: the gate ran and its verdict failed, or its rate regressed against a baseline.
    - ERROR: the gate could not run; the outcome's `error` says why, and it has no verdict.
    - NOT_RUN: the gate was collected but never started (the run was interrupted, or its test
      ended with neither an outcome nor a failure).
    - SHARD: the outcome holds one shard's records (`--onepixel-shard K/N`) and no verdict;
      `pytest-onepixel merge` judges the union of all N shards.
    - DESELECTED: the gate was collected but this run left it out (`-k`, `-m`, `--deselect`,
      `--lf`); it has no verdict, and the report of a subset run says which gates it skipped.
    """

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_RUN = "not run"
    SHARD = "shard"
    DESELECTED = "deselected"

    __str__ = str.__str__
    __format__ = str.__format__

    @classmethod
    def of(cls, value: object) -> GateStatus:
        """The status named `value` (a report's string); a ValueError names an unknown one."""
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(repr(status.value) for status in cls)
            raise ValueError(f"unknown gate status {value!r}; expected one of {known}") from None

    @property
    def has_verdict(self) -> bool:
        """Whether a gate with this status has a verdict (passed or failed)."""
        return self in (GateStatus.PASSED, GateStatus.FAILED)
