"""--onepixel-compare-tolerance / onepixel_compare_tolerance: the largest acceptable rise of a
success rate over the baseline's (default: the rise must stay inside the new interval)."""

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


def test_a_tolerance_above_the_rise_passes_one_below_fails(baseline) -> None:
    compare = "--onepixel-compare=baseline.json"
    baseline.runpytest(compare).assert_outcomes(failed=1)
    baseline.runpytest(compare, "--onepixel-compare-tolerance=0.4").assert_outcomes(passed=1)
    tight = baseline.runpytest(compare, "--onepixel-compare-tolerance=0.1")
    tight.assert_outcomes(failed=1)
    tight.stdout.fnmatch_lines(["g *0.100*0.455*+0.355*FAIL"])


def test_the_ini_key_sets_it_and_the_option_beats_it(baseline) -> None:
    write_ini(baseline, compare="baseline.json", compare_tolerance=0.4)
    baseline.runpytest().assert_outcomes(passed=1)
    baseline.runpytest("--onepixel-compare-tolerance=0.1").assert_outcomes(failed=1)


def test_a_negative_tolerance_is_a_usage_error(repo) -> None:
    result = repo.runpytest("--onepixel-compare-tolerance=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*argument --onepixel-compare-tolerance: must be a rise *"])
