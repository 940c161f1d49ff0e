"""Compare gates against a previous JSON report, in the manner of pytest-benchmark's compare.

A gate fails the comparison when its success rate rose by more than the tolerance over the
baseline's; without a tolerance, when the baseline rate lies below the new rate's confidence
interval (the rise is more than sampling noise).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .report import format_table
from .settings import ConfigError


def load_baseline(path: Path) -> dict[str, Mapping[str, Any]]:
    """Baseline gates by test id (and by name, for gates whose id changed)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        gates = document["gates"]
    except FileNotFoundError:
        raise ConfigError(f"--onepixel-compare: no such report: {path}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"--onepixel-compare: {path} is not a pytest-onepixel JSON report ({error!r})."
        ) from None
    by_key: dict[str, Mapping[str, Any]] = {}
    try:
        for gate in gates:
            float(gate["summary"]["success_rate"])  # every baseline gate needs its rate
            by_key.setdefault(gate["name"], gate)
            by_key[gate.get("nodeid", gate["name"])] = gate
    except (KeyError, TypeError) as error:
        raise ConfigError(
            f"--onepixel-compare: {path} has a gate without {error} (not a pytest-onepixel "
            "report, or from an incompatible version)."
        ) from None
    return by_key


def compare(
    outcome: Mapping[str, Any],
    baseline: Mapping[str, Mapping[str, Any]],
    tolerance: float | None,
) -> dict[str, Any]:
    """How this gate's rate moved against its baseline, and whether that is acceptable."""
    old = baseline.get(outcome["nodeid"]) or baseline.get(outcome["name"])
    now = outcome["summary"]["success_rate"]
    if old is None:
        return {
            "baseline": None,
            "now": now,
            "change": None,
            "passed": True,
            "reason": "no baseline for this gate",
        }
    before = old["summary"]["success_rate"]
    change = now - before
    low, high = outcome["summary"]["interval"]
    if tolerance is None:
        passed = before >= low
        rule = (
            f"the baseline rate {before:.3f} lies below the new rate's interval "
            f"[{low:.3f}, {high:.3f}]"
        )
    else:
        passed = change <= tolerance
        rule = f"the rise {change:+.3f} exceeds the tolerance {tolerance:.3f}"
    same_data = old.get("data", {}).get("hash") == outcome["data"]["hash"]
    reason = f"success rate {before:.3f} -> {now:.3f} ({change:+.3f}) against the baseline"
    if not passed:
        reason += f": {rule}"
    if not same_data:
        reason += " (the sampled data differ from the baseline's)"
    return {"baseline": before, "now": now, "change": change, "passed": passed, "reason": reason}


def compare_lines(outcomes: Sequence[Mapping[str, Any]]) -> list[str]:
    """A row per gate: baseline rate, new rate, change, verdict of the comparison."""
    rows = [("gate", "baseline", "now", "change", "verdict")]
    for outcome in sorted(outcomes, key=lambda o: o.get("nodeid", o["name"])):
        c = outcome.get("compare")
        if c is None:
            continue
        if c["baseline"] is None:
            rows.append((outcome["name"], "-", f"{c['now']:.3f}", "new", "pass"))
            continue
        verdict = "pass" if c["passed"] else "FAIL"
        rows.append(
            (
                outcome["name"],
                f"{c['baseline']:.3f}",
                f"{c['now']:.3f}",
                f"{c['change']:+.3f}",
                verdict,
            )
        )
    return format_table(rows)
