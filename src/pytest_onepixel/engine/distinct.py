"""No query spent twice: the one-pixel corner candidates each image has already been scored on.

With colour genes at the corners of the colour cube a small search space (32 x 32 positions x 8
colours) is soon revisited: DE/best/1 in particular proposes the same pixel again and again.
`VisitedCandidates` keeps, per image in the pool, the keys (operators.candidate_keys) of the
candidates evaluated so far; before each step a trial that repeats one of them, or another trial
of the step, is replaced by a random unvisited candidate drawn from the image's own generator
(operators.distinct_trials), so an image's record still depends on nothing but its own stream.
"""

from __future__ import annotations

import numpy as np

from .operators import candidate_keys, corner_colours, distinct_trials
from .pixels import ImageSet


class VisitedCandidates:
    """Per-image sorted arrays of the keys already evaluated, aligned with the pool's images."""

    def __init__(self, images: ImageSet) -> None:
        self._images = images
        self._space = images.height * images.width * 2**images.channels
        self._colours = corner_colours(images.channels, images.pixel_range)
        self._visited: list[np.ndarray] = []
        self._step: np.ndarray | None = None  # keys of the trials replace_repeats returned last

    def add(self, count: int) -> None:
        self._visited += [np.empty(0, dtype=np.int64) for _ in range(count)]

    def keep(self, kept: np.ndarray) -> None:
        """Forget the images the pool retired (`kept` is the pool's mask of those it keeps)."""
        self._visited = [keys for keys, keep in zip(self._visited, kept, strict=True) if keep]

    def replace_repeats(self, trials: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """`trials` (images, P, 1, 2 + C) with repeated candidates replaced by unvisited ones;
        their keys are kept for `record`, so each step realizes its trials once."""
        keys = self._keys(trials)
        width, channels = self._images.width, self._images.channels
        for i, rng in enumerate(rngs):
            new = distinct_trials(keys[i], self._visited[i], self._space, rng)
            changed = np.flatnonzero(new != keys[i])
            keys[i] = new
            if not changed.size:
                continue
            position, colour = np.divmod(new[changed], 2**channels)
            row, col = np.divmod(position, width)
            trials[i, changed, 0, 0], trials[i, changed, 0, 1] = row + 0.5, col + 0.5
            trials[i, changed, 0, 2:] = self._colours[colour]
        self._step = keys
        return trials

    def record(self, counts: np.ndarray) -> None:
        """Remember the first `counts[i]` trials of each image from the step `replace_repeats`
        made: those the model scored."""
        keys, self._step = self._step, None
        for i, count in enumerate(counts):
            self._visited[i] = np.union1d(self._visited[i], keys[i, :count])

    def _keys(self, trials: np.ndarray) -> np.ndarray:
        changes = self._images.realize(trials[:, :, 0:1].reshape(-1, 1, trials.shape[-1]))
        lo, hi = self._images.pixel_range
        high = changes.values[:, 0, :].astype(np.float64) >= (lo + hi) / 2
        keys = candidate_keys(changes.rows[:, 0], changes.cols[:, 0], high, self._images.width)
        return keys.reshape(trials.shape[:2])
