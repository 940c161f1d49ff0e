"""Exhaustive one-pixel search: every position x every extreme colour, an exact answer.

For k = 1 the candidates are each pixel position of the image set to each corner of the colour
cube (every channel at the low or the high end of the pixel range: 2^C colours, 2 for grey, 8
for RGB). On small inputs most one-pixel successes are such corner colours (bench/popsize.md),
so trying them all gives each image's exact one-pixel *corner* vulnerability, the limit the DE
search is measured against in bench/. `ExhaustivePool` has the search pool's interface, so the
schedule, the early verdict, the executors and the records work unchanged: each `next()` tries
the next `popsize` candidates of every image in flight, in a fixed order (row, column, colour),
and an image stops at the step where a candidate first fools the model. Queries are counted as
for DE, and the budget still bounds them: a search space larger than the budget is an error
naming the budget needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import InputError
from .batches import BatchEvaluator
from .operators import corner_colours
from .search import Job, SearchOutcome, SearchSettings, score_candidates


def search_space(height: int, width: int, channels: int) -> int:
    return height * width * 2**channels


class ExhaustivePool(Iterator[list[SearchOutcome]]):
    """Every (position, corner colour) of each image, `popsize` candidates a step."""

    def __init__(self, evaluator: BatchEvaluator, settings: SearchSettings) -> None:
        images = evaluator.images
        space = search_space(images.height, images.width, images.channels)
        if settings.pixels != 1:
            raise InputError(
                f"search 'exhaustive' is for one pixel (pixels: 1); found {settings.pixels}."
            )
        if space > settings.budget:
            raise InputError(
                f"search 'exhaustive' tries {images.height} x {images.width} positions x "
                f"{2**images.channels} colours = {space:,} candidates per image, more than the "
                f"budget of {settings.budget:,}: set budget to at least {space:,}, or use the "
                "DE search."
            )
        self._evaluator, self._settings = evaluator, settings
        self._step = min(settings.popsize, space)
        self._space = space
        colours = corner_colours(images.channels, images.pixel_range)
        rows, cols, which = np.unravel_index(
            np.arange(space), (images.height, images.width, len(colours))
        )
        positions = np.stack([rows, cols], axis=1).astype(np.float64)
        self._candidates = np.concatenate([positions, colours[which]], axis=1)[:, None, :]
        self._jobs: list[Job] = []
        self._done = np.zeros(0, dtype=np.int64)  # candidates tried per image
        self._best = np.zeros(0)  # lowest fitness so far per image
        self._best_at = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._jobs)

    def add(self, jobs: Sequence[Job]) -> None:
        self._jobs += list(jobs)
        self._done = np.concatenate([self._done, np.zeros(len(jobs), dtype=np.int64)])
        self._best = np.concatenate([self._best, np.full(len(jobs), np.inf)])
        self._best_at = np.concatenate([self._best_at, np.zeros(len(jobs), dtype=np.int64)])

    def __next__(self) -> list[SearchOutcome]:
        if not self._jobs:
            raise StopIteration
        counts = np.minimum(self._step, self._space - self._done)
        rows, members = np.nonzero(np.arange(self._step) < counts[:, None])
        tried = self._done[rows] + members
        candidates = self._candidates[tried]
        fitness, fooled = score_candidates(self._evaluator, self._jobs, rows, candidates)
        grid_fitness = np.full((len(self._jobs), self._step), np.inf)
        grid_fooled = np.zeros((len(self._jobs), self._step), dtype=bool)
        grid_fitness[rows, members], grid_fooled[rows, members] = fitness, fooled
        better = grid_fitness.min(axis=1) < self._best
        self._best_at = np.where(better, self._done + grid_fitness.argmin(axis=1), self._best_at)
        self._best = np.minimum(self._best, grid_fitness.min(axis=1))
        return self._retire(counts, grid_fooled)

    def _retire(self, counts: np.ndarray, fooled: np.ndarray) -> list[SearchOutcome]:
        before = self._done.copy()
        self._done += counts
        found = fooled.any(axis=1)
        done = found | (self._done >= self._space)
        outcomes = []
        for i in np.flatnonzero(done):
            at = int(before[i] + fooled[i].argmax()) if found[i] else int(self._best_at[i])
            first = at + 1 if found[i] else None
            outcomes.append(
                SearchOutcome(
                    self._jobs[i],
                    bool(found[i]),
                    int(self._done[i]),
                    first,
                    self._candidates[at].copy(),
                )
            )
        keep = ~done
        self._jobs = [job for job, kept in zip(self._jobs, keep, strict=True) if kept]
        self._done, self._best, self._best_at = (
            self._done[keep],
            self._best[keep],
            self._best_at[keep],
        )
        return outcomes
