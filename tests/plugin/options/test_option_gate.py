"""--onepixel-gate / onepixel_gate: point, strict or lenient. The tiny gate's success rate is
0.455 with a 95% interval [0.167, 0.766]: threshold 0.6 passes in point mode and fails strict;
threshold 0.3 fails in point mode and passes lenient."""

from __future__ import annotations

from options_helpers import run_gate, table_cell, write_gate, write_ini


def test_strict_fails_what_point_mode_passes(repo) -> None:
    write_gate(repo, max_success_rate=0.6)
    run_gate(repo)[0].assert_outcomes(passed=1)
    result, gate = run_gate(repo, "--onepixel-gate=strict")
    result.assert_outcomes(failed=1)
    assert gate["gate"]["mode"] == "strict" and table_cell(result, "mode") == "strict"
    result.stdout.fnmatch_lines(["*onepixel gate 'g' FAILED (strict mode):"])


def test_lenient_passes_what_point_mode_fails(repo) -> None:
    write_gate(repo, max_success_rate=0.3)
    run_gate(repo)[0].assert_outcomes(failed=1)
    result, gate = run_gate(repo, "--onepixel-gate=lenient")
    result.assert_outcomes(passed=1)
    assert "lower end 0.167 <= threshold 0.300 (lenient mode" in gate["reason"]


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, max_success_rate=0.6)
    write_ini(repo, gate="strict")
    result, gate = run_gate(repo)
    result.assert_outcomes(failed=1)
    assert gate["gate"]["mode"] == "strict"
    run_gate(repo, "--onepixel-gate=point")[0].assert_outcomes(passed=1)


def test_an_unknown_mode_is_a_usage_error(repo) -> None:
    result = repo.runpytest("--onepixel-gate=loose")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*argument --onepixel-gate: *found 'loose'*"])
