"""Propagate linear bounds through a graph for a batch of one-pixel boxes (the dense form).

For box b the pixel at `positions[b]` takes any colour v in [lo_b, hi_b]^K and every other pixel
keeps its value, so the input is exactly linear in v; each op then maps the input's lines to its
output's (ops.py), the way ReluVal's symbolic intervals (Wang et al. 2018) and DeepPoly's forward
abstract transformers (Singh et al. 2019) do. margins.py turns the output's lines into the
margin's lower bound; cone.py does the same work on the pixel's receptive-field cone only.
"""

from __future__ import annotations

import numpy as np
import torch

from .floats import error_of, magnitude
from .forward import bias_of, const, linear_part, maxpool
from .graph import Graph, Node
from .ops import (
    Sym,
    affine_lines,
    concretize,
    maxpool_lines,
    relu_lines,
    scaled_lines,
    sqrt_lines,
    square_lines,
    through_lines,
)

Tensor = torch.Tensor
WEIGHTED = ("conv", "linear", "affine")
POSITIVE = ("mean", "avgpool", "adaptive_avgpool", "reshape", "transpose")


def input_sym(image: Tensor, layout: str, positions: Tensor, lo: Tensor, hi: Tensor) -> Sym:
    """The image with the pixel at each position replaced by the variables v (exact lines)."""
    chw = image if layout == "NCHW" else image.permute(2, 0, 1)
    batch, channels = positions.shape[0], chw.shape[0]
    lines = torch.zeros(batch, channels + 1, *chw.shape, dtype=torch.float64)
    lines[:, -1] = chw
    index = torch.arange(batch)
    rows, cols = positions[:, 0], positions[:, 1]
    for k in range(channels):
        lines[index, -1, k, rows, cols] = 0.0
        lines[index, k, k, rows, cols] = 1.0
    if layout != "NCHW":
        lines = lines.permute(0, 1, 3, 4, 2).contiguous()
    return _with_intervals(
        lines, lines, lo, hi, torch.zeros(batch, *image.shape, dtype=torch.float64)
    )


def _with_intervals(lo: Tensor, up: Tensor, box_lo: Tensor, box_hi: Tensor, err) -> Sym:
    return Sym(
        lo, up, concretize(lo, box_lo, box_hi, True), concretize(up, box_lo, box_hi, False), err
    )


def weighted(node: Node):
    """linear(x, w) for an op whose weight is split by sign, and its bias shaped to broadcast."""
    key = "factor" if node.kind == "affine" else "weight"

    def apply(x: Tensor, weight: Tensor) -> Tensor:
        return linear_part(Node(node.kind, node.inputs, {**node.attrs, key: weight}), x)

    bias = bias_of(node)
    weight = const(node.attrs[key], torch.zeros(()))
    if bias is not None:
        bias = const(bias, weight)
        bias = bias.reshape(-1, 1, 1) if node.kind == "conv" else bias
    return apply, weight, bias


