"""The batch size by measurement: which sizes are timed, which wins, and what stops the ladder.

Call times are replaced by a table (`_timed` is patched), so every rule is checked on exact
numbers rather than on this machine's noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_onepixel.engine import batch_size
from pytest_onepixel.engine.batch_size import choose_batch_size

IMAGES = np.zeros((4, 1, 8, 8), dtype=np.float32)


def timed_by(seconds_per_call: dict[int, float], calls: list[int] | None = None):
    """A `_timed` whose result is looked up by batch size (and records the sizes called)."""

    def fake(predict, batch: np.ndarray) -> float:
        if calls is not None:
            calls.append(len(batch))
        return seconds_per_call[len(batch)]

    return fake


def per_image(seconds: float) -> dict[int, float]:
    return {size: seconds * size for size in (*batch_size.LADDER, 5, 20, 40)}


def test_the_smallest_size_within_five_percent_of_the_best_wins(monkeypatch) -> None:
    times = per_image(1e-4) | {16: 16e-4 * 1.1, 32: 32e-4, 64: 64e-4 * 0.96, 128: 128e-4 * 0.99}
    monkeypatch.setattr(batch_size, "_timed", timed_by(times))
    choice = choose_batch_size(None, IMAGES, cap=128)
    assert sorted(choice.throughput) == [16, 32, 64, 128]
    assert choice.size == 32  # 64 is the fastest; 32 is within 5% of it
    assert choice.images_scored == 2 * (16 + 32 + 64 + 128)


def test_the_cap_and_the_candidates_in_flight_bound_the_sizes_timed(monkeypatch) -> None:
    monkeypatch.setattr(batch_size, "_timed", timed_by(per_image(1e-5)))
    assert sorted(choose_batch_size(None, IMAGES, cap=40).throughput) == [16, 32, 40]
    assert sorted(choose_batch_size(None, IMAGES, cap=None, in_flight=20).throughput) == [16, 20]
    assert sorted(choose_batch_size(None, IMAGES, cap=5).throughput) == [5]


def test_a_clearly_slower_size_stops_the_ladder(monkeypatch) -> None:
    times = per_image(1e-4) | {64: 64e-4 * 1.3}
    monkeypatch.setattr(batch_size, "_timed", timed_by(times))
    choice = choose_batch_size(None, IMAGES, cap=None)
    assert sorted(choice.throughput) == [16, 32, 64] and "clearly slower" in choice.reason


def test_the_memory_budget_stops_the_ladder(monkeypatch) -> None:
    monkeypatch.setattr(batch_size, "MEMORY_BUDGET", 40 * IMAGES[0].nbytes)
    monkeypatch.setattr(batch_size, "_timed", timed_by(per_image(1e-5)))
    choice = choose_batch_size(None, IMAGES, cap=None)
    assert sorted(choice.throughput) == [16, 32] and "memory budget" in choice.reason


@pytest.mark.parametrize(
    ("planned", "sizes"),
    [
        (100, [16]),  # a tiny attack on a slow model: one size, then the search
        (100_000, [16, 32, 64]),  # a long search pays for more timing
        (None, [16, 32, 64]),  # unknown plan: only the other rules apply
    ],
)
def test_timing_costs_at_most_a_small_share_of_the_search(monkeypatch, planned, sizes) -> None:
    """Calls of 0.2 s per 16 images (80 images/s): two calls at 16 already spend 0.4 s, over the
    0.25 s floor and over 3% of the 1.25 s that 100 queries would take."""
    monkeypatch.setattr(batch_size, "_timed", timed_by(per_image(0.2 / 16)))
    choice = choose_batch_size(None, IMAGES, cap=64, planned_queries=planned)
    assert sorted(choice.throughput) == sizes
    assert ("3%" in choice.reason) == (planned == 100)
