"""The search pool for a search method: DE (engine/search.py) or exhaustive
(engine/exhaustive.py). Both take the images the schedule admits and run one step of all of
them per `next()`, so executors drive either the same way."""

from __future__ import annotations

from collections.abc import Iterator

from .batches import BatchEvaluator
from .exhaustive import ExhaustivePool
from .search import SearchOutcome, SearchPool, SearchSettings


def make_pool(evaluator: BatchEvaluator, settings: SearchSettings) -> Iterator[list[SearchOutcome]]:
    if settings.method == "exhaustive":
        return ExhaustivePool(evaluator, settings)
    return SearchPool(evaluator, settings)
