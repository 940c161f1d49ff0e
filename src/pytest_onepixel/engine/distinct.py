"""No query spent twice: the one-pixel corner candidates each image has already been scored on.

With colour genes at the corners of the colour cube a small search space (32 x 32 positions x 8
colours) is soon revisited: DE/best/1 in particular proposes the same pixel again and again.
`VisitedCandidates` keeps, per image in the pool, the keys (operators.candidate_keys) of the
candidates evaluated so far; before each step a trial that repeats one of them, or another trial
of the step, is replaced by a random unvisited candidate drawn from the image's own generator
(operators.distinct_trials), so an image's record still depends on nothing but its own stream.

With a guide (engine/guidance.py) each image also keeps its ranking of the candidates: its
initial population is the top of the ranking (`seeded`), and a repeat is replaced by the best
unvisited candidate of the ranking first, by a random one only once the ranking is used up.
"""

from __future__ import annotations

import numpy as np

from .operators import candidate_keys, corner_colours
from .pixels import ImageSet

#: The bit of key k within its byte (np.unpackbits order: the first key is the high bit).
_BIT = np.array([128, 64, 32, 16, 8, 4, 2, 1], dtype=np.uint8)


class VisitedCandidates:
    """One bit per candidate and image (rows aligned with the pool's images): the keys already
    evaluated. Lookups and updates run on the whole pool at once; only an image with repeats to
    replace draws, from its own generator, as `operators.distinct_trials` does."""

    def __init__(self, images: ImageSet) -> None:
        self._images = images
        self._space = images.height * images.width * 2**images.channels
        self._colours = corner_colours(images.channels, images.pixel_range)
        self._bits = np.zeros((0, (self._space + 7) // 8), dtype=np.uint8)
        self._count = np.zeros(0, dtype=np.int64)  # keys visited per image
        self._step: np.ndarray | None = None  # keys of the trials replace_repeats returned last
        self._step_repeats = False  # whether a row of `_step` may hold a key twice (space full)
        self._ranked: np.ndarray | None = None  # per image, a guide's keys best first

    def add(self, count: int, ranked: np.ndarray | None = None) -> None:
        """Room for `count` more images, with their guide's rankings (n, L) when guided (a
        pool is guided for all its images or for none)."""
        self._bits = np.concatenate([self._bits, np.zeros((count, self._bits.shape[1]), np.uint8)])
        self._count = np.concatenate([self._count, np.zeros(count, dtype=np.int64)])
        if ranked is not None:
            before = self._ranked if self._ranked is not None else ranked[:0]
            self._ranked = np.concatenate([before, ranked])

    def keep(self, kept: np.ndarray) -> None:
        """Forget the images the pool retired (`kept` is the pool's mask of those it keeps)."""
        kept = np.asarray(kept, dtype=bool)
        self._bits, self._count = self._bits[kept], self._count[kept]
        if self._ranked is not None:
            self._ranked = self._ranked[kept]

    def seeded(self, trials: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Initial populations `trials` (n, P, 1, 2 + C) of images `rows` with their first
        members set to the top of each ranking (all P of them unless the ranking is shorter)."""
        top = self._ranked[rows, : trials.shape[1]]
        members = top.shape[1]
        trials[:, :members, 0] = self._candidates(top.ravel()).reshape(len(rows), members, -1)
        return trials

    def replace_repeats(self, trials: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """`trials` (images, P, 1, 2 + C) with repeated candidates replaced by unvisited ones;
        their keys are kept for `record`, so each step realizes its trials once."""
        keys = self._keys(trials)
        repeated = self._visited(np.arange(len(keys))[:, None], keys) | ~first_occurrences(keys)
        counts = repeated.sum(axis=1)
        free = self._space - (self._count + keys.shape[1] - counts)
        new = keys.copy()
        wanted = np.minimum(counts, free)
        missing = wanted.copy()  # replacements still to draw at random
        rows = np.flatnonzero(wanted > 0)
        if self._ranked is not None and rows.size:
            missing[rows] = self._best_ranked(new, repeated, wanted, rows)
        for i in np.flatnonzero(missing > 0):
            ranked = int(wanted[i] - missing[i])  # the first repeats took ranked keys
            taken = np.concatenate([keys[i], new[i]]) if ranked else keys[i]
            fresh = self._fresh(i, taken, int(missing[i]), int(free[i]) - ranked, rngs[i])
            new[i, np.flatnonzero(repeated[i])[ranked : wanted[i]]] = fresh
        rows, changed = np.nonzero(new != keys)
        if rows.size:
            trials[rows, changed, 0] = self._candidates(new[rows, changed])
        self._step = new
        self._step_repeats = bool((counts > free).any())
        return trials

    def _best_ranked(
        self, new: np.ndarray, repeated: np.ndarray, wanted: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        """Replace, in `new`, the first repeats of each image `rows` by the best open keys of its
        ranking (unvisited, not among the step's trials), up to `wanted[i]` of them, for all
        those images at once; return how many each still lacks (its ranking used up), for
        `_fresh` to draw."""
        ranked = self._ranked[rows]
        taken = self._bits[rows]  # a copy: the visited keys, with each step's trials added
        trials = new[rows]
        np.bitwise_or.at(taken, (np.arange(len(rows))[:, None], trials >> 3), _BIT[trials & 7])
        open_ = (taken[np.arange(len(rows))[:, None], ranked >> 3] & _BIT[ranked & 7]) == 0
        best = open_ & (np.cumsum(open_, axis=1) <= wanted[rows][:, None])
        found = best.sum(axis=1)
        slots = repeated[rows] & (np.cumsum(repeated[rows], axis=1) <= found[:, None])
        trials[slots] = ranked[best]
        new[rows] = trials
        return wanted[rows] - found

    def _candidates(self, keys: np.ndarray) -> np.ndarray:
        """(m, 2 + C) one-pixel candidates of keys: the pixel's centre and its corner colour."""
        position, colour = np.divmod(keys, 2**self._images.channels)
        row, col = np.divmod(position, self._images.width)
        return np.column_stack([row + 0.5, col + 0.5, self._colours[colour]])

    def record(self, counts: np.ndarray) -> None:
        """Remember the first `counts[i]` trials of each image from the step `replace_repeats`
        made: those the model scored (distinct within the step and new to the image)."""
        keys, self._step = self._step, None
        rows, cols = np.nonzero(np.arange(keys.shape[1]) < np.asarray(counts)[:, None])
        pairs = rows * self._space + keys[rows, cols]
        if self._step_repeats:  # only a full space leaves a key twice in a row
            pairs = np.unique(pairs)
        rows, scored = np.divmod(pairs, self._space)
        fresh = ~self._visited(rows, scored)
        rows, scored = rows[fresh], scored[fresh]
        np.bitwise_or.at(self._bits, (rows, scored >> 3), _BIT[scored & 7])
        self._count += np.bincount(rows, minlength=len(self._count))

    def _visited(self, rows: np.ndarray | int, keys: np.ndarray) -> np.ndarray:
        return (self._bits[rows, keys >> 3] & _BIT[keys & 7]) != 0

    def _fresh(
        self, i: int, keys: np.ndarray, count: int, free: int, rng: np.random.Generator
    ) -> np.ndarray:
        """`count` random unvisited keys for image i, not among `keys` (`free` of them left):
        the draws of `operators.distinct_trials`, with a bit lookup for its `isin(..., taken)`."""
        if free <= 4 * count:  # nearly full: list what is left
            taken = np.unpackbits(self._bits[i], count=self._space).astype(bool)
            taken[keys] = True
            return rng.permutation(np.flatnonzero(~taken))[:count]
        fresh = np.empty(0, dtype=np.int64)
        while len(fresh) < count:
            draws = rng.integers(self._space, size=2 * count + 8)
            taken = self._visited(i, draws) | _among(draws, keys)
            fresh = np.unique(np.concatenate([fresh, draws[~taken]]))
        return rng.permutation(fresh)[:count]

    def _keys(self, trials: np.ndarray) -> np.ndarray:
        changes = self._images.realize(trials[:, :, 0:1].reshape(-1, 1, trials.shape[-1]))
        lo, hi = self._images.pixel_range
        high = changes.values[:, 0, :].astype(np.float64) >= (lo + hi) / 2
        keys = candidate_keys(changes.rows[:, 0], changes.cols[:, 0], high, self._images.width)
        return keys.reshape(trials.shape[:2])


def _among(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """`np.isin(values, keys)`; for the few dozen keys of one image's step, by comparing every
    pair, which takes a fifth of isin's time there (isin sorts both arrays): the black-box
    search draws for hundreds of images each generation."""
    if values.size * keys.size > 1 << 16:
        return np.isin(values, keys)
    return (values[:, None] == keys[None, :]).any(axis=1)


def first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Mask (images, P): True where a key appears for the first time in its row."""
    order = np.argsort(keys, axis=1, kind="stable")
    ordered = np.take_along_axis(keys, order, axis=1)
    first = np.ones_like(ordered, dtype=bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    out = np.empty_like(first)
    np.put_along_axis(out, order, first, axis=1)
    return out
