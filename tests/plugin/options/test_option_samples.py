"""--onepixel-samples / onepixel_samples: how many held-out images each gate draws."""

from __future__ import annotations

from options_helpers import run_gate, write_gate, write_ini


def test_the_option_sets_how_many_images_are_sampled(repo) -> None:
    write_gate(repo)  # samples: 12 in the YAML entry
    _, unset = run_gate(repo)
    result, gate = run_gate(repo, "--onepixel-samples=6")
    result.assert_outcomes(passed=1)
    assert unset["summary"]["sampled"] == len(unset["records"]) == 12
    assert gate["summary"]["sampled"] == len(gate["records"]) == 6  # the option beats the YAML
    assert gate["settings"]["samples"] == 6


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, samples=None)
    write_ini(repo, samples=6)
    assert run_gate(repo)[1]["summary"]["sampled"] == 6
    assert run_gate(repo, "--onepixel-samples=8")[1]["summary"]["sampled"] == 8
