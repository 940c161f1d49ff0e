"""`SearchPool`: the one-pixel DE search of many images at once, one generation per `next()`.

The operators (engine/operators.py) follow Su, Vargas & Sakurai (arXiv:1710.08864); this module
runs them. Two things are ours. Queries are exact: the initial population costs P queries, each
generation P more, and the last generation is cut short so an image never passes its budget.
And every generation of every image still being attacked goes to the model in one batch
(chunked by `max_batch`), while each image draws from its own generator ``SeedSequence(seed,
spawn_key=(index,))``: an image's result depends on (seed, index, model, settings) only, never
on which other images share its batches.

The pool is an iterator in the manner of scipy's DifferentialEvolutionSolver: each ``next()``
runs one generation over the images in flight and returns those that finished, so a caller (the
gate's early verdict) can stop between generations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .batches import BatchEvaluator
from .operators import (
    binomial_crossover,
    greedy_selection,
    initial_population,
    rand1,
    redraw_outside,
    select_partners,
)
from .presets import Preset


@dataclass(frozen=True)
class Job:
    """One image to attack: its position in the image array, its RNG key, label and target."""

    position: int
    index: int
    label: int
    target: int | None


@dataclass(frozen=True)
class SearchOutcome:
    """Where the search for one image ended. `candidate` is the fooling change when `found`,
    else the fittest member of the final population."""

    job: Job
    found: bool
    queries: int
    first_success_query: int | None
    candidate: np.ndarray


@dataclass(frozen=True)
class SearchSettings:
    """How hard to search each image: the budget, k pixels, population and DE preset."""

    budget: int
    pixels: int
    popsize: int
    preset: Preset
    seed: int


class SearchPool(Iterator[list[SearchOutcome]]):
    """Runs DE for many images at once; each `next()` is one generation of the pool.

    The pool holds as many images as fill `max_batch` with one generation each; finished images
    make room for the next ones in sample order. With `max_active`, at most max(max_active,
    images finished so far) are in flight: an early stop then wastes little work in flight, and
    long runs still reach full batches.
    """

    def __init__(
        self,
        evaluator: BatchEvaluator,
        jobs: Sequence[Job],
        settings: SearchSettings,
        max_active: int | None = None,
    ) -> None:
        images = evaluator.images
        self._evaluator = evaluator
        self._settings = settings
        self._budget = settings.budget
        self._popsize = min(settings.popsize, settings.budget)
        self._queue = deque(jobs)
        slots = max(1, min(evaluator.max_batch // self._popsize, len(jobs) or 1))
        self._start_active = max_active or slots
        self._finished = 0
        shape = (slots, self._popsize, settings.pixels, 2 + images.channels)
        self._population = np.zeros(shape)
        self._fitness = np.full(shape[:2], np.inf)
        self._queries = np.zeros(slots, dtype=np.int64)
        self._jobs: list[Job | None] = [None] * slots
        self._rngs: list[np.random.Generator | None] = [None] * slots
        self._fresh = np.zeros(slots, dtype=bool)
        self._bounds = np.array([images.height, images.width], dtype=np.float64)

    def __next__(self) -> list[SearchOutcome]:
        self._admit()
        active = np.array([s for s, job in enumerate(self._jobs) if job is not None], dtype=np.intp)
        if not active.size:
            raise StopIteration
        trials = self._trials(active)
        counts = np.minimum(self._popsize, self._budget - self._queries[active])
        fitness, success = self._evaluate(active, trials, counts)
        self._population[active], self._fitness[active] = greedy_selection(
            self._population[active], self._fitness[active], trials, fitness
        )
        return self._retire(active, trials, counts, success)

    def stop_admitting(self) -> None:
        """Finish the images already being attacked but start no new ones (an early verdict)."""
        self._queue.clear()

    def _admit(self) -> None:
        """Fill free slots from the queue, in sample order, keeping at most
        max(max_active, images finished) images in flight."""
        limit = max(self._start_active, self._finished)
        active = sum(job is not None for job in self._jobs)
        for slot, job in enumerate(self._jobs):
            if active >= limit:
                break
            if job is None and self._queue:
                active += 1
                job = self._queue.popleft()
                self._jobs[slot] = job
                seq = np.random.SeedSequence(self._settings.seed, spawn_key=(job.index,))
                self._rngs[slot] = np.random.default_rng(seq)
                self._fitness[slot] = np.inf
                self._queries[slot] = 0
                self._fresh[slot] = True

    def _trials(self, active: np.ndarray) -> np.ndarray:
        """The initial population for images that just joined, DE/rand/1 trials for the others."""
        trials = np.empty((len(active), *self._population.shape[1:]))
        fresh = self._fresh[active]
        if fresh.any():
            rngs = [self._rngs[slot] for slot in active[fresh]]
            trials[fresh] = _initial_populations(
                rngs, self._popsize, self._settings, self._evaluator
            )
            self._fresh[active[fresh]] = False
        if (~fresh).any():
            trials[~fresh] = self._mutate(active[~fresh])
        return trials

    def _mutate(self, slots: np.ndarray) -> np.ndarray:
        """DE/rand/1 (with the preset's crossover, if any) from one row of uniforms per member:
        3 for the partners, 2k for redrawing positions, and D + 1 for crossover."""
        p, k, preset = self._popsize, self._settings.pixels, self._settings.preset
        population = self._population[slots]
        flat = population.reshape(len(slots), p, -1)
        width = 3 + 2 * k + (flat.shape[2] + 1 if preset.crossover is not None else 0)
        uniforms = np.stack([self._rngs[s].random((p, width)) for s in slots])
        mutant = rand1(flat, select_partners(uniforms[..., :3], p), preset.mutation)
        if preset.crossover is not None:
            mutant = binomial_crossover(flat, mutant, uniforms[..., 3 + 2 * k :], preset.crossover)
        mutant = mutant.reshape(population.shape)
        redraws = uniforms[..., 3 : 3 + 2 * k].reshape(mutant[..., :2].shape)
        mutant[..., :2] = redraw_outside(mutant[..., :2], redraws, self._bounds)
        mutant[..., 2:] = np.clip(mutant[..., 2:], *self._evaluator.images.pixel_range)
        return mutant

    def _evaluate(
        self, active: np.ndarray, trials: np.ndarray, counts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Query the first `counts[a]` trials of each active image in one batched pass.

        Returns fitness (inf where not queried) and success flags, both (active, popsize).
        """
        rows, members = np.nonzero(np.arange(self._popsize) < counts[:, None])
        jobs = [self._jobs[s] for s in active]
        owners = np.array([j.position for j in jobs], dtype=np.intp)[rows]
        labels = np.array([j.label for j in jobs], dtype=np.intp)[rows]
        targets = np.array([-1 if j.target is None else j.target for j in jobs], np.intp)[rows]
        changes = self._evaluator.images.realize(trials[rows, members])
        probabilities = self._evaluator.probabilities(owners, changes)
        fitness, fooled = fitness_and_success(probabilities, labels, targets)
        fitness_grid = np.full(trials.shape[:2], np.inf)
        success_grid = np.zeros(trials.shape[:2], dtype=bool)
        fitness_grid[rows, members] = fitness
        success_grid[rows, members] = fooled
        return fitness_grid, success_grid

    def _retire(
        self, active: np.ndarray, trials: np.ndarray, counts: np.ndarray, success: np.ndarray
    ) -> list[SearchOutcome]:
        """Free the slots of fooled or exhausted images and report how each search ended."""
        before = self._queries[active].copy()
        self._queries[active] += counts
        found = success.any(axis=1)
        first = success.argmax(axis=1)
        done = found | (self._queries[active] >= self._budget)
        outcomes = []
        for a in np.flatnonzero(done):
            slot = active[a]
            if found[a]:
                candidate, first_query = trials[a, first[a]], int(before[a] + first[a] + 1)
            else:
                best = int(self._fitness[slot].argmin())
                candidate, first_query = self._population[slot, best], None
            outcomes.append(
                SearchOutcome(
                    self._jobs[slot],
                    bool(found[a]),
                    int(self._queries[slot]),
                    first_query,
                    candidate.copy(),
                )
            )
            self._jobs[slot] = None
            self._rngs[slot] = None
        self._finished += len(outcomes)
        return outcomes


def _initial_populations(
    rngs: list[np.random.Generator],
    popsize: int,
    settings: SearchSettings,
    evaluator: BatchEvaluator,
) -> np.ndarray:
    """One initial population per generator, stacked (images, P, k, 2 + C)."""
    images = evaluator.images
    shape = (images.height, images.width, images.channels)
    fraction = settings.preset.extreme_fraction
    return np.stack(
        [
            initial_population(rng, popsize, settings.pixels, shape, images.pixel_range, fraction)
            for rng in rngs
        ]
    )


def fitness_and_success(
    probabilities: np.ndarray, labels: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's fitness (minimised) and whether each query fooled the model: untargeted, the
    true class's probability and prediction != label; targeted (target >= 0), 1 - the target's
    probability and prediction == target."""
    n = np.arange(len(labels))
    targeted = targets >= 0
    predicted = probabilities.argmax(axis=1)
    fitness = np.where(targeted, 1 - probabilities[n, targets], probabilities[n, labels])
    fooled = np.where(targeted, predicted == targets, predicted != labels)
    return fitness, fooled
