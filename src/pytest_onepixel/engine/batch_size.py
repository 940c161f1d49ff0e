"""The batch size by measurement: the fastest a model runs, within a memory budget.

A fixed batch costs both memory and speed: a 224x224 ResNet-18 in batches of 4096 images needs
gigabytes of activations, while a small CNN runs several times faster in batches of a few dozen
than of thousands on a CPU. So before the search, copies of the sample's images are scored in
batches of growing size (16, 32, 64, ... up to the cap) and the peak memory each size added is
read. Sizes are compared by throughput (images/s), each from the fastest of its calls: load from
other processes only ever adds time, so the fastest call is the one least disturbed, and one
slow call (a busy runner, a first call that allocates) changes nothing.

The ladder stops when
- a size runs clearly slower (under 0.8x) than the best so far, and still does when the two are
  timed again one after the other (a burst of load during one size's calls is not a slower size);
- two sizes in a row run no faster (within 5%) than the best before them: the curve has flattened;
- the next size would pass the memory budget (extrapolated from what the last one added);
- timing the next size (its calls projected at the best throughput so far) would cost more
  than 3% of what the search itself is expected to take, or bring all the timing past 10% of
  it (each at least a small floor; so a small attack on a large model does not pay more for
  measuring than it can win: measured against torchattacks on a ResNet-18, timing every size
  cost a 2-image attack a quarter of its time). When the search's size is unknown, a size
  whose call would take over a second at the best throughput so far is not timed.
No rule reads one call's time: under load a ResNet-18 once took 2 s for a batch of 16 (8 img/s)
while 64 ran 48-84 img/s, and the old "one call took over a second" rule stopped there.
Sizes beyond the most candidates the search can have in flight are never timed. The smallest
size within 5% of the best throughput wins (as fast, less memory, finer-grained early stops),
once it and the best are timed again in turn and it is still as fast.

Records do not depend on the size chosen for a model that scores each image independently of
its batch (the consistency check); the choice is in the report (`measured.batch`), setting
`max_batch` caps it, and engine/batch_store.py remembers it per model and machine.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: Sizes tried, in order (capped by max_batch, which is always tried when smaller).
LADDER = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
#: Default cap when max_batch is not set.
DEFAULT_CAP = 4096
#: What one batch may add to the process's peak memory: inputs plus activations.
MEMORY_BUDGET = 512 * 2**20
#: Calls timed at each size (its throughput comes from the fastest).
CALLS = 2
#: A size under this share of the best throughput looks clearly slower (then it is re-checked).
CLEARLY_SLOWER = 0.8
#: A size gains when it runs this much faster than the best before it; PLATEAU sizes in a row
#: without a gain end the ladder.
GAIN = 1.05
PLATEAU = 2
#: A size within this share of the best throughput counts as as fast.
AS_FAST = 0.95
#: Timing one more size may cost this share of the search's expected time (planned queries
#: over the best throughput so far), and all the timing MEASURE_TOTAL of it; both at least
#: MEASURE_FLOOR seconds. (The time already spent does not decide whether the next size pays:
#: under load the small sizes are the slow ones, and stopping because they were slow keeps
#: the search at their speed.)
MEASURE_SHARE = 0.03
MEASURE_TOTAL = 0.10
MEASURE_FLOOR = 0.25
#: Without a plan, a size is not timed when one call of it would take longer than this at the
#: best throughput so far.
SLOW_CALL = 1.0
#: A bound (memory, max_batch) held the batch back when its last size ran this much faster
#: than the size before it (api.py then notes the slower path).
RISING = 1.25


@dataclass(frozen=True)
class BatchChoice:
    """The chosen size and what was measured to choose it (`from_cache`: read back from an
    earlier run's timing, engine/batch_store.py; nothing was timed in this one)."""

    size: int
    throughput: dict[int, float]  # images/s by batch size
    peak_growth: dict[int, int]  # bytes the process's peak grew by, by batch size
    images_scored: int
    reason: str
    #: "memory" or "max_batch" when that bound, not the timing, ended the ladder; else "".
    limited_by: str = ""
    from_cache: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "size": self.size,
            "throughput": {str(k): round(v, 1) for k, v in self.throughput.items()},
            "peak_growth_mb": {str(k): round(v / 2**20, 1) for k, v in self.peak_growth.items()},
            "images_scored": self.images_scored,
            "reason": self.reason,
            "limited_by": self.limited_by,
            "from_cache": self.from_cache,
        }

    def rising_at_limit(self) -> tuple[int, float, int, float] | None:
        """(smaller size, its rate, chosen size, its rate) when a bound chose the largest size
        timed while it still ran clearly faster than the size before it (a larger batch would
        likely have run faster still); None otherwise."""
        if not self.limited_by or len(self.throughput) < 2 or self.size != max(self.throughput):
            return None
        smaller = sorted(self.throughput)[-2]
        rates = self.throughput[smaller], self.throughput[self.size]
        return (smaller, rates[0], self.size, rates[1]) if rates[1] >= RISING * rates[0] else None


