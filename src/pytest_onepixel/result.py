"""What an attack found: one record per sampled image, and the counts a gate needs.

Records keep `first_success_query`, so a single run at budget B also answers "what would the
success rate have been at any budget b <= B?" (the robustness curve), with no extra queries.
The counts are functions of the records alone, so a verdict can be recomputed from a JSON
report (merging shards, comparing runs) exactly as it was made. Importing this module imports no
numpy: the pytest layer reads outcomes (and their records) at start-up speed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .engine.layouts import channel_last_view
from .settings.gate_settings import GateSettings

if TYPE_CHECKING:
    import numpy as np

Pixel = tuple[int, int, tuple[float, ...]]


@dataclass(frozen=True)
class ImageRecord:
    """The outcome for one sampled image.

    `queries` counts the search's model evaluations of perturbed copies of this image (the final
    confirmation re-query is not a search query and is not counted). `pixels` and the adversarial
    label and confidence describe the successful change, or the best one found when the attack
    failed. Images the model misclassifies (or, targeted, already labels as the target) are not
    attacked: they have `attacked=False` and no pixels. `skipped` marks images of the attacked
    set left unattacked because an early verdict had already settled the gate. `rejected` marks
    a success the search found that the confirming re-query did not reproduce (not counted as a
    success; many of them mean the model's answers are not repeatable).

    A `search: certify` gate's attacked images also carry `outcome` ("fooled", "certified" or
    "undecided"; None elsewhere) and `proof` (what the proof search spent and where it
    stopped: passes, queries, boxes, positions_left, boxes_left, found_by, with found_by
    "search" when the DE search fooled the image first). A fooled record has `success`.
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
    rejected: bool = False
    file: str | None = None  # the image's file, when the data came from an image folder
    outcome: str | None = None  # search: certify only (see above)
    proof: dict[str, Any] | None = None

    @classmethod
    def unattacked(
        cls, index: int, label: int, clean_correct: bool, target: int | None, skipped: bool
    ) -> ImageRecord:
        """A sampled image the search did not touch: misclassified, or skipped by an early
        verdict."""
        return cls(
            index, label, clean_correct, False, False, 0, None, (), None, None, target, skipped
        )

    def succeeded_within(self, budget: int | None) -> bool:
        """Fooled within its first `budget` queries (None: at all)."""
        if not self.success:
            return False
        return budget is None or (self.first_success_query or 0) <= budget

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pixels"] = [
            {"row": row, "col": col, "values": list(values)} for row, col, values in self.pixels
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageRecord:
        """The inverse of `to_dict` (a record read back from a JSON report)."""
        fields = {"rejected": False, "file": None, "outcome": None, "proof": None, **data}
        fields["pixels"] = tuple(
            (int(p["row"]), int(p["col"]), tuple(p["values"])) for p in data["pixels"]
        )
        return cls(**fields)


@dataclass(frozen=True)
class Counts:
    """The counts a verdict is made of, from records alone."""

    sampled: int
    attacked: int
    skipped: int
    successes: int
    clean_correct: int
    queries_used: int
    rejected: int
    certified: int = 0
    undecided: int = 0
    outcomes: int = 0  # records with a proof outcome (a certify gate's attacked images)

    @classmethod
    def of(cls, records: Sequence[ImageRecord]) -> Counts:
        return cls(
            sampled=len(records),
            attacked=sum(r.attacked for r in records),
            skipped=sum(r.skipped for r in records),
            successes=sum(r.success for r in records),
            clean_correct=sum(r.clean_correct for r in records),
            queries_used=sum(r.queries for r in records),
            rejected=sum(r.rejected for r in records),
            certified=sum(r.outcome == "certified" for r in records),
            undecided=sum(r.outcome == "undecided" for r in records),
            outcomes=sum(r.outcome is not None for r in records),
        )

    @property
    def bracket(self) -> tuple[float, float] | None:
        """A certify gate's vulnerability bracket, [fooled, attacked - certified] / attacked:
        the lower end is what was found, the upper what was not proven. None when no record
        has a proof outcome (de and exhaustive gates)."""
        if not self.outcomes:
            return None
        if not self.attacked:
            return (0.0, 0.0)
        return (self.successes / self.attacked, (self.attacked - self.certified) / self.attacked)

    @property
    def success_rate(self) -> float:
        """successes / attacked; 0.0 when nothing was attacked (check `attacked` first)."""
        return self.successes / self.attacked if self.attacked else 0.0

    @property
    def clean_accuracy(self) -> float:
        return self.clean_correct / self.sampled if self.sampled else 0.0


