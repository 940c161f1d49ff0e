"""`SearchPool`: the one-pixel DE search of many images at once, one generation per `next()`.

The operators (engine/operators.py) follow Su, Vargas & Sakurai (arXiv:1710.08864), plus the
measured changes of our default; this module runs the ones the preset names (its mutation is
`STRATEGIES[preset.strategy]`). Two more things are ours. Queries are exact: the initial
population costs P queries, each generation P more, and the last generation is cut short so an
image never passes its budget. And every generation of every image still being attacked goes
to the model in one batch (chunked by `max_batch`), while each image draws from its own
generator ``SeedSequence(seed, spawn_key=(index,))``: an image's result depends on (seed,
index, model, settings) only, never on which other images share its batches.

The pool is an iterator in the manner of scipy's DifferentialEvolutionSolver: each ``next()``
runs one generation over the images in flight and returns those that finished, so a caller (the
schedule of engine/schedule.py and the gate's early verdict) decides between generations which
images to add.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .batches import BatchEvaluator
from .distinct import VisitedCandidates
from .guidance import Guide
from .operators import (
    STRATEGIES,
    binomial_crossover,
    greedy_selection,
    initial_population,
    redraw_outside,
    select_partners,
    snap_to_corners,
)
from .presets import SEARCH_METHODS, Preset

__all__ = ["SEARCH_METHODS", "Job", "SearchOutcome", "SearchPool", "SearchSettings"]


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
    """How hard to search each image: the budget, k pixels, population (at most the budget:
    api.py resolves it once), DE preset, and the guide that orders a corner search's candidates
    (set only for one-pixel searches with `distinct` corners; its charge is below the budget)."""

    budget: int
    pixels: int
    popsize: int
    preset: Preset
    seed: int
    method: str = "de"  # "de", or "exhaustive" (engine/exhaustive.py)
    guide: Guide | None = None  # ranks each image's corner candidates (engine/guidance.py)


class SearchPool(Iterator[list[SearchOutcome]]):
    """Runs DE for the images added to it; each `next()` is one generation of all of them.

    Which images are in the pool is the caller's choice (engine/schedule.py); the pool only
    searches, so an image's record is the same whoever shares its generations.
    """

    def __init__(self, evaluator: BatchEvaluator, settings: SearchSettings) -> None:
        images = evaluator.images
        self._evaluator = evaluator
        self._settings = settings
        self._popsize = settings.popsize  # at most the budget (api.py resolves it once)
        width = 2 + images.channels
        self._population = np.zeros((0, self._popsize, settings.pixels, width))
        self._fitness = np.zeros((0, self._popsize))
        self._queries = np.zeros(0, dtype=np.int64)
        self._fresh = np.zeros(0, dtype=bool)
        self._jobs: list[Job] = []
        self._rngs: list[np.random.Generator] = []
        self._bounds = np.array([images.height, images.width], dtype=np.float64)
        corner_search = settings.preset.distinct and settings.pixels == 1
        self._visited = VisitedCandidates(images) if corner_search else None
        self._guide = settings.guide if corner_search else None

    def __len__(self) -> int:
        """Images under attack."""
        return len(self._jobs)

    def add(self, jobs: Sequence[Job]) -> None:
        """Start attacking `jobs`; each draws from SeedSequence(seed, spawn_key=(index,))."""
        if not jobs:
            return
        n = len(jobs)
        self._jobs += jobs
        self._rngs += [
            np.random.default_rng(np.random.SeedSequence(self._settings.seed, spawn_key=(j.index,)))
            for j in jobs
        ]
        self._population = np.concatenate(
            [self._population, np.zeros((n, *self._population.shape[1:]))]
        )
        self._fitness = np.concatenate([self._fitness, np.full((n, self._popsize), np.inf)])
        ranked, charge = self._ranked(jobs)
        self._queries = np.concatenate([self._queries, np.full(n, charge, dtype=np.int64)])
        self._fresh = np.concatenate([self._fresh, np.ones(n, dtype=bool)])
        if self._visited is not None:
            self._visited.add(n, ranked)

    def _ranked(self, jobs: Sequence[Job]) -> tuple[np.ndarray | None, int]:
        """The guide's ranking of the new images' candidates (at most a budget of them) and the
        queries it charges each; (None, 0) without a guide."""
        if self._guide is None:
            return None, 0
        images = self._evaluator.images
        ranked = self._guide.ranked(images, *job_arrays(jobs), self._settings.budget)
        return ranked, self._guide.charge

    def __next__(self) -> list[SearchOutcome]:
        if not self._jobs:
            raise StopIteration
        trials = self._trials()
        counts = np.minimum(self._popsize, self._settings.budget - self._queries)
        fitness, success = self._evaluate(trials, counts)
        if self._visited is not None:
            self._visited.record(counts)
        self._population, self._fitness = greedy_selection(
            self._population, self._fitness, trials, fitness
        )
        return self._retire(trials, counts, success)

    def _trials(self) -> np.ndarray:
        """The initial population for images that just joined, DE trials for the others; with
        `distinct`, none repeating a candidate the image was already scored on."""
        trials = np.empty_like(self._population)
        fresh = self._fresh
        if fresh.any():
            rngs = [self._rngs[i] for i in np.flatnonzero(fresh)]
            trials[fresh] = _initial_populations(
                rngs, self._popsize, self._settings, self._evaluator
            )
            if self._guide is not None:
                trials[fresh] = self._visited.seeded(trials[fresh], np.flatnonzero(fresh))
            self._fresh = np.zeros_like(fresh)
        if (~fresh).any():
            trials[~fresh] = self._mutate(np.flatnonzero(~fresh))
        if self._visited is not None:
            trials = self._visited.replace_repeats(trials, self._rngs)
        return trials

    def _mutate(self, members: np.ndarray) -> np.ndarray:
        """Trials by the preset's mutation, `STRATEGIES[preset.strategy]` (the default's
        DE/best/1, the paper's DE/rand/1), then its crossover, if any, from one row of uniforms
        per member: 3 for the partners, 2k for redrawing positions, and D + 1 for crossover."""
        p, k, preset = self._popsize, self._settings.pixels, self._settings.preset
        population = self._population[members]
        flat = population.reshape(len(members), p, -1)
        width = 3 + 2 * k + (flat.shape[2] + 1 if preset.crossover is not None else 0)
        uniforms = np.stack([self._rngs[i].random((p, width)) for i in members])
        partners = select_partners(uniforms[..., :3], p)
        mutate = STRATEGIES[preset.strategy]
        mutant = mutate(flat, self._fitness[members], partners, preset.mutation)
        if preset.crossover is not None:
            mutant = binomial_crossover(flat, mutant, uniforms[..., 3 + 2 * k :], preset.crossover)
        mutant = mutant.reshape(population.shape)
        redraws = uniforms[..., 3 : 3 + 2 * k].reshape(mutant[..., :2].shape)
        mutant[..., :2] = redraw_outside(mutant[..., :2], redraws, self._bounds)
        mutant[..., 2:] = np.clip(mutant[..., 2:], *self._evaluator.images.pixel_range)
        if preset.corners:
            mutant[..., 2:] = snap_to_corners(mutant[..., 2:], self._evaluator.images.pixel_range)
        return mutant

    def _evaluate(self, trials: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Query the first `counts[i]` trials of each image in one batched pass (chunked by
        `max_batch`). Returns fitness (inf where not queried) and success, both (images, P)."""
        rows, members = np.nonzero(np.arange(self._popsize) < counts[:, None])
        candidates = trials[rows, members]
        fitness, fooled = score_candidates(self._evaluator, self._jobs, rows, candidates)
        fitness_grid = np.full(trials.shape[:2], np.inf)
        success_grid = np.zeros(trials.shape[:2], dtype=bool)
        fitness_grid[rows, members] = fitness
        success_grid[rows, members] = fooled
        return fitness_grid, success_grid

    def _retire(
        self, trials: np.ndarray, counts: np.ndarray, success: np.ndarray
    ) -> list[SearchOutcome]:
        """Drop fooled or exhausted images from the pool and report how each search ended."""
        before = self._queries.copy()
        self._queries += counts
        found = success.any(axis=1)
        first = success.argmax(axis=1)
        done = found | (self._queries >= self._settings.budget)
        outcomes = []
        for i in np.flatnonzero(done):
            if found[i]:
                candidate, first_query = trials[i, first[i]], int(before[i] + first[i] + 1)
            else:
                candidate, first_query = self._population[i, self._fitness[i].argmin()], None
            outcomes.append(
                SearchOutcome(
                    self._jobs[i],
                    bool(found[i]),
                    int(self._queries[i]),
                    first_query,
                    candidate.copy(),
                )
            )
        if outcomes:
            keep = ~done
            self._jobs = [job for job, kept in zip(self._jobs, keep, strict=True) if kept]
            self._rngs = [rng for rng, kept in zip(self._rngs, keep, strict=True) if kept]
            self._population, self._fitness = self._population[keep], self._fitness[keep]
            self._queries, self._fresh = self._queries[keep], self._fresh[keep]
            if self._visited is not None:
                self._visited.keep(keep)
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
    preset, pixel_range = settings.preset, images.pixel_range
    fraction, black_white = preset.extreme_fraction, preset.black_white
    population = np.stack(
        [
            initial_population(
                rng, popsize, settings.pixels, shape, pixel_range, fraction, black_white
            )
            for rng in rngs
        ]
    )
    if settings.preset.corners:
        population[..., 2:] = snap_to_corners(population[..., 2:], images.pixel_range)
    return population


def job_arrays(jobs: Sequence[Job]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The jobs' image positions, labels and targets (-1 for untargeted), as index arrays."""
    owners = np.array([j.position for j in jobs], dtype=np.intp)
    labels = np.array([j.label for j in jobs], dtype=np.intp)
    targets = np.array([-1 if j.target is None else j.target for j in jobs], dtype=np.intp)
    return owners, labels, targets


def score_candidates(
    evaluator: BatchEvaluator, jobs: Sequence[Job], rows: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fitness and success of each candidate (its pixel changes, (m, k, 2 + C)) on the image
    of `jobs[rows[m]]`, in one batched pass chunked by the evaluator's batch size: shared by the
    DE and exhaustive searches so both score and judge a candidate the same way."""
    owners, labels, targets = (values[rows] for values in job_arrays(jobs))
    return evaluator.reduce(
        owners,
        evaluator.images.realize(candidates),
        lambda part, probabilities: fitness_and_success(probabilities, labels[part], targets[part]),
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
