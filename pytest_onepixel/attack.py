"""The one-pixel attack engine: differential evolution batched across images.

Follows Su, Vargas & Sakurai, "One pixel attack for fooling deep neural networks", IEEE Trans.
Evolutionary Computation 23(5), 2019 (arXiv:1710.08864), Section III:

- a candidate solution holds k pixel changes, each (row, col, one value per channel);
- the initial population draws positions uniformly and values from N(mid, half-range), clipped
  (the paper's N(128, 127) on 0-255);
- each generation builds one trial per member by DE/rand/1 mutation,
  ``x_r1 + F * (x_r2 - x_r3)`` with r1, r2, r3 distinct and different from the member, F = 0.5,
  and no crossover;
- greedy one-to-one selection keeps the trial when its fitness (the true-class probability, or
  1 - target probability when targeted) is lower than its parent's;
- the search for an image stops as soon as one candidate fools the model.

Two things are ours. Queries are exact: the initial population costs P queries, each generation
P more, and the last generation is cut short so an image never passes its budget. And every
generation of every image still being attacked goes to the model in one batch (chunked by
`max_batch`), while each image draws from its own generator ``SeedSequence(seed,
spawn_key=(index,))``: an image's result depends on (seed, index, model, settings) only, never
on which other images share its batches.

`OnePixelSearch` is an iterator in the manner of scipy's DifferentialEvolutionSolver: each
``next()`` runs one generation over a pool of images and returns those that finished, so a caller
(the gate's early verdict) can stop between generations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .choices import Preset
from .evaluator import BatchEvaluator
from .imageset import ImageSet


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


class OnePixelSearch(Iterator[list[SearchOutcome]]):
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
        *,
        budget: int,
        pixels: int,
        popsize: int,
        preset: Preset,
        seed: int,
        max_active: int | None = None,
    ) -> None:
        images = evaluator.images
        self._evaluator = evaluator
        self._images: ImageSet = images
        self._budget = budget
        self._pixels = pixels
        self._popsize = min(popsize, budget)
        self._preset = preset
        self._seed = seed
        self._queue = deque(jobs)
        slots = max(1, min(evaluator.max_batch // self._popsize, len(jobs) or 1))
        self._start_active = max_active or slots
        self._finished = 0
        shape = (slots, self._popsize, pixels, 2 + images.channels)
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
        self._select(active, trials, fitness)
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
                seq = np.random.SeedSequence(self._seed, spawn_key=(job.index,))
                self._rngs[slot] = np.random.default_rng(seq)
                self._fitness[slot] = np.inf
                self._queries[slot] = 0
                self._fresh[slot] = True

    def _trials(self, active: np.ndarray) -> np.ndarray:
        """Initial population for images that just joined, DE/rand/1 trials for the others."""
        trials = np.empty((len(active), *self._population.shape[1:]))
        fresh = self._fresh[active]
        if fresh.any():
            trials[fresh] = np.stack([self._initial_population(s) for s in active[fresh]])
            self._fresh[active[fresh]] = False
        if (~fresh).any():
            trials[~fresh] = self._mutate(active[~fresh])
        return trials

    def _initial_population(self, slot: int) -> np.ndarray:
        rng = self._rngs[slot]
        lo, hi = self._images.pixel_range
        p, k, c = self._popsize, self._pixels, self._images.channels
        positions = rng.random((p, k, 2)) * self._bounds
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        values = np.clip(mid + half * rng.standard_normal((p, k, c)), lo, hi)
        extremes = round(self._preset.extreme_fraction * p)
        values[:extremes] = np.where(rng.random((extremes, k, c)) < 0.5, lo, hi)
        return np.concatenate([positions, values], axis=2)

    def _mutate(self, slots: np.ndarray) -> np.ndarray:
        """DE/rand/1: x_r1 + F (x_r2 - x_r3); positions leaving the image are redrawn
        uniformly (as scipy does), values are clipped to the pixel range."""
        p, k = self._popsize, self._pixels
        population = self._population[slots]
        flat = population.reshape(len(slots), p, -1)
        crossover = self._preset.crossover
        width = 3 + 2 * k + (flat.shape[2] + 1 if crossover is not None else 0)
        draws = np.stack([self._rngs[s].random((p, width)) for s in slots])
        partners = _distinct_partners(draws[..., :3], p)
        r1, r2, r3 = (np.take_along_axis(flat, partners[..., i, None], axis=1) for i in range(3))
        mutant = r1 + self._preset.mutation * (r2 - r3)
        if crossover is not None:
            mutant = _binomial_crossover(flat, mutant, draws[..., 3 + 2 * k :], crossover)
        mutant = mutant.reshape(population.shape)
        positions = mutant[..., :2]
        outside = (positions < 0) | (positions >= self._bounds)
        redrawn = draws[..., 3 : 3 + 2 * k].reshape(positions.shape) * self._bounds
        mutant[..., :2] = np.where(outside, redrawn, positions)
        mutant[..., 2:] = np.clip(mutant[..., 2:], *self._images.pixel_range)
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
        changes = self._images.realize(trials[rows, members])
        probs = self._evaluator.probabilities(owners, changes)
        predicted = probs.argmax(axis=1)
        targeted = targets >= 0
        n = np.arange(len(rows))
        fitness = np.where(targeted, 1 - probs[n, targets], probs[n, labels])
        fooled = np.where(targeted, predicted == targets, predicted != labels)
        fitness_grid = np.full(trials.shape[:2], np.inf)
        success_grid = np.zeros(trials.shape[:2], dtype=bool)
        fitness_grid[rows, members] = fitness
        success_grid[rows, members] = fooled
        return fitness_grid, success_grid

    def _select(self, active: np.ndarray, trials: np.ndarray, fitness: np.ndarray) -> None:
        """Greedy one-to-one selection: a trial replaces its parent only if strictly fitter."""
        better = fitness < self._fitness[active]
        population = self._population[active]
        population[better] = trials[better]
        self._population[active] = population
        self._fitness[active] = np.where(better, fitness, self._fitness[active])

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
                    job=self._jobs[slot],
                    found=bool(found[a]),
                    queries=int(self._queries[slot]),
                    first_success_query=first_query,
                    candidate=candidate.copy(),
                )
            )
            self._jobs[slot] = None
            self._rngs[slot] = None
        self._finished += len(outcomes)
        return outcomes


def _distinct_partners(uniforms: np.ndarray, popsize: int) -> np.ndarray:
    """Three member indices per member, distinct and different from the member itself.

    Draw n is uniform over the popsize - 1 - n indices still allowed; mapping it past the
    excluded indices in ascending order keeps it uniform over that set. Vectorised over images
    and members.
    """
    own = np.broadcast_to(np.arange(popsize), uniforms.shape[:-1])
    chosen = [own]
    for n in range(3):
        pick = np.floor(uniforms[..., n] * (popsize - 1 - n)).astype(np.intp)
        for excluded in np.sort(np.stack(chosen, axis=-1), axis=-1).transpose(2, 0, 1):
            pick += pick >= excluded
        chosen.append(pick)
    return np.stack(chosen[1:], axis=-1)


def _binomial_crossover(
    parents: np.ndarray, mutant: np.ndarray, uniforms: np.ndarray, rate: float
) -> np.ndarray:
    """scipy-style binomial crossover; one randomly chosen parameter always comes from the
    mutant. Not in the paper preset, which uses no crossover."""
    width = parents.shape[2]
    take = uniforms[..., :width] < rate
    forced = np.floor(uniforms[..., width] * width).astype(np.intp)
    np.put_along_axis(take, forced[..., None], True, axis=2)
    return np.where(take, mutant, parents)
