"""The batch size by measurement: which sizes are timed, which wins, and what stops the ladder.

Call times are replaced by a table (`_timed` is patched), so every rule is checked on exact
numbers rather than on this machine's noise; the robust rules (issue 21.3) get calls slowed on
purpose, as a busy runner slows them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    assert choice.size == 32  # 64 is the fastest; 32 is within 5% of it (timed again in turn)
    assert choice.images_scored == 2 * (16 + 32 + 64 + 128) + 2 * (32 + 64)


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


# Robust timing (issue 21.3): under load one call, or one size's calls, can take many times
# longer than the model needs; the ladder compares throughput and times again before stopping.


def timed_in_turn(per_call: dict[int, list[float]], calls: list[int] | None = None):
    """A `_timed` whose successive calls at a size take the listed seconds (the last repeats)."""
    served: dict[int, int] = {}

    def fake(predict, batch: np.ndarray) -> float:
        size = len(batch)
        if calls is not None:
            calls.append(size)
        times = per_call[size]
        served[size] = served.get(size, 0) + 1
        return times[min(served[size], len(times)) - 1]

    return fake


def loaded(rates: dict[int, float]) -> dict[int, list[float]]:
    return {size: [size / rate] for size, rate in rates.items()}


def test_a_slow_start_at_16_does_not_stop_the_ladder(monkeypatch) -> None:
    """The runner the issue saw: both calls at 16 took 2 s (8 img/s, over a second each) while
    64 ran at 60 img/s. The old ladder stopped at 16; the search then ran 7x slower. The 4 s
    spent at 16 do not stop it either: whether the next size pays depends on its own cost."""
    per_call = loaded({16: 8, 32: 40, 64: 60, 128: 61, 256: 60})
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(per_call))
    choice = choose_batch_size(None, IMAGES, cap=None, planned_queries=100 * 400, in_flight=4000)
    assert choice.size == 64
    assert sorted(choice.throughput) == [16, 32, 64, 128, 256]  # then the curve is flat
    assert "no faster" in choice.reason


def test_one_slow_call_at_any_size_changes_nothing(monkeypatch) -> None:
    rates = {16: 50, 32: 80, 64: 100, 128: 104, 256: 101}
    steady = choose_batch_size_with(monkeypatch, loaded(rates))
    for size in rates:
        spiked = loaded(rates)
        spiked[size] = [size / rates[size] * 30, size / rates[size]]  # a 30x slower first call
        assert choose_batch_size_with(monkeypatch, spiked) == steady


def test_a_burst_during_one_size_is_timed_again_in_turn_and_the_ladder_goes_on(
    monkeypatch,
) -> None:
    """Both calls at 64 land in a burst of load (it looks 3x slower than 32); timed again right
    after 32 it runs as fast as it is, so the ladder climbs on and picks 128."""
    rates = {16: 5000, 32: 8000, 64: 10000, 128: 13000, 256: 13100, 512: 13000}
    per_call = loaded(rates)
    per_call[64] = [64 / 3000, 64 / 3000, 64 / 10000]
    calls: list[int] = []
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(per_call, calls))
    choice = choose_batch_size(None, IMAGES, cap=None)
    assert calls[:8] == [16, 16, 32, 32, 64, 64, 32, 64]  # the re-check: best, then 64
    assert choice.size == 128 and choice.throughput[64] == pytest.approx(10000)


def test_a_genuinely_slower_size_still_stops_the_ladder_after_the_second_look(
    monkeypatch,
) -> None:
    rates = {16: 50, 32: 100, 64: 60, 128: 200}
    calls: list[int] = []
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(loaded(rates), calls))
    choice = choose_batch_size(None, IMAGES, cap=None)
    assert calls == [16, 16, 32, 32, 64, 64, 32, 64]
    assert choice.size == 32 and "clearly slower than 32 (timed again" in choice.reason


def test_the_memory_budget_holds_however_fast_larger_sizes_run(monkeypatch) -> None:
    monkeypatch.setattr(batch_size, "MEMORY_BUDGET", 100 * IMAGES[0].nbytes)
    per_call = loaded({16: 8, 32: 40, 64: 60, 128: 600, 256: 6000})
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(per_call))
    choice = choose_batch_size(None, IMAGES, cap=None, planned_queries=10**6)
    assert sorted(choice.throughput) == [16, 32, 64] and choice.limited_by == "memory"


def test_without_a_plan_a_size_too_slow_to_time_is_skipped(monkeypatch) -> None:
    """At 20 img/s, a call of 32 would take 1.6 s: not worth timing when the search's size is
    unknown. The projection uses the best throughput, never one call's time."""
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(loaded({16: 20, 32: 21})))
    choice = choose_batch_size(None, IMAGES, cap=None)
    assert sorted(choice.throughput) == [16] and "would take 1.6 s" in choice.reason


