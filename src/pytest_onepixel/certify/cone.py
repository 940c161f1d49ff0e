"""The receptive-field saving: only the cone of the changed pixel is bounded, the rest is the
clean image's own activation.

A one-pixel box changes a convolution's output only inside the pixel's receptive-field cone;
everywhere else every line is the clean activation exactly (no coefficient on v, interval of
width zero). So while the graph is local (convolutions, pooling, element-wise ops, residual
adds and channel concats) each activation is held as a `Windowed`: the clean map (shared by all
boxes of the chunk) plus, per box, the lines on a window that covers the cone. A sliding op
reads a crop of the clean map with the window written into it and returns the window of its
own cone; element-wise ops act on the window alone; two windows meet in their union. At the
first global op (flatten, linear, a mean over the image, a per-image standardisation) the window
is written into the clean map and the dense propagation of bounds.py takes over. The result is
the dense result, computed on a fraction of the map (tests/certify/test_cone.py checks both
agree); the float32 error outside the window is the clean map's own (`clean_err`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .bounds import dense_step, intervals_of, lines_of
from .floats import error_of
from .forward import forward_node
from .node import Node
from .ops import Sym, concretize

Tensor = torch.Tensor
SLIDING = ("conv", "maxpool", "avgpool")
ELEMENTWISE = ("relu", "leaky_relu", "clip", "square", "sqrt", "affine")
UNION = ("add", "sub", "concat")


@dataclass(frozen=True)
class Windowed:
    """Lines on a per-box window (top, left: (B,) offsets) of a (C, H, W) map; the clean map
    and its float32 error outside the window."""

    sym: Sym
    top: Tensor
    left: Tensor
    clean: Tensor
    clean_err: Tensor


def input_window(image: Tensor, positions: Tensor, box: tuple[Tensor, Tensor]) -> Windowed:
    """The 1 x 1 window of the changed pixel (NCHW image): its channels are the variables."""
    batch, channels = positions.shape[0], image.shape[0]
    lines = torch.zeros(batch, channels + 1, channels, 1, 1, dtype=torch.float64)
    lines[:, torch.arange(channels), torch.arange(channels)] = 1.0
    low, high = concretize(lines, *box, True), concretize(lines, *box, False)
    err = torch.zeros_like(low)
    sym = Sym(lines, lines, low, high, err)
    return Windowed(sym, positions[:, 0], positions[:, 1], image, torch.zeros_like(image))


def _place(window: Tensor, base: Tensor, top: Tensor, left: Tensor) -> Tensor:
    """`base` (B, ..., H2, W2) with `window` (B, ..., h, w) written at per-box offsets; window
    cells falling outside the base are dropped."""
    batch, (h, w), (H2, W2) = window.shape[0], window.shape[-2:], base.shape[-2:]
    rows = top[:, None] + torch.arange(h)
    cols = left[:, None] + torch.arange(w)
    inside = ((rows >= 0) & (rows < H2))[:, :, None] & ((cols >= 0) & (cols < W2))[:, None, :]
    index = torch.where(inside, rows[:, :, None] * W2 + cols[:, None, :], H2 * W2)
    middle = window.shape[1:-2]
    index = index.reshape(batch, *([1] * len(middle)), h * w).expand(batch, *middle, h * w)
    spare = base.new_zeros(*base.shape[:-2], 1)
    flat = torch.cat([base.flatten(-2), spare], -1).scatter(-1, index, window.flatten(-2))
    return flat[..., :-1].reshape(base.shape)


def _crop(clean: Tensor, top: Tensor, left: Tensor, size: tuple[int, int]) -> Tensor:
    """(B, C, h, w) crops of a (C, H, W) map at per-box offsets (inside the map)."""
    rows = top[:, None] + torch.arange(size[0])
    cols = left[:, None] + torch.arange(size[1])
    return clean[:, rows[:, :, None], cols[:, None, :]].permute(1, 0, 2, 3)


def embed(win: Windowed, top, left, size, pad: tuple[int, int] = (0, 0), fill=0.0) -> Sym:
    """The lines on a (possibly bigger) region: clean values with the window written in.
    `top`, `left` are in the map padded by `pad` with `fill` (a sliding op's own padding)."""
    clean = F.pad(win.clean, (pad[1], pad[1], pad[0], pad[0]), value=fill)
    clean_err = F.pad(win.clean_err, (pad[1], pad[1], pad[0], pad[0]))
    base = _crop(clean, top, left, size)
    rows = win.sym.lo.shape[1]
    lines = torch.zeros(base.shape[0], rows, *base.shape[1:], dtype=torch.float64)
    lines[:, -1] = base
    at_top, at_left = win.top + pad[0] - top, win.left + pad[1] - left

    def place(window: Tensor, under: Tensor) -> Tensor:
        return _place(window, under, at_top, at_left)

    return Sym(
        place(win.sym.lo, lines),
        place(win.sym.up, lines.clone()),
        place(win.sym.l, base),
        place(win.sym.u, base),
        place(win.sym.err, _crop(clean_err, top, left, size)),
    )


def dense(win: Windowed) -> Sym:
    """The window written into the whole map: the dense bounds of bounds.py."""
    zero = torch.zeros_like(win.top)
    return embed(win, zero, zero, tuple(win.clean.shape[-2:]))


def _geometry(node: Node):
    """(kernel, stride, padding, dilation) pairs of a sliding op."""
    a = node.attrs
    kernel = np.shape(a["weight"])[-2:] if node.kind == "conv" else a["kernel"]
    dilation = a.get("dilation", 1)
    dilation = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    return tuple(kernel), tuple(a["stride"]), tuple(a["padding"]), dilation


def _windowable(node: Node, ins: list) -> bool:
    """Whether `node` keeps the window form: every input windowed and the op local."""
    if not ins or not all(isinstance(x, Windowed) for x in ins):
        return False
    a = node.attrs
    if node.kind in SLIDING:
        padded_average = node.kind == "avgpool" and not a.get("count_include_pad", True)
        return not a.get("ceil_mode", False) and not (padded_average and any(a["padding"]))
    if node.kind == "affine":
        return all(np.ndim(v) < 2 or np.shape(v)[-2:] == (1, 1) for v in (a["factor"], a["shift"]))
    if node.kind in UNION:
        same = {x.clean.shape[-2:] if node.kind == "concat" else x.clean.shape for x in ins}
        return len(same) == 1 and a.get("axis", 0) == 0
    return node.kind in ELEMENTWISE


def _out_window(start, size, length, kernel, stride, pad, dilation, out_length):
    """Per-box first output row (clamped inside the map) and the common count of output rows
    whose receptive field meets input rows [start, start + size)."""
    reach = (kernel - 1) * dilation
    first = torch.div(start + pad - reach + stride - 1, stride, rounding_mode="floor")
    last = torch.div(start + size - 1 + pad, stride, rounding_mode="floor")
    count = min(out_length, int((last - first).max()) + 1)
    return (first.clamp(min=0)).clamp(max=out_length - count), count


def _clean_step(node: Node, ins: list[Windowed]) -> tuple[Tensor, Tensor]:
    """The clean map of the node's output and its float32 error."""
    out = forward_node(node, [w.clean[None] for w in ins])[0]
    sure = [Sym(None, None, w.clean[None], w.clean[None], w.clean_err[None]) for w in ins]
    return out, error_of(node, sure, out.abs()[None])[0]


def _finish(node: Node, ins: list[Sym], box, top, left, clean) -> Windowed:
    lo, up = lines_of(node, ins, box)
    low, high = intervals_of(node, ins, (lo, up), box)
    mag = torch.maximum(low.abs(), high.abs())
    sym = Sym(lo, up, low, high, error_of(node, ins, mag))
    return Windowed(sym, top, left, *clean)


def _slide(node: Node, win: Windowed, box) -> Windowed:
    kernel, stride, pad, dilation = _geometry(node)
    clean = _clean_step(node, [win])
    out_shape = clean[0].shape[-2:]
    spans, firsts = [], []
    for axis, offset in enumerate((win.top, win.left)):
        first, count = _out_window(
            offset, win.sym.l.shape[-2 + axis], win.clean.shape[-2 + axis], kernel[axis],
            stride[axis], pad[axis], dilation[axis], out_shape[axis],
        )  # fmt: skip
        firsts.append(first)
        spans.append((count, (count - 1) * stride[axis] + (kernel[axis] - 1) * dilation[axis] + 1))
    fill = float("-inf") if node.kind == "maxpool" else 0.0
    crop_at = [first * s for first, s in zip(firsts, stride, strict=True)]
    crop = embed(win, *crop_at, (spans[0][1], spans[1][1]), pad, fill)
    unpadded = Node(node.kind, node.inputs, {**node.attrs, "padding": (0, 0)}, node.name)
    return _finish(unpadded, [crop], box, *firsts, clean)


def _union(node: Node, ins: list[Windowed], box) -> Windowed:
    """Both inputs on the union of their windows (clamped inside the map)."""
    starts, sizes = [], []
    for axis in (0, 1):
        first = torch.stack([(w.top, w.left)[axis] for w in ins]).min(0).values
        ends = torch.stack([(w.top, w.left)[axis] + w.sym.l.shape[-2 + axis] for w in ins])
        length = ins[0].clean.shape[-2 + axis]
        size = min(length, int((ends.max(0).values - first).max()))
        starts.append(first.clamp(max=length - size))
        sizes.append(size)
    crops = [embed(w, *starts, tuple(sizes)) for w in ins]
    return _finish(node, crops, box, *starts, _clean_step(node, ins))


def cone_step(node: Node, ins: list, box: tuple[Tensor, Tensor]):
    """bounds.propagate's step: windowed while the graph is local, dense after."""
    if not _windowable(node, ins):
        return dense_step(node, [dense(x) if isinstance(x, Windowed) else x for x in ins], box)
    if node.kind in SLIDING:
        return _slide(node, ins[0], box)
    if node.kind in UNION:
        return _union(node, ins, box)
    win = ins[0]
    return _finish(node, [win.sym], box, win.top, win.left, _clean_step(node, ins))
