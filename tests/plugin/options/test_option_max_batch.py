"""--onepixel-max-batch / onepixel_max_batch: the cap of the batch size the search measures.
The report keeps the cap as asked (`settings`) apart from the size chosen (`measured`)."""

from __future__ import annotations

from options_helpers import measured, requested, run_gate, write_gate, write_ini


def test_the_option_caps_the_measured_batch(repo) -> None:
    write_gate(repo)
    _, unset = run_gate(repo)
    result, gate = run_gate(repo, "--onepixel-max-batch=5")
    result.assert_outcomes(passed=1)
    assert requested(unset, "max_batch") is None and measured(unset, "batch")["size"] > 5
    assert requested(gate, "max_batch") == 5 and measured(gate, "batch")["size"] <= 5
    assert gate["records"] == unset["records"]  # records never depend on the batch size


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, max_batch=5)
    _, gate = run_gate(repo)
    assert requested(gate, "max_batch") == 5 and measured(gate, "batch")["size"] <= 5
    _, gate = run_gate(repo, "--onepixel-max-batch=7")
    assert requested(gate, "max_batch") == 7 and measured(gate, "batch")["size"] <= 7
