"""The batch size remembered per model and machine, so a rerun does not time it again.

Timing the ladder (engine/batch_size.py) costs a few calls of each size; under load on a large
model that is seconds, and the answer is the same on the next run of the same model on the same
machine. So the choice is kept in a key-value store the caller passes (`BatchStore`: pytest's
`config.cache` under `onepixel/batch/`; gate/run.py hands it in through `RunOptions`)
under a key that covers everything the timing depended on: the model's content hash, what ran
the search (the model itself, its ONNX Runtime twin or PyTorch) with its threads and device,
the images' shape and dtype, the cap (`max_batch`) and the candidates in flight, and the
machine (host name, CPU count, the numpy, torch and onnxruntime versions). This module imports
neither pytest nor the runtimes (versions come from the installed packages' metadata).

What is read back is untrusted: an entry must be a mapping of the expected format whose size is
a positive integer within the cap, with finite positive throughputs and known words; anything
else is ignored, the ladder is timed again, the new choice replaces it, and the reason says so.
A choice cut short by the timing's share of the search (a small attack) is reused only by
searches at most that large. The cached size changes speed only, never records: each image's
search depends on its own random stream, not on the batch it shares (DESIGN.md, Trust).
`pytest --cache-clear` forgets every choice; `max_batch` caps it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from ..version import installed_versions
from .batch_size import DEFAULT_CAP, LADDER, BatchChoice, choose_batch_size

#: Bumped when the ladder's rules or the entry's shape change: older entries are then misses.
BATCH_FORMAT = 1
#: Where choices live in pytest's cache (.pytest_cache/v/onepixel/batch/KEY): beside the
#: result cache's folder, not in it.
PREFIX = "onepixel/batch/"
#: The runtimes whose speed the choice depends on.
RUNTIMES = ("numpy", "onnxruntime", "torch")
LIMITED_BY = ("", "memory", "max_batch")
#: A stored reason longer than this is not one this module wrote.
LONGEST_REASON = 400


class BatchStore(Protocol):
    """Somewhere to keep batch choices by key (pytest's `config.cache` fits)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class PrefixedStore:
    """Batch choices in a store shaped like pytest's `config.cache` (`get(key, default)`,
    `set(key, value)`), under keys of their own."""

    inner: Any

    def get(self, key: str) -> Any:
        return self.inner.get(PREFIX + key, None)

    def set(self, key: str, value: Any) -> None:
        self.inner.set(PREFIX + key, value)


def remembered_batch_size(
    store: BatchStore | None,
    identity: tuple[object, object],
    predict: Callable[[np.ndarray], object],
    images: np.ndarray,
    cap: int | None,
    planned_queries: int | None = None,
    in_flight: int | None = None,
) -> BatchChoice:
    """`choose_batch_size(...)`, read from `store` when an earlier run timed the same model
    (`identity`: the model, and the SearchBackend that runs the search) on this machine, and
    kept there when timed; no store: timed every time."""
    if store is None:
        return choose_batch_size(predict, images, cap, planned_queries, in_flight)
    key = batch_key(identity, images, cap, in_flight)
    limit = min(cap or DEFAULT_CAP, max(in_flight or DEFAULT_CAP, LADDER[0]))
    try:
        value = store.get(key)
    except (OSError, ValueError, TypeError):
        value = "unreadable"
    problem = "" if value is None else entry_problem(value, limit, planned_queries)
    if value is not None and not problem:
        return from_entry(value)
    choice = choose_batch_size(predict, images, cap, planned_queries, in_flight)
    with contextlib.suppress(OSError):  # a read-only cache directory: time again next run
        store.set(key, to_entry(choice, planned_queries))
    if problem:
        return replace(choice, reason=f"cached choice ignored ({problem}); {choice.reason}")
    return choice


def batch_key(
    identity: tuple[object, object], images: np.ndarray, cap: int | None, in_flight: int | None
) -> str:
    """sha256 over what the timing depended on (see the module docstring)."""
    model, backend = identity
    searched = getattr(backend, "model", model)
    payload = {
        "format": BATCH_FORMAT,
        "model": str(getattr(model, "content_hash", "")),
        "backend": str(getattr(backend, "name", "")),
        "search_model": str(getattr(searched, "description", "")),
        "threads": str(getattr(searched, "threads", None)),
        "device": str(getattr(searched, "device", None)),
        "input": [list(images.shape[1:]), str(images.dtype)],
        "cap": cap,
        "in_flight": in_flight,
        "machine": machine(),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def machine() -> dict[str, object]:
    """This machine as the timing saw it: host name, CPU count and the runtimes' versions."""
    return {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        **installed_versions(RUNTIMES),
    }


def to_entry(choice: BatchChoice, planned_queries: int | None) -> dict[str, Any]:
    """What is stored: the choice's report block, and the largest search it may serve (None:
    any; set when the timing's share of a small search ended the ladder)."""
    cut = planned_queries is not None and choice.reason.startswith("timing ")
    return {
        "format": BATCH_FORMAT,
        **choice.to_json(),
        "peak_growth": {str(k): int(v) for k, v in choice.peak_growth.items()},
        "for_queries": planned_queries if cut else None,
    }


def entry_problem(value: Any, limit: int, planned_queries: int | None) -> str:
    """Why a stored value is not a usable choice for a search of `planned_queries` within
    `limit` ("" when it is)."""
    if not isinstance(value, Mapping) or value.get("format") != BATCH_FORMAT:
        return "not a batch choice of this version"
    size, serves = value.get("size"), value.get("for_queries")
    if not _count(size) or size > limit:
        return f"its size {_short(size)} is not a whole number in 1..{limit}"
    if serves is not None and (not _count(serves) or (planned_queries or 0) > serves):
        return "it was timed for a smaller search"
    rates, growth = value.get("throughput"), value.get("peak_growth")
    if not _table(rates, limit, positive=True) or str(size) not in rates:
        return "its throughput table is malformed"
    if not _table(growth, limit, positive=False):
        return "its memory table is malformed"
    reason = value.get("reason")
    if not isinstance(reason, str) or len(reason) > LONGEST_REASON or not reason.isprintable():
        return "its reason is malformed"
    if value.get("limited_by") not in LIMITED_BY:
        return "its bound is malformed"
    return ""


def from_entry(value: Mapping[str, Any]) -> BatchChoice:
    """A stored choice (checked by `entry_problem`), marked as read from the cache: nothing
    was scored to choose it in this run."""
    return BatchChoice(
        int(value["size"]),
        {int(k): float(v) for k, v in value["throughput"].items()},
        {int(k): int(v) for k, v in value["peak_growth"].items()},
        0,
        f"from the cache (timed on an earlier run: {value['reason']})",
        str(value["limited_by"]),
        from_cache=True,
    )


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _table(value: object, limit: int, positive: bool) -> bool:
    """A {size: number} mapping with sizes in 1..limit and finite numbers (> 0 or >= 0)."""
    if not isinstance(value, Mapping) or not value or len(value) > len(LADDER) + 1:
        return False
    for key, number in value.items():
        if not isinstance(key, str) or not key.isdigit() or len(key) > 6:
            return False
        if not 1 <= int(key) <= limit:
            return False
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return False
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            return False
    return True


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
