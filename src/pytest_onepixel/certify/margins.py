"""The margin's lower bound for a chunk of one-pixel boxes: the entry point of the bounds.

The margin of class j is bounded as one linear function, lower(true) - upper(j), before it is
concretized: the bound of the difference, which keeps the correlation through the colour v, not
the difference of two bounds. The float32 safety margin (floats.py) is subtracted here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .bounds import Unbounded, dense_step, input_sym, propagate, weighted
from .cone import Windowed, cone_step, dense, input_window
from .floats import SAFETY_FACTOR, SOFTMAX_SLACK
from .forward import const
from .graph import Graph
from .node import Node
from .ops import Sym, affine_lines, concretize

Tensor = torch.Tensor
#: Positions from which the receptive-field saving is used by default (16 x 16 images).
CONE_FROM = 256


@dataclass(frozen=True)
class MarginBounds:
    """Per box: the lower bound of the worst margin after the float32 safety margin (positive
    means proven), and the box corner minimising that class's linear bound (a candidate to try
    on the real model)."""

    lower: np.ndarray  # (B,)
    corner: np.ndarray  # (B, K)


def margin_bounds(
    graph: Graph, scores: Sym, label: int, box: tuple[Tensor, Tensor], lines=None
) -> MarginBounds:
    """Lower bounds of score[label] - score[j] per box, less the float32 safety margin, from
    the margin's own lower lines (`lines`, (B, K+1, classes)) or else lower(true) - upper(j)."""
    batch, rows = scores.lo.shape[:2]
    lo, up = scores.lo.reshape(batch, rows, -1), scores.up.reshape(batch, rows, -1)
    err = scores.err.reshape(batch, -1)
    if lines is None:
        lines = lo[:, :, label : label + 1] - up
    lower = concretize(lines, *box, True)
    safety = SAFETY_FACTOR * (err[:, label : label + 1] + err)
    if graph.softmax_dropped:
        safety = safety + SOFTMAX_SLACK * lo.shape[-1]
    lower = torch.nan_to_num(lower - safety, nan=-torch.inf)  # NaN never proves anything
    lower[:, label] = float("inf")
    worst = lower.argmin(1)
    coef = lines[torch.arange(batch), :-1, worst]
    corner = torch.where(coef > 0, box[0], box[1])
    return MarginBounds(lower.min(1).values.numpy(), corner.numpy())


def bound_boxes(
    graph: Graph,
    image: np.ndarray,
    layout: str,
    label: int,
    positions,
    lo,
    hi,
    cone: bool | None = None,
) -> MarginBounds:
    """Margin bounds for boxes (positions (B, 2), lo/hi (B, K)) of one image. `cone` bounds
    only each pixel's receptive-field cone while the graph is local (cone.py; NCHW images
    only), which gives the same bounds as the dense propagation; None chooses it for images
    of at least `CONE_FROM` positions, where it pays for its gathers (9x faster on a 32 x 32
    CNN, 2x slower on 5 x 5 test nets)."""
    with torch.no_grad():
        box = (torch.as_tensor(lo, dtype=torch.float64), torch.as_tensor(hi, dtype=torch.float64))
        image_t = torch.as_tensor(image, dtype=torch.float64)
        positions = torch.as_tensor(positions)
        if cone is None:
            cone = image_t.shape[-1] * image_t.shape[-2] >= CONE_FROM
        cone = bool(cone and layout == "NCHW" and image_t.dim() == 3)
        if cone:
            first, step = input_window(image_t, positions, box), cone_step
        else:
            first, step = input_sym(image_t, layout, positions, *box), dense_step
        head = _linear_head(graph)
        try:
            body = propagate(head[0] if head else graph, first, box, step)
            body = dense(body) if isinstance(body, Windowed) else body
            if not head:
                return margin_bounds(graph, body, label, box)
            scores, lines = _folded(head[1], body, label, box)
            return margin_bounds(graph, scores, label, box, lines)
        except Unbounded:
            return MarginBounds(np.full(len(lo), -np.inf), np.asarray(lo, dtype=np.float64))


def _linear_head(graph: Graph) -> tuple[Graph, Node] | None:
    """(the graph up to the last op's input, the last op) when the scores come from a final
    linear op, else None."""
    last = graph.nodes[graph.output]
    if last.kind != "linear" or graph.output != len(graph.nodes) - 1:
        return None
    return Graph(graph.nodes[: graph.output], last.inputs[0], graph.softmax_dropped), last


def _folded(last: Node, features: Sym, label: int, box) -> tuple[Sym, Tensor]:
    """The scores' bounds, and the margin's lower lines with the margin folded into the last
    linear op: (w_true - w_j) . h + (b_true - b_j) bounded as one linear function of h, which
    is never looser than lower(true) - upper(j) (the specification matrix of CROWN, Zhang et
    al. 2018, applied at the last layer)."""
    scores = dense_step(last, [features], box)
    weight = const(last.attrs["weight"], features.lo)
    bias = last.attrs.get("bias")
    bias = torch.zeros(len(weight), dtype=torch.float64) if bias is None else const(bias, weight)
    margin = Node("linear", last.inputs, {"weight": weight[label] - weight, "bias": None})
    lines, _ = affine_lines(features, *weighted(margin)[:2], bias[label] - bias)
    return scores, lines
