"""--onepixel-heartbeat / onepixel_heartbeat: seconds between progress lines when the output is
a log rather than a terminal (pytester's output is not a terminal)."""

from __future__ import annotations

import pytest
from options_helpers import write_ini

#: A gate of a few tenths of a second: a model that sleeps 5 ms per call, ten generations.
SLOW_GATE = """
import time

import numpy as np
import pytest


def slow(batch):
    time.sleep(0.005)
    return np.tile([5.0, 0.0], (len(batch), 1))


@pytest.mark.onepixel(max_success_rate=1.0, budget=40, popsize=4, max_batch=8)
def test_slow(onepixel):
    onepixel.check(slow, np.zeros((4, 1, 4, 4), np.uint8), np.zeros(4, int))
"""

LINE = "onepixel test_slow: */4 images, * successes, * queries/s*"


def heartbeats(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("onepixel test_slow: ")]


def test_a_short_heartbeat_writes_progress_lines(pytester) -> None:
    pytester.makepyfile(test_slow_gate=SLOW_GATE)
    quiet = pytester.runpytest("--onepixel-cache=off")
    quiet.assert_outcomes(passed=1)
    assert heartbeats(quiet) == []  # the 30 s default: no line for a short gate
    result = pytester.runpytest("--onepixel-heartbeat=0.01", "--onepixel-cache=off")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([LINE])


def test_the_ini_key_sets_it_and_the_option_beats_it(pytester) -> None:
    pytester.makepyfile(test_slow_gate=SLOW_GATE)
    write_ini(pytester, heartbeat=0.01)
    pytester.runpytest("--onepixel-cache=off").stdout.fnmatch_lines([LINE])
    beaten = pytester.runpytest("--onepixel-heartbeat=60", "--onepixel-cache=off")
    assert heartbeats(beaten) == []


def test_a_heartbeat_that_is_not_positive_is_a_usage_error(pytester) -> None:
    result = pytester.runpytest("--onepixel-heartbeat=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*argument --onepixel-heartbeat: must be a number > 0*"])
