"""The plugin as users meet it: YAML gates, options, precedence, verdicts and reports."""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET

import pytest
from conftest import GATES, write_gates


@pytest.mark.smoke
def test_a_gate_under_its_threshold_passes_and_one_over_it_fails(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--onepixel-budget=40")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*onepixel gate 'tiny-fail' FAILED (point mode):",
            "*- success rate * [[]*, *[]] over the * images attacked: the full run fails "
            "threshold 0.000 in point mode whatever the other * images do",
            "*model:*ONNX tiny.onnx*",
            "*images:*attacked of 20 sampled (clean accuracy *",
            "*successes:* of * -> success rate *, 95% interval [[]*, *[]] (threshold 0.000)",
            "*queries:*(budget 40 per image, 1 pixel(s), seed 0)",
            "*most confident adversarial examples:",
            "*image *: * -> * (p=*) with pixel (*, *) = *",
            "*JSON report:  not written (add --onepixel-report PATH)",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "pytest_onepixel" not in result.stdout.str()


def test_items_are_named_by_gate_and_selectable_with_k(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["onepixel.yaml::tiny-pass", "onepixel.yaml::tiny-fail"])
    selected = repo.runpytest("-k", "pass", "--onepixel-budget=20")
    selected.assert_outcomes(passed=1)
    assert selected.ret == 0


def test_summary_table_has_a_row_per_gate(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--onepixel-budget=20")
    result.stdout.fnmatch_lines(
        [
            "*= onepixel gates =*",
            "gate *attacked*successes*rate*threshold*verdict*queries*s",
            "tiny-fail * 0.000 * FAIL *",
            "tiny-pass * 1.000 * pass *",
        ]
    )


def test_summary_table_under_xdist(repo) -> None:
    write_gates(repo)
    result = repo.runpytest_subprocess("-n", "2", "--onepixel-budget=20", "-p", "xdist")
    result.stdout.fnmatch_lines(
        ["*= onepixel gates =*", "tiny-fail * FAIL *", "tiny-pass * pass *"]
    )
    result.stdout.fnmatch_lines(["*1 failed, 1 passed*"])


def budget_used(repo: pytest.Pytester, *args: str) -> int:
    result = repo.runpytest("--onepixel-report=report.json", *args)
    result.assert_outcomes(passed=1)
    return json.loads((repo.path / "report.json").read_text())["gates"][0]["settings"]["budget"]


@pytest.mark.smoke
def test_precedence_cli_marker_entry_defaults_ini_builtin(repo) -> None:
    gate = (
        "  - {name: g, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0%s}\n"
    )
    head = "defaults: {samples: 4, pixel_range: [0, 16]%s}\nmodels:\n"
    write_gates(repo, head % "" + gate % "")
    assert budget_used(repo) == 400
    repo.makeini("[pytest]\nonepixel_budget = 30\n")
    assert budget_used(repo) == 30
    write_gates(repo, head % ", budget: 20" + gate % "")
    assert budget_used(repo) == 20
    write_gates(repo, head % ", budget: 20" + gate % ", budget: 10")
    assert budget_used(repo) == 10
    repo.makeconftest(
        """
        import pytest
        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.onepixel(budget=7))
        """
    )
    assert budget_used(repo) == 7
    assert budget_used(repo, "--onepixel-budget=5") == 5


def test_cli_threshold_overrides_every_gate(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--onepixel-budget=20", "--onepixel-max-success-rate=1.0")
    result.assert_outcomes(passed=2)


@pytest.mark.smoke
def test_ini_keys_set_report_and_samples(repo) -> None:
    write_gates(repo, GATES.replace("samples: 20, ", ""))
    repo.makeini(
        "[pytest]\nonepixel_report = out/r.json\nonepixel_samples = 8\nonepixel_budget = 10\n"
    )
    repo.runpytest().assert_outcomes(passed=1, failed=1)
    report = json.loads((repo.path / "out" / "r.json").read_text())
    assert [g["summary"]["sampled"] for g in report["gates"]] == [8, 8]


@pytest.mark.smoke
def test_json_report_content(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--onepixel-budget=20", "--onepixel-report=report.json")
    result.stdout.fnmatch_lines(["*JSON report:  *report.json"])
    report = json.loads((repo.path / "report.json").read_text())
    assert report["schema_version"] == 3
    assert report["pytest_onepixel_version"]
    assert report["options"]["budget"] == 20
    assert [g["nodeid"] for g in report["gates"]] == sorted(g["nodeid"] for g in report["gates"])
    first = next(gate for gate in report["gates"] if gate["name"] == "tiny-pass")
    assert first["nodeid"] == "onepixel.yaml::tiny-pass" and first["status"] == "passed"
    assert len(first["model"]["hash"]) == 64 and len(first["data"]["hash"]) == 64
    assert first["settings"]["budget"] == 20 and first["settings"]["samples"] == 20
    assert set(first["summary"]) >= {"attacked", "successes", "success_rate", "clean_accuracy"}
    assert len(first["records"]) == 20
    assert first["passed"] is True and report["gates"][0]["status"] == "failed"
    assert not list(repo.path.glob(".report.json.*")), "temp file left behind"


@pytest.mark.smoke
def test_junit_xml_carries_the_properties(repo) -> None:
    write_gates(repo)
    repo.runpytest("--onepixel-budget=20", "--junitxml=junit.xml")
    tree = ET.parse(repo.path / "junit.xml")
    names = {p.get("name") for p in tree.iter("property")}
    assert names >= {
        "onepixel_success_rate",
        "onepixel_threshold",
        "onepixel_attacked",
        "onepixel_successes",
    }


def test_onepixel_config_runs_one_named_file(repo) -> None:
    write_gates(repo, name="gates.yaml")
    write_gates(repo, GATES.replace("tiny-", "other-"))
    result = repo.runpytest("--onepixel-config=gates.yaml", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["gates.yaml::tiny-pass", "gates.yaml::tiny-fail"])
    assert "other-pass" not in result.stdout.str()


def test_files_pattern_is_configurable(repo) -> None:
    write_gates(repo, name="robustness.yaml")
    repo.makeini("[pytest]\nonepixel_files = robust*.yaml\n")
    result = repo.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["robustness.yaml::tiny-pass"])


def test_a_broken_gate_fails_alone_and_the_session_goes_on(repo) -> None:
    write_gates(
        repo,
        GATES + "  - {name: lost, model: models/missing.onnx, data: data/holdout.npz}\n",
    )
    result = repo.runpytest("--onepixel-budget=20", "--onepixel-max-success-rate=1.0")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*ONNX model file *missing.onnx does not exist*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "models:\n  - name: a\n    model: m.onnx\n    data: d.npz\n    budgt: 10\n",
            "*onepixel.yaml:5: models[[]0[]] 'a': unknown key 'budgt'; did you mean 'budget'?",
        ),
        (
            "models:\n  - name: a\n    model: m.onnx\n    data: d.npz\n    budget: ten\n",
            "*onepixel.yaml:5: models[[]0[]] 'a': 'budget' must be an integer >= 1; found 'ten'.",
        ),
        (
            "models:\n  - name: a\n    model: m.onnx\n",
            "*onepixel.yaml:2: models[[]0[]]: missing required key 'data'*",
        ),
        (
            "models:\n  - name: a\n    model: m.onnx\n    data: d.npz\n    pixel_range: 16\n",
            "*onepixel.yaml:5: *'pixel_range' must be a list [[]low, high[]]*; found 16.",
        ),
        (
            "models:\n  - name: a\n    model: m.onnx\n    data: {x: 1, y: y.npy}\n",
            "*onepixel.yaml:4: *'data' must be a path*{x: images.npy, y: labels.npy}*",
        ),
        (
            "models:\n  - name: a\n    model: m.onnx\n    data: d.npz\n"
            "    preprocess: {mean: abc}\n",
            "*onepixel.yaml:5: *'preprocess' must be a mapping whose mean is a number or a list*",
        ),
    ],
)
def test_entry_errors_name_file_line_and_key(repo, text, expected) -> None:
    write_gates(repo, text)
    result = repo.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([expected])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model:\n  - name: a\n", "*onepixel.yaml:1: unknown key 'model'; did you mean 'models'?"),
        (
            "defaults: {budget: 0}\nmodels: [{name: a}]\n",
            "*onepixel.yaml:1: defaults: 'budget' must be an integer >= 1; found 0.",
        ),
        ("models:\n  - name: [a\n", "*onepixel.yaml:3: not valid YAML*"),
        ("models: []\n", "*onepixel.yaml:1: `models` must be a non-empty list*"),
    ],
)
@pytest.mark.smoke
def test_file_errors_fail_the_files_one_item_naming_file_and_line(repo, text, expected) -> None:
    """A file that cannot be read is one failed item (not a collection error, which would stop
    every other gate): its message names the file and line."""
    write_gates(repo, text)
    write_gates(repo, name="onepixel_good.yaml")
    result = repo.runpytest("--onepixel-budget=10")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*_ onepixel gate: gate_file _*", expected])
    assert "Traceback" not in result.stdout.str()


