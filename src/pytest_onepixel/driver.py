"""Running the search over an attacked set: the wave schedule, the pool, and confirmation.

`SearchDriver` hands the images the schedule admits (engine/schedule.py) to the search pool,
confirms every image that finishes by re-querying its stored adversarial image on the real model
(a success the search saw but the re-query does not reproduce is recorded as rejected), and asks
the stop rule each time the finished waves form a longer prefix of the sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .engine.batches import BatchEvaluator
from .engine.schedule import WaveSchedule
from .engine.search import Job, SearchOutcome, SearchPool, SearchSettings
from .result import ImageRecord

StopRule = Callable[[list[ImageRecord], int, float], bool]


@dataclass(frozen=True)
class AttackProgress:
    """Where a running attack stands: images finished of those attacked, successes found so far
    (before confirmation) and images the model has scored, clean pass included."""

    finished: int
    attacked: int
    successes: int
    images_scored: int


class SearchDriver:
    """Runs the search over the attacked set on the wave schedule: adds admitted images to the
    pool, confirms each finished image on the real model, and asks `stop_when` at every new
    finished prefix."""

    def __init__(
        self,
        evaluators: tuple[BatchEvaluator, BatchEvaluator],
        jobs: list[Job],
        search: SearchSettings,
        accuracy: float,
        stop_when: StopRule | None,
    ) -> None:
        self._search, self._confirm = evaluators
        self._jobs = jobs
        self._order = {job.position: order for order, job in enumerate(jobs)}
        self._schedule = WaveSchedule(len(jobs), search.popsize, early=stop_when is not None)
        self._pool = SearchPool(self._search, search)
        self._accuracy = accuracy
        self._stop_when = stop_when
        self._records: dict[int, ImageRecord] = {}  # by image position
        self._prefix: list[ImageRecord] = []  # records of the finished waves, in sample order
        self._waves_seen = 0  # waves whose records are in _prefix

    def run(self, progress: Callable[[AttackProgress], None] | None) -> dict[int, ImageRecord]:
        self._add(self._schedule.admit())
        found = 0
        for outcomes in self._pool:
            confirmed = confirmed_records(self._confirm, outcomes)
            self._records.update(confirmed)
            found += sum(outcome.found for outcome in outcomes)
            for outcome in outcomes:
                order = self._order[outcome.job.position]
                self._add(self._schedule.finish(order, self._decide))
            if progress is not None:
                scored = self._search.images_scored + self._confirm.images_scored
                progress(AttackProgress(len(self._records), len(self._jobs), found, scored))
        return self._records

    def _add(self, orders: list[int]) -> None:
        self._pool.add([self._jobs[order] for order in orders])

    def _decide(self, prefix_waves: int) -> bool:
        """The stop rule on the records of the first `prefix_waves` waves (all finished)."""
        for wave in self._schedule.waves[self._waves_seen : prefix_waves]:
            self._prefix += [self._records[self._jobs[order].position] for order in wave]
        self._waves_seen = prefix_waves
        if self._stop_when is None:
            return False
        return self._stop_when(self._prefix, len(self._jobs), self._accuracy)


def confirmed_records(
    evaluator: BatchEvaluator, outcomes: list[SearchOutcome]
) -> dict[int, ImageRecord]:
    """Re-query each final adversarial image: success must hold on the stored, realized image."""
    if not outcomes:
        return {}
    images = evaluator.images
    changes = images.realize(np.stack([o.candidate for o in outcomes]))
    owners = np.array([o.job.position for o in outcomes], dtype=np.intp)
    probabilities = evaluator.probabilities(owners, changes)
    records = {}
    for row, outcome in enumerate(outcomes):
        job = outcome.job
        predicted = int(probabilities[row].argmax())
        fooled = predicted == job.target if job.target is not None else predicted != job.label
        success = outcome.found and fooled
        records[job.position] = ImageRecord(
            index=job.index,
            label=job.label,
            clean_correct=True,
            attacked=True,
            success=success,
            queries=outcome.queries,
            first_success_query=outcome.first_success_query if success else None,
            pixels=changes.pixels_of(row),
            adversarial_label=predicted,
            adversarial_confidence=float(probabilities[row, predicted]),
            target=job.target,
            rejected=outcome.found and not fooled,
        )
    return records
