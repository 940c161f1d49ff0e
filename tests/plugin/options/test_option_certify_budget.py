"""--onepixel-certify-budget / onepixel_certify_budget: the proof search's model-pass
equivalents per image for `search: certify` (on the tiny 6x6 grey model a budget of 1 leaves every
image the DE search did not fool undecided; the default decides them all)."""

from __future__ import annotations

from options_helpers import requested, run_gate, write_gate, write_ini


def undecided(gate: dict) -> int:
    summary = gate["summary"]
    assert summary["undecided"] == sum(r["outcome"] == "undecided" for r in gate["records"])
    return summary["undecided"]


def test_the_option_sets_the_proof_budget(repo) -> None:
    write_gate(repo, search="certify", max_success_rate=0.9)
    result, gate = run_gate(repo, "--onepixel-full")
    result.assert_outcomes(passed=1)
    assert requested(gate, "certify_budget") == 4_000_000 and undecided(gate) == 0
    result, gate = run_gate(repo, "--onepixel-full", "--onepixel-certify-budget=1")
    result.assert_outcomes(failed=1)
    unproven = gate["summary"]["attacked"] - gate["summary"]["successes"]
    assert requested(gate, "certify_budget") == 1 and undecided(gate) == unproven > 0
    result.stdout.fnmatch_lines(["*raise certify_budget (now 1) or use search: de*"])
    bad = repo.runpytest("--onepixel-certify-budget=0")
    assert bad.ret != 0 and "Traceback" not in bad.stdout.str() + bad.stderr.str()
    assert "certify-budget" in bad.stdout.str() + bad.stderr.str()


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo, search="certify", max_success_rate=0.9)
    write_ini(repo, certify_budget=1)
    result, gate = run_gate(repo, "--onepixel-full")
    assert requested(gate, "certify_budget") == 1 and undecided(gate) > 0
    result, gate = run_gate(repo, "--onepixel-full", "--onepixel-certify-budget=4000000")
    result.assert_outcomes(passed=1)
    assert requested(gate, "certify_budget") == 4_000_000 and undecided(gate) == 0
