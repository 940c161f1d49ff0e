"""Each DE operator pinned to a worked number (as scipy's `test__mutate1` pins `_rand1`), partner
selection checked for distinctness and uniformity, and DE told apart from random search.

The worked numbers are small enough to redo by hand; a change to any operator's arithmetic
(the scale F, a comparison, the forced crossover parameter, the redraw rule) changes them.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from pytest_onepixel import attack
from pytest_onepixel.engine.operators import (
    STRATEGIES,
    best1,
    binomial_crossover,
    candidate_keys,
    distinct_trials,
    greedy_selection,
    initial_population,
    rand1,
    redraw_outside,
    select_partners,
    snap_to_corners,
)
from pytest_onepixel.engine.presets import STRATEGY_NAMES, Preset
from pytest_onepixel.engine.search import fitness_and_success
from pytest_onepixel.errors import InputError


def test_initial_population_worked_example() -> None:
    """default_rng(0).random() starts 0.63696, 0.26979, 0.04097, 0.01653, ...: positions are
    those uniforms times (H, W) = (5, 6); the first half of the members (extreme_fraction 0.5)
    have every channel at 0 or 255, the rest N(127.5, 127.5) clipped to [0, 255]."""
    population = initial_population(np.random.default_rng(0), 4, 1, (5, 6, 3), (0, 255), 0.5)
    assert population.shape == (4, 1, 5)
    np.testing.assert_allclose(population[0, 0, :2], [0.6369617 * 5, 0.2697867 * 6], rtol=1e-6)
    np.testing.assert_allclose(population[1, 0, :2], [0.0409735 * 5, 0.0165276 * 6], rtol=1e-5)
    np.testing.assert_array_equal(population[0, 0, 2:], [0, 0, 255])
    np.testing.assert_array_equal(population[1, 0, 2:], [255, 255, 0])
    np.testing.assert_allclose(population[2, 0, 2:], [0.0, 34.135912, 58.10698], atol=1e-5)
    np.testing.assert_allclose(population[3, 0, 2:], [87.17173, 179.982893, 255.0], atol=1e-5)


def test_black_white_extremes_take_channel_zeros_draw_for_every_channel() -> None:
    """The same stream as the worked example above: member 0's channel draws put channel 0 at
    0 (its uniform < 0.5), so the member is black; member 1's at 255: white. Positions and the
    normal members are unchanged."""
    plain = initial_population(np.random.default_rng(0), 4, 1, (5, 6, 3), (0, 255), 0.5)
    grey = initial_population(np.random.default_rng(0), 4, 1, (5, 6, 3), (0, 255), 0.5, True)
    np.testing.assert_array_equal(grey[0, 0, 2:], [0, 0, 0])
    np.testing.assert_array_equal(grey[1, 0, 2:], [255, 255, 255])
    np.testing.assert_array_equal(grey[:, :, :2], plain[:, :, :2])
    np.testing.assert_array_equal(grey[2:], plain[2:])


def test_initial_population_without_extremes_is_the_papers_normal_draw() -> None:
    population = initial_population(np.random.default_rng(3), 400, 1, (32, 32, 3), (0, 255), 0)
    values = population[:, 0, 2:]
    assert values.min() >= 0 and values.max() <= 255
    assert abs(np.median(values) - 127.5) < 15  # N(127.5, 127.5) clipped: median at the mid
    assert np.mean((values == 0) | (values == 255)) < 0.4  # clipping, not seeding, at the ends


def test_select_partners_worked_example() -> None:
    """Member 0, uniforms (0, 0, 0): 0 -> 1 (skips itself), 0 -> 2 (skips 0, 1), 0 -> 3.
    Member 2, uniforms (0.99, 0.5, 0): floor(0.99 * 4) = 3 -> 4 (skips 2); floor(0.5 * 3) = 1
    stays 1; floor(0 * 2) = 0 stays 0."""
    uniforms = np.zeros((5, 3))
    uniforms[2] = [0.99, 0.5, 0.0]
    partners = select_partners(uniforms, 5)
    assert partners[0].tolist() == [1, 2, 3]
    assert partners[2].tolist() == [4, 1, 0]


@settings(max_examples=200, deadline=None)
@given(st.integers(4, 40), st.integers(0, 2**32 - 1))
def test_partners_are_distinct_and_never_the_member(popsize: int, seed: int) -> None:
    uniforms = np.random.default_rng(seed).random((3, popsize, 3))
    partners = select_partners(uniforms, popsize)
    assert partners.shape == (3, popsize, 3)
    assert ((partners >= 0) & (partners < popsize)).all()
    own = np.arange(popsize)[None, :, None]
    assert (partners != own).all()
    assert (partners[..., 0] != partners[..., 1]).all()
    assert (partners[..., 0] != partners[..., 2]).all()
    assert (partners[..., 1] != partners[..., 2]).all()


def test_partners_are_uniform_over_ordered_triples() -> None:
    """For popsize 6 each member's (r1, r2, r3) is uniform over the 5 * 4 * 3 = 60 ordered
    triples of the other members: a chi-square test over 60,000 seeded draws per member."""
    popsize, draws = 6, 60_000
    uniforms = np.random.default_rng(11).random((draws, popsize, 3))
    partners = select_partners(uniforms, popsize)
    for member in range(popsize):
        counts = Counter(map(tuple, partners[:, member].tolist()))
        assert len(counts) == 60
        assert chisquare(list(counts.values())).pvalue > 1e-3


def test_rand1_worked_example() -> None:
    """Member 0 with partners (1, 2, 3): [10, 20] + 0.5 * ([4, 8] - [2, 2]) = [11, 23]."""
    population = np.array([[[0.0, 0.0], [10.0, 20.0], [4.0, 8.0], [2.0, 2.0]]])
    partners = np.array([[[1, 2, 3], [2, 3, 0], [3, 0, 1], [0, 1, 2]]])
    mutants = rand1(population, np.zeros((1, 4)), partners, 0.5)  # fitness: not used
    np.testing.assert_allclose(mutants[0, 0], [11.0, 23.0])
    np.testing.assert_allclose(mutants[0, 1], [4 + 0.5 * 2, 8 + 0.5 * 2])  # [5, 9]
    np.testing.assert_allclose(mutants[0, 3], [0 + 0.5 * 6, 0 + 0.5 * 12])  # [3, 6]


def test_binomial_crossover_worked_example() -> None:
    """Rate 0.5: uniforms (0.1, 0.9, 0.6) take parameter 0 from the mutant; the forcing uniform
    0.5 picks floor(0.5 * 3) = 1, which comes from the mutant too; parameter 2 stays."""
    parents = np.array([[1.0, 2.0, 3.0]])
    mutant = np.array([[10.0, 20.0, 30.0]])
    uniforms = np.array([[0.1, 0.9, 0.6, 0.5]])
    np.testing.assert_array_equal(
        binomial_crossover(parents, mutant, uniforms, 0.5), [[10.0, 20.0, 3.0]]
    )


def test_redraw_outside_worked_example() -> None:
    """Bounds (5, 5): -0.5 and 5.0 are off the grid [0, 5) and become uniform * 5; 3.2 and 4.9
    stay."""
    positions = np.array([[-0.5, 3.2], [4.9, 5.0]])
    uniforms = np.array([[0.5, 0.5], [0.2, 0.4]])
    redrawn = redraw_outside(positions, uniforms, np.array([5.0, 5.0]))
    np.testing.assert_allclose(redrawn, [[2.5, 3.2], [4.9, 2.0]])


def test_greedy_selection_worked_example() -> None:
    """Only a strictly fitter trial replaces its parent: 0.4 < 0.5 replaces, 0.2 = 0.2 keeps,
    1.0 > 0.9 keeps."""
    population = np.zeros((3, 1, 3))
    trials = np.ones((3, 1, 3))
    kept, fitness = greedy_selection(
        population, np.array([0.5, 0.2, 0.9]), trials, np.array([0.4, 0.2, 1.0])
    )
    assert kept[:, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert fitness.tolist() == [0.4, 0.2, 0.9]


def test_fitness_and_success_worked_example() -> None:
    """Untargeted: fitness is the true class's probability, success a different argmax.
    Targeted (target 1): fitness 1 - p(target), success when the target wins."""
    probabilities = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.3, 0.5]])
    fitness, fooled = fitness_and_success(probabilities, np.array([0, 0, 0]), np.array([-1, 1, 1]))
    np.testing.assert_allclose(fitness, [0.7, 0.4, 0.7])
    assert fooled.tolist() == [False, True, False]


def _needle_model(height: int = 24, center=(9, 14), sigma: float = 2.0, threshold: float = 0.9):
    """A model whose class 1 wins when one bright pixel lands near `center`: its logit grows
    smoothly with the pixel's value and closeness, so selection has a gradient to follow and
    DE's progress is measurable, while a random candidate rarely lands close and bright."""
    rows, cols = np.mgrid[0:height, 0:height]
    weight = np.exp(-((rows - center[0]) ** 2 + (cols - center[1]) ** 2) / (2 * sigma**2))

    def model(batch: np.ndarray) -> np.ndarray:
        closeness = (batch.reshape(len(batch), height, height) * weight).sum(axis=(1, 2)) / 255
        logit = 12 * (closeness - threshold)
        return np.stack([np.zeros_like(logit), logit], axis=1)

    return model


