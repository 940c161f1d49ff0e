"""Each op of a provable graph as pure functions: its exact forward and its bound.

A bound is a `Sym`: for a batch of B boxes (one pixel position each, its K channel values the
variables v in [lo, hi]^K) every activation is enclosed between two linear functions of v,

    lo[b, :K] . v + lo[b, K]  <=  activation  <=  up[b, :K] . v + up[b, K],

the symbolic intervals of ReluVal (Wang et al. 2018, "Formal Security Analysis of Neural Networks
using Symbolic Intervals") propagated forward, with the one lower and one upper line per neuron of
DeepPoly (Singh et al. 2019) and CROWN (Zhang et al. 2018) for the non-linear ops. `l`, `u` are the
lines concretized over the box (the plain interval of the neuron), and `err` bounds how far the
model's float32 arithmetic may stray from the exact value (see floats.py).

Affine ops pass their positive weights to the matching line and their negative weights to the
other one (so a linear op is exact on exact inputs); element-wise ops take a lower and an upper
line valid on [l, u] (`through_lines`), which is where the relaxation lives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Tensor = torch.Tensor


@dataclass(frozen=True)
class Sym:
    """Linear bounds of one activation over B boxes: lo, up (B, K+1, *S); l, u, err (B, *S)."""

    lo: Tensor
    up: Tensor
    l: Tensor  # noqa: E741 (the bound's usual name)
    u: Tensor
    err: Tensor


def concretize(lines: Tensor, box_lo: Tensor, box_hi: Tensor, lower: bool) -> Tensor:
    """The minimum (lower=True) or maximum of linear functions (B, K+1, *S) over the box."""
    coef, const = lines[:, :-1], lines[:, -1]
    shape = (*box_lo.shape, *([1] * (coef.dim() - 2)))
    small, big = box_lo.reshape(shape), box_hi.reshape(shape)
    pos, neg = coef.clamp(min=0), coef.clamp(max=0)
    picked = pos * small + neg * big if lower else pos * big + neg * small
    return picked.sum(1) + const


def _rows(x: Tensor) -> Tensor:
    """(B, K+1, *S) as a batch of B*(K+1) activations, for reusing the exact forward."""
    return x.reshape(-1, *x.shape[2:])


def _unrows(x: Tensor, batch: int) -> Tensor:
    return x.reshape(batch, -1, *x.shape[1:])


def affine_lines(
    sym: Sym, linear: Callable[[Tensor, Tensor], Tensor], weight: Tensor, bias: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Lines of `linear(x, weight) + bias`: positive weights keep each line on its side,
    negative weights swap them (DeepPoly's affine transformer, exact for an exact input)."""
    batch = sym.lo.shape[0]
    pos, neg = weight.clamp(min=0), weight.clamp(max=0)
    lo_rows, up_rows = _rows(sym.lo), _rows(sym.up)
    lo = _unrows(linear(lo_rows, pos) + linear(up_rows, neg), batch)
    up = _unrows(linear(up_rows, pos) + linear(lo_rows, neg), batch)
    if bias is not None:
        lo[:, -1] += bias
        up[:, -1] += bias
    return lo, up


def through_lines(
    sym: Sym, low: tuple[Tensor, Tensor], high: tuple[Tensor, Tensor]
) -> tuple[Tensor, Tensor]:
    """Lines of f(x) from lines a*x + b <= f(x) <= c*x + d that hold for x in [l, u]
    (element-wise slopes and intercepts of shape (B, *S)): a line with a negative slope is
    applied to the other side's bound of x, so the result holds for every v in the box."""
    (a, b), (c, d) = low, high
    a, c = a.unsqueeze(1), c.unsqueeze(1)
    lo = a.clamp(min=0) * sym.lo + a.clamp(max=0) * sym.up
    up = c.clamp(min=0) * sym.up + c.clamp(max=0) * sym.lo
    lo[:, -1] += b
    up[:, -1] += d
    return lo, up


