"""The differential-evolution operators of the one-pixel attack, one small function each.

Su, Vargas & Sakurai, "One pixel attack for fooling deep neural networks", IEEE Trans.
Evolutionary Computation 23(5), 2019 (arXiv:1710.08864), Section III:

- a candidate holds k pixel changes, each (row, col, one value per channel): an array
  (..., k, 2 + C) whose rows and columns are continuous and floored when applied;
- the initial population draws positions uniformly and values from N(mid, half-range), clipped
  (the paper's N(128, 127) on 0-255): `initial_population`;
- each generation builds one trial per member by DE/rand/1 mutation, x_r1 + F (x_r2 - x_r3),
  with r1, r2, r3 distinct and different from the member (`select_partners`, `rand1`), and no
  crossover (`binomial_crossover` exists for presets that want it, as in scipy);
- positions a mutation moves off the image are drawn again uniformly (`redraw_outside`, as scipy
  redraws out-of-bounds parameters) and values are clipped to the pixel range;
- greedy one-to-one selection keeps a trial only if it is strictly fitter (`greedy_selection`).

Our default adds three measured changes (bench/strategy.md): DE/best/1 mutation around the
fittest member (`best1`, Storn & Price's strategy; `STRATEGIES` names each mutation a preset can
choose), colour genes that choose among the corners
of the colour cube (`snap_to_corners`), and no query spent twice on one candidate
(`candidate_keys`, `distinct_trials`).

Each function is vectorised over leading axes (images, members), so the search never loops in
Python over candidates or pixels; random numbers come in as arrays of uniforms drawn by the
caller from each image's own generator, which keeps every operator a pure function that a test
can pin to a worked number (as scipy's `test__mutate1` does).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def initial_population(
    rng: np.random.Generator,
    popsize: int,
    pixels: int,
    image_shape: tuple[int, int, int],
    pixel_range: tuple[float, float],
    extreme_fraction: float,
    black_white: bool = False,
) -> np.ndarray:
    """(popsize, k, 2 + C) candidates: positions uniform over the (H, W) grid, values from
    N(mid, half-range) clipped to the range, and the first `extreme_fraction` of the members with
    every value at the range's low or high end (our default's seeding; the paper uses none).
    With `black_white` those members take one end for all channels (black or white, the
    colours that fool most: bench/baselines.md), from the same draws (channel 0's)."""
    height, width, channels = image_shape
    lo, hi = pixel_range
    positions = rng.random((popsize, pixels, 2)) * np.array([height, width], dtype=np.float64)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    values = np.clip(mid + half * rng.standard_normal((popsize, pixels, channels)), lo, hi)
    extremes = round(extreme_fraction * popsize)
    ends = rng.random((extremes, pixels, channels))
    if black_white:
        ends = np.repeat(ends[..., :1], channels, axis=2)
    values[:extremes] = np.where(ends < 0.5, lo, hi)
    return np.concatenate([positions, values], axis=2)


def select_partners(uniforms: np.ndarray, popsize: int) -> np.ndarray:
    """Three member indices per member (..., P, 3), distinct and different from the member.

    `uniforms` (..., P, 3) in [0, 1). Draw n is uniform over the popsize - 1 - n indices still
    allowed; mapping it past the excluded indices in ascending order keeps it uniform over that
    set (each allowed index is hit by an equal share of [0, 1)).
    """
    own = np.broadcast_to(np.arange(popsize), uniforms.shape[:-1])
    chosen = [own]
    for n in range(3):
        pick = np.floor(uniforms[..., n] * (popsize - 1 - n)).astype(np.intp)
        for excluded in np.moveaxis(np.sort(np.stack(chosen, axis=-1), axis=-1), -1, 0):
            pick += pick >= excluded
        chosen.append(pick)
    return np.stack(chosen[1:], axis=-1)


def rand1(
    population: np.ndarray, fitness: np.ndarray, partners: np.ndarray, scale: float
) -> np.ndarray:
    """DE/rand/1 mutants x_r1 + F (x_r2 - x_r3) of members (..., P, D); partners (..., P, 3).
    `fitness` is not used: it is there for the signature every entry of `STRATEGIES` shares."""
    r1, r2, r3 = (np.take_along_axis(population, partners[..., [n]], axis=-2) for n in range(3))
    return r1 + scale * (r2 - r3)


def best1(
    population: np.ndarray, fitness: np.ndarray, partners: np.ndarray, scale: float
) -> np.ndarray:
    """DE/best/1 mutants x_best + F (x_r2 - x_r3) of members (..., P, D), `fitness` (..., P):
    every trial explores around the population's fittest member (partners' first column, r1,
    is not used)."""
    best = np.take_along_axis(population, fitness.argmin(axis=-1)[..., None, None], axis=-2)
    r2, r3 = (np.take_along_axis(population, partners[..., [n]], axis=-2) for n in (1, 2))
    return best + scale * (r2 - r3)


#: A DE mutation: (population (..., P, D), fitness (..., P), partners (..., P, 3), scale F) to
#: mutants (..., P, D).
Mutation = Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]

