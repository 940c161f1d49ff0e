"""The result cache: a gate whose model, sample, settings and plugin version all match an
earlier run's is not attacked again; its outcome is read back and marked `cached`.

The key is a sha256 over the model's content hash (models/identity.py: computed from its files
without loading it, so a hit costs no model load), the sampled images, labels and their indices
(the RNG keys), every setting that can change the outcome, and the plugin's version: changing
one weight, one image or one setting re-attacks. Settings that only choose what is drawn
(`gallery`, `examples`) are left out: a hit takes their current values. Entries hold the
outcome's records and numbers, not images (rendered examples are dropped and made again from
the sample when wanted). Where the entries live is the caller's choice (the pytest plugin
uses pytest's cache directory); this module only says what the key is and how an entry is read
back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from . import CACHE_MODES
from .outcome import GateOutcome

__all__ = ["CACHE_MODES", "DRAWING_ONLY", "ResultStore", "cache_key", "read_entry", "write_entry"]

#: Settings that only choose what is drawn from the records (the gallery is rendered again
#: from the sample on a hit), so changing them costs no attack: a hit takes their current values.
DRAWING_ONLY = ("gallery", "examples")
#: Settings that name a gate, mark it or choose what is drawn: they cannot change what the
#: attack finds.
NOT_IN_KEY = ("name", "markers", *DRAWING_ONLY)


class ResultStore(Protocol):
    """Somewhere to keep outcomes by key (pytest's `config.cache` fits)."""

    def get(self, key: str) -> Mapping[str, Any] | None: ...

    def set(self, key: str, value: Mapping[str, Any]) -> None: ...


def cache_key(
    model_hash: str, data_hash: str, settings: Mapping[str, Any], full: bool, version: str
) -> str:
    kept = {key: value for key, value in settings.items() if key not in NOT_IN_KEY}
    payload = {
        "model": model_hash,
        "data": data_hash,
        "settings": kept,
        "full": full,
        "version": version,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_entry(store: ResultStore, key: str) -> GateOutcome | None:
    """The cached outcome, or None (a missing or unreadable entry is a miss, never an error)."""
    try:
        entry = store.get(key)
        outcome = None if entry is None else GateOutcome.from_json(entry)
    except (KeyError, TypeError, ValueError):
        return None
    return outcome if outcome is not None and outcome.measured is not None else None


def write_entry(store: ResultStore, key: str, outcome: GateOutcome) -> None:
    store.set(key, replace(outcome, examples=(), compare=None).to_json())
