"""--onepixel-guidance / onepixel_guidance / YAML `guidance`: what orders the default search's
candidates. On the tiny ONNX model at budget 60, `auto` ranks them by the model's gradient (the
ONNX graph converts) at a charge of 20 queries per image; `none` searches black-box; `gradient`
where no gradient can be had is a usage error for that gate only."""

from __future__ import annotations

from options_helpers import measured, requested, run_gate, write_gate, write_ini

GUIDED = {"used": "gradient", "charge": 20, "exact": True}


def test_auto_guides_the_default_search_and_none_does_not(repo) -> None:
    write_gate(repo, preset="default", budget=60)
    result, guided = run_gate(repo)
    result.assert_outcomes(passed=1)
    assert requested(guided, "guidance") == "auto" and measured(guided, "guidance") == GUIDED
    assert (measured(guided, "popsize"), measured(guided, "generations")) == (10, 5)
    assert all(r["queries"] >= 20 for r in guided["records"] if r["attacked"])
    result, blind = run_gate(repo, "--onepixel-guidance=none")
    result.assert_outcomes(passed=1)
    assert measured(blind, "guidance") == {"used": "none", "charge": 0, "reason": "guidance: none"}
    assert (measured(blind, "popsize"), measured(blind, "generations")) == (12, 4)
    assert blind["records"] != guided["records"]
    assert "not guided" not in result.stdout.str()  # asked for: no note


def test_the_yaml_key_and_ini_key_set_it_and_the_option_beats_them(repo) -> None:
    write_gate(repo, preset="default", budget=60, guidance="none")
    _, gate = run_gate(repo)
    assert measured(gate, "guidance")["used"] == "none"
    _, gate = run_gate(repo, "--onepixel-guidance=auto")
    assert measured(gate, "guidance") == GUIDED
    write_gate(repo, preset="default", budget=60)
    write_ini(repo, guidance="none")
    _, gate = run_gate(repo)
    assert requested(gate, "guidance") == "none"


def test_gradient_that_cannot_be_had_fails_that_gate_with_the_reason(repo) -> None:
    """At budget 20 the charge (20) is over half the budget: `auto` runs black-box and says
    why in a note; `gradient` fails the gate with the reason and the fix, no traceback."""
    write_gate(repo, preset="default", budget=20)
    result, gate = run_gate(repo)
    result.assert_outcomes(passed=1)
    assert measured(gate, "guidance")["used"] == "none"
    result.stdout.fnmatch_lines(["*search not guided by the model's gradient: the gradient's*"])
    result, gate = run_gate(repo, "--onepixel-guidance=gradient")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "guidance 'gradient' cannot be used here: the gradient's charge (20 queries)" in out
    assert "Set `guidance: auto`" in out and "Traceback" not in out


def test_a_bad_value_is_a_usage_error(repo) -> None:
    write_gate(repo)
    bad = repo.runpytest("--onepixel-guidance=always")
    text = bad.stdout.str() + bad.stderr.str()
    assert bad.ret != 0 and "Traceback" not in text
    assert "guidance" in text and "auto, gradient, none" in text
