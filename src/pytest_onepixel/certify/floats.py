"""How far the model's float32 arithmetic may stray from the exact value the bounds enclose.

The bounds of bounds.py hold for the exact (real-number) network. The model computes in float32,
so each op is followed by an error bound `err` per neuron (|float32 value - exact value|), carried
forward with the standard a-priori bounds of floating-point summation (Higham, "Accuracy and
Stability of Numerical Algorithms", 2002, section 3.1): a dot product of length n in any order
errs by at most gamma(n) * sum |w_i x_i|, gamma(n) = n u / (1 - n u), u = 2^-24; the exact parts
propagate the incoming error through |W|; ReLU, LeakyReLU, Clip and MaxPool are 1-Lipschitz.
The magnitudes |x| come from the neuron's interval over the box, so the bound holds for every
point of it.

A position is proven only where the margin's lower bound exceeds `SAFETY_FACTOR * (err_true +
err_other)` (the two logits the prediction compares) plus, when a softmax was dropped from the
output, `SOFTMAX_SLACK` times the class count: the factor covers summation schemes outside the
model above (blocked or Winograd convolutions) and the float64 rounding of the bounds themselves
(about 1e-16 relative, far below). tests/certify/test_floats.py shows the margin is needed: a net
whose exact margin is 0.5 but whose float32 margin is not positive would be certified without it.
"""

from __future__ import annotations

import math

import torch

from .forward import bias_of, const, linear_part, maxpool
from .graph import Node
from .ops import Sym

Tensor = torch.Tensor

UNIT_ROUNDOFF = 2.0**-24
SAFETY_FACTOR = 2.0
#: per class, in units of the roundoff: exp, the sum and the division of a float32 softmax
SOFTMAX_SLACK = 8 * UNIT_ROUNDOFF


def gamma(n: int) -> float:
    """Higham's gamma_n: the relative error bound of an n-term float32 sum or dot product."""
    return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)


def magnitude(sym: Sym) -> Tensor:
    return torch.maximum(sym.l.abs(), sym.u.abs())


def fan_in(node: Node, shape: tuple[int, ...]) -> int:
    """Terms in one output's sum (plus one for the bias), from the node's constants."""
    a = node.attrs
    if node.kind == "conv":
        weight = a["weight"]
        return int(weight.shape[1] * weight.shape[2] * weight.shape[3]) + 1
    if node.kind == "linear":
        return int(a["weight"].shape[1]) + 1
    if node.kind == "mean":
        return math.prod(shape[d] for d in a["dims"]) + 1
    if node.kind == "avgpool":
        return math.prod(a["kernel"]) + 1
    if node.kind == "adaptive_avgpool":
        sizes = zip(shape[-2:], a["output_size"], strict=True)
        return math.prod(-(-s // o) + 1 for s, o in sizes) + 1
    return int(a.get("fan_in", 2))


def abs_node(node: Node) -> Node:
    """The same linear op with |weights| (|W| e bounds the error the op passes on)."""
    attrs = dict(node.attrs)
    for key in ("weight", "factor"):
        if key in attrs:
            attrs[key] = abs(attrs[key])
    return Node(node.kind, node.inputs, attrs, node.name)


def linear_error(node: Node, sym: Sym) -> Tensor:
    """Error after an affine op: the incoming error through |W|, plus the op's own rounding."""
    shape = tuple(sym.l.shape[1:])
    positive = abs_node(node)
    passed = linear_part(positive, sym.err)
    size = linear_part(positive, magnitude(sym))
    bias = bias_of(node)
    if bias is not None:
        bias = const(bias, size).abs()
        size = size + (bias.reshape(-1, 1, 1) if node.kind == "conv" else bias)
    return passed + gamma(fan_in(node, shape)) * size


def error_of(node: Node, ins: list[Sym], out_mag: Tensor) -> Tensor:
    """`err` of a node's output from its inputs' bounds (per op, as the module docstring says)."""
    kind, a, u = node.kind, node.attrs, UNIT_ROUNDOFF
    x = ins[0]
    if kind in ("conv", "linear", "affine", "mean", "avgpool", "adaptive_avgpool"):
        return linear_error(node, x)
    if kind in ("reshape", "transpose"):
        return linear_part(node, x.err)
    if kind in ("relu", "clip"):
        return x.err
    if kind == "leaky_relu":
        return x.err + u * out_mag
    if kind == "maxpool":
        return maxpool(x.err, a)
    if kind == "concat":
        return torch.cat([s.err for s in ins], dim=a["axis"] + 1)
    if kind in ("add", "sub"):
        return x.err + ins[1].err + u * out_mag
    if kind == "square":
        big = magnitude(x) + x.err
        return (2 * magnitude(x) + x.err) * x.err + u * big * big
    if kind == "sqrt":
        floor = x.l.clamp(min=0).sqrt()
        through = torch.where(floor > 0, x.err / floor.clamp(min=1e-300), x.err.sqrt())
        return torch.minimum(x.err.sqrt(), through) + u * out_mag
    if kind == "div":
        return _division_error(x, ins[1])
    raise KeyError(kind)


def _division_error(top: Sym, bottom: Sym) -> Tensor:
    """|d'/s' - d/s| <= e_d / (s - e_s) + |d| e_s / (s (s - e_s)) plus the division's rounding,
    for s >= s_low > e_s; infinite when the denominator's error may reach zero."""
    low = bottom.l
    room = low - bottom.err
    size = magnitude(top)
    spread = top.err / room + size * bottom.err / (low * room)
    total = spread + UNIT_ROUNDOFF * (size + top.err) / room
    return torch.where(room > 0, total, torch.full_like(total, float("inf")))