def relu_lines(lo_: Tensor, hi_: Tensor, slope: float = 0.0):
    """DeepPoly's ReLU / LeakyReLU relaxation (slope 0 <= alpha <= 1): exact when the sign is
    known; when the neuron crosses zero, the chord through (l, f(l)) and (u, f(u)) above, and
    below the line through the origin of slope 1 or alpha, whichever leaves the smaller area
    (Singh et al. 2019, section 4; CROWN's adaptive choice)."""
    crossing = (lo_ < 0) & (hi_ > 0)
    positive = lo_ >= 0
    one, alpha = torch.ones_like(lo_), torch.full_like(lo_, slope)
    width = torch.where(crossing, hi_ - lo_, one)
    chord = (hi_ - slope * lo_) / width
    upper_slope = torch.where(crossing, chord, torch.where(positive, one, alpha))
    upper_icpt = torch.where(crossing, slope * lo_ - chord * lo_, torch.zeros_like(hi_))
    lower_slope = torch.where(positive | (crossing & (hi_ > -lo_)), one, alpha)
    return (lower_slope, torch.zeros_like(lo_)), (upper_slope, upper_icpt)


def square_lines(lo_: Tensor, hi_: Tensor):
    """x^2 is convex: the tangent at the centre below, the chord above."""
    centre = (lo_ + hi_) / 2
    return (2 * centre, -centre * centre), (lo_ + hi_, -lo_ * hi_)


def sqrt_lines(lo_: Tensor, hi_: Tensor):
    """sqrt is concave on x >= 0 (a variance; its lower bound may dip below 0, clamped): the
    chord below, the tangent at the centre above."""
    lo_, hi_ = lo_.clamp(min=0), hi_.clamp(min=0)
    root_l, root_u = lo_.sqrt(), hi_.sqrt()
    same = (hi_ - lo_) <= 1e-300
    chord = torch.where(same, torch.zeros_like(hi_), 1 / (root_u + root_l).clamp(min=1e-300))
    centre = ((lo_ + hi_) / 2).clamp(min=1e-300)
    tangent = 0.5 / centre.sqrt()
    low = (chord, torch.where(same, root_l, root_l - chord * lo_))
    return low, (tangent, centre.sqrt() - tangent * centre)


def scaled_lines(lo_: Tensor, hi_: Tensor, r_lo: Tensor, r_hi: Tensor):
    """Lines of d * r for d in [l, u] and a positive factor r in [r_lo, r_hi] (broadcast):
    min(r_lo d, r_hi d) is concave in d, so its chord is below; max(...) is convex, so its chord
    is above. Used for the division in per-image standardisation, (x - mean) / std."""
    lo_, hi_ = torch.broadcast_tensors(lo_, hi_, r_lo)[:2]
    r_lo, r_hi = r_lo.expand_as(lo_), r_hi.expand_as(lo_)
    low_at = (torch.minimum(r_lo * lo_, r_hi * lo_), torch.minimum(r_lo * hi_, r_hi * hi_))
    high_at = (torch.maximum(r_lo * lo_, r_hi * lo_), torch.maximum(r_lo * hi_, r_hi * hi_))
    width = (hi_ - lo_).clamp(min=1e-300)
    a = (low_at[1] - low_at[0]) / width
    c = (high_at[1] - high_at[0]) / width
    return (a, low_at[0] - a * lo_), (c, high_at[0] - c * lo_)


def maxpool_lines(sym: Sym, pool: Callable[..., Tensor], disjoint: bool) -> tuple[Tensor, Tensor]:
    """Max pooling: below, the line of the input with the largest lower bound in each window
    (max >= any input); above, the largest upper bound as a constant, or, for disjoint windows,
    that input's own upper line when its lower bound beats every other upper bound in the window
    (then the max is that input). A sound relaxation in the spirit of DeepPoly's, cheaper than
    its linear upper lines."""
    batch, rows = sym.lo.shape[:2]
    pooled_l, where = pool(sym.l, return_indices=True)
    index = where.flatten(-2).unsqueeze(1).expand(-1, rows, *([-1] * (where.dim() - 2)))
    lo = sym.lo.flatten(-2).gather(-1, index).reshape(batch, rows, *pooled_l.shape[1:])
    up = torch.zeros_like(lo)
    up[:, -1] = pool(sym.u)
    if disjoint:  # each input sits in one window, so masking the winner masks only its own
        up_same = sym.up.flatten(-2).gather(-1, index).reshape(lo.shape)
        u_masked = sym.u.flatten(-2).scatter(-1, where.flatten(-2), float("-inf"))
        others = pool(u_masked.reshape(sym.u.shape))
        up = torch.where((pooled_l >= others).unsqueeze(1), up_same, up)
    return lo, up
