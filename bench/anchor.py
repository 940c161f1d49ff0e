"""The anchor algorithm: scipy's differential evolution, one image at a time.

The one-pixel attacks people use today (Hyperparticle's keras reproduction, torchattacks'
OnePixel, ART's PixelAttack) all run a scipy-style DE per image: strategy best1bin, mutation
dithered in [0.5, 1), recombination 1, no polishing, the population evaluated as one batch per
generation. This runs `scipy.optimize.differential_evolution` with those settings on the same
model, images, fitness (true-class probability) and realizable candidates (floored positions,
values rounded to the data's dtype) as our engine, with a population sized to the budget and
queries counted exactly: the last generation is cut at the budget, and an image stops at the
end of the generation in which a candidate first fooled the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import differential_evolution

from pytest_onepixel.engine.scoring import to_probabilities

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass
class AnchorRun:
    """Outcome of the anchor search on one image."""

    success: bool = False
    queries: int = 0
    first_success_query: int | None = None


def anchor_attack(
    predict: Predict,
    image: np.ndarray,
    label: int,
    *,
    budget: int,
    popsize: int,
    pixel_range: tuple[float, float],
    seed: np.random.SeedSequence,
) -> AnchorRun:
    """One-pixel attack on one NCHW image (C, H, W) with scipy's DE; `popsize` is the total
    population (scipy's multiplier is derived from it)."""
    channels, height, width = image.shape
    lo, hi = pixel_range
    bounds = [(0, height), (0, width)] + [(lo, hi)] * channels
    run = AnchorRun()
    base = image.astype(np.float32)

    def fitness(candidates: np.ndarray) -> np.ndarray:
        candidates = np.atleast_2d(candidates.T)  # scipy passes (parameters, population)
        energies = np.full(len(candidates), np.inf)
        room = budget - run.queries
        if room <= 0 or run.success:
            return energies
        take = candidates[:room]
        batch = np.repeat(base[None], len(take), axis=0)
        rows = np.minimum(take[:, 0].astype(int), height - 1)
        cols = np.minimum(take[:, 1].astype(int), width - 1)
        values = np.clip(np.rint(take[:, 2:]), lo, hi)
        batch[np.arange(len(take)), :, rows, cols] = values
        probs = to_probabilities(np.asarray(predict(batch), dtype=np.float64))
        fooled = np.flatnonzero(probs.argmax(axis=1) != label)
        if fooled.size and not run.success:
            run.success = True
            run.first_success_query = run.queries + int(fooled[0]) + 1
        run.queries += len(take)
        energies[: len(take)] = probs[:, label]
        return energies

    multiplier = max(1, round(popsize / len(bounds)))
    generations = max(0, budget // (multiplier * len(bounds)))
    differential_evolution(
        fitness,
        bounds,
        strategy="best1bin",
        maxiter=generations,
        popsize=multiplier,
        mutation=(0.5, 1),
        recombination=1,
        polish=False,
        tol=-1,
        atol=-1,
        init="latinhypercube",
        rng=np.random.default_rng(seed),
        vectorized=True,
        updating="deferred",
        callback=lambda *args, **kwargs: run.success or run.queries >= budget,
    )
    return run
