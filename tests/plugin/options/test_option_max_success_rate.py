"""--onepixel-max-success-rate / onepixel_max_success_rate: the threshold a gate's success rate
must not pass (the tiny gate's rate is 0.455)."""

from __future__ import annotations

import pytest
from options_helpers import run_gate, table_cell, write_gate, write_ini


def test_the_option_sets_every_gates_threshold(repo) -> None:
    write_gate(repo)  # max_success_rate: 1.0 in the YAML entry
    run_gate(repo)[0].assert_outcomes(passed=1)
    result, gate = run_gate(repo, "--onepixel-max-success-rate=0.3")
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert gate["threshold"] == 0.3 and table_cell(result, "threshold") == "0.300"
    result.stdout.fnmatch_lines(["*- success rate 0.455 [[]*[]] > threshold 0.300 (point mode)"])


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, max_success_rate=None)
    missing = repo.runpytest()
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*gate 'g' has no max_success_rate*"])
    write_ini(repo, max_success_rate=0.3)
    run_gate(repo)[0].assert_outcomes(failed=1)
    run_gate(repo, "--onepixel-max-success-rate=0.5")[0].assert_outcomes(passed=1)