def test_de_beats_random_search_at_the_same_budget() -> None:
    """Budget 200 on 60 blank 24x24 images: DE (population 20, 9 generations) against the same
    engine with population 200, which spends the whole budget on its random initial population.
    Replacing mutation by fresh random candidates makes the two equal; DE is far ahead."""
    images = np.zeros((60, 1, 24, 24), dtype=np.uint8)
    labels = np.zeros(60, dtype=int)
    model = _needle_model()
    de = attack(model, images, labels, budget=200, popsize=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # population = budget: no generation, on purpose
        random_search = attack(model, images, labels, budget=200, popsize=200, seed=1)
    assert random_search.success_rate < 0.25
    assert de.success_rate > 0.5
    assert de.success_rate > 2 * random_search.success_rate


@pytest.mark.parametrize("preset", ["default", "paper"])
def test_a_budget_without_a_generation_is_named(preset: str) -> None:
    images = np.zeros((2, 1, 4, 4), dtype=np.uint8)
    model = _needle_model(4, (1, 1))
    with pytest.warns(UserWarning, match=r"runs no DE generation at budget 400.*random search"):
        result = attack(
            model,
            images,
            [0, 0],
            budget=400,
            popsize=400 if preset == "default" else None,
            preset=preset,
        )
    assert result.measured.generations == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert attack(model, images, [0, 0], budget=800, preset=preset).measured.generations >= 1


def test_best1_worked_example() -> None:
    """The fittest member is 2 (fitness 0.1): every mutant is [4, 8] + 0.5 * (x_r2 - x_r3);
    member 0 with partners (1, 2, 3): [4, 8] + 0.5 * ([4, 8] - [2, 2]) = [5, 11]."""
    population = np.array([[[0.0, 0.0], [10.0, 20.0], [4.0, 8.0], [2.0, 2.0]]])
    fitness = np.array([[0.9, 0.5, 0.1, 0.7]])
    partners = np.array([[[1, 2, 3], [2, 3, 0], [3, 0, 1], [0, 1, 2]]])
    mutants = best1(population, fitness, partners, 0.5)
    np.testing.assert_allclose(mutants[0, 0], [5.0, 11.0])
    np.testing.assert_allclose(mutants[0, 1], [4 + 0.5 * (2 - 0), 8 + 0.5 * (2 - 0)])  # [5, 9]


def test_the_strategy_table_is_what_presets_accept_and_runs_the_worked_examples() -> None:
    """One name table: a Preset takes exactly the names of `STRATEGIES` (presets.py spells
    them again to stay free of numpy), and each entry, called through the one signature
    (population, fitness, partners, F), gives its operator's worked example above."""
    assert tuple(STRATEGIES) == STRATEGY_NAMES
    for name in STRATEGIES:
        assert Preset("mine", None, strategy=name).strategy == name
    with pytest.raises(InputError, match=r"strategy='rand2' is out of range .*'rand1', 'best1'"):
        Preset("mine", None, strategy="rand2")
    population = np.array([[[0.0, 0.0], [10.0, 20.0], [4.0, 8.0], [2.0, 2.0]]])
    fitness = np.array([[0.9, 0.5, 0.1, 0.7]])
    partners = np.array([[[1, 2, 3], [2, 3, 0], [3, 0, 1], [0, 1, 2]]])
    expected = {"rand1": [11.0, 23.0], "best1": [5.0, 11.0]}
    assert set(expected) == set(STRATEGIES)
    for name, mutate in STRATEGIES.items():
        mutants = mutate(population, fitness, partners, 0.5)
        assert mutants.shape == population.shape
        np.testing.assert_allclose(mutants[0, 0], expected[name])


def test_snap_to_corners_worked_example() -> None:
    """Range (0, 16): below the mid-point 8 goes to 0, from 8 up to 16."""
    values = np.array([[0.0, 7.99, 8.0, 12.5, 16.0]])
    assert snap_to_corners(values, (0, 16)).tolist() == [[0, 0, 16, 16, 16]]


def test_candidate_keys_follow_the_exhaustive_order() -> None:
    """(row * W + col) * 2^C + colour, colour bits (red, green, blue) high-first: pixel (1, 2)
    of a 5-wide RGB image in blue is (1 * 5 + 2) * 8 + 1 = 57; in white, 63."""
    keys = candidate_keys(
        np.array([1, 1, 0]),
        np.array([2, 2, 0]),
        np.array([[False, False, True], [True, True, True], [False, False, False]]),
        width=5,
    )
    assert keys.tolist() == [57, 63, 0]


def test_distinct_trials_replace_repeats_with_unvisited_candidates() -> None:
    keys = np.array([5, 9, 5, 3, 7])
    visited = np.array([3, 4])
    out = distinct_trials(keys, visited, space=20, rng=np.random.default_rng(0))
    assert out[0] == 5 and out[1] == 9 and out[4] == 7  # first occurrences kept, in place
    assert out[2] not in (5, 9, 7, 3, 4) and out[3] not in (5, 9, 7, 3, 4)
    assert len(set(out.tolist())) == 5
    again = distinct_trials(keys, visited, space=20, rng=np.random.default_rng(0))
    assert again.tolist() == out.tolist()  # the image's own stream decides


def test_distinct_trials_fill_what_is_left_of_a_nearly_full_space() -> None:
    """6 candidates in all, 4 visited: two repeats become the two left, the third stays."""
    keys = np.array([0, 1, 2])
    out = distinct_trials(keys, np.array([0, 1, 2, 3]), space=6, rng=np.random.default_rng(1))
    assert sorted(out[:2].tolist()) == [4, 5] and out[2] == 2


def test_the_default_search_covers_a_space_its_budget_covers() -> None:
    """With distinct corner candidates, a budget as large as the 3 x 3 x 2 space finds a
    fooling pixel whenever one exists (the only one: pixel (2, 1) dark)."""
    images = np.full((12, 1, 3, 3), 200, dtype=np.uint8)

    def model(batch: np.ndarray) -> np.ndarray:
        dark = batch[:, 0, 2, 1] < 100
        return np.stack([~dark, dark], axis=1).astype(np.float32) * 5

    result = attack(model, images, np.zeros(12, dtype=int), budget=18, popsize=6)
    assert result.successes == 12
