"""The Ray executor: a gate's images searched by Ray actors, the verdict kept by the driver.

`ray.init()` honours `RAY_ADDRESS`, so the same run works on a laptop (a local instance) and on a
cluster. Each actor loads the model once, from its bytes in Ray's object store (models/package.py:
no shared disk is assumed), with a GPU of its own when the model runs on CUDA, and searches the
waves it is handed whole (executors/common.py `search_wave`), confirming every success on the
real model. The driver hands out the waves the schedule admits (engine/schedule.py), in order,
to whichever actor is free, and asks the stop rule at each new finished prefix of waves exactly
as the local executor does: once settled it hands out nothing more and collects the waves in
flight. The attacked images, and so the records, are the local run's whatever the timing.

An error inside an actor comes back as the gate's error, with the actor's message.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.batches import CONFIRM_BATCH, BatchEvaluator
from ..engine.pixels import ImageSet
from ..engine.schedule import WaveSchedule
from ..engine.scoring import ScoreFunction
from ..engine.search import Job, SearchSettings
from ..errors import ModelCallError, OnePixelError
from ..importing import first_line
from ..models.package import ModelPackage
from ..result import ImageRecord
from .common import AttackProgress, PrefixDecider, StopRule, queries_left, search_wave


@dataclass(frozen=True)
class RaySetup:
    """What every actor needs besides the images and the search: the model's bytes, whether to
    search through its ONNX twin, the search's batch size, how to read the model's scores
    (the `scores` setting) and how many confirmations one call may score (engine/batches.py
    `confirm_batch`: one unless the driver's probe found the scores bit-identical)."""

    package: ModelPackage
    images: ImageSet
    twin: bool
    batch: int
    scores: str | None = None
    confirm: int = CONFIRM_BATCH


class WaveSearcher:
    """A Ray actor: the model loaded once (on the first wave, so that an error loading it comes
    back with that wave as the gate's error, message and all), then whole waves searched."""

    def __init__(
        self,
        shared: list[Any],
        twin: bool,
        batch: int,
        scores: str | None,
        confirm: int = CONFIRM_BATCH,
    ) -> None:
        self._shared, self._twin, self._batch, self._scores = shared, twin, batch, scores
        self._confirm = confirm
        self._evaluators: tuple[BatchEvaluator, BatchEvaluator] | None = None
        self._search: SearchSettings | None = None

    def _load(self) -> tuple[BatchEvaluator, BatchEvaluator]:
        import ray

        package, images, self._search = ray.get(self._shared)
        model = package.load(Path(tempfile.mkdtemp(prefix="onepixel-model-")), threads=1)
        searcher = model
        if self._twin:
            from ..backends import twin_of

            searcher = twin_of(model, images.model_images)
        score = ScoreFunction(model.predict, self._scores, model.description)
        search_score = (
            score
            if searcher is model
            else ScoreFunction(searcher.predict, self._scores, searcher.description)
        )
        return (
            BatchEvaluator(images, search_score, self._batch),
            BatchEvaluator(images, score, self._confirm),
        )

    def search(self, wave: int, jobs: Sequence[Job]) -> tuple[int, dict[int, ImageRecord], int]:
        if self._evaluators is None:
            self._evaluators = self._load()
        before = sum(e.images_scored for e in self._evaluators)
        records = search_wave(self._evaluators, jobs, self._search)
        return wave, records, sum(e.images_scored for e in self._evaluators) - before


class RaySearch:
    """The attacked set searched by Ray actors on the wave schedule."""

    def __init__(
        self,
        setup: RaySetup,
        jobs: Sequence[Job],
        search: SearchSettings,
        accuracy: float,
        stop_when: StopRule | None,
    ) -> None:
        self._setup, self._search = setup, search
        self._jobs = list(jobs)
        self._schedule = WaveSchedule(len(self._jobs), search.popsize, early=stop_when is not None)
        self._records: dict[int, ImageRecord] = {}
        self._decide = PrefixDecider(self._schedule, self._jobs, self._records, accuracy, stop_when)

    def run(self, progress: Callable[[AttackProgress], None] | None) -> dict[int, ImageRecord]:
        ray = connect()
        pool = ray.util.ActorPool(self._actors(ray))
        wave_size = len(self._schedule.waves[0]) if self._schedule.waves else 1
        successes = scored = spent = 0

        def hand_out(orders: list[int]) -> None:
            for wave in sorted({order // wave_size for order in orders}):
                jobs = [self._jobs[order] for order in self._schedule.waves[wave]]
                pool.submit(lambda actor, item: actor.search.remote(*item), (wave, jobs))

        hand_out(self._schedule.admit())
        while pool.has_next():
            wave, records, used = _result_of(pool)
            self._records.update(records)
            successes += sum(record.success for record in records.values())
            scored += used
            for order in self._schedule.waves[wave]:
                hand_out(self._schedule.finish(order, self._decide))
            # Waves come back whole: the search queries known are the finished images' own.
            spent += sum(record.queries for record in records.values())
            if progress is not None:
                unfinished = len(self._jobs) - len(self._records)
                left = queries_left(self._search.budget, unfinished, spent, spent)
                progress(
                    AttackProgress(
                        len(self._records), len(self._jobs), successes, scored, spent, left
                    )
                )
        return self._records

    def _actors(self, ray: Any) -> list[Any]:
        setup = self._setup
        gpus = setup.package.options.get("device", "cpu").startswith("cuda")
        resources = ray.cluster_resources()
        count = int(resources.get("GPU" if gpus else "CPU", 1)) or 1
        count = max(1, min(count, len(self._schedule.waves)))
        actor = ray.remote(num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0)(WaveSearcher)
        # Object refs inside a list are not resolved when the actor starts, but by its first
        # wave (WaveSearcher._load), where a failure becomes that wave's error.
        shared = [ray.put(value) for value in (setup.package, setup.images, self._search)]
        args = (shared, setup.twin, setup.batch, setup.scores, setup.confirm)
        return [actor.remote(*args) for _ in range(count)]


def connect() -> Any:
    """ray, connected: to RAY_ADDRESS's cluster when set, else a local instance."""
    try:
        import ray
    except ImportError:
        raise ModelCallError(
            "executor 'ray' needs Ray, which is not installed: pip install 'pytest-onepixel[ray]'."
        ) from None
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    return ray


def _result_of(pool: Any) -> tuple[int, dict[int, ImageRecord], int]:
    """The next finished wave, or the actor's error as the gate's error."""
    try:
        return pool.get_next_unordered()
    except Exception as error:
        cause = getattr(error, "cause", None) or error
        if isinstance(cause, OnePixelError):
            raise type(cause)(f"on a Ray actor: {cause}") from None
        raise ModelCallError(f"a Ray actor failed: {first_line(cause)}") from None