def successes_within(records: Sequence[ImageRecord], budget: int | None) -> int:
    """Images fooled within their first `budget` queries (None: at all)."""
    return sum(record.succeeded_within(budget) for record in records)


@dataclass(frozen=True)
class Measured:
    """What an attack found out rather than was told (scipy's `OptimizeResult` keeps what the
    solver did apart from its arguments in the same way): never written over a setting.

    `batch` is the batch size the search chose and the timings that chose it (`from_cache`:
    read back from an earlier run on this machine, engine/batch_store.py); `backend` what
    ran the search ("onnxruntime twin", "torch", or "model" for a model that is not PyTorch)
    and `twin` how the twin fared; `model_check` the consistency probe; `preset`, `popsize` and
    `generations` the DE that ran; `layout`, `data_layout` and `pixel_range` the model's and
    the images' layouts and pixel range as resolved; `shard` the part of the attacked set this
    run searched; `notes` what a reader of the verdict must know (e.g. no DE generation ran);
    `guidance` what ordered the search's candidates (`used`: gradient or none, the queries it
    `charge`d each image, and why none when none).
    """

    batch: Mapping[str, Any]
    backend: str
    twin: Mapping[str, Any]
    model_check: Mapping[str, Any]
    preset: str
    popsize: int
    generations: int
    layout: str | None
    data_layout: str
    pixel_range: tuple[float, float]
    shard: Mapping[str, int] | None = None
    notes: tuple[str, ...] = ()
    guidance: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pixel_range"] = list(self.pixel_range)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measured:
        """The inverse of `to_json` (a block read back from a JSON report or the cache)."""
        fields = dict(data)
        fields["pixel_range"] = tuple(float(v) for v in fields["pixel_range"])
        fields["notes"] = tuple(str(n) for n in fields.get("notes") or ())
        return cls(**fields)


@dataclass(frozen=True)
class AttackResult:
    """All records of one `attack()` call, the settings that asked for it and what it
    measured, with the attacked images (in their own layout and dtype, for pictures)."""

    records: tuple[ImageRecord, ...]
    settings: GateSettings
    measured: Measured
    _images: np.ndarray = field(repr=False, compare=False)

    @property
    def images(self) -> np.ndarray:
        """The attacked images, in their own layout and dtype (unchanged)."""
        return self._images

    @property
    def layout(self) -> str:
        """The images' layout."""
        return self.measured.data_layout

    @property
    def counts(self) -> Counts:
        return Counts.of(self.records)

    @property
    def attacked(self) -> int:
        return self.counts.attacked

    @property
    def skipped(self) -> int:
        """Images of the attacked set not attacked because the verdict was settled first."""
        return self.counts.skipped

    @property
    def successes(self) -> int:
        return self.counts.successes

    @property
    def success_rate(self) -> float:
        """successes / attacked; 0.0 when nothing was attacked (check `attacked` first)."""
        return self.counts.success_rate

    @property
    def clean_accuracy(self) -> float:
        return self.counts.clean_accuracy

    @property
    def queries_used(self) -> int:
        return self.counts.queries_used

    def success_rate_at(self, budget: int) -> float:
        """The share of attacked images fooled within their first `budget` queries of this search.

        A run at that budget with this run's population finds exactly these; the default
        population grows with the budget, so a fresh default run at a smaller budget searches
        a little differently and can differ by a few images.
        """
        attacked = self.attacked
        return successes_within(self.records, budget) / attacked if attacked else 0.0

    def adversarial_images(self) -> tuple[np.ndarray, np.ndarray]:
        """(indices, images) of the successful records, images in the input's shape and dtype."""
        import numpy as np

        chosen = [(i, r) for i, r in enumerate(self.records) if r.success]
        images = self._images[[i for i, _ in chosen]].copy()
        view = channel_last_view(images, self.layout)
        for slot, (_, record) in enumerate(chosen):
            for row, col, values in record.pixels:
                view[slot, row, col] = values
        return np.array([r.index for _, r in chosen], dtype=np.int64), images

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings, measured block, summary and per-image records."""
        counts = self.counts
        return {
            "settings": self.settings.to_json(),
            "measured": self.measured.to_json(),
            "summary": {
                "sampled": counts.sampled,
                "attacked": counts.attacked,
                "skipped": counts.skipped,
                "successes": counts.successes,
                "success_rate": counts.success_rate,
                "clean_accuracy": counts.clean_accuracy,
                "queries_used": counts.queries_used,
                "rejected": counts.rejected,
            },
            "records": [r.to_dict() for r in self.records],
        }