#: The mutation strategies a preset names (`Preset.strategy`), as scipy's
#: _differentialevolution.py maps strategy names to its mutation methods: the search calls
#: `STRATEGIES[preset.strategy]`, so a strategy is one function with the `Mutation` signature
#: and one entry here. engine/presets.py spells the same names in `STRATEGY_NAMES`, because
#: it must stay free of numpy; tests/engine/test_operators.py checks the two agree.
STRATEGIES: dict[str, Mutation] = {
    "rand1": rand1,  # the paper's DE/rand/1
    "best1": best1,  # Storn & Price's DE/best/1, our default's
}


def snap_to_corners(values: np.ndarray, pixel_range: tuple[float, float]) -> np.ndarray:
    """Each value to the nearer end of the pixel range (the mid-point goes up): a candidate's
    colour becomes a corner of the colour cube."""
    lo, hi = pixel_range
    return np.where(values < (lo + hi) / 2, lo, hi).astype(np.float64)


def corner_colours(channels: int, pixel_range: tuple[float, float]) -> np.ndarray:
    """The 2^C corners of the colour cube, (2^C, C): channel c of colour j is high when bit
    (C - 1 - c) of j is set (so for RGB: black, blue, green, cyan, red, ..., white)."""
    lo, hi = pixel_range
    bits = (np.arange(2**channels)[:, None] >> np.arange(channels - 1, -1, -1)) & 1
    return np.where(bits == 1, hi, lo).astype(np.float64)


def candidate_keys(rows: np.ndarray, cols: np.ndarray, high: np.ndarray, width: int) -> np.ndarray:
    """An integer per one-pixel corner candidate: (row * W + col) * 2^C + colour, where bit
    (C - 1 - c) of the colour is channel c at its high end (the order of `corner_colours`)."""
    channels = high.shape[-1]
    colour = (high.astype(np.int64) << np.arange(channels - 1, -1, -1)).sum(axis=-1)
    return (rows.astype(np.int64) * width + cols) * (1 << channels) + colour


def distinct_trials(
    keys: np.ndarray, visited: np.ndarray, space: int, rng: np.random.Generator
) -> np.ndarray:
    """One image's trial keys (P,) with each key already in `visited` (or repeated among the
    trials) replaced by a uniformly drawn unvisited key, as many as the space still holds (so
    a search whose budget covers the space tries all of it); the order of the trials is kept.
    Draws from the image's own generator."""
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    repeated = np.flatnonzero(np.isin(keys, visited) | ~first)
    taken = np.union1d(visited, keys)
    count = min(len(repeated), space - len(taken))
    if count <= 0:
        return keys
    if space - len(taken) <= 4 * count:  # nearly full: list what is left
        fresh = rng.permutation(np.setdiff1d(np.arange(space), taken))[:count]
    else:
        fresh = np.empty(0, dtype=np.int64)
        while len(fresh) < count:
            draws = rng.integers(space, size=2 * count + 8)
            fresh = np.unique(np.concatenate([fresh, draws[~np.isin(draws, taken)]]))
        fresh = rng.permutation(fresh)[:count]
    out = keys.copy()
    out[repeated[:count]] = fresh
    return out


def binomial_crossover(
    parents: np.ndarray, mutant: np.ndarray, uniforms: np.ndarray, rate: float
) -> np.ndarray:
    """scipy-style binomial crossover of flat members (..., P, D): parameter d comes from the
    mutant when uniforms[..., d] < rate, and one parameter, chosen by uniforms[..., D], always
    does. Not in the paper preset, which uses no crossover."""
    width = parents.shape[-1]
    take = uniforms[..., :width] < rate
    forced = np.floor(uniforms[..., width] * width).astype(np.intp)
    np.put_along_axis(take, forced[..., None], True, axis=-1)
    return np.where(take, mutant, parents)


def redraw_outside(positions: np.ndarray, uniforms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Positions (..., 2) off the grid [0, H) x [0, W) replaced by uniforms * bounds, as scipy
    redraws out-of-bounds parameters uniformly; positions on the grid stay."""
    outside = (positions < 0) | (positions >= bounds)
    return np.where(outside, uniforms * bounds, positions)


def greedy_selection(
    population: np.ndarray, fitness: np.ndarray, trials: np.ndarray, trial_fitness: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one selection: member i becomes trial i only if the trial is strictly fitter
    (lower fitness). Arrays (..., P, k, 2 + C) and fitness (..., P)."""
    better = trial_fitness < fitness
    kept = np.where(better[..., None, None], trials, population)
    return kept, np.where(better, trial_fitness, fitness)
