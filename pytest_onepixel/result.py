"""What an attack found: one record per sampled image, and the summary a gate needs.

Records keep `first_success_query`, so a single run at budget B also answers "what would the
success rate have been at any budget b <= B?" (the robustness curve), with no extra queries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .imageset import channel_last_view

Pixel = tuple[int, int, tuple[float, ...]]


@dataclass(frozen=True)
class ImageRecord:
    """The outcome for one sampled image.

    `queries` counts the search's model evaluations of perturbed copies of this image (the final
    confirmation re-query is not a search query and is not counted). `pixels` and the adversarial
    label and confidence describe the successful change, or the best one found when the attack
    failed. Images the model misclassifies (or, targeted, already labels as the target) are not
    attacked: they have `attacked=False` and no pixels. `skipped` marks images of the attacked
    set left unattacked because an early verdict had already settled the gate.
    """

    index: int
    label: int
    clean_correct: bool
    attacked: bool
    success: bool
    queries: int
    first_success_query: int | None
    pixels: tuple[Pixel, ...]
    adversarial_label: int | None
    adversarial_confidence: float | None
    target: int | None = None
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pixels"] = [
            {"row": row, "col": col, "values": list(values)} for row, col, values in self.pixels
        ]
        return data


@dataclass(frozen=True)
class AttackResult:
    """All records of one `attack()` call plus the settings that produced them."""

    records: tuple[ImageRecord, ...]
    settings: dict[str, Any]
    _images: np.ndarray = field(repr=False, compare=False)
    _layout: str = field(repr=False, compare=False)

    @property
    def attacked(self) -> int:
        return sum(r.attacked for r in self.records)

    @property
    def skipped(self) -> int:
        """Images of the attacked set not attacked because the verdict was settled first."""
        return sum(r.skipped for r in self.records)

    @property
    def successes(self) -> int:
        return sum(r.success for r in self.records)

    @property
    def success_rate(self) -> float:
        """successes / attacked; 0.0 when nothing was attacked (check `attacked` first)."""
        return self.successes / self.attacked if self.attacked else 0.0

    @property
    def clean_accuracy(self) -> float:
        return sum(r.clean_correct for r in self.records) / len(self.records)

    @property
    def queries_used(self) -> int:
        return sum(r.queries for r in self.records)

    def success_rate_at(self, budget: int) -> float:
        """The share of attacked images fooled within their first `budget` queries of this search.

        A run at that budget with this run's population finds exactly these; the default
        population grows with the budget, so a fresh default run at a smaller budget searches
        a little differently and can differ by a few images.
        """
        if not self.attacked:
            return 0.0
        hits = sum(
            r.success and r.first_success_query is not None and r.first_success_query <= budget
            for r in self.records
        )
        return hits / self.attacked

    def adversarial_images(self) -> tuple[np.ndarray, np.ndarray]:
        """(indices, images) of the successful records, images in the input's shape and dtype."""

        chosen = [(i, r) for i, r in enumerate(self.records) if r.success]
        images = self._images[[i for i, _ in chosen]].copy()
        view = channel_last_view(images, self._layout)
        for slot, (_, record) in enumerate(chosen):
            for row, col, values in record.pixels:
                view[slot, row, col] = values
        return np.array([r.index for _, r in chosen], dtype=np.int64), images

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary, settings and per-image records."""
        return {
            "settings": dict(self.settings),
            "summary": {
                "sampled": len(self.records),
                "attacked": self.attacked,
                "skipped": self.skipped,
                "successes": self.successes,
                "success_rate": self.success_rate,
                "clean_accuracy": self.clean_accuracy,
                "queries_used": self.queries_used,
            },
            "records": [r.to_dict() for r in self.records],
        }
