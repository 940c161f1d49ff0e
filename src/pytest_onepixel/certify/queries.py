"""Real model queries: one-pixel images evaluated by the model itself, in float32.

Every `fooled` outcome comes from here, so it is a fact about the model (its own `predict`), not
about the bounds; a fooling candidate is confirmed by scoring it again alone, as the DE search
confirms its successes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUERY_BATCH = 256


@dataclass(frozen=True)
class Fooling:
    """A pixel change that changes the class, as the model itself scored it."""

    position: tuple[int, int]
    value: tuple[float, ...]
    scores: tuple[float, ...]


def with_pixels(image: np.ndarray, layout: str, positions: np.ndarray, values: np.ndarray):
    """Copies of `image` (float32, model layout) with one pixel each set to `values`."""
    batch = np.repeat(image[None].astype(np.float32), len(positions), axis=0)
    index = np.arange(len(positions))
    rows, cols = positions[:, 0], positions[:, 1]
    if layout == "NCHW":
        batch[index, :, rows, cols] = values
    else:
        batch[index, rows, cols, :] = values
    return batch


def first_fooling(
    model, image: np.ndarray, layout: str, label: int, positions, values, limit: int
) -> tuple[Fooling | None, int, bool]:
    """The first (position, value) whose image the model does not give `label`, confirmed by a
    second, single-image query (None when none is found); the queries spent, never more than
    `limit` (one is kept back for a confirmation); and whether every candidate was tried."""
    queries, tried = 0, min(len(positions), max(limit - 1, 0))
    for start in range(0, tried, QUERY_BATCH):
        stop = min(start + QUERY_BATCH, tried)
        batch = with_pixels(image, layout, positions[start:stop], values[start:stop])
        scores = np.asarray(model.predict(batch))
        queries += len(batch)
        for hit in np.flatnonzero(scores.argmax(1) != label):
            if queries >= limit:
                return None, queries, False
            alone = np.asarray(model.predict(batch[hit : hit + 1]))[0]
            queries += 1
            if alone.argmax() != label:
                row, col = positions[start + hit]
                value = tuple(float(v) for v in values[start + hit])
                found = Fooling((int(row), int(col)), value, tuple(float(s) for s in alone))
                return found, queries, True
    return None, queries, tried == len(positions)
