"""--onepixel-confidence / onepixel_confidence: the level of the intervals. In strict mode with
threshold 0.6 the tiny gate (rate 0.455) fails at 95% (upper end 0.766) and passes at 50%
(upper end 0.598)."""

from __future__ import annotations

from options_helpers import run_gate, write_gate, write_ini


def width(gate: dict) -> float:
    low, high = gate["summary"]["interval"]
    return high - low


def test_a_lower_confidence_narrows_the_interval(repo) -> None:
    write_gate(repo, max_success_rate=0.6, gate="strict")
    unset_result, unset = run_gate(repo)
    unset_result.assert_outcomes(failed=1)
    result, gate = run_gate(repo, "--onepixel-confidence=0.5")
    result.assert_outcomes(passed=1)
    assert width(gate) < width(unset) and gate["gate"]["confidence"] == 0.5
    assert "the 50% interval's upper end 0.598 <= threshold 0.600" in gate["reason"]


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, max_success_rate=0.6, gate="strict")
    write_ini(repo, confidence=0.5)
    result, gate = run_gate(repo)
    result.assert_outcomes(passed=1)
    assert gate["gate"]["confidence"] == 0.5
    run_gate(repo, "--onepixel-confidence=0.95")[0].assert_outcomes(failed=1)
