"""What every executor shares: progress reports, confirmation of finished searches on the real
model, the stop rule asked at each new finished prefix of waves, and searching one wave whole
(what a Ray actor does with the wave it is handed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..engine.batches import BatchEvaluator
from ..engine.pools import make_pool
from ..engine.schedule import WaveSchedule
from ..engine.search import Job, SearchOutcome, SearchSettings
from ..result import ImageRecord

StopRule = Callable[[list[ImageRecord], int, float], bool]


@dataclass(frozen=True)
class AttackProgress:
    """Where a running attack stands: images finished of those attacked, confirmed successes so
    far and images the model has scored in the search and its confirmations (counted alike by
    every executor); `queries` the search has spent on the attacked set so far, and
    `queries_left` the most it can still spend (the budget of every unfinished image, less what
    the images in flight have spent). Work done at a steady rate therefore brings the estimate
    `queries_left / rate` down, even while no image finishes (the images a generation cannot
    fool all finish together, at their budget's end)."""

    finished: int
    attacked: int
    successes: int
    images_scored: int
    queries: int = 0
    queries_left: int = 0


def queries_left(budget: int, unfinished: int, spent: int, spent_finished: int) -> int:
    """The most queries the search can still spend: `budget` for each of the `unfinished`
    images, less what the images in flight have spent (all `spent` search queries but the
    finished images' own `spent_finished`)."""
    return max(budget * unfinished - (spent - spent_finished), 0)


class PrefixDecider:
    """`schedule.finish(..., decide)`: feeds the stop rule the records of the finished prefix
    of waves, in sample order, each time the prefix grows."""

    def __init__(
        self,
        schedule: WaveSchedule,
        jobs: Sequence[Job],
        records: dict[int, ImageRecord],
        accuracy: float,
        stop_when: StopRule | None,
    ) -> None:
        self._schedule, self._jobs, self._records = schedule, jobs, records
        self._accuracy, self._stop_when = accuracy, stop_when
        self._prefix: list[ImageRecord] = []
        self._waves_seen = 0

    def __call__(self, prefix_waves: int) -> bool:
        for wave in self._schedule.waves[self._waves_seen : prefix_waves]:
            self._prefix += [self._records[self._jobs[order].position] for order in wave]
        self._waves_seen = prefix_waves
        if self._stop_when is None:
            return False
        return self._stop_when(self._prefix, len(self._jobs), self._accuracy)


def search_wave(
    evaluators: tuple[BatchEvaluator, BatchEvaluator], jobs: Sequence[Job], search: SearchSettings
) -> dict[int, ImageRecord]:
    """Search `jobs` to the end together and confirm each: a wave's records, by image position.
    An image's record does not depend on which images share its pool."""
    searcher, confirm = evaluators
    pool = make_pool(searcher, search)
    pool.add(list(jobs))
    records: dict[int, ImageRecord] = {}
    for outcomes in pool:
        records.update(confirmed_records(confirm, outcomes))
    return records


def confirmed_records(
    evaluator: BatchEvaluator, outcomes: list[SearchOutcome]
) -> dict[int, ImageRecord]:
    """Re-query each final adversarial image: success must hold on the stored, realized image.
    The outcomes of one search step go in chunks of the evaluator's batch: one image per call
    unless the model proved bit-identical across batches (engine/batches.py `confirm_batch`)."""
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
