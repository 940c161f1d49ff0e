"""--onepixel-popsize / onepixel_popsize: the DE population. At budget 20 the continuous preset
sizes it to the budget (10: one generation); 5 leaves room for 3 generations, 4 for 4."""

from __future__ import annotations

import pytest
from options_helpers import measured, requested, run_gate, write_gate, write_ini


def population(gate: dict) -> tuple[int, int]:
    return measured(gate, "popsize"), measured(gate, "generations")


def test_the_option_sets_the_population_and_so_the_generations(repo) -> None:
    write_gate(repo)
    _, unset = run_gate(repo)
    result, gate = run_gate(repo, "--onepixel-popsize=5")
    result.assert_outcomes(passed=1)
    assert population(unset) == (10, 1) and requested(unset, "popsize") is None
    assert population(gate) == (5, 3) and requested(gate, "popsize") == 5
    too_small = repo.runpytest("--onepixel-popsize=3")
    assert too_small.ret == pytest.ExitCode.USAGE_ERROR
    too_small.stderr.fnmatch_lines(["*argument --onepixel-popsize: must be an integer >= 4*"])


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, popsize=5)
    assert population(run_gate(repo)[1]) == (5, 3)
    assert population(run_gate(repo, "--onepixel-popsize=4")[1]) == (4, 4)
