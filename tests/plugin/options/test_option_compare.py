"""--onepixel-compare / onepixel_compare: compare every gate with a previous JSON report (or
`last`, the newest saved run)."""

from __future__ import annotations

import pytest
from options_helpers import write_baseline, write_gate, write_ini


@pytest.fixture
def baseline(repo):
    """The base gate and a baseline report of it whose success rate was 0.1 (now 0.455,
    whose interval [0.167, 0.766] leaves 0.1 out: a rise of +0.355)."""
    write_gate(repo)
    write_baseline(repo, 0.1)
    return repo


def test_the_option_adds_a_comparison_that_fails_a_rise(baseline) -> None:
    assert "compared with" not in baseline.runpytest().stdout.str()
    result = baseline.runpytest("--onepixel-compare=baseline.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- success rate 0.100 -> 0.455 (+0.355) against the baseline*",
            "compared with baseline.json:",
            "g *0.100*0.455*+0.355*FAIL",
        ]
    )


def test_the_ini_key_sets_it_and_the_option_beats_it(baseline) -> None:
    write_ini(baseline, compare="baseline.json")
    result = baseline.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["compared with baseline.json:"])
    baseline.runpytest("--onepixel-report=same.json")
    beaten = baseline.runpytest("--onepixel-compare=same.json")
    beaten.assert_outcomes(passed=1)
    beaten.stdout.fnmatch_lines(["compared with same.json:", "g *0.455*0.455*+0.000*pass"])


def test_a_missing_baseline_is_a_usage_error(repo) -> None:
    write_ini(repo, compare="nope.json")
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no such report: *nope.json*"])
