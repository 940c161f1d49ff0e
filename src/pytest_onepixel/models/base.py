"""What the engine needs from a model, and the small pieces every adapter shares.

A `Model` maps a float32 batch of raw pixels to class scores and says what it knows about
itself: the input layout it wants (None when it cannot tell), its class count, a description for
reports and a content hash for caching. Adapters know nothing of the attack or of pytest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ModelLoadError
from ..paths import unreadable_reason


@runtime_checkable
class Model(Protocol):
    """An image classifier the attack can query."""

    layout: str | None
    num_classes: int | None
    description: str
    content_hash: str

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class scores (logits or probabilities), shape (len(batch), classes)."""
        ...


class CallableModel:
    """A plain callable (numpy function, lambda, jitted function) as a Model.

    Its hash names the callable, not its weights: caching keyed on it is only as good as that name.
    """

    num_classes: int | None = None

    def __init__(self, function: Callable[[np.ndarray], object], layout: str | None = None):
        self.function = function
        self.layout = layout
        name = getattr(function, "__qualname__", type(function).__qualname__)
        module = getattr(function, "__module__", "") or ""
        self.description = f"callable {module}.{name}".replace(" .", " ")
        self.content_hash = hashlib.sha256(self.description.encode()).hexdigest()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.function(batch))


def predict_in_fixed_batches(
    predict: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, size: int
) -> np.ndarray:
    """Run a model that only accepts batches of exactly `size`: chunk, zero-pad the last chunk,
    and drop the padding rows from the output."""
    outputs = []
    for start in range(0, len(batch), size):
        chunk = batch[start : start + size]
        rows = len(chunk)
        if rows < size:
            padding = np.zeros((size - rows, *chunk.shape[1:]), dtype=chunk.dtype)
            chunk = np.concatenate([chunk, padding])
        outputs.append(np.asarray(predict(chunk))[:rows])
    return np.concatenate(outputs)


def existing_file(path: str | Path, what: str) -> Path:
    """The path as a Path, or a ModelLoadError that names it, says what it is instead of a
    readable file, and what to do."""
    path = Path(path)
    reason = unreadable_reason(path)
    if reason is not None:
        raise ModelLoadError(
            f"{what} file {path} {reason}. Check the path (relative paths are taken from the "
            "current directory, or from the YAML file that names them)."
        )
    return path


def file_hash(*paths: Path) -> str:
    """sha256 over the files' names and bytes: the identity of a model for caching and
    reports."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
