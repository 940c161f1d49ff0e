"""Where settings come from: command line > check() keywords > marker > YAML entry > YAML
defaults > ini > built-in, native TOML ini values, and options that are usage errors."""

from __future__ import annotations

import json

import pytest
from conftest import CHECK_PREAMBLE, write_gates

CHECK_TEST = (
    CHECK_PREAMBLE
    + """
@pytest.mark.onepixel(max_success_rate=1.0, budget=30, seed=3)
def test_keywords(onepixel):
    onepixel.check(model, IMAGES, LABELS, pixel_range=(0, 16), budget=20)
"""
)


def gate_settings(pytester: pytest.Pytester, *args: str) -> dict:
    pytester.runpytest("--onepixel-report=r.json", *args)
    return json.loads((pytester.path / "r.json").read_text())["gates"][0]["settings"]


def test_check_keywords_beat_the_marker_and_lose_to_the_command_line(pytester) -> None:
    pytester.makepyfile(test_gates=CHECK_TEST)
    settings = gate_settings(pytester)
    assert settings["budget"] == 20  # check(budget=20) over @mark.onepixel(budget=30)
    assert settings["seed"] == 3  # the marker still sets what check() does not
    assert gate_settings(pytester, "--onepixel-budget=25")["budget"] == 25


def test_every_layer_in_order(repo) -> None:
    """One key set at each YAML-side layer: the highest wins, level by level."""
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 11, seed: 4}
        models:
          - {name: g, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0,
             budget: 12}
        """,
    )
    repo.makeini("[pytest]\nonepixel_budget = 10\nonepixel_seed = 5\nonepixel_pixels = 2\n")
    settings = gate_settings(repo)
    assert (settings["budget"], settings["seed"], settings["pixels"]) == (12, 4, 2)
    assert gate_settings(repo, "--onepixel-budget=13")["budget"] == 13


def test_native_toml_values_under_tool_pytest(repo) -> None:
    """pytest 9's [tool.pytest] table holds real numbers and booleans."""
    write_gates(repo)
    (repo.path / "pyproject.toml").write_text(
        "[tool.pytest]\nonepixel_budget = 20\nonepixel_max_success_rate = 1.0\n"
        "onepixel_full = true\nonepixel_max_batch = 5\n"
    )
    result = repo.runpytest("--onepixel-report=r.json")
    result.assert_outcomes(passed=1, failed=1)  # the YAML entries' thresholds beat the ini's
    gates = json.loads((repo.path / "r.json").read_text())["gates"]
    assert {
        (g["settings"]["budget"], g["settings"]["full"], g["settings"]["max_batch"]) for g in gates
    } == {(20, True, 5)}  # a cap off the ladder of timed sizes: only 5 is timed


def test_max_batch_from_the_command_line(repo) -> None:
    write_gates(repo)
    settings = gate_settings(repo, "--onepixel-budget=10", "--onepixel-max-batch=7")
    assert settings["max_batch"] == 7


def test_unknown_onepixel_ini_key_gets_a_did_you_mean(repo) -> None:
    repo.makeini("[pytest]\nonepixel_bugdet = 10\n")
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown ini key 'onepixel_bugdet'; did you mean 'onepixel_budget'?"]
    )


def test_a_mistyped_device_is_a_usage_error_listing_the_valid_ones(repo) -> None:
    result = repo.runpytest("--onepixel-device=gpu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --onepixel-device: must be cpu, cuda or cuda:N (e.g. cuda:0); found 'gpu'"]
    )


def test_the_paper_preset_below_one_generation_says_so_at_the_gate(repo) -> None:
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16]}
        models:
          - {name: g, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 0.0,
             preset: paper, budget: 400}
        """,
    )
    result = repo.runpytest("-W", "default")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*note: preset 'paper' with population 400 runs no DE generation at budget 400*"
            "least 800; Su et al. ran up to 100 generations (40,400 queries per image)*",
            "*OnePixelWarning: preset 'paper' with population 400 runs no DE generation*",
            "note (g): preset 'paper'*",
        ]
    )