def _rectified(sym: Sym, slope: float, box: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """ReLU / LeakyReLU f(x), x between its lines L(v) <= x <= U(v). f is increasing, so
    f(L(v)) <= f(x) <= f(U(v)), and each side is relaxed on its own line's range over the box,
    [l, max L] below and [min U, u] above, rather than on x's whole interval [l, u]: a neuron
    whose upper line stays positive over the box keeps U(v) as its upper line, one whose lower
    line stays negative keeps slope * L(v) below. Above, the chord (DeepPoly); below, where L
    crosses zero, the line through the origin parallel to that chord, as Neurify's symbolic
    relaxation (Wang et al. 2018b) does: on the bench's colour CNN it needed 6% fewer boxes
    than CROWN's adaptive slope 0 or 1 (bench/certify.md)."""
    low_top = torch.maximum(concretize(sym.lo, *box, False), sym.l)
    up_bottom = torch.minimum(concretize(sym.up, *box, True), sym.u)
    (lower_slope, zero), _ = relu_lines(sym.l, low_top, slope)
    crossing = (sym.l < 0) & (low_top > 0)
    width = torch.where(crossing, low_top - sym.l, torch.ones_like(sym.l))
    lower_slope = torch.where(crossing, (low_top - slope * sym.l) / width, lower_slope)
    _, high = relu_lines(up_bottom, sym.u, slope)
    return through_lines(sym, (lower_slope, zero), high)


def _max_with(sym: Sym, floor: float) -> tuple[Tensor, Tensor]:
    """Lines of max(x, floor) = floor + relu(x - floor)."""
    (a, b), (c, d) = relu_lines(sym.l - floor, sym.u - floor)
    return through_lines(sym, (a, b - a * floor + floor), (c, d - c * floor + floor))


def _clip(sym: Sym, node: Node, box: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """min(max(x, low), high), the upper clamp as -max(-y, -high)."""
    low, high = node.attrs["low"], node.attrs["high"]
    if low is not None:
        sym = _with_intervals(*_max_with(sym, low), *box, sym.err)
    if high is None:
        return sym.lo, sym.up
    negated = Sym(-sym.up, -sym.lo, -sym.u, -sym.l, sym.err)
    lo, up = _max_with(negated, -high)
    return -up, -lo


def _division(top: Sym, bottom: Sym) -> tuple[Tensor, Tensor]:
    """d / s for a denominator whose interval is positive: d times r in [1/s_hi, 1/s_lo]."""
    if not bool((bottom.l > 0).all()):
        raise Unbounded("a denominator's interval reaches zero")
    return through_lines(top, *scaled_lines(top.l, top.u, 1 / bottom.u, 1 / bottom.l))


class Unbounded(Exception):
    """The bounds of a chunk of boxes are not finite (the caller treats them as unproven)."""


def lines_of(node: Node, ins: list[Sym], box: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """The output lines of one node from its inputs' bounds."""
    kind, a, x = node.kind, node.attrs, ins[0]
    if kind in WEIGHTED:
        return affine_lines(x, *weighted(node))
    if kind in POSITIVE:
        rows = (x.lo.shape[0], x.lo.shape[1])
        flat = [linear_part(node, t.reshape(-1, *t.shape[2:])) for t in (x.lo, x.up)]
        return tuple(t.reshape(*rows, *t.shape[1:]) for t in flat)
    if kind in ("relu", "leaky_relu"):
        return _rectified(x, a.get("slope", 0.0), box)
    if kind == "clip":
        return _clip(x, node, box)
    if kind == "square":
        return through_lines(x, *square_lines(x.l, x.u))
    if kind == "sqrt":
        return through_lines(x, *sqrt_lines(x.l, x.u))
    if kind == "div":
        return _division(x, ins[1])
    if kind == "add":
        return x.lo + ins[1].lo, x.up + ins[1].up
    if kind == "sub":
        return x.lo - ins[1].up, x.up - ins[1].lo
    if kind == "concat":
        dim = a["axis"] + 2
        return torch.cat([s.lo for s in ins], dim), torch.cat([s.up for s in ins], dim)
    if kind == "maxpool":
        return maxpool_lines(x, lambda t, **kw: maxpool(t, a, **kw), box)
    raise KeyError(kind)


def intervals_of(node: Node, ins: list[Sym], lines: tuple[Tensor, Tensor], box) -> tuple:
    """The output's interval: its lines concretized over the box, and for a max pooling also
    no wider than the pooled input intervals (both hold, so their intersection does)."""
    low, high = concretize(lines[0], *box, True), concretize(lines[1], *box, False)
    if node.kind == "maxpool":
        low = torch.maximum(low, maxpool(ins[0].l, node.attrs))
        high = torch.minimum(high, maxpool(ins[0].u, node.attrs))
    return low, high


def dense_step(node: Node, ins: list[Sym], box: tuple[Tensor, Tensor]) -> Sym:
    """One node's output bounds over the whole activation map."""
    lo, up = lines_of(node, ins, box)
    low, high = intervals_of(node, ins, (lo, up), box)
    sym = Sym(lo, up, low, high, torch.zeros(()))
    return Sym(lo, up, low, high, error_of(node, ins, magnitude(sym)))


def propagate(graph: Graph, first: object, box: tuple[Tensor, Tensor], step=dense_step):
    """Bounds of the graph's output, node by node with `step` (dense_step, or cone.py's
    windowed step), freeing each activation after its last reader."""
    last_use = {}
    for index, node in enumerate(graph.nodes):
        for source in node.inputs:
            last_use[source] = index
    values: dict[int, object] = {0: first}
    for index, node in enumerate(graph.nodes[1:], start=1):
        values[index] = step(node, [values[i] for i in node.inputs], box)
        for source in set(node.inputs):
            if last_use[source] == index and source != graph.output:
                del values[source]
    return values[graph.output]


def largest_activation(graph: Graph, image: np.ndarray) -> int:
    """The most elements any activation of the graph holds for one image (sizes the chunks)."""
    from .forward import forward_node

    with torch.no_grad():
        values = [torch.as_tensor(image[None], dtype=torch.float64)]
        for node in graph.nodes[1:]:
            values.append(forward_node(node, [values[i] for i in node.inputs]))
    return max(v[0].numel() for v in values)
