"""Model queries on perturbed images, in chunks of at most `max_batch` through one buffer.

Memory is bounded by `max_batch` images whatever the number of candidates: each chunk is written
into the same preallocated float32 buffer, sent to the model, and only the probabilities are kept.
"""

from __future__ import annotations

import numpy as np

from .pixels import ImageSet, PixelChanges
from .scoring import ScoreFunction


class BatchEvaluator:
    """Scores copies of images with optional pixel changes; counts the images it sends."""

    def __init__(self, images: ImageSet, score: ScoreFunction, max_batch: int) -> None:
        self.images = images
        self.score = score
        self.max_batch = max_batch
        self.images_scored = 0
        self._buffer = np.empty((0, *images.images.shape[1:]), dtype=np.float32)

    def probabilities(self, owners: np.ndarray, changes: PixelChanges | None = None) -> np.ndarray:
        """Class probabilities (m, classes) of images `owners`, each with its change applied."""
        m = len(owners)
        self._reserve(min(m, self.max_batch))
        parts = []
        for start in range(0, m, self.max_batch):
            part = slice(start, min(start + self.max_batch, m))
            batch = self.images.write_batch(
                self._buffer, owners[part], None if changes is None else changes[part]
            )
            parts.append(self.score(batch))
            self.images_scored += len(batch)
        return np.concatenate(parts) if parts else np.empty((0, self.score.num_classes or 0))

    def _reserve(self, size: int) -> None:
        if len(self._buffer) < size:
            self._buffer = np.empty((size, *self._buffer.shape[1:]), dtype=np.float32)
