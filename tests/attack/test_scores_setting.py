"""`scores`: what the model's outputs are. Sigmoid (multi-label) rows are refused unless told,
`probabilities` keep the model's own numbers in the records, `logits` are softmaxed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LinearModel

from pytest_onepixel import ModelOutputError, attack

RNG = np.random.default_rng(3)
IMAGES = RNG.integers(0, 17, size=(12, 6, 6)).astype(np.uint8)
LINEAR = LinearModel((6, 6), classes=4, seed=2)
LINEAR.scale = 1 / 16
LABELS = LINEAR(IMAGES.astype(np.float32)).argmax(axis=1)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def sigmoid(batch: np.ndarray) -> np.ndarray:
    """A multi-label head: one independent sigmoid per class (rows do not sum to 1)."""
    return 1 / (1 + np.exp(-LINEAR(batch)))


def tempered_softmax(batch: np.ndarray) -> np.ndarray:
    """Probabilities a softmax of them would change (softmax(p) != p)."""
    return softmax(LINEAR(batch) * 3)


def adversarial_scores(result, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the records' confidences, the model's own score of the predicted class and its raw rows
    for the stored adversarial images)."""
    _, images = result.adversarial_images()
    records = [r for r in result.records if r.success]
    raw = np.asarray(model(np.asarray(images, dtype=np.float32)))
    reported = np.array([r.adversarial_confidence for r in records])
    predicted = np.array([r.adversarial_label for r in records])
    return reported, raw[np.arange(len(raw)), predicted], raw


def test_sigmoid_rows_are_refused_with_the_setting_to_use() -> None:
    with pytest.raises(ModelOutputError) as refused:
        attack(sigmoid, IMAGES, LABELS, budget=20)
    message = str(refused.value)
    assert "lie in [0, 1] but do not sum to 1" in message
    assert "`scores: logits`" in message and "`scores: probabilities`" in message
    assert "multi-label" in message


def test_probabilities_keep_the_models_numbers() -> None:
    result = attack(tempered_softmax, IMAGES, LABELS, budget=60, scores="probabilities")
    assert result.successes >= 2
    reported, given, _ = adversarial_scores(result, tempered_softmax)
    np.testing.assert_allclose(reported, given, rtol=1e-6)


def test_probabilities_that_do_not_sum_to_one_are_an_error() -> None:
    with pytest.raises(ModelOutputError, match=r"`scores: probabilities` was set.*sums to"):
        attack(sigmoid, IMAGES, LABELS, budget=20, scores="probabilities")


def test_logits_are_softmaxed_even_inside_zero_one() -> None:
    result = attack(sigmoid, IMAGES, LABELS, budget=60, scores="logits")
    assert result.successes >= 1
    reported, _, raw = adversarial_scores(result, sigmoid)
    expected = softmax(raw.astype(np.float64)).max(axis=1)
    np.testing.assert_allclose(reported, expected, rtol=1e-6)
    assert (reported < 0.5).all()  # a softmax over 4 sigmoid outputs, not the sigmoid itself


def test_a_bad_scores_value_names_the_keyword() -> None:
    with pytest.raises(ValueError, match=r"attack\(scores=...\): 'scores' must be one of logits"):
        attack(sigmoid, IMAGES, LABELS, scores="softmax")