def choose_batch_size_with(monkeypatch, per_call: dict[int, list[float]]):
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(per_call))
    choice = choose_batch_size(None, IMAGES, cap=None, in_flight=512)
    return choice.size, sorted(choice.throughput), choice.reason


RATE_TABLES = st.lists(
    st.floats(min_value=10, max_value=1e5), min_size=len(batch_size.LADDER), max_size=9
).map(lambda rates: dict(zip(batch_size.LADDER, rates, strict=True)))


@settings(max_examples=60, deadline=None)
@given(
    rates=RATE_TABLES,
    spike_at=st.sampled_from(batch_size.LADDER),
    factor=st.floats(1, 100),
    cap=st.integers(1, 5000),
    in_flight=st.integers(1, 5000),
)
def test_the_choice_is_within_bounds_as_fast_as_any_size_timed_and_ignores_one_slow_call(
    rates, spike_at, factor, cap, in_flight
) -> None:
    """For any throughput curve: the size is within max_batch and the candidates in flight (or
    the first size), as fast as the best size timed within AS_FAST, and one call slowed by any
    factor changes nothing (each size's throughput comes from its fastest call)."""
    limit = min(cap, max(in_flight, 16))

    def seconds(size: int) -> float:
        below = max((s for s in rates if s <= size), default=16)
        return size / rates[below]

    def run(spike: bool):
        slowed = {"left": 1 if spike else 0}

        def fake(predict, batch):
            if len(batch) == spike_at and slowed["left"]:
                slowed["left"] = 0
                return seconds(len(batch)) * factor
            return seconds(len(batch))

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(batch_size, "_timed", fake)
            patch.setattr(batch_size, "SLOW_CALL", 1e9)
            patch.setattr(batch_size, "_peak_bytes", lambda: 0)  # this process's memory varies
            return choose_batch_size(None, IMAGES, cap=cap, in_flight=in_flight)

    choice = run(spike=False)
    assert 1 <= choice.size <= limit and choice.images_scored >= 2 * min(choice.throughput)
    assert choice.throughput[choice.size] >= batch_size.AS_FAST * max(choice.throughput.values())
    assert run(spike=True) == choice


def test_a_size_as_fast_only_in_a_quiet_moment_loses_when_timed_again_in_turn(monkeypatch) -> None:
    """64's two calls land in a quiet moment (98 img/s); timed again after the ladder, in turn
    with the best (128), it runs at 70: the best is kept."""
    per_call = loaded({16: 50, 32: 70, 64: 98, 128: 100, 256: 100})
    per_call[64] = [64 / 98, 64 / 98, 64 / 70]
    calls: list[int] = []
    monkeypatch.setattr(batch_size, "_timed", timed_in_turn(per_call, calls))
    choice = choose_batch_size(None, IMAGES, cap=None, planned_queries=10**6)
    assert calls[-4:] == [64, 128, 64, 128]
    assert choice.size == 128
