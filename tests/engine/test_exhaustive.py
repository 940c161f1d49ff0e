"""`search: exhaustive`: every position x every corner colour for one pixel, an exact answer
that matches an independent brute force image by image, bounded by the budget."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from conftest import LinearModel, labelled_images, write_gates

from pytest_onepixel import InputError, attack
from pytest_onepixel.engine.operators import corner_colours


def test_corner_colours_worked_example() -> None:
    colours = corner_colours(3, (0, 255))
    assert colours.tolist() == [
        [0, 0, 0], [0, 0, 255], [0, 255, 0], [0, 255, 255],
        [255, 0, 0], [255, 0, 255], [255, 255, 0], [255, 255, 255],
    ]  # fmt: skip
    assert corner_colours(1, (0, 16)).tolist() == [[0], [16]]


def brute_force(model, images: np.ndarray, labels: np.ndarray, high: int):
    """For each NHWC image: whether any single pixel at any corner colour fools the model, and
    the 1-based number of the first such candidate in (row, col, colour) order."""
    _, height, width, channels = images.shape
    colours = list(itertools.product([0, high], repeat=channels))
    found = []
    for image, label in zip(images, labels, strict=True):
        first = None
        for number, (row, col, colour) in enumerate(
            itertools.product(range(height), range(width), colours), start=1
        ):
            copy = image.astype(np.float32).copy()
            copy[row, col] = colour
            if model(copy[None]).argmax() != label:
                first = number
                break
        found.append(first)
    return found


@pytest.mark.parametrize(("channels", "high"), [(1, 16), (3, 255)])
def test_exhaustive_matches_an_independent_brute_force(channels: int, high: int) -> None:
    rng = np.random.default_rng(4)
    images = rng.integers(0, high + 1, size=(25, 4, 5, channels)).astype(np.uint8)
    model = LinearModel(images.shape[1:], classes=3, seed=1)
    model.scale = 0.6 / high
    images, labels = labelled_images(model, images)
    space = 4 * 5 * 2**channels
    result = attack(
        model, images, labels, search="exhaustive", budget=space, popsize=7,
        pixel_range=(0, high), layout="NHWC",
    )  # fmt: skip
    expected = brute_force(model, images, labels, high)
    assert [r.first_success_query if r.success else None for r in result.records] == expected
    assert 0 < result.successes < len(images)  # a meaningful mix, not all or nothing
    assert all(r.queries <= space for r in result.records)
    assert all(r.queries == space for r in result.records if not r.success)
    assert result.settings.search == "exhaustive"


def test_records_do_not_depend_on_max_batch() -> None:
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(20, 3, 4, 4)).astype(np.uint8)
    model = LinearModel(images.shape[1:], classes=3, seed=3)
    model.scale = 1 / 255
    images, labels = labelled_images(model, images)
    runs = [
        attack(model, images, labels, search="exhaustive", budget=128, max_batch=size).records
        for size in (1, 7, 4096)
    ]
    assert runs[0] == runs[1] == runs[2]


def test_a_space_larger_than_the_budget_names_the_budget_needed() -> None:
    images = np.zeros((2, 3, 8, 8), np.uint8)
    with pytest.raises(InputError, match=r"8 x 8 positions x 8 colours = 512 .*at least 512"):
        attack(
            lambda b: np.tile([5.0, 0.0], (len(b), 1)),
            images,
            [0, 0],
            search="exhaustive",
            budget=400,
        )
    with pytest.raises(InputError, match="is for one pixel"):
        attack(
            lambda b: np.tile([5.0, 0.0], (len(b), 1)),
            images,
            [0, 0],
            search="exhaustive",
            budget=9000,
            pixels=2,
        )


def test_a_gate_says_exhaustive_in_the_table_and_report(repo) -> None:
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], max_success_rate: 1.0}
        models:
          - {name: exact, model: models/tiny.onnx, data: data/holdout.npz, search: exhaustive,
             budget: 72}
        """,
    )
    result = repo.runpytest("--onepixel-report=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["gate *search*", "exact * exhaustive * pass *"])
    gate = json.loads((repo.path / "r.json").read_text())["gates"][0]
    assert gate["settings"]["search"] == "exhaustive"
