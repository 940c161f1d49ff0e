"""Each user mistake raises a OnePixelError subclass saying what was expected and what was found."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LinearModel

from pytest_onepixel import InputError, ModelCallError, ModelOutputError, OnePixelError, attack

IMAGES = np.zeros((3, 4, 4), dtype=np.uint8)
LABELS = np.zeros(3, dtype=int)


def model(batch: np.ndarray) -> np.ndarray:
    return np.tile([2.0, 1.0, 0.0], (len(batch), 1))


@pytest.mark.parametrize(
    ("images", "labels", "options", "message"),
    [
        (np.zeros((4, 4), np.uint8), LABELS, {}, r"shape \(N, C, H, W\).*rank 2"),
        (np.zeros((1, 1, 1, 4, 4), np.uint8), LABELS, {}, r"found an array of rank 5"),
        (np.zeros((0, 4, 4), np.uint8), LABELS, {}, r"images is empty"),
        (IMAGES.astype(bool), LABELS, {}, r"integer or float pixels; found dtype bool"),
        (IMAGES.astype(np.float32) + 2, LABELS, {}, r"pixel_range \(0, 1\).*from 2 to 2"),
        (
            IMAGES,
            LABELS,
            {"layout": "CHW"},
            r"attack\(layout=...\): 'layout' must be one of NCHW, NHWC; found 'CHW'",
        ),
        (
            IMAGES,
            LABELS,
            {"pixel_range": (1, 0)},
            r"'pixel_range' must be .*low < high; found \(1, 0\)",
        ),
        (
            IMAGES,
            LABELS[:2],
            {},
            r"labels must hold one integer per image: 3 values; found shape",
        ),
        (IMAGES, [0.5, 0, 0], {}, r"labels must be integers; found dtype float64"),
        (IMAGES, [0, 3, 0], {}, r"labels must lie in 0..2 .* found 3 at position 1"),
        (IMAGES, [0, -1, 0], {}, r"labels must lie in 0..2"),
        (IMAGES, LABELS, {"targets": [0, 9, 1]}, r"targets must lie in 0..2 .* found 9"),
        (IMAGES, LABELS, {"targets": [0, 1]}, r"targets must hold one integer per image"),
        (IMAGES, LABELS, {"budget": 0}, r"'budget' must be an integer >= 1; found 0"),
        (IMAGES, LABELS, {"budget": 2.5}, r"'budget' must be an integer >= 1; found 2.5"),
        (IMAGES, LABELS, {"pixels": 0}, r"'pixels' must be an integer >= 1; found 0"),
        (IMAGES, LABELS, {"pixels": 17}, r"pixels must be at most the 16 pixels"),
        (IMAGES, LABELS, {"max_batch": 0}, r"'max_batch' must be an integer >= 1"),
        (IMAGES, LABELS, {"popsize": 3}, r"'popsize' must be an integer >= 4"),
        (IMAGES, LABELS, {"seed": -1}, r"'seed' must be an integer >= 0"),
        (
            IMAGES,
            LABELS,
            {"preset": "fast"},
            r"'preset' must be one of paper, default, blackbox, continuous; found 'fast'",
        ),
        (IMAGES, LABELS, {"indices": [1, 1, 2]}, r"indices must be distinct non-negative"),
        (IMAGES, LABELS, {"indices": [0, -1, 2]}, r"indices must be distinct non-negative"),
        (IMAGES, LABELS, {"pixel_range": (0, 256)}, r"does not fit the images' dtype uint8"),
    ],
)
def test_bad_arguments_raise_input_error(images, labels, options, message) -> None:
    with pytest.raises(InputError, match=message):
        attack(model, images, labels, **options)


@pytest.mark.parametrize(
    ("bad_model", "message"),
    [
        (lambda b: np.zeros(len(b)), r"shape \(batch, classes\).*returned shape \(3,\)"),
        (lambda b: np.zeros((len(b) + 1, 3)), r"batch of 3 images.*returned shape \(4, 3\)"),
        (lambda b: np.zeros((len(b), 1)), r"at least 2 classes"),
        (lambda b: np.full((len(b), 3), np.nan), r"non-finite scores \(NaN or inf\) for 3 of 3"),
        (lambda b: [[object()]] * len(b), r"of dtype object, not numbers"),
    ],
)
def test_bad_model_output_raises_model_output_error(bad_model, message) -> None:
    with pytest.raises(ModelOutputError, match=message):
        attack(bad_model, IMAGES, LABELS)


def test_a_model_that_changes_its_class_count_is_caught() -> None:
    calls = []

    def shifty(batch: np.ndarray) -> np.ndarray:
        calls.append(1)
        return np.tile([2.0, 1.0, 0.0] + [0.0] * (len(calls) > 1), (len(batch), 1))

    with pytest.raises(ModelOutputError, match=r"returned 4 classes .* after 3"):
        attack(shifty, IMAGES, LABELS, budget=10)


def test_infinite_scores_during_the_search_are_caught() -> None:
    linear = LinearModel((4, 4), classes=3)

    def explodes_on_change(batch: np.ndarray) -> np.ndarray:
        scores = linear(batch)
        scores[batch.reshape(len(batch), -1).any(axis=1)] = np.inf
        return scores

    labels = linear(IMAGES.astype(np.float32)).argmax(axis=1)
    with pytest.raises(ModelOutputError, match="non-finite"):
        attack(explodes_on_change, IMAGES, labels, budget=10)


def test_all_errors_share_the_base_class() -> None:
    assert issubclass(InputError, OnePixelError) and issubclass(ModelOutputError, OnePixelError)


@pytest.mark.parametrize(
    "options",
    [{"mutation": 0.0}, {"crossover": 1.5}, {"extreme_fraction": -0.1}, {"popsize": 2}],
)
def test_out_of_range_preset_is_refused(options) -> None:
    from pytest_onepixel import Preset

    with pytest.raises(InputError, match=f"Preset 'mine': {next(iter(options))}="):
        Preset("mine", **{"popsize": None, **options})


def test_a_model_failing_after_earlier_answers_is_not_blamed_on_layout() -> None:
    """The first batches went through, so the input fits: the message says so and suggests a
    smaller max_batch instead of checking `layout`."""
    calls = []

    def flaky(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        if len(calls) > 3:
            raise MemoryError("cannot allocate 3 GB")
        return np.tile([5.0, 0.0], (len(batch), 1))

    with pytest.raises(ModelCallError) as failed:
        attack(flaky, IMAGES, np.zeros(len(IMAGES), dtype=int), budget=10)
    message = str(failed.value)
    assert "after answering 3 earlier batch(es)" in message and "max_batch" in message
    assert "layout" not in message


def test_non_finite_scores_name_the_model() -> None:
    def broken_head(batch: np.ndarray) -> np.ndarray:
        return np.full((len(batch), 3), np.nan)

    with pytest.raises(ModelOutputError, match=r"callable .*broken_head returned non-finite"):
        attack(broken_head, IMAGES, LABELS)
