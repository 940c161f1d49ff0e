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


@pytest.mark.skipif(pytest.version_tuple < (9,), reason="[tool.pytest] is pytest 9's")
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
        (
            g["settings"]["budget"],
            g["full"],
            g["settings"]["max_batch"],
            g["measured"]["batch"]["size"],
        )
        for g in gates
    } == {(20, True, 5, 5)}  # a cap off the ladder of timed sizes: only 5 is timed


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


def test_a_reports_settings_pasted_as_a_gate_give_the_same_records(repo) -> None:
    """`settings` hold exactly what was asked: every value is a valid YAML input, and the same
    entry (with the gate's name, model and data) reproduces the records."""
    import yaml

    write_gates(
        repo,
        """\
        models:
          - name: asked
            model: models/tiny.onnx
            data: data/holdout.npz
            max_success_rate: 1.0
            max_success_rate_at: {10: 1.0}
            samples: 16
            budget: 30
            seed: 2
            pixels: 2
            popsize: 6
            preset: continuous
            gate: strict
            confidence: 0.9
            max_batch: 4096
            pixel_range: [0, 16]
            stratified: true
            examples: 3
        """,
    )
    repo.runpytest("--onepixel-report=first.json").assert_outcomes(passed=1)
    first = json.loads((repo.path / "first.json").read_text())["gates"][0]
    # as asked, whatever batch was measured (it never exceeds the candidates in flight)
    assert first["settings"]["max_batch"] == 4096 > first["measured"]["batch"]["size"]
    assert "generations" not in first["settings"] and first["measured"]["generations"] == 4
    entry = {"name": "pasted", "model": "models/tiny.onnx", "data": "data/holdout.npz"}
    document = {"models": [{**entry, **first["settings"]}]}
    (repo.path / "onepixel.yaml").write_text(yaml.safe_dump(document))
    repo.runpytest("--onepixel-report=second.json").assert_outcomes(passed=1)
    second = json.loads((repo.path / "second.json").read_text())["gates"][0]
    assert second["settings"] == first["settings"]
    assert second["records"] == first["records"]
    assert second["measured"]["popsize"] == 6 and second["measured"]["preset"] == "continuous"


def test_attack_builds_the_same_settings_object_as_a_gate() -> None:
    """attack()'s keywords become the GateSettings a gate builds from its layers."""
    import numpy as np

    from pytest_onepixel import attack
    from pytest_onepixel.settings.gate_settings import GateSettings
    from pytest_onepixel.settings.layers import Layers

    images = np.random.default_rng(0).integers(0, 17, size=(4, 1, 4, 4)).astype(np.uint8)
    result = attack(lambda b: b.reshape(len(b), -1)[:, :2], images, [0, 0, 0, 0], budget=8,
                    seed=3, pixel_range=(0, 16), max_batch=4)  # fmt: skip
    layers = Layers(entry={"budget": 8, "seed": 3, "pixel_range": (0.0, 16.0), "max_batch": 4})
    assert (
        result.settings
        == layers.settings()
        == GateSettings(budget=8, seed=3, pixel_range=(0.0, 16.0), max_batch=4)
    )
    assert result.settings.max_batch == 4 and result.measured.batch["size"] <= 4


def test_an_unknown_marker_key_fails_the_test_at_setup_even_without_check(pytester) -> None:
    pytester.makepyfile(
        test_marked="""
        import pytest

        @pytest.mark.onepixel(max_succes_rate=0.2)
        def test_forgets_to_check():
            pass

        @pytest.mark.onepixel(max_success_rate=0.2)
        def test_fine():
            pass
        """
    )
    result = pytester.runpytest("-rN")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*test_forgets_to_check*@pytest.mark.onepixel(max_succes_rate=...): unknown key "
         "'max_succes_rate'; did you mean 'max_success_rate'?*"]
    )  # fmt: skip
    assert "Traceback" not in result.stdout.str()


def test_the_log_says_what_the_gates_run_with(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--onepixel-budget=12", "--onepixel-report=r.json")
    header = "onepixel: budget 12, seed 0, executor local, cache use, report *r.json"
    result.stdout.fnmatch_lines(["collected 2 items", header])
    ini = repo.runpytest("-o", "onepixel_seed=7", "--onepixel-cache=off")
    ini.stdout.fnmatch_lines(["onepixel: budget 400, seed 7, executor local, cache off"])


def test_no_header_line_without_gates(pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "onepixel:" not in result.stdout.str()