def choose_batch_size(
    predict: Callable[[np.ndarray], object],
    images: np.ndarray,
    cap: int | None,
    planned_queries: int | None = None,
    in_flight: int | None = None,
) -> BatchChoice:
    """Time `predict` on tiles of `images` (float32, the model's input layout) at growing batch
    sizes up to `cap` (DEFAULT_CAP when None) and `in_flight` (the most candidates the search
    can send at once); `planned_queries` (images x budget) bounds what timing may cost. See the
    module docstring for the rules."""
    limit = min(cap or DEFAULT_CAP, max(in_flight or DEFAULT_CAP, LADDER[0]))
    sizes = sorted({size for size in LADDER if size < limit} | {limit})
    ladder = _Ladder(predict, images)
    reason, limited_by, flat = f"every size up to {limit} timed", "", 0
    for size in sizes:
        if ladder.past_memory(size):
            reason = f"{size} would pass the memory budget of {MEMORY_BUDGET // 2**20} MB"
            limited_by = "memory"
            break
        too_costly = ladder.too_costly(size, planned_queries)
        if too_costly:
            reason = too_costly
            break
        before = ladder.best_rate()
        ladder.measure(size)
        if ladder.rate(size) < CLEARLY_SLOWER * ladder.best_rate() and ladder.slower(size):
            reason = f"{size} ran clearly slower than {ladder.best()} (timed again, in turn)"
            break
        flat = 0 if ladder.rate(size) > GAIN * before else flat + 1
        if flat >= PLATEAU and size != sizes[-1]:
            reason = f"{PLATEAU} sizes in a row ran no faster than {ladder.best()}"
            break
    if reason == f"every size up to {limit} timed" and cap is not None:
        limited_by = "max_batch" if cap < max(in_flight or DEFAULT_CAP, LADDER[0]) else ""
    chosen = ladder.as_fast(planned_queries)
    throughput = {size: ladder.rate(size) for size in ladder.calls}
    return BatchChoice(chosen, throughput, ladder.growth, ladder.scored, reason, limited_by)


@dataclass
class _Ladder:
    """What has been timed so far: every call's seconds and the peak growth, by size."""

    predict: Callable[[np.ndarray], object]
    images: np.ndarray
    calls: dict[int, list[float]] = field(default_factory=dict)
    growth: dict[int, int] = field(default_factory=dict)
    spent: float = 0.0
    scored: int = 0

    def rate(self, size: int) -> float:
        return size / min(self.calls[size])

    def best(self) -> int:
        return max(self.calls, key=self.rate)

    def best_rate(self) -> float:
        return self.rate(self.best()) if self.calls else 0.0

    def call(self, size: int) -> float:
        """One timed call of `size` images (recorded)."""
        batch = np.resize(self.images, (size, *self.images.shape[1:]))
        seconds = _timed(self.predict, batch)
        self.calls.setdefault(size, []).append(seconds)
        self.spent += seconds
        self.scored += size
        return seconds

    def measure(self, size: int) -> None:
        before = _peak_bytes()
        for _ in range(CALLS):
            self.call(size)
        self.growth[size] = max(_peak_bytes() - before, 0)

    def slower(self, size: int) -> bool:
        """Time the best size and `size` once more, one right after the other: is `size` still
        clearly slower under the same conditions?"""
        best = self.best()
        best_rate = best / self.call(best)
        return size / self.call(size) < CLEARLY_SLOWER * best_rate

    def as_fast(self, planned_queries: int | None) -> int:
        """The smallest size within AS_FAST of the best. When that is not the best itself, the
        two are timed again in turn (CALLS each, if the cost bounds allow) and the smaller one
        is kept only if it is still as fast: under load, one quiet moment during a size's
        calls would otherwise pass it off as as fast as a size timed at a busier one."""
        best = self.best()
        smallest = min(s for s in self.calls if self.rate(s) >= AS_FAST * self.rate(best))
        if smallest == best or self.too_costly(best + smallest, planned_queries):
            return smallest
        pair: dict[int, list[float]] = {smallest: [], best: []}
        for _ in range(CALLS):
            for size, rates in pair.items():
                rates.append(size / self.call(size))
        return smallest if max(pair[smallest]) >= AS_FAST * max(pair[best]) else best

    def past_memory(self, size: int) -> bool:
        per_image = self.images[0].nbytes
        return size * per_image > MEMORY_BUDGET or _projected(self.growth, size) > MEMORY_BUDGET

    def too_costly(self, size: int, planned_queries: int | None) -> str:
        """Why `size` is not worth timing (projected at the best throughput so far), or ""."""
        if not self.calls:
            return ""
        rate = self.best_rate()
        if planned_queries is None:
            if size / rate > SLOW_CALL:
                return f"a batch of {size} would take {size / rate:.1f} s at {rate:,.0f} img/s"
            return ""
        search_seconds = planned_queries / rate
        cost = CALLS * size / rate
        if cost > max(MEASURE_FLOOR, MEASURE_SHARE * search_seconds):
            return (
                f"timing {size} would take {cost:.2f} s, over {MEASURE_SHARE:.0%} of the "
                f"search's expected {search_seconds:.1f} s"
            )
        if self.spent + cost > max(MEASURE_FLOOR, MEASURE_TOTAL * search_seconds):
            return (
                f"timing {size} would bring timing to {self.spent + cost:.2f} s, over "
                f"{MEASURE_TOTAL:.0%} of the search's expected {search_seconds:.1f} s"
            )
        return ""


def _timed(predict: Callable[[np.ndarray], object], batch: np.ndarray) -> float:
    start = time.perf_counter()
    predict(batch)
    return max(time.perf_counter() - start, 1e-9)


def _projected(growth: dict[int, int], size: int) -> float:
    """Peak growth at `size`, extrapolated linearly from the largest size measured."""
    if not growth:
        return 0.0
    largest = max(growth)
    return growth[largest] * size / largest


def _peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
