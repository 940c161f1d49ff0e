"""Why a batch size was limited (`BatchChoice.limited_by`), and when a bound held back a batch
that still got faster (`rising_at_limit`): what api.py turns into a "slower path" note."""

from __future__ import annotations

import numpy as np

from pytest_onepixel.engine import batch_size
from pytest_onepixel.engine.batch_size import choose_batch_size

IMAGES = np.zeros((4, 1, 8, 8), dtype=np.float32)


def per_call(seconds: float):
    """Every call takes the same time whatever its size: larger batches run faster."""
    return lambda predict, batch: seconds


def test_max_batch_below_the_candidates_in_flight_is_the_limit(monkeypatch) -> None:
    monkeypatch.setattr(batch_size, "_timed", per_call(1e-3))
    choice = choose_batch_size(None, IMAGES, cap=32, in_flight=1000)
    assert choice.limited_by == "max_batch" and choice.size == 32
    assert choice.rising_at_limit() == (16, 16_000.0, 32, 32_000.0)
    assert choice.to_json()["limited_by"] == "max_batch"


def test_a_cap_above_the_candidates_in_flight_limits_nothing(monkeypatch) -> None:
    monkeypatch.setattr(batch_size, "_timed", per_call(1e-3))
    choice = choose_batch_size(None, IMAGES, cap=64, in_flight=32)
    assert choice.limited_by == "" and choice.rising_at_limit() is None


def test_the_memory_budget_is_the_limit(monkeypatch) -> None:
    monkeypatch.setattr(batch_size, "MEMORY_BUDGET", 40 * IMAGES[0].nbytes)
    monkeypatch.setattr(batch_size, "_timed", per_call(1e-3))
    choice = choose_batch_size(None, IMAGES, cap=None)
    assert choice.limited_by == "memory" and choice.rising_at_limit() == (16, 16e3, 32, 32e3)


def test_a_bound_that_cost_no_speed_is_not_reported(monkeypatch) -> None:
    """Throughput flat from 16 to 32 (time per image constant): the cap held back nothing."""
    monkeypatch.setattr(batch_size, "_timed", lambda predict, batch: 1e-4 * len(batch))
    choice = choose_batch_size(None, IMAGES, cap=32, in_flight=1000)
    assert choice.limited_by == "max_batch" and choice.rising_at_limit() is None


def test_a_ladder_stopped_by_speed_has_no_limit(monkeypatch) -> None:
    times = {16: 16e-4, 32: 32e-4 * 1.5}
    monkeypatch.setattr(batch_size, "_timed", lambda predict, batch: times[len(batch)])
    choice = choose_batch_size(None, IMAGES, cap=32, in_flight=1000)
    assert choice.limited_by == "" and "clearly slower" in choice.reason
