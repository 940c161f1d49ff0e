"""The batch size by measurement: the fastest a model runs, within a memory budget.

A fixed batch costs both memory and speed: a 224x224 ResNet-18 in batches of 4096 images needs
gigabytes of activations, while a small CNN runs several times faster in batches of a few dozen
than of thousands on a CPU. So before the search, copies of the sample's images are scored in
batches of growing size (16, 32, 64, ... up to the cap); each size is timed (best of two calls)
and the peak memory it added is read. The ladder stops when a size is clearly slower than the
best so far, when one call takes long enough that timing further sizes would cost more than it
saves, when the timing so far has cost 3% of what the search itself is expected to take (so a
small attack on a large model does not pay more for measuring than it can win: measured against
torchattacks on a ResNet-18, timing every size cost a 2-image attack a quarter of its time), or
when the next size would pass the memory budget (extrapolated from what the last one added).
Sizes beyond the most candidates the search can have in flight are never timed. The smallest
size within 5% of the best throughput wins: as fast, less memory, and finer-grained early stops.

Records do not depend on the size chosen for a model that scores each image independently of
its batch (the consistency check); the size used is in the report (`settings.max_batch`), and
setting `max_batch` caps the choice.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Sizes tried, in order (capped by max_batch, which is always tried when smaller).
LADDER = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
#: Default cap when max_batch is not set.
DEFAULT_CAP = 4096
#: What one batch may add to the process's peak memory: inputs plus activations.
MEMORY_BUDGET = 512 * 2**20
#: Stop climbing once one call takes this long (the remaining sizes cannot pay for themselves).
SLOW_CALL = 1.0
#: A size within this share of the best throughput counts as as fast.
AS_FAST = 0.95
#: Timing may cost this share of the search's expected time (planned queries over the best
#: throughput so far), and at least MEASURE_FLOOR seconds.
MEASURE_SHARE = 0.03
MEASURE_FLOOR = 0.25
#: A bound (memory, max_batch) held the batch back when its last size ran this much faster
#: than the size before it (api.py then notes the slower path).
RISING = 1.25


@dataclass(frozen=True)
class BatchChoice:
    """The chosen size and what was measured to choose it."""

    size: int
    throughput: dict[int, float]  # images/s by batch size
    peak_growth: dict[int, int]  # bytes the process's peak grew by, by batch size
    images_scored: int
    reason: str
    #: "memory" or "max_batch" when that bound, not the timing, ended the ladder; else "".
    limited_by: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "size": self.size,
            "throughput": {str(k): round(v, 1) for k, v in self.throughput.items()},
            "peak_growth_mb": {str(k): round(v / 2**20, 1) for k, v in self.peak_growth.items()},
            "images_scored": self.images_scored,
            "reason": self.reason,
            "limited_by": self.limited_by,
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
    module docstring for the rule."""
    limit = min(cap or DEFAULT_CAP, max(in_flight or DEFAULT_CAP, LADDER[0]))
    sizes = sorted({size for size in LADDER if size < limit} | {limit})
    per_image_bytes = images[0].nbytes
    throughput: dict[int, float] = {}
    growth: dict[int, int] = {}
    scored, spent, reason = 0, 0.0, f"every size up to {limit} timed"
    limited_by = ""
    for size in sizes:
        if size * per_image_bytes > MEMORY_BUDGET or _projected(growth, size) > MEMORY_BUDGET:
            reason = f"{size} would pass the memory budget of {MEMORY_BUDGET // 2**20} MB"
            limited_by = "memory"
            break
        batch = np.resize(images, (size, *images.shape[1:]))
        before = _peak_bytes()
        calls = [_timed(predict, batch) for _ in range(2)]
        seconds, spent = min(calls), spent + sum(calls)
        growth[size] = max(_peak_bytes() - before, 0)
        throughput[size] = size / seconds
        scored += 2 * size
        best = max(throughput.values())
        if throughput[size] < 0.8 * best and size > min(throughput):
            reason = f"{size} ran clearly slower than the best"
            break
        if seconds > SLOW_CALL:
            reason = f"a batch of {size} took {seconds:.1f} s"
            break
        if planned_queries is not None and size != sizes[-1]:
            search_seconds = planned_queries / best
            if spent > max(MEASURE_FLOOR, MEASURE_SHARE * search_seconds):
                reason = (
                    f"timing took {spent:.2f} s, over {MEASURE_SHARE:.0%} of the search's "
                    f"expected {search_seconds:.1f} s"
                )
                break
    if reason == f"every size up to {limit} timed" and cap is not None:
        limited_by = "max_batch" if cap < max(in_flight or DEFAULT_CAP, LADDER[0]) else ""
    best = max(throughput.values())
    chosen = min(size for size, rate in throughput.items() if rate >= AS_FAST * best)
    return BatchChoice(chosen, throughput, growth, scored, reason, limited_by)


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