def test_yaml_markers_are_applied(repo) -> None:
    write_gates(
        repo,
        GATES.replace(
            "    max_success_rate: 0.0\n", "    max_success_rate: 0.0\n    markers: [slow]\n"
        ),
    )
    repo.makeini("[pytest]\nmarkers =\n    slow: slow gates\n")
    result = repo.runpytest("-m", "not slow", "--onepixel-budget=20", "--strict-markers")
    result.assert_outcomes(passed=1)
    assert result.ret == 0


def test_unregistered_yaml_marker_under_strict_markers(repo) -> None:
    # A name no other test registers: pytest's `pytest.mark` remembers the markers an earlier
    # in-process run registered, so a common name would pass depending on the test order.
    entry = "    max_success_rate: 0.0\n"
    write_gates(repo, GATES.replace(entry, f"{entry}    markers: [never_registered]\n"))
    result = repo.runpytest("--strict-markers", "--onepixel-budget=20")
    result.stdout.fnmatch_lines(
        ["onepixel.yaml:11: gate 'tiny-fail': marker 'never_registered' is not registered*"]
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--onepixel-budget=0"],
            "*argument --onepixel-budget: must be an integer >= 1; found '0'*",
        ),
        (
            ["--onepixel-max-success-rate=2"],
            "*argument --onepixel-max-success-rate: must be a number between 0 and 1; found '2'*",
        ),
        (["--onepixel-config=nope.yaml"], "*--onepixel-config: no such file: *nope.yaml*"),
    ],
)
def test_bad_options_are_usage_errors(repo, args, expected) -> None:
    result = repo.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


