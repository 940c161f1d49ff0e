"""--onepixel-search / onepixel_search: de, or exhaustive (every position x corner colour: on the
6x6 grey tiny images 36 x 2 = 72 candidates, so a budget of at least 72)."""

from __future__ import annotations

from options_helpers import requested, run_gate, table_cell, write_gate, write_ini


def test_exhaustive_shows_in_the_table_and_needs_the_whole_space(repo) -> None:
    write_gate(repo, budget=72)
    unset_result, _ = run_gate(repo)
    assert table_cell(unset_result, "search") == "de"
    result, gate = run_gate(repo, "--onepixel-search=exhaustive")
    result.assert_outcomes(passed=1)
    assert table_cell(result, "search") == "exhaustive"
    assert requested(gate, "search") == "exhaustive"
    assert all(record["queries"] <= 72 for record in gate["records"])
    short = repo.runpytest("--onepixel-search=exhaustive", "--onepixel-budget=20")
    short.assert_outcomes(failed=1)
    short.stdout.fnmatch_lines(
        [
            "*search 'exhaustive' tries 6 x 6 positions x 2 colours = 72 candidates per image, "
            "more than the budget of 20*"
        ]
    )


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, budget=72)
    write_ini(repo, search="exhaustive")
    assert table_cell(run_gate(repo)[0], "search") == "exhaustive"
    assert table_cell(run_gate(repo, "--onepixel-search=de")[0], "search") == "de"
