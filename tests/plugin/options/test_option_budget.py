"""--onepixel-budget / onepixel_budget: the most queries spent on one attacked image."""

from __future__ import annotations

from options_helpers import requested, run_gate, write_gate, write_ini


def most_queries(gate: dict) -> int:
    return max(record["queries"] for record in gate["records"])


def test_the_option_caps_the_queries_of_every_image(repo) -> None:
    write_gate(repo)  # budget: 20 in the YAML entry
    _, unset = run_gate(repo)
    result, gate = run_gate(repo, "--onepixel-budget=10")
    result.assert_outcomes(passed=1)
    assert most_queries(unset) == 20  # an image the attack cannot fool spends all 20
    assert most_queries(gate) == 10 and requested(gate, "budget") == 10
    result.stdout.fnmatch_lines(["onepixel: budget 10, *"])  # the header names it


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, budget=None)
    write_ini(repo, budget=10)
    assert most_queries(run_gate(repo)[1]) == 10
    assert most_queries(run_gate(repo, "--onepixel-budget=15")[1]) == 15
