"""The local executor: the attacked set searched in this process, generation by generation.

`LocalSearch` hands the images the schedule admits (engine/schedule.py) to one search pool, so
every generation of every image in flight goes to the model together; it confirms each image
that finishes on the real model and asks the stop rule each time the finished waves form a
longer prefix of the sample.

Progress is reported after every chunk the search sends to the model, not only when a
generation ends: one generation of hundreds of images can take seconds, and the images it
cannot fool all finish together at the end of their budget, so the queries spent (and the
most still possible) are what move in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..engine.batches import BatchEvaluator
from ..engine.pools import make_pool
from ..engine.schedule import WaveSchedule
from ..engine.search import Job, SearchSettings
from ..result import ImageRecord
from .common import AttackProgress, PrefixDecider, StopRule, confirmed_records, queries_left


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
        self._budget = search.budget
        self._successes = self._spent_finished = 0
        self._progress: Callable[[AttackProgress], None] | None = None

    def run(self, progress: Callable[[AttackProgress], None] | None) -> dict[int, ImageRecord]:
        self._progress = progress
        if progress is not None:
            self._search.score = _AfterEachCall(self._search.score, self._report)
        self._add(self._schedule.admit())
        for outcomes in self._pool:
            records = confirmed_records(self._confirm, outcomes)
            self._records.update(records)
            self._successes += sum(record.success for record in records.values())
            self._spent_finished += sum(record.queries for record in records.values())
            for outcome in outcomes:
                order = self._order[outcome.job.position]
                self._add(self._schedule.finish(order, self._decide))
            self._report()
        return self._records

    def _report(self, scoring: int = 0) -> None:
        """Progress now; `scoring` images were just scored and are not yet counted."""
        if self._progress is None:
            return
        spent = self._search.images_scored + scoring
        unfinished = len(self._jobs) - len(self._records)
        self._progress(
            AttackProgress(
                len(self._records),
                len(self._jobs),
                self._successes,
                spent + self._confirm.images_scored,
                spent,
                queries_left(self._budget, unfinished, spent, self._spent_finished),
            )
        )

    def _add(self, orders: list[int]) -> None:
        self._pool.add([self._jobs[order] for order in orders])


class _AfterEachCall:
    """A score function that calls `after(len(batch))` once each batch is scored (chunk-level
    progress); every other attribute is the wrapped function's."""

    def __init__(self, score: Any, after: Callable[[int], None]) -> None:
        self._score, self._after = score, after

    def __call__(self, batch: Any) -> Any:
        scores = self._score(batch)
        self._after(len(batch))
        return scores

    def __getattr__(self, name: str) -> Any:
        return getattr(self._score, name)
