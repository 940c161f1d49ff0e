"""Calling the model and turning what it returns into validated class probabilities.

The engine accepts any callable that maps a float32 batch to class scores: logits or
probabilities, as the `scores` setting says. Told nothing (`scores=None`), each row is read on
its own, so an image's result does not depend on which other images share its batch:

- entries in [0, 1] summing to 1: probabilities, kept as the model gave them;
- an entry outside [0, 1]: logits, passed through a softmax (and from then on the model is
  known to give logits);
- entries all in [0, 1] not summing to 1 (and not all equal), from a model not yet seen
  giving logits: sigmoid (multi-label) outputs, or logits that happen to lie in [0, 1]. A
  softmax would report confidences the model never gave (0.17 where it said 0.97), so these
  are refused and the error asks for `scores: logits` or `scores: probabilities`.

`scores="probabilities"` requires every row to be a probability vector and keeps it;
`scores="logits"` softmaxes every row.

This runs on every batch the search sends, so a batch is read once (`Rows`: each row's lowest
and highest entry answer the finiteness check, the [0, 1] test and the softmax's shift) and
only the rows that are logits are softmaxed; the probabilities are the same bits as a plain
row-by-row reading (tests/engine/test_per_query_bits.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ModelCallError, ModelOutputError, OnePixelError
from ..importing import first_line

ModelFn = Callable[[np.ndarray], object]

_SUM_TOLERANCE = 1e-4
SCORE_KINDS = ("logits", "probabilities")


class ScoreFunction:
    """Wraps a model: checks every output and returns probabilities as float64 (n, classes).

    `scores` says what the model returns ("logits", "probabilities", or None: told from the
    rows, see the module docstring); `description` names the model in error messages.
    """

    def __init__(
        self, model: ModelFn, scores: str | None = None, description: str = "the model"
    ) -> None:
        if scores not in (None, *SCORE_KINDS):
            raise ValueError(f"scores must be None, 'logits' or 'probabilities'; got {scores!r}")
        self._model = model
        self.scores = scores
        self.description = description
        self.num_classes: int | None = None
        self.answered = 0  # batches the model has scored without raising
        self.seen_logits = scores == "logits"  # a row proved the outputs are logits

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        try:
            raw = self._model(batch)
        except OnePixelError:
            raise
        except Exception as error:
            raise ModelCallError(self._call_failed_text(error, batch.shape)) from error
        self.answered += 1
        scores = _as_array(raw)
        self._check_shape(scores, batch.shape)
        rows = Rows.of(scores)
        if not rows.finite:
            bad = int((~np.isfinite(scores)).any(axis=1).sum())
            raise ModelOutputError(
                f"{self.description} returned non-finite scores (NaN or inf) for {bad} of "
                f"{len(scores)} images. Check its weights and that the inputs are in the range "
                "it expects (`pixel_range`, `preprocess`)."
            )
        if self.scores is None and not self.seen_logits:  # a row outside [0, 1] proves logits
            self.seen_logits = not rows.in_unit.all()
        return rows.probabilities(self.scores, self.description, logits_seen=self.seen_logits)

    def _check_shape(self, scores: np.ndarray, shape: tuple[int, ...]) -> None:
        n = shape[0]
        if scores.ndim != 2 or scores.shape[0] != n:
            raise ModelOutputError(
                f"the model must return class scores of shape (batch, classes); for a batch of "
                f"{n} images of shape {shape[1:]} {self.description} returned shape "
                f"{scores.shape}. Return one row of logits or probabilities per image."
            )
        if self.num_classes is None:
            if scores.shape[1] < 2:
                raise ModelOutputError(
                    f"the model must score at least 2 classes; {self.description} returned "
                    f"{scores.shape[1]} column(s) per image. A binary model with one sigmoid "
                    "output needs both columns: return np.stack([1 - p, p], axis=1)."
                )
            self.num_classes = scores.shape[1]
        elif scores.shape[1] != self.num_classes:
            raise ModelOutputError(
                f"{self.description} returned {scores.shape[1]} classes for one batch after "
                f"{self.num_classes} for an earlier one; it must always score the same classes."
            )

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


def softmax(scores: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
    """A numerically stable softmax of each row (float64); `high`: each row's maximum, when
    already known."""
    if high is None:
        high = scores.max(axis=1)
    shifted = np.asarray(scores - high[:, None], dtype=np.float64)  # one array, used in place
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def to_probabilities(
    scores: np.ndarray,
    kind: str | None = None,
    description: str = "the model",
    *,
    logits_seen: bool = False,
) -> np.ndarray:
    """One batch of finite scores as float64 class probabilities, read as `kind` says (see
    the module docstring); `logits_seen`: the model is known to give logits, so rows in [0, 1]
    that do not sum to 1 are logits too."""
    return Rows.of(scores).probabilities(kind, description, logits_seen=logits_seen)


class Rows:
    """One batch of scores as float64 with each row's lowest and highest entry, found once:
    they answer the finiteness check, the [0, 1] test and the softmax's shift alike.

    A model's scores are a narrow (n, classes) array, and numpy reduces a short last axis
    row by row (~10 us for 256 x 10); the columns of a transposed copy reduce elementwise
    (~1 us). Minimum and maximum are exact in any order, so the results are the same bits;
    sums, which depend on the order, stay with numpy's own row sums.
    """

    #: Up to this many classes the transposed copy pays (measured: 1.4 against 9.8 us at 10
    #: classes, 7 against 17 at 100, 81 against 65 at 1000).
    NARROW = 128

    def __init__(
        self, values: np.ndarray, low: np.ndarray, high: np.ndarray, tolerance: float
    ) -> None:
        self.values, self.low, self.high, self.tolerance = values, low, high, tolerance
        self.finite = bool(np.isfinite(low).all() and np.isfinite(high).all())  # NaN spreads
        self.in_unit = (low >= 0) & (high <= 1)

    @classmethod
    def of(cls, scores: np.ndarray) -> Rows:
        """`scores` (finite or not) read once; "sums to 1" will allow for the output's own
        precision (a float16 softmax is often 1e-3 off)."""
        tolerance = 1e-2 if scores.dtype == np.float16 else _SUM_TOLERANCE
        values = scores.astype(np.float64, copy=False)
        if values.shape[1] <= cls.NARROW:
            columns = np.ascontiguousarray(values.T)
            return cls(values, columns.min(axis=0), columns.max(axis=0), tolerance)
        return cls(values, values.min(axis=1), values.max(axis=1), tolerance)

    def probabilities(
        self, kind: str | None, description: str, *, logits_seen: bool = False
    ) -> np.ndarray:
        """The rows as probabilities, read as `kind` says (the module docstring)."""
        values = self.values
        if kind == "logits" or (kind is None and not self.in_unit.any()):
            return softmax(values, self.high)  # every row is logits
        sums = values.sum(axis=1)
        is_probability = self.in_unit & (np.abs(sums - 1) <= self.tolerance)
        if kind == "probabilities":
            if not is_probability.all():
                raise ModelOutputError(_not_probabilities_text(description, values, is_probability))
            return values
        # A constant row (a blank image through a linear model scores all zeros) says nothing
        # either way, and every reading of it ranks the classes alike: it is softmaxed.
        constant = self.high == self.low
        ambiguous = self.in_unit & ~is_probability & ~constant
        logits_seen = logits_seen or not self.in_unit.all()  # a row outside [0, 1] proves logits
        if ambiguous.any() and not logits_seen:
            raise ModelOutputError(_ambiguous_text(description, values[ambiguous]))
        out = values.copy()
        logits = ~is_probability  # softmaxed row by row: the same bits as in a whole batch
        if logits.any():
            out[logits] = softmax(values[logits], self.high[logits])
        return out


def _ambiguous_text(description: str, rows: np.ndarray) -> str:
    example = ", ".join(f"{value:.3g}" for value in rows[0][:6])
    more = ", ..." if rows.shape[1] > 6 else ""
    return (
        f"{description} returned scores that are neither logits nor probabilities it can tell "
        f"apart: {len(rows)} row(s) lie in [0, 1] but do not sum to 1 (e.g. [{example}{more}], "
        f"sum {rows[0].sum():.3g}). These are sigmoid (multi-label) outputs, or logits that "
        "happen to lie in [0, 1]. Say which with `scores: logits` (softmaxed) or "
        "`scores: probabilities` (rows must sum to 1) in the gate's YAML entry, marker or "
        "check() (attack(scores=...)). A multi-label model, one independent yes/no per class, "
        "is not what the gate measures: it attacks the one class a classifier predicts."
    )


def _not_probabilities_text(description: str, scores: np.ndarray, ok: np.ndarray) -> str:
    sums = scores.sum(axis=1)
    first = int(np.flatnonzero(~ok)[0])
    low, high = float(scores[first].min()), float(scores[first].max())
    return (
        f"`scores: probabilities` was set, but {description} returned rows that are not "
        f"probabilities: row {first} sums to {sums[first]:.4g} with entries from {low:.3g} to "
        f"{high:.3g} (each row must lie in [0, 1] and sum to 1 within {_SUM_TOLERANCE:g}). "
        "If the model returns logits, set `scores: logits`; a multi-label (sigmoid) model is "
        "not what the gate measures."
    )


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
