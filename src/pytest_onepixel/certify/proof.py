"""Per image, one of three outcomes: fooled, certified or undecided (DESIGN.md, "Exact verdicts").

For every pixel position the colour box [lo, hi]^C starts whole. A round bounds a chunk of boxes
(margins.py); a box whose margin lower bound (less the float32 safety margin) is positive is
proven. For the others the corner minimising the margin's linear lower bound and the box's centre
are tried on the real model; then a box with few integer colours left is evaluated exactly, point
by point, and any other box is bisected (boxes.py), as ReluVal's input splitting does (Wang et
al. 2018). The image is `certified` when the queue empties, `fooled` when a real query confirms a
change of class, and `undecided` when the next step would pass `certify_budget`.

Work is counted in model-pass equivalents, a stated count rather than a timing, so that records
do not depend on the machine: a real query is one pass; bounding one box is `box_cost(C) =
8 (C + 1)` passes, since each linear op runs over the C + 1 rows of both lines with its positive
and its negative weights, in float64 (about twice a float32 pass). Wall time is another matter,
measured by bench/certify.py: on the 32 x 32 x 3 colour CNN a box (with the receptive-field
saving and the corner relaxations of ops.py) took about 19 model passes, on a ResNet-18 about
60, on the 8 x 8 digits CNN, where onnxruntime needs 5 us an image and the bounds pay Python's
overhead per op, about 300. A caller may pass its own `box_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .boxes import BoxQueue, centres, every_point, integer_points, split
from .graph import Graph
from .margins import bound_boxes
from .queries import Fooling, first_fooling

Outcome = Literal["fooled", "certified", "undecided"]


def box_cost(channels: int) -> int:
    """Model-pass equivalents charged for bounding one box (see the module docstring)."""
    return 8 * (channels + 1)


@dataclass(frozen=True)
class ProofRecord:
    """What the proof search found for one image and what it spent.

    `position`, `value` and `scores` are set for `fooled` (the model's own scores of the fooling
    image, queried alone); `positions_left` and `boxes_left` say where an `undecided` search
    stopped. `passes` counts model-pass equivalents (queries plus bounded boxes times
    `box_cost`), never more than the budget; `queries` counts real model queries. `found_by`
    says which step found a fooling pixel: "corner" (the corner pre-pass), "bound candidate"
    (a box's margin-minimising corner or centre) or "enumeration" (integer points of a box).
    """

    outcome: Outcome
    passes: int
    queries: int
    boxes: int
    position: tuple[int, int] | None = None
    value: tuple[float, ...] | None = None
    scores: tuple[float, ...] | None = None
    positions_left: int = 0
    boxes_left: int = 0
    found_by: str | None = None


@dataclass
class ImageProof:
    """The state of one image's proof search (the queue, what was spent, the budget)."""

    graph: Graph
    model: object
    image: np.ndarray
    label: int
    layout: str
    pixel_range: tuple[float, float]
    integer: bool
    budget: int
    chunk: int
    cone: bool | None = None
    cost: int | None = None
    passes: int = 0
    queries: int = 0
    boxes: int = 0
    exhausted: bool = False
    queue: BoxQueue = field(init=False)

    def __post_init__(self) -> None:
        shape = self.image.shape
        height, width, channels = (shape[1], shape[2], shape[0]) if self.layout == "NCHW" else shape
        low, high = self.pixel_range
        if self.integer:
            low, high = np.ceil(low), np.floor(high)
        self.queue = BoxQueue.whole_image(height, width, channels, (low, high))
        self.cost = self.cost or box_cost(channels)

    def run(self) -> ProofRecord:
        """Corner colours first, then rounds until the queue is empty, a pixel fools the model,
        or the budget is spent."""
        found = self._corners()
        if found is not None or self.exhausted:
            return found or self._record("undecided")
        while len(self.queue):
            affordable = (self.budget - self.passes) // self.cost
            if affordable < 1:
                return self._record("undecided")
            found = self._round(self.queue.take(min(self.chunk, affordable)))
            if found is not None:
                return found
        return self._record("certified")

    def _round(self, boxes: BoxQueue) -> ProofRecord | None:
        """Bound a chunk, try candidates from its open boxes, settle or split each open box."""
        bounds = bound_boxes(
            self.graph,
            self.image,
            self.layout,
            self.label,
            boxes.positions,
            boxes.lo,
            boxes.hi,
            self.cone,
        )
        self.passes += len(boxes) * self.cost
        self.boxes += len(boxes)
        unproven = bounds.lower <= 0
        open_ = boxes.select(unproven)
        if not len(open_):
            return None
        values = np.concatenate([bounds.corner[unproven], centres(open_, self.integer)])
        positions = np.concatenate([open_.positions, open_.positions])
        found = self._try(positions, values, "bound candidate")
        if found is not None or self.exhausted:
            return found or self._undecided_with(open_)
        if self.integer:
            small = integer_points(open_) <= self.cost
        else:
            small = np.zeros(len(open_), dtype=bool)
        found = self._try(*every_point(open_.select(small)), "enumeration")
        if found is not None or self.exhausted:
            return found or self._undecided_with(open_)
        self.queue.push(split(open_.select(~small), self.integer))
        return None

    def _corners(self) -> ProofRecord | None:
        """Every position at every corner colour (each channel at its low or high end), where
        most one-pixel foolings sit (bench/popsize.md), as real queries: cheap next to one
        bound of every box, and it finds most fooled images before any splitting. Skipped when
        it would take more than a quarter of the budget."""
        lo, hi = self.queue.lo[0], self.queue.hi[0]
        channels = len(lo)
        bits = (np.arange(2**channels)[:, None] >> np.arange(channels)[::-1]) & 1
        colours = np.where(bits == 1, hi, lo)
        if len(self.queue) * len(colours) > self.budget // 4:
            return None
        positions = np.repeat(self.queue.positions, len(colours), axis=0)
        values = np.tile(colours, (len(self.queue), 1))
        return self._try(positions, values, "corner")

    def _try(self, positions: np.ndarray, values: np.ndarray, how: str) -> ProofRecord | None:
        """Query the real model on these candidates, as far as the budget allows (when it does
        not allow all of them, `exhausted` is set)."""
        fooling, spent, complete = first_fooling(
            self.model,
            self.image,
            self.layout,
            self.label,
            positions,
            values,
            self.budget - self.passes,
        )
        self.passes += spent
        self.queries += spent
        if fooling is not None:
            return replace(self._record("fooled", how), **_fooling_fields(fooling))
        self.exhausted = not complete
        return None

    def _undecided_with(self, boxes: BoxQueue) -> ProofRecord:
        self.queue.push(boxes)
        return self._record("undecided")

    def _record(self, outcome: Outcome, found_by: str | None = None) -> ProofRecord:
        undecided = outcome == "undecided"
        return ProofRecord(
            outcome,
            self.passes,
            self.queries,
            self.boxes,
            positions_left=self.queue.positions_left() if undecided else 0,
            boxes_left=len(self.queue) if undecided else 0,
            found_by=found_by,
        )


def _fooling_fields(fooling: Fooling) -> dict:
    return {"position": fooling.position, "value": fooling.value, "scores": fooling.scores}