def test_bad_ini_value_is_a_usage_error(repo) -> None:
    repo.makeini("[pytest]\nonepixel_budget = lots\n")
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini key onepixel_budget: 'budget' must be an integer >= 1; found 'lots'.*"]
    )


def test_gate_without_threshold_says_where_to_set_one(repo) -> None:
    write_gates(repo, "models:\n  - {name: a, model: models/tiny.onnx, data: data/holdout.npz}\n")
    result = repo.runpytest("--onepixel-budget=10")
    result.stdout.fnmatch_lines(["*gate 'a' has no max_success_rate: set it in its YAML entry*"])


def test_budget_400_gate_passes_under_and_fails_over_its_threshold(repo) -> None:
    write_gates(repo, GATES.replace("    max_success_rate: 0.0\n", "    max_success_rate: 0.1\n"))
    passing = repo.runpytest("--onepixel-budget=400", "-k", "pass")
    assert passing.ret == 0
    failing = repo.runpytest("--onepixel-budget=400", "-k", "fail")
    assert failing.ret == 1
    failing.stdout.fnmatch_lines(
        ["*- success rate *: the full run fails threshold 0.100 in point mode*"]
    )


def test_model_and_data_may_come_from_defaults(repo) -> None:
    write_gates(
        repo,
        "defaults: {model: models/tiny.onnx, data: data/holdout.npz, samples: 10, "
        "pixel_range: [0, 16], max_success_rate: 1.0}\nmodels:\n  - name: a\n  - name: b\n",
    )
    repo.runpytest("--onepixel-budget=10").assert_outcomes(passed=2)


def test_bad_compare_tolerance_in_ini_is_a_usage_error(repo) -> None:
    repo.makeini("[pytest]\nonepixel_compare_tolerance = 5%\n")
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini key onepixel_compare_tolerance: 'compare_tolerance' must be a rise *'5%'*"]
    )


def test_rgb_image_folder_feeds_an_nchw_model(pytester) -> None:
    """Image folders load as NHWC; a PyTorch-exported NCHW ONNX model still gets NCHW."""
    import numpy as np
    import torch
    from PIL import Image

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 5), torch.nn.Flatten()).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            net,
            (torch.zeros(1, 3, 5, 5),),
            str(pytester.path / "rgb.onnx"),
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        )
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (pytester.path / "data" / name).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, (5, 5, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(pytester.path / "data" / name / f"{i}.png")
    write_gates(
        pytester,
        "models:\n  - {name: rgb, model: rgb.onnx, data: data, samples: 8, "
        "max_success_rate: 1.0, min_clean_accuracy: 0}\n",
    )
    result = pytester.runpytest("--onepixel-budget=10", "--onepixel-report=r.json")
    result.assert_outcomes(passed=1)


def test_warnings_point_at_the_gate_not_the_plugin(repo) -> None:
    write_gates(repo, GATES.replace("samples: 20", "samples: 100"))
    result = repo.runpytest("--onepixel-budget=10", "-k", "pass")
    result.stdout.fnmatch_lines(
        ["*onepixel.yaml:3: OnePixelWarning: samples=100 is more than the 40 images*"]
    )
    assert "runner.py" not in result.stdout.str() and "session.py" not in result.stdout.str()
