"""Calling the model and turning what it returns into validated class probabilities.

The engine accepts any callable that maps a float32 batch to class scores. Models differ in
whether they end in a softmax, so each row is taken as probabilities when it already is one
(entries in [0, 1] summing to 1) and passed through a softmax otherwise. Deciding per row keeps an
image's result independent of which other images share its batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ModelCallError, ModelOutputError, OnePixelError
from ..importing import first_line

ModelFn = Callable[[np.ndarray], object]

_SUM_TOLERANCE = 1e-4


class ScoreFunction:
    """Wraps a model: checks every output and returns probabilities as float64 (n, classes)."""

    def __init__(self, model: ModelFn) -> None:
        self._model = model
        self.num_classes: int | None = None
        self.answered = 0  # batches the model has scored without raising

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        try:
            raw = self._model(batch)
        except OnePixelError:
            raise
        except Exception as error:
            raise ModelCallError(self._call_failed_text(error, batch.shape)) from error
        self.answered += 1
        scores = _as_array(raw)
        n = batch.shape[0]
        if scores.ndim != 2 or scores.shape[0] != n:
            raise ModelOutputError(
                f"the model must return class scores of shape (batch, classes); for a batch of "
                f"{n} images of shape {batch.shape[1:]} it returned shape {scores.shape}. "
                "Return one row of logits or probabilities per image."
            )
        if self.num_classes is None:
            if scores.shape[1] < 2:
                raise ModelOutputError(
                    f"the model must score at least 2 classes; it returned {scores.shape[1]} "
                    "column(s) per image. A binary model with one sigmoid output needs both "
                    "columns: return np.stack([1 - p, p], axis=1)."
                )
            self.num_classes = scores.shape[1]
        elif scores.shape[1] != self.num_classes:
            raise ModelOutputError(
                f"the model returned {scores.shape[1]} classes for one batch after "
                f"{self.num_classes} for an earlier one; it must always score the same classes."
            )
        if not np.isfinite(scores).all():
            bad = int((~np.isfinite(scores)).any(axis=1).sum())
            raise ModelOutputError(
                f"the model returned non-finite scores (NaN or inf) for {bad} of {n} images. "
                "Check its weights and that the inputs are in the range it expects."
            )
        return to_probabilities(scores)

    def _call_failed_text(self, error: Exception, shape: tuple[int, ...]) -> str:
        """A model that fails on its first batch most often does not take this input (layout,
        channels, size, preprocessing); one that answered earlier batches of the same images
        fails for another reason, and saying "layout" would mislead."""
        raised = f"the model raised {first_line(error)} on a float32 batch of shape {shape}"
        if self.answered:
            return (
                f"{raised} after answering {self.answered} earlier batch(es) of the same images, "
                "so it does take this input: it failed on this batch (out of memory? a limit on "
                "the batch size? a bug in forward() for some inputs?). Try a smaller max_batch."
            )
        return (
            f"{raised}. Check that `layout`, the channel count and the image size are the ones "
            "the model takes, and its preprocessing (scale, mean, std)."
        )


def to_probabilities(scores: np.ndarray) -> np.ndarray:
    """Rows that are already probability vectors stay; the others get a stable softmax.

    "Sums to 1" allows for the output's own precision: a float16 softmax is often 1e-3 off.
    """
    tolerance = _SUM_TOLERANCE
    if scores.dtype == np.float16:
        tolerance = 1e-2
    scores = scores.astype(np.float64, copy=False)
    is_probability = (
        (scores >= 0).all(axis=1)
        & (scores <= 1).all(axis=1)
        & (np.abs(scores.sum(axis=1) - 1) <= tolerance)
    )
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    softmax = shifted / shifted.sum(axis=1, keepdims=True)
    return np.where(is_probability[:, None], scores, softmax)


def _as_array(raw: object) -> np.ndarray:
    hint = "Return a numpy array (or a CPU tensor without grad) of class scores."
    try:
        scores = np.asarray(raw)
    except Exception as error:
        raise ModelOutputError(
            f"the model returned a {type(raw).__name__} that cannot be read as an array "
            f"({error}). {hint}"
        ) from None
    if scores.dtype.kind not in "iuf":
        raise ModelOutputError(
            f"the model returned a {type(raw).__name__} of dtype {scores.dtype}, not numbers. "
            f"{hint}"
        )
    return scores
