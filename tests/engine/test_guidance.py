"""The guide's operators pinned to worked numbers (engine/guidance.py), and how the pool uses a
ranking: its initial population is the top of it and a repeat is replaced by the best unvisited
candidate (engine/distinct.py).

Every number here can be redone by hand; a change to the first-order estimate (a sign, the
pixel's own value), to the order (descending, unstable ties) or to the merge changes them.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.engine.distinct import VisitedCandidates
from pytest_onepixel.engine.guidance import interleaved, margin_changes, ranking
from pytest_onepixel.engine.pixels import ImageSet


def test_margin_changes_worked_example() -> None:
    """One 1 x 2 grey image, pixels 4 and 10 on 0..16, gradient 2 and -1: setting pixel 0 to
    0 changes the margin by 2 (0 - 4) = -8, to 16 by 2 (16 - 4) = 24; pixel 1 to 0 by
    -1 (0 - 10) = 10, to 16 by -1 (16 - 10) = -6. Keys are (row W + col) 2 + colour."""
    gradient = np.array([[[[2.0], [-1.0]]]])
    pixels = np.array([[[[4], [10]]]], dtype=np.uint8)
    changes = margin_changes(gradient, pixels, np.array([[0.0], [16.0]]))
    np.testing.assert_array_equal(changes, [[-8.0, 24.0, 10.0, -6.0]])
    np.testing.assert_array_equal(ranking(changes, 3), [[0, 3, 2]])


def test_margin_changes_sum_over_channels() -> None:
    """RGB pixel (100, 0, 255) with gradient (1, -2, 0.5) on 0..255: toward colour j the change
    is sum g (c_j - x); black: 1 (0 - 100) - 2 (0 - 0) + 0.5 (0 - 255) = -227.5; white:
    1 (155) - 2 (255) + 0.5 (0) = -355; blue (0, 0, 255): -100 + 0 + 0 = -100; green
    (0, 255, 0): -100 - 510 - 127.5 = -737.5, the best; cyan (0, 255, 255): -610, next."""
    gradient = np.array([1.0, -2.0, 0.5]).reshape(1, 1, 1, 3)
    pixels = np.array([100, 0, 255], dtype=np.uint8).reshape(1, 1, 1, 3)
    bits = (np.arange(8)[:, None] >> np.arange(2, -1, -1)) & 1
    colours = np.where(bits == 1, 255.0, 0.0)
    changes = margin_changes(gradient, pixels, colours)[0]
    assert changes[0] == -227.5 and changes[7] == -355.0 and changes[1] == -100.0
    assert changes[2] == -737.5 and changes[3] == -610.0
    assert ranking(changes[None], 2).tolist() == [[2, 3]]


def test_ties_keep_the_smaller_key_first() -> None:
    changes = np.array([[1.0, 0.0, 0.0, -1.0, 0.0]])
    assert ranking(changes, 5).tolist() == [[3, 1, 2, 4, 0]]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([-2.0, -1.0, 0.0, 0.5, 3.0, np.nan]), min_size=12, max_size=12),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 14),
)
def test_the_partial_ranking_is_the_stable_sort_of_all(rows, limit) -> None:
    """Few distinct values, so ties straddle the cut; NaN (a broken gradient) ranks last; each
    image (row) has its own cut."""
    changes = np.array(rows)
    stable = np.argsort(np.nan_to_num(changes, nan=np.inf), axis=1, kind="stable")
    assert ranking(changes, limit).tolist() == stable[:, :limit].tolist()


def test_interleaved_takes_turns_and_drops_repeats() -> None:
    """[0, 3, 2, 1] and [3, 1, 0, 2] merge as 0, 3, (3), 1, 2, (0), (1), (2)."""
    rankings = np.array([[[0, 3, 2, 1]], [[3, 1, 0, 2]]])
    assert interleaved(rankings).tolist() == [[0, 3, 1, 2]]
    many = np.array([[[5, 6, 7], [1, 2, 3]], [[9, 6, 8], [2, 1, 4]]])
    assert interleaved(many).tolist() == [[5, 9, 6], [1, 2, 3]]


def grey_images(count: int = 2) -> ImageSet:
    images = np.arange(count * 9, dtype=np.uint8).reshape(count, 1, 3, 3) % 17
    return ImageSet.from_user(images, "NCHW", (0, 16))


def test_initial_population_is_the_top_of_the_ranking() -> None:
    """Keys (row 3 + col) 2 + colour: 17 is pixel (2, 2) at 16, 4 pixel (0, 2) at 0. Members
    past the ranking's length keep their random draw."""
    visited = VisitedCandidates(grey_images(1))
    visited.add(1, np.array([[17, 4]]))
    trials = np.full((1, 3, 1, 3), -1.0)
    seeded = visited.seeded(trials, np.array([0]))
    np.testing.assert_array_equal(seeded[0, :, 0], [[2.5, 2.5, 16], [0.5, 2.5, 0], [-1, -1, -1]])


def test_a_repeat_is_replaced_by_the_best_unvisited_candidate() -> None:
    """Image 0 ranks 17, 4, 9, 0; it has been scored on 17 and 4 and proposes 17 and 4 again:
    both repeats become the best unvisited keys, 9 and 0, in ranking order. Image 1, without
    repeats, keeps its trials."""
    images = grey_images(2)
    visited = VisitedCandidates(images)
    visited.add(2, np.array([[17, 4, 9, 0], [1, 2, 3, 5]]))
    first = np.zeros((2, 2, 1, 3))
    first[0, :, 0] = [[2.5, 2.5, 16], [0.5, 2.5, 0]]  # keys 17, 4
    first[1, :, 0] = [[0.5, 0.5, 16], [0.5, 1.5, 0]]  # keys 1, 2
    rngs = [np.random.default_rng(0), np.random.default_rng(1)]
    visited.replace_repeats(first.copy(), rngs)
    visited.record(np.array([2, 2]))
    again = first.copy()
    again[1, :, 0] = [[1.5, 0.5, 0], [1.5, 0.5, 16]]  # keys 6, 7: new
    out = visited.replace_repeats(again, rngs)
    np.testing.assert_array_equal(out[0, :, 0], [[1.5, 1.5, 16], [0.5, 0.5, 0]])  # 9, 0
    np.testing.assert_array_equal(out[1, :, 0], again[1, :, 0])


def test_a_used_up_ranking_falls_back_to_random_unvisited_candidates() -> None:
    images = grey_images(1)
    visited = VisitedCandidates(images)
    visited.add(1, np.array([[17]]))
    trials = np.zeros((1, 4, 1, 3))
    trials[0, :, 0] = [2.5, 2.5, 16]  # key 17, four times
    out = visited.replace_repeats(trials, [np.random.default_rng(0)])
    keys = visited._step[0]
    assert keys[0] == 17 and len(set(keys.tolist())) == 4
    assert (out[0, 0, 0] == [2.5, 2.5, 16]).all()
