"""--onepixel-pixels / onepixel_pixels: how many pixels (k) one adversarial example may change."""

from __future__ import annotations

from options_helpers import requested, run_gate, successes, write_gate, write_ini


def changed_pixels(gate: dict) -> set[int]:
    """How many pixels each success changed (one number when they all agree)."""
    return {len(record["pixels"]) for record in successes(gate)}


def test_every_success_changes_that_many_pixels(repo) -> None:
    write_gate(repo)
    _, unset = run_gate(repo)
    result, gate = run_gate(repo, "--onepixel-pixels=2")
    result.assert_outcomes(passed=1)
    assert changed_pixels(unset) == {1}
    assert changed_pixels(gate) == {2} and requested(gate, "pixels") == 2


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, pixels=2)
    assert changed_pixels(run_gate(repo)[1]) == {2}
    assert changed_pixels(run_gate(repo, "--onepixel-pixels=3")[1]) == {3}
