"""How ScoreFunction reads a model's rows: probabilities kept, logits softmaxed, rows in [0, 1]
that do not sum to 1 refused until the model is known to give logits (or `scores` says)."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_onepixel import ModelOutputError
from pytest_onepixel.engine.scoring import ScoreFunction, softmax

BATCH = np.zeros((2, 1, 2, 2), np.float32)


def scorer(*batches: list[list[float]], scores: str | None = None) -> ScoreFunction:
    """A ScoreFunction over a model returning `batches` in turn."""
    answers = iter(np.array(b) for b in batches)
    return ScoreFunction(lambda batch: next(answers), scores, "model.onnx")


def test_probability_rows_are_kept_and_logit_rows_softmaxed() -> None:
    rows = [[0.2, 0.8], [3.0, -1.0]]
    read = scorer(rows)(BATCH)
    np.testing.assert_array_equal(read[0], [0.2, 0.8])
    np.testing.assert_allclose(read[1], softmax(np.array([[3.0, -1.0]]))[0])


def test_sigmoid_rows_are_refused_naming_the_model_and_the_setting() -> None:
    with pytest.raises(ModelOutputError, match=r"model.onnx returned .*`scores: logits`"):
        scorer([[0.9, 0.7], [0.2, 0.95]])(BATCH)


def test_rows_in_zero_one_are_logits_once_the_model_gave_logits() -> None:
    read = scorer([[3.0, -1.0], [0.5, 0.1]], [[0.9, 0.7], [0.2, 0.3]])
    read(BATCH)
    np.testing.assert_allclose(read(BATCH), softmax(np.array([[0.9, 0.7], [0.2, 0.3]])))


def test_a_constant_row_is_not_evidence_either_way() -> None:
    np.testing.assert_allclose(scorer([[0.0, 0.0], [0.0, 0.0]])(BATCH), 0.5)


def test_logits_softmax_every_row_even_a_probability_vector() -> None:
    read = scorer([[0.2, 0.8], [0.9, 0.7]], scores="logits")(BATCH)
    np.testing.assert_allclose(read, softmax(np.array([[0.2, 0.8], [0.9, 0.7]])))


def test_probabilities_must_sum_to_one() -> None:
    np.testing.assert_array_equal(
        scorer([[0.2, 0.8], [1.0, 0.0]], scores="probabilities")(BATCH), [[0.2, 0.8], [1.0, 0.0]]
    )
    with pytest.raises(ModelOutputError, match=r"row 1 sums to 1.6"):
        scorer([[0.2, 0.8], [0.9, 0.7]], scores="probabilities")(BATCH)
    with pytest.raises(ModelOutputError, match=r"row 0 sums to 1 with entries from -1"):
        scorer([[2.0, -1.0], [0.5, 0.5]], scores="probabilities")(BATCH)


def test_float16_probabilities_get_float16_tolerance() -> None:
    half = np.array([[0.3, 0.7], [0.5, 0.5]], np.float16) * np.float16(1.003)
    read = ScoreFunction(lambda batch: half, "probabilities")(BATCH)
    np.testing.assert_allclose(read, half.astype(np.float64))


def test_nan_scores_name_the_model() -> None:
    with pytest.raises(ModelOutputError, match=r"model.onnx returned non-finite scores"):
        scorer([[np.nan, 0.0], [0.0, 1.0]])(BATCH)
