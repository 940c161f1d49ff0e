"""Which images are under attack at any time: waves of images in sample order.

The images in flight must never depend on `max_batch`, the executor or timing, or an early
verdict would stop after a different set of images on another machine. So the schedule is a
pure function of its own counts: the attacked set is cut into waves of `WAVE` images in sample
order, and a wave is admitted only as a consequence of a decision about the prefix of waves
finished before it. After the first c waves have all finished (the finished prefix) and the
verdict on them is not settled, waves up to c + min(max(1, c // 2), cap) are admitted; once a
decision says settled, no wave is admitted again and the waves in flight finish. In-flight
images therefore grow with the finished ones (half as many in flight as done), an early stop
wastes at most that, and the cap bounds memory by the settings (popsize), not the sample size.
Without an early verdict (`early=False`) every wave up to the cap is in flight from the start:
no decision depends on the order then, and fuller batches run faster.

The growth rule was chosen by measurement on the example project (docs/concepts.md, "Early
verdict"): half as many in flight as finished settled the release model's gates after 32 and 16
images (10,560 and 5,120 queries) where as many in flight as finished needed 48 and 32.

Admission is decided wave by wave, in order, however many waves finish in one generation, so a
local run and a distributed one that finishes waves in another order admit the same waves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InputError

#: Images per wave: small enough that an early stop wastes little, large enough to fill batches.
WAVE = 16
#: Candidates per generation the in-flight images may reach (images x population); bounds the
#: search's own arrays whatever the sample size.
MAX_CANDIDATES = 1 << 18


class WaveSchedule:
    """Waves of job positions 0..count-1; admits, records finishes, decides."""

    def __init__(self, count: int, popsize: int, early: bool, wave: int = WAVE) -> None:
        self.waves = [range(start, min(start + wave, count)) for start in range(0, count, wave)]
        self._cap = max(1, MAX_CANDIDATES // (popsize * wave))
        self._early = early
        self._done = [0] * len(self.waves)
        self.prefix = 0  # waves finished in order
        self.admitted = 0  # waves handed out so far
        self.stopped = False

    def admit(self) -> list[int]:
        """Job positions of the waves the last decision allows and that were not handed out."""
        if self.stopped:
            return []
        ahead = min(max(1, self.prefix // 2), self._cap) if self._early else self._cap
        limit = min(self.prefix + ahead, len(self.waves))
        start, self.admitted = self.admitted, max(self.admitted, limit)
        return [position for w in range(start, self.admitted) for position in self.waves[w]]

    def finish(self, position: int, decide: Callable[[int], bool]) -> list[int]:
        """Record job `position` as finished; for each wave that this completes the finished
        prefix with, in order, ask `decide(prefix_waves)` whether the verdict is settled (then
        stop). Returns the job positions newly admitted by those decisions."""
        self._done[position // len(self.waves[0])] += 1
        admitted: list[int] = []
        while self.prefix < len(self.waves) and self._done[self.prefix] == len(
            self.waves[self.prefix]
        ):
            self.prefix += 1
            if not self.stopped and decide(self.prefix):
                self.stopped = True
            admitted += self.admit()
        return admitted

    def unstarted(self) -> list[int]:
        """Job positions never admitted (left unattacked by an early stop)."""
        return [p for w in range(self.admitted, len(self.waves)) for p in self.waves[w]]


def shard_positions(attacked: np.ndarray, shard: tuple[int, int] | None) -> np.ndarray:
    """The sample positions shard K of N holds, in sample order: every N-th attacked image
    starting with the K-th, and likewise every N-th of the others (so each shard has its share
    of the attack's work, and the N shards partition the sample). All positions without a
    shard."""
    if shard is None:
        return np.arange(len(attacked))
    index, count = shard
    if not (isinstance(count, int) and isinstance(index, int) and 1 <= index <= count):
        raise InputError(f"shard must be (K, N) with 1 <= K <= N; found {shard!r}.")
    chosen = [np.flatnonzero(mask)[index - 1 :: count] for mask in (attacked, ~attacked)]
    return np.sort(np.concatenate(chosen))
