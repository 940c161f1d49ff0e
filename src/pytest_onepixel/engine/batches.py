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
#: `BatchEvaluator.reduce` hands on the probabilities of consecutive chunks together, up to
#: this many bytes: a 10-class model's generation of 4,000 candidates (320 kB) is read in one
#: call, where one call per chunk cost ~18 us each (cProfile, the bench's digits model).
REDUCE_BYTES = 1 << 22


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
        """`per_chunk(rows, probabilities)` turns the probabilities of consecutive chunks into
        two small arrays (fitness and success); their concatenations return. The chunks go to
        it in groups of at most `REDUCE_BYTES` of probabilities (or one chunk, if larger): a
        small model's generation is one call instead of one per chunk, and memory stays bounded
        whatever the number of candidates. `per_chunk` must treat rows alike, one by one."""
        firsts, seconds = [], []
        group: list[np.ndarray] = []
        start = held = 0
        for rows, probabilities in self._chunks(owners, changes):
            group.append(probabilities)
            held += probabilities.nbytes
            if held >= REDUCE_BYTES or rows.stop == len(owners):
                scored = group[0] if len(group) == 1 else np.concatenate(group)
                first, second = per_chunk(slice(start, rows.stop), scored)
                firsts.append(first)
                seconds.append(second)
                group, start, held = [], rows.stop, 0
        if not firsts:
            return np.empty(0), np.empty(0, dtype=bool)
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
