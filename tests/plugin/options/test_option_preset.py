"""--onepixel-preset / onepixel_preset: the DE settings (paper, default, blackbox,
continuous). At budget 20 `paper` (population 400, capped to the budget) runs no generation and
says so."""

from __future__ import annotations

from options_helpers import measured, requested, run_gate, write_gate, write_ini

NOTE = "*note (g): preset 'paper' with population 20 runs no DE generation at budget 20*"


def test_the_paper_preset_runs_another_search_and_says_so(repo) -> None:
    write_gate(repo)  # preset: continuous in the YAML entry
    _, unset = run_gate(repo)
    result, gate = run_gate(repo, "--onepixel-preset=paper")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([NOTE])
    assert requested(gate, "preset") == "paper" and measured(gate, "preset") == "paper"
    assert (measured(unset, "popsize"), measured(unset, "generations")) == (10, 1)
    assert (measured(gate, "popsize"), measured(gate, "generations")) == (20, 0)
    assert gate["records"] != unset["records"]


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, preset=None)
    write_ini(repo, preset="paper")
    result, gate = run_gate(repo)
    result.stdout.fnmatch_lines([NOTE])
    assert measured(gate, "preset") == "paper"
    result, gate = run_gate(repo, "--onepixel-preset=continuous")
    assert measured(gate, "preset") == "continuous" and "note (g)" not in result.stdout.str()
