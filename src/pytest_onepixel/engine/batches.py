"""Model queries on perturbed images, in chunks of at most `max_batch` through one buffer.

Memory is bounded by `max_batch` images whatever the number of candidates: each chunk is written
into the same preallocated float32 buffer and sent to the model; the search keeps only each
query's fitness and success, never a whole generation's class probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .pixels import ImageSet, PixelChanges
from .scoring import ScoreFunction

#: Batch size of the real model's consistency probe and clean pass, and of a twin's
#: verification: small enough for any model's memory (the search's batch is measured,
#: batch_size.py).
CHECK_BATCH = 32
#: Confirmations re-score each adversarial image alone, so its stored label and confidence are
#: a function of that image only: never of `max_batch`, of the images confirmed with it, or of
#: the executor (PyTorch's CPU kernels move scores in the 7th digit with the batch size).
CONFIRM_BATCH = 1


def check_batch(max_batch: int | None) -> int:
    """The check batch, never above the user's `max_batch`."""
    return min(max_batch or CHECK_BATCH, CHECK_BATCH)


def confirm_batch(exact: bool, max_batch: int | None) -> int:
    """How many adversarial images one confirmation call may score: CONFIRM_BATCH (one alone)
    unless the consistency probe found the model's scores bit-identical in every batch it tried,
    up to the check batch (engine/consistency.py `exact`); then the images one search step
    finishes go together, in chunks of the check batch. Either way a stored record is what the
    image scores alone, bit for bit, whatever `max_batch`, executor or shard."""
    return check_batch(max_batch) if exact else CONFIRM_BATCH


class BatchEvaluator:
    """Scores copies of images with optional pixel changes; counts the images it sends."""

    def __init__(self, images: ImageSet, score: ScoreFunction, max_batch: int) -> None:
        self.images = images
        self.score = score
        self.max_batch = max_batch
        self.images_scored = 0
        self._buffer = np.empty((0, *images.model_images.shape[1:]), dtype=np.float32)

    def probabilities(self, owners: np.ndarray, changes: PixelChanges | None = None) -> np.ndarray:
        """Class probabilities (m, classes) of images `owners`, each with its change applied."""
        parts = [probabilities for _, probabilities in self._chunks(owners, changes)]
        return np.concatenate(parts) if parts else np.empty((0, self.score.num_classes or 0))

    def reduce(
        self,
        owners: np.ndarray,
        changes: PixelChanges,
        per_chunk: Callable[[slice, np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """`per_chunk(rows, probabilities)` turns each chunk's probabilities into two small
        arrays (fitness and success) as soon as it is scored; their concatenations return."""
        firsts, seconds = [], []
        for rows, probabilities in self._chunks(owners, changes):
            first, second = per_chunk(rows, probabilities)
            firsts.append(first)
            seconds.append(second)
        return np.concatenate(firsts), np.concatenate(seconds)

    def _chunks(
        self, owners: np.ndarray, changes: PixelChanges | None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        m = len(owners)
        self._reserve(min(m, self.max_batch))
        for start in range(0, m, self.max_batch):
            rows = slice(start, min(start + self.max_batch, m))
            batch = self.images.write_batch(
                self._buffer, owners[rows], None if changes is None else changes[rows]
            )
            probabilities = self.score(batch)
            self.images_scored += len(batch)
            yield rows, probabilities

    def _reserve(self, size: int) -> None:
        if len(self._buffer) < size:
            self._buffer = np.empty((size, *self._buffer.shape[1:]), dtype=np.float32)
