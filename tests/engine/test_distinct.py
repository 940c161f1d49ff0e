"""VisitedCandidates (engine/distinct.py) runs on the whole pool at once and replaces exactly
what the per-image reference, operators.distinct_trials, replaces, with the same draws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.engine.distinct import VisitedCandidates, _among
from pytest_onepixel.engine.operators import candidate_keys, distinct_trials
from pytest_onepixel.engine.pixels import ImageSet


def _trials_of(keys: np.ndarray, images: ImageSet) -> np.ndarray:
    """Trials (n, P, 1, 2 + C) at the corner candidates `keys` (n, P)."""
    channels, width = images.channels, images.width
    position, colour = np.divmod(keys, 2**channels)
    row, col = np.divmod(position, width)
    bits = (colour[..., None] >> np.arange(channels - 1, -1, -1)) & 1
    lo, hi = images.pixel_range
    values = np.where(bits == 1, hi, lo).astype(np.float64)
    return np.concatenate([row[..., None] + 0.5, col[..., None] + 0.5, values], axis=-1)[
        :, :, None, :
    ]


@pytest.mark.parametrize("side, channels, popsize", [(3, 1, 5), (4, 3, 40), (2, 1, 6)])
def test_the_pool_replaces_what_the_per_image_reference_replaces(side, channels, popsize) -> None:
    images = ImageSet.from_user(
        np.zeros((4, channels, side, side), dtype=np.uint8), "NCHW", (0, 255)
    )
    space = side * side * 2**channels
    pool = VisitedCandidates(images)
    pool.add(4)
    visited = [np.empty(0, dtype=np.int64) for _ in range(4)]
    source = np.random.default_rng(7)
    ours = [np.random.default_rng(i) for i in range(4)]
    theirs = [np.random.default_rng(i) for i in range(4)]
    for step in range(12):  # until the smallest space is full, then past it
        keys = source.integers(min(space, 6 + step), size=(len(visited), popsize))
        out = pool.replace_repeats(_trials_of(keys, images), ours)
        high = out[:, :, 0, 2:] >= 127.5
        rows, cols = out[:, :, 0, 0].astype(int), out[:, :, 0, 1].astype(int)
        got = candidate_keys(rows, cols, high, side)
        triples = zip(keys, visited, theirs, strict=True)
        want = np.stack([distinct_trials(k, v, space, r) for k, v, r in triples])
        np.testing.assert_array_equal(got, want)
        counts = source.integers(0, popsize + 1, size=len(visited))
        pool.record(counts)
        visited = [np.union1d(v, w[:c]) for v, w, c in zip(visited, want, counts, strict=True)]
        if step == 5:  # the pool retires an image
            kept = np.array([True, False, True, True])
            pool.keep(kept)
            visited = [v for v, k in zip(visited, kept, strict=True) if k]
            ours = [r for r, k in zip(ours, kept, strict=True) if k]
            theirs = [r for r, k in zip(theirs, kept, strict=True) if k]


def _ranked_reference(keys, visited, ranking, space) -> tuple[np.ndarray, bool]:
    """One image's trials after `replace_repeats` when guided, written out: its first
    min(repeats, free) repeats (a key visited before, or earlier in the row) become the best
    keys of its ranking that are neither visited nor among the row's trials, in ranking order.
    Second: whether the ranking had enough such keys (else the rest are random draws)."""
    seen: set[int] = set()
    repeated = []
    for key in keys.tolist():
        repeated.append(key in visited or key in seen)
        seen.add(key)
    free = space - (len(visited) + len(keys) - sum(repeated))
    count = min(sum(repeated), free)
    open_ = [k for k in ranking.tolist() if k not in visited and k not in seen]
    new = keys.copy()
    slots = [i for i, r in enumerate(repeated) if r][:count]
    new[slots] = open_[:count] if len(open_) >= count else new[slots]
    return new, len(open_) >= count


@settings(max_examples=60, deadline=None)
@given(
    side=st.integers(2, 4),
    channels=st.sampled_from([1, 3]),
    popsize=st.integers(4, 12),
    length=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_guided_replacements_are_the_best_open_keys_of_each_ranking(
    side, channels, popsize, length, seed
) -> None:
    """The pool's guided replacement (all images at once) takes, image by image, what the
    written-out reference takes; an image whose ranking is used up gets distinct new keys."""
    images = ImageSet.from_user(
        np.zeros((5, channels, side, side), dtype=np.uint8), "NCHW", (0, 255)
    )
    space = side * side * 2**channels
    source = np.random.default_rng(seed)
    rankings = np.stack([source.permutation(space)[: min(length, space)] for _ in range(5)])
    pool = VisitedCandidates(images)
    pool.add(5, rankings)
    visited: list[set[int]] = [set() for _ in range(5)]
    rngs = [np.random.default_rng(i) for i in range(5)]
    for _ in range(4):
        keys = source.integers(min(space, 2 * popsize), size=(5, popsize))
        out = pool.replace_repeats(_trials_of(keys, images), rngs)
        high = out[:, :, 0, 2:] >= 127.5
        rows, cols = out[:, :, 0, 0].astype(int), out[:, :, 0, 1].astype(int)
        got = candidate_keys(rows, cols, high, side)
        for image in range(5):
            want, ranked = _ranked_reference(keys[image], visited[image], rankings[image], space)
            if ranked:
                np.testing.assert_array_equal(got[image], want)
            else:
                fresh = got[image][got[image] != keys[image]]
                assert not set(fresh.tolist()) & (visited[image] | set(keys[image].tolist()))
                assert len(set(fresh.tolist())) == len(fresh)
        counts = source.integers(0, popsize + 1, size=5)
        pool.record(counts)
        for image in range(5):
            visited[image] |= set(got[image][: counts[image]].tolist())


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 900), st.integers(1, 900), st.integers(0, 2**32 - 1))
def test_among_is_isin_for_few_and_many_keys(draws, keys, seed) -> None:
    """The pairwise comparison (few keys) and isin (many) give isin's mask."""
    rng = np.random.default_rng(seed)
    values, taken = rng.integers(0, 2 * draws, size=draws), rng.integers(0, 2 * draws, size=keys)
    assert (_among(values, taken) == np.isin(values, taken)).all()
