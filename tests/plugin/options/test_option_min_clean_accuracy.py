"""--onepixel-min-clean-accuracy / onepixel_min_clean_accuracy: a gate fails when the model gets
fewer of its sampled images right (the tiny gate's clean accuracy is 11/12 = 0.917)."""

from __future__ import annotations

from options_helpers import requested, run_gate, write_gate, write_ini

MESSAGE = "clean accuracy 0.917 < min_clean_accuracy 0.950"


def test_a_gate_below_the_floor_fails_and_says_why(repo) -> None:
    write_gate(repo)
    unset_result, unset = run_gate(repo)
    unset_result.assert_outcomes(passed=1)
    assert requested(unset, "min_clean_accuracy") is None
    result, gate = run_gate(repo, "--onepixel-min-clean-accuracy=0.95")
    result.assert_outcomes(failed=1)
    assert MESSAGE in gate["reason"] and requested(gate, "min_clean_accuracy") == 0.95
    result.stdout.fnmatch_lines([f"*{MESSAGE}*"])
    run_gate(repo, "--onepixel-min-clean-accuracy=0.9")[0].assert_outcomes(passed=1)


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, min_clean_accuracy=0.95)
    result, gate = run_gate(repo)
    result.assert_outcomes(failed=1)
    assert MESSAGE in gate["reason"]
    run_gate(repo, "--onepixel-min-clean-accuracy=0.5")[0].assert_outcomes(passed=1)
