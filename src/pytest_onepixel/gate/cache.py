"""The result cache: a gate whose model, sample, settings and plugin code all match an earlier
run's is not attacked again; the earlier run's records are judged again and marked `cached`.

The cache never decides a verdict (DESIGN.md). An entry holds the records, the attack's
Measured block and the model's description, nothing else: no status, no summary, no spec. A hit
is re-judged against the current request (gate/run.py), after gate/cache_entry.py has checked
that the records could be this request's; an entry that does not fit is a miss with a note.

The key is a sha256 over the model's identity (models/identity.py: the content of its files,
its exported program, or a factory's weights with the repository source it imports, computed
without loading it; live Python code only under a user-given `cache_key`), the sampled images,
labels and their indices (the RNG keys), every setting that can change the records, the
plugin's version and the hash of the plugin's own source (an editable install changes code
without changing `__version__`). Settings that only choose what is drawn (`gallery`,
`examples`) are left out: a hit takes their current values. Where the entries live is the
caller's choice (the pytest plugin uses pytest's cache directory).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..version import installed_versions
from . import CACHE_MODES
from .cache_entry import ENTRY_FORMAT, Entry, Expected, Unfit, parse_entry
from .outcome import GateOutcome

__all__ = [
    "CACHE_MODES",
    "DRAWING_ONLY",
    "Expected",
    "Lookup",
    "ResultStore",
    "cache_key",
    "read_entry",
    "write_entry",
]

#: Settings that only choose what is drawn from the records (the gallery is rendered again
#: from the sample on a hit), so changing them costs no attack: a hit takes their current values.
DRAWING_ONLY = ("gallery", "examples")
#: Settings that name a gate, mark it or choose what is drawn: they cannot change what the
#: attack finds.
NOT_IN_KEY = ("name", "markers", *DRAWING_ONLY)
#: The installed package whose source is part of every key.
PLUGIN_ROOT = Path(__file__).resolve().parent.parent


class ResultStore(Protocol):
    """Somewhere to keep outcomes by key (pytest's `config.cache` fits)."""

    def get(self, key: str) -> Mapping[str, Any] | None: ...

    def set(self, key: str, value: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Lookup:
    """A cache read: the entry to re-judge, or a miss (`rejected` says why a stored entry was
    not used; None when there was none)."""

    entry: Entry | None = None
    rejected: str | None = None


def code_hash(root: Path) -> str:
    """sha256 over the relative names and bytes of every .py file under `root`."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


@functools.cache
def plugin_code_hash() -> str:
    """The plugin's own source, hashed once per process."""
    return code_hash(PLUGIN_ROOT)


#: The runtimes whose arithmetic the records depend on: an upgrade of one re-attacks.
RUNTIMES = ("numpy", "onnxruntime", "torch", "onnx")


def runtime_versions() -> dict[str, str | None]:
    """The installed versions of `RUNTIMES` (None: not installed), read once per process."""
    return installed_versions(RUNTIMES)


def cache_key(
    model_hash: str, data_hash: str, settings: Mapping[str, Any], full: bool, version: str
) -> str:
    kept = {key: value for key, value in settings.items() if key not in NOT_IN_KEY}
    payload = {
        "runtimes": runtime_versions(),
        "model": model_hash,
        "data": data_hash,
        "settings": kept,
        "full": full,
        "version": version,
        "code": plugin_code_hash(),
        "entry": ENTRY_FORMAT,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_entry(store: ResultStore, key: str, expected: Expected) -> Lookup:
    """The stored entry for `key` if it fits `expected`; a missing, unreadable or unfit entry
    is a miss, never an error."""
    try:
        data = store.get(key)
    except (OSError, ValueError):
        return Lookup(rejected="it could not be read")
    if data is None:
        return Lookup()
    try:
        return Lookup(parse_entry(data, expected))
    except Unfit as unfit:
        return Lookup(rejected=str(unfit))


def write_entry(store: ResultStore, key: str, outcome: GateOutcome) -> None:
    """Keep what a hit supplies: the records, the Measured block and the model's description
    (never the verdict, which a hit computes again)."""
    if outcome.measured is None:
        return
    store.set(
        key,
        {
            "format": ENTRY_FORMAT,
            "records": [record.to_dict() for record in outcome.records],
            "measured": outcome.measured.to_json(),
            "model": {name: str(outcome.model.get(name, "")) for name in ("description", "hash")},
        },
    )
