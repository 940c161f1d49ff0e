"""The local executor: the attacked set searched in this process, generation by generation.

`LocalSearch` hands the images the schedule admits (engine/schedule.py) to one search pool, so
every generation of every image in flight goes to the model together; it confirms each image
that finishes on the real model and asks the stop rule each time the finished waves form a
longer prefix of the sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..engine.batches import BatchEvaluator
from ..engine.pools import make_pool
from ..engine.schedule import WaveSchedule
from ..engine.search import Job, SearchSettings
from ..result import ImageRecord
from .common import AttackProgress, PrefixDecider, StopRule, confirmed_records


class LocalSearch:
    """Search and confirm the attacked set here; stop admitting once the stop rule says so."""

    def __init__(
        self,
        evaluators: tuple[BatchEvaluator, BatchEvaluator],
        jobs: Sequence[Job],
        search: SearchSettings,
        accuracy: float,
        stop_when: StopRule | None,
    ) -> None:
        self._search, self._confirm = evaluators
        self._jobs = list(jobs)
        self._order = {job.position: order for order, job in enumerate(self._jobs)}
        self._schedule = WaveSchedule(len(self._jobs), search.popsize, early=stop_when is not None)
        self._pool = make_pool(self._search, search)
        self._records: dict[int, ImageRecord] = {}  # by image position
        self._decide = PrefixDecider(self._schedule, self._jobs, self._records, accuracy, stop_when)

    def run(self, progress: Callable[[AttackProgress], None] | None) -> dict[int, ImageRecord]:
        self._add(self._schedule.admit())
        successes = 0
        for outcomes in self._pool:
            records = confirmed_records(self._confirm, outcomes)
            self._records.update(records)
            successes += sum(record.success for record in records.values())
            for outcome in outcomes:
                order = self._order[outcome.job.position]
                self._add(self._schedule.finish(order, self._decide))
            if progress is not None:
                scored = self._search.images_scored + self._confirm.images_scored
                progress(AttackProgress(len(self._records), len(self._jobs), successes, scored))
        return self._records

    def _add(self, orders: list[int]) -> None:
        self._pool.add([self._jobs[order] for order in orders])
