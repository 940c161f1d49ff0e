"""The marker and `onepixel` fixture for gates written in Python, and a light plugin start-up."""

from __future__ import annotations

import pytest
from conftest import CHECK_PREAMBLE

pytestmark = pytest.mark.smoke  # CI's lowest-versions job runs this file

TEST_FILE = (
    CHECK_PREAMBLE
    + """
@pytest.mark.onepixel(max_success_rate=1.0, budget=30, samples=10)
def test_robust_enough(onepixel):
    result = onepixel.check(model, IMAGES, LABELS, pixel_range=(0, 16))
    # samples=10 in the marker draws 10 of the 30 images passed (their indices name them)
    assert len(result.records) == 10 and result.settings.budget == 30
    assert len({r.index for r in result.records}) == 10

@pytest.mark.onepixel(max_success_rate=0.0, budget=30)
def test_too_fragile(onepixel):
    onepixel.check(model, IMAGES, LABELS, pixel_range=(0, 16))
    raise AssertionError("check() should have failed this test")

@pytest.mark.onepixel(max_success_rate=1.0)
def test_bad_option(onepixel):
    onepixel.check(model, IMAGES, LABELS, pixel_range=(0, 16), budgett=3)
"""
)


def test_marker_and_fixture_pass_and_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gates=TEST_FILE)
    result = pytester.runpytest("--strict-markers", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*onepixel gate 'test_too_fragile' FAILED (point mode):",
            "*- success rate * [[]*, *[]] over the * images attacked: the full run fails "
            "threshold 0.000 in point mode whatever the other * images do",
            "*images:*attacked of 30 sampled*",
            "*queries:*(budget 30 per image*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*test_gates.py::test_bad_option: onepixel.check(budgett=...): "
            "unknown key 'budgett'; did you mean 'budget'?"
        ]
    )
    result.stdout.fnmatch_lines(
        ["*= onepixel gates =*", "test_robust_enough * pass *", "test_too_fragile * FAIL *"]
    )
    assert "should have failed" not in result.stdout.str()
    assert "onepixel_success_rate" in (pytester.path / "junit.xml").read_text()


def test_cli_beats_marker_in_python_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_gates=TEST_FILE)
    result = pytester.runpytest("-k", "fragile", "--onepixel-max-success-rate=1.0")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: check() should have failed this test*"])


def test_marker_with_positional_arguments_is_explained(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import numpy as np, pytest
        @pytest.mark.onepixel(0.3)
        def test_it(onepixel):
            onepixel.check(lambda b: np.zeros((len(b), 2)), np.zeros((2, 4, 4)), [0, 0])
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*@pytest.mark.onepixel takes keyword arguments only*"])


def test_startup_imports_neither_torch_nor_onnxruntime(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys
        def test_light():
            assert "pytest_onepixel.plugin" in sys.modules
            heavy = [m for m in ("torch", "onnxruntime") if m in sys.modules]
            assert heavy == []
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_two_checks_in_one_test_are_two_gates(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gates=TEST_FILE.split("@pytest.mark.onepixel(max_success_rate=0.0")[0]
        + """
@pytest.mark.onepixel(max_success_rate=1.0, budget=20)
def test_twice(onepixel):
    onepixel.check(model, IMAGES, LABELS, pixel_range=(0, 16))
    onepixel.check(model, IMAGES[:20], LABELS[:20], pixel_range=(0, 16))
"""
    )
    result = pytester.runpytest("-k", "twice", "--onepixel-report=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["test_twice  *pass*", "test_twice#2  *pass*"])


def test_a_failing_check_still_gives_the_test_its_result(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_access="""
        import numpy as np
        import pytest

        IMAGES = np.full((6, 1, 4, 4), 200, np.uint8)

        def model(batch):
            bright = batch[:, 0, 1, 2] > 100
            return np.stack([bright, ~bright], axis=1).astype(np.float32) * 5

        @pytest.mark.onepixel(max_success_rate=0.0, budget=100)
        def test_inspect(onepixel):
            with pytest.raises(pytest.fail.Exception) as failed:
                onepixel.check(model, IMAGES, np.zeros(6, int))
            assert failed.value.result.successes == 6
            assert onepixel.last_result is failed.value.result
            indices, adversarial = onepixel.last_result.adversarial_images()
            assert (adversarial[:, 0, 1, 2] <= 100).all()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_records_from_an_image_folder_name_their_files(pytester: pytest.Pytester) -> None:
    import numpy as np
    from PIL import Image

    for label in ("cat", "dog"):
        (pytester.path / "images" / label).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((6, 6, 3), 40 * i + (100 if label == "dog" else 0), np.uint8)
            Image.fromarray(pixels).save(pytester.path / "images" / label / f"{label}{i}.png")
    pytester.makepyfile(
        test_folder="""
        import numpy as np
        import pytest
        from pytest_onepixel import load_data, sample

        def model(batch):
            mean = batch.reshape(len(batch), -1).mean(axis=1)
            return np.stack([200 - mean, mean], axis=1) / 50

        def test_files():
            from pytest_onepixel.gate.run import GateRequest, run_gate
            from pytest_onepixel.settings.layers import Layers

            layers = Layers(entry={"data": "images", "max_success_rate": 1.0, "budget": 20,
                                   "samples": 6})
            run = run_gate(GateRequest("g", layers.settings(), model, source=layers.source()))
            assert {r.file for r in run.result.records} == {
                f"{label}/{label}{i}.png" for label in ("cat", "dog") for i in range(3)
            }
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
