"""Honest gates as users see them: modes, early verdicts, curves, floors, baseline compare.

With the `continuous` preset (DE/rand/1, continuous colours: the 0.1 default, kept so these
numbers stay put while the default search improves) the tiny model is fooled on 21 of 35
attacked images at budget 40 (0.600, 95% interval [0.421, 0.761]), which puts thresholds 0.5
and 0.7 on either side of the point estimate but inside the interval.
"""

from __future__ import annotations

import json

import pytest
from conftest import write_gates

GATE = (
    "defaults: {{samples: 40, budget: 40, pixel_range: [0, 16], preset: continuous}}\n"
    "models:\n"
    "  - {{name: g, model: models/tiny.onnx, data: data/holdout.npz, "
    "max_success_rate: {rate}{extra}}}\n"
)


def gate(repo, rate: float, extra: str = "") -> None:
    write_gates(repo, GATE.format(rate=rate, extra=extra))


def report(repo, *args: str) -> tuple[pytest.RunResult, dict]:
    result = repo.runpytest("--onepixel-report=r.json", *args)
    return result, json.loads((repo.path / "r.json").read_text())["gates"][0]


def test_strict_mode_fails_inside_the_interval_and_says_how_many_images_would_do(repo) -> None:
    gate(repo, 0.7)
    point, _ = report(repo, "--onepixel-full")
    point.assert_outcomes(passed=1)
    strict, outcome = report(repo, "--onepixel-full", "--onepixel-gate=strict")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(
        [
            "*onepixel gate 'g' FAILED (strict mode):",
            "*- success rate 0.600 [[]0.421, 0.761[]]: the 95% interval's upper end 0.761 > "
            "threshold 0.700 (strict mode passes only when it is <= the threshold); about * "
            "attacked images would be needed to pass at the observed rate 0.600",
        ]
    )
    assert outcome["gate"]["mode"] == "strict"


def test_lenient_mode_passes_inside_the_interval(repo) -> None:
    gate(repo, 0.5)
    report(repo, "--onepixel-full")[0].assert_outcomes(failed=1)
    lenient, outcome = report(repo, "--onepixel-full", "--onepixel-gate=lenient")
    lenient.assert_outcomes(passed=1)
    assert "lower end 0.421 <= threshold 0.500 (lenient mode" in outcome["reason"]


def test_mode_and_confidence_from_yaml_and_marker(repo) -> None:
    gate(repo, 0.7, ", gate: strict, confidence: 0.5")
    result, outcome = report(repo, "--onepixel-full")
    assert outcome["gate"] == {
        "mode": "strict",
        "confidence": 0.5,
        "threshold": 0.7,
        "min_clean_accuracy": None,
        "max_success_rate_at": {},
    }
    result.assert_outcomes(passed=1)  # a 50% interval is narrow enough to sit under 0.7


def test_early_verdict_stops_and_says_so(repo) -> None:
    gate(repo, 1.0)
    result, outcome = report(repo)
    summary = outcome["summary"]
    assert summary["settled_after"] == summary["attacked"] < 35
    assert summary["skipped"] == 35 - summary["attacked"]
    assert summary["queries_saved_estimate"] > 0
    assert "settled after" in outcome["reason"]
    result.stdout.fnmatch_lines([f"g *{summary['attacked']}/35 *pass*"])
    _, full = report(repo, "--onepixel-full")
    assert full["summary"]["skipped"] == 0 and full["summary"]["attacked"] == 35
    assert full["passed"] == outcome["passed"]


def test_early_fail_verdict_matches_the_full_run(repo) -> None:
    gate(repo, 0.1)
    early_result, early = report(repo)
    _, full = report(repo, "--onepixel-full")
    early_result.assert_outcomes(failed=1)
    assert not early["passed"] and not full["passed"]
    assert early["summary"]["queries_used"] < full["summary"]["queries_used"]


def test_robustness_curve_in_report_and_as_gate(repo) -> None:
    gate(repo, 1.0, ", max_success_rate_at: {10: 0.2}")
    result, outcome = report(repo, "--onepixel-full")
    assert [point["budget"] for point in outcome["curve"]] == [1, 2, 5, 10, 20, 40]
    at_10 = outcome["curve"][3]
    assert at_10["rate"] == pytest.approx(15 / 35) and at_10["low"] < at_10["rate"] < at_10["high"]
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- success rate at budget 10 0.429 [[]*[]] > threshold 0.200*"])


def test_curve_budget_beyond_the_budget_is_a_config_error(repo) -> None:
    gate(repo, 1.0, ", max_success_rate_at: {100: 0.2}")
    result = repo.runpytest()
    result.stdout.fnmatch_lines(["*max_success_rate_at names budget 100, more than the budget 40*"])


def test_clean_accuracy_floor(repo) -> None:
    gate(repo, 1.0, ", min_clean_accuracy: 0.95")
    result, outcome = report(repo)
    result.assert_outcomes(failed=1)
    assert "clean accuracy 0.875 < min_clean_accuracy 0.950" in outcome["reason"]


def test_small_attacked_set_warns(repo) -> None:
    write_gates(repo, GATE.format(rate=1.0, extra="").replace("samples: 40", "samples: 10"))
    result = repo.runpytest()
    result.stdout.fnmatch_lines(
        ["*OnePixelWarning: gate 'g' has only * attacked images (fewer than 30)*"]
    )


def test_compare_with_a_baseline_report(repo) -> None:
    gate(repo, 1.0)
    report(repo, "--onepixel-full")
    (repo.path / "r.json").rename(repo.path / "baseline.json")
    same = repo.runpytest("--onepixel-full", "--onepixel-compare=baseline.json")
    same.assert_outcomes(passed=1)
    same.stdout.fnmatch_lines(
        [
            "compared with baseline.json:",
            "gate *baseline*now*change*verdict",
            "g *0.600*0.600*+0.000*pass",
        ]
    )
    baseline = json.loads((repo.path / "baseline.json").read_text())
    baseline["gates"][0]["summary"]["success_rate"] = 0.2
    (repo.path / "baseline.json").write_text(json.dumps(baseline))
    rose = repo.runpytest("--onepixel-full", "--onepixel-compare=baseline.json")
    rose.assert_outcomes(failed=1)
    rose.stdout.fnmatch_lines(
        [
            "*- success rate 0.200 -> 0.600 (+0.400) against the baseline: the baseline rate "
            "0.200 lies below the new rate's interval [[]0.421, 0.761[]]",
            "g *0.200*0.600*+0.400*FAIL",
        ]
    )
    tolerant = repo.runpytest(
        "--onepixel-full", "--onepixel-compare=baseline.json", "--onepixel-compare-tolerance=0.5"
    )
    tolerant.assert_outcomes(passed=1)


def test_compare_with_a_missing_baseline_is_a_usage_error(repo) -> None:
    result = repo.runpytest("--onepixel-compare=nope.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--onepixel-compare: no such report: *nope.json*"])
