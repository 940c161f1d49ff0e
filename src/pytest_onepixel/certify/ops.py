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
line valid on [l, u] (`through_lines`), which is where the relaxation lives. With only K = C
variables a box has just 2^K corners, and a convex function of v lies below any plane that lies
above it at those corners (`plane_above`): max pooling's upper line is such a plane over the
largest upper line, which keeps the dependence on v that DeepPoly's constant upper bound drops.
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


def corners_of(box_lo: Tensor, box_hi: Tensor) -> Tensor:
    """The 2^K corners of each box with a trailing 1 (for evaluating lines): (B, 2^K, K+1)."""
    channels = box_lo.shape[1]
    bits = ((torch.arange(2**channels)[:, None] >> torch.arange(channels)) & 1).bool()
    points = torch.where(bits[None], box_hi[:, None], box_lo[:, None])
    return torch.cat([points, torch.ones_like(points[..., :1])], -1)


def at_corners(lines: Tensor, corners: Tensor) -> Tensor:
    """Linear functions (B, K+1, *S) evaluated at each box's corners: (B, 2^K, *S)."""
    return torch.einsum("bnk,bk...->bn...", corners, lines)


def plane_above(values: Tensor, corners: Tensor) -> Tensor:
    """A plane (B, K+1, *S) above a convex function of v over each box, from the function's
    values at the box's corners (B, 2^K, *S): a convex function lies below any plane that lies
    above it at the box's vertices. The slopes are the mean differences between opposite faces
    (exact when the function is itself linear); the constant is lifted to the highest corner."""
    channels = corners.shape[-1] - 1
    shape = (*corners.shape[:2], *([1] * (values.dim() - 2)))
    slopes = []
    for k in range(channels):
        high = corners[..., k] == corners[..., k].amax(1, keepdim=True)
        width = corners[..., k].amax(1) - corners[..., k].amin(1)
        ones = high.reshape(shape).to(values.dtype)
        rise = (values * ones).sum(1) - (values * (1 - ones)).sum(1)
        scale = (width * 2 ** (channels - 1)).clamp(min=1e-300).reshape(shape[:1] + shape[2:])
        slope = torch.where(width.reshape(scale.shape) > 0, rise / scale, torch.zeros_like(rise))
        slopes.append(torch.nan_to_num(slope, nan=0.0, posinf=0.0, neginf=0.0))
    slope = torch.stack(slopes, 1)  # (B, K, *S)
    tilt = torch.einsum("bnk,bk...->bn...", corners[..., :-1], slope)
    lift = (values - tilt).amax(1)
    return torch.cat([slope, lift.unsqueeze(1)], 1)


def maxpool_lines(
    sym: Sym, pool: Callable[..., Tensor], box: tuple[Tensor, Tensor]
) -> tuple[Tensor, Tensor]:
    """Max pooling. Below: max(x_i) >= x_i for any input, so the lower line of the input whose
    line is highest at the box's centre (a tangent of the convex max of the lower lines).
    Above: max(x_i) <= max(U_i(v)), a convex function of v, so any plane above it at the box's
    2^K corners holds on the whole box (`plane_above`); it keeps the dependence on v that a
    constant upper bound (DeepPoly's, unless one input dominates) throws away, and it is that
    input's own line when one input dominates the window."""
    batch, rows = sym.lo.shape[:2]
    corners = corners_of(*box)
    centre = corners.mean(1)
    at_centre = torch.einsum("bk,bk...->b...", centre, sym.lo)
    pooled, where = pool(at_centre, return_indices=True)
    index = where.flatten(-2).unsqueeze(1).expand(-1, rows, *([-1] * (where.dim() - 2)))
    lo = sym.lo.flatten(-2).gather(-1, index).reshape(batch, rows, *pooled.shape[1:])
    tops = at_corners(sym.up, corners)
    pooled_tops = pool(tops.reshape(-1, *tops.shape[2:]))
    up = plane_above(pooled_tops.reshape(batch, -1, *pooled_tops.shape[1:]), corners)
    return lo, up
