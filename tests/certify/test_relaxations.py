"""The relaxations that use the box itself (issue 23's tightening): the plane above a convex
function from its corners (max pooling's upper line), the max pooling's lines, and the ReLU
relaxed on each line's own range. Each bound must contain every sampled value (hypothesis);
test_ops.py checks the same ops inside graphs, test_soundness.py whole proofs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.certify.bounds import _rectified
from pytest_onepixel.certify.ops import (
    Sym,
    at_corners,
    concretize,
    corners_of,
    maxpool_lines,
    plane_above,
)

seeds = st.integers(0, 2**31 - 1)


def random_box(rng: np.random.Generator, batch: int, channels: int = 3):
    lo = rng.uniform(-3, 3, (batch, channels))
    hi = lo + rng.uniform(0, 4, (batch, channels)) * (rng.uniform(size=(batch, channels)) > 0.1)
    return torch.tensor(lo), torch.tensor(hi)


def samples_in(box, count: int, rng: np.random.Generator) -> torch.Tensor:
    """(B, count, K) points of each box, its corners among them."""
    lo, hi = box
    t = torch.tensor(rng.uniform(size=(lo.shape[0], count, lo.shape[1])))
    points = lo[:, None] + t * (hi - lo)[:, None]
    corners = corners_of(lo, hi)[..., :-1]
    return torch.cat([corners, points], 1)


def evaluate(lines: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Lines (B, K+1, *S) at points (B, n, K): (B, n, *S)."""
    ones = torch.ones_like(points[..., :1])
    return torch.einsum("bnk,bk...->bn...", torch.cat([points, ones], -1), lines)


def random_sym(rng: np.random.Generator, box, shape: tuple[int, ...]) -> Sym:
    """Random lower and upper lines (lower below upper on the whole box) and their intervals."""
    batch, channels = box[0].shape
    lo = torch.tensor(rng.normal(size=(batch, channels + 1, *shape)))
    gap = torch.tensor(rng.normal(size=(batch, channels + 1, *shape))) * 0.5
    gap[:, -1] = 0.0
    gap[:, -1] = -concretize(gap, *box, True) + torch.tensor(rng.uniform(0, 1, (batch, *shape)))
    up = lo + gap
    low, high = concretize(lo, *box, True), concretize(up, *box, False)
    return Sym(lo, up, low, high, torch.zeros_like(low))


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(1, 6), st.integers(1, 3))
def test_the_plane_lies_above_a_convex_function_on_the_whole_box(seed, pieces, channels):
    """max of random linear functions of v is convex; the plane from its corners lies above
    it at every sampled point of the box, and touches it where it is linear (one piece)."""
    rng = np.random.default_rng(seed)
    box = random_box(rng, 5, channels)
    lines = torch.tensor(rng.normal(size=(5, channels + 1, pieces)))
    corners = corners_of(*box)
    plane = plane_above(at_corners(lines, corners).amax(-1), corners)
    points = samples_in(box, 200, rng)
    function = evaluate(lines, points).amax(-1)
    assert (evaluate(plane, points) >= function - 1e-9).all()
    if pieces == 1:
        assert torch.allclose(evaluate(plane, points), function, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seeds, st.sampled_from([(2, 2, 0), (3, 1, 1), (3, 2, 1)]))
def test_max_pooling_lines_contain_the_max_of_values_between_the_input_lines(seed, geometry):
    """Inputs anywhere between their lines (lines at v, then a random point between them):
    the pooled value lies between the pooled lines at v, for disjoint and overlapping
    windows, with padding."""
    kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    box = random_box(rng, 4)
    sym = random_sym(rng, box, (2, 4, 4))

    def pool(x, **kw):
        return F.max_pool2d(x, kernel, stride, padding, **kw)

    lo, up = maxpool_lines(sym, pool, box)
    points = samples_in(box, 60, rng)
    below, above = evaluate(sym.lo, points), evaluate(sym.up, points)
    t = torch.tensor(rng.uniform(size=below.shape))
    inputs = below + t * (above - below)
    pooled = pool(inputs.flatten(0, 1)).reshape(*inputs.shape[:2], -1, *lo.shape[-2:])
    assert (evaluate(lo, points) <= pooled + 1e-9).all()
    assert (pooled <= evaluate(up, points) + 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(seeds, st.sampled_from([0.0, 0.01, 0.2, 1.0]))
def test_relu_on_each_lines_own_range_contains_every_sampled_output(seed, slope):
    rng = np.random.default_rng(seed)
    box = random_box(rng, 6)
    sym = random_sym(rng, box, (5,))
    lo, up = _rectified(sym, slope, box)
    points = samples_in(box, 80, rng)
    below, above = evaluate(sym.lo, points), evaluate(sym.up, points)
    for t in (0.0, 1.0, float(rng.uniform())):
        x = below + t * (above - below)
        y = torch.where(x > 0, x, slope * x)
        assert (evaluate(lo, points) <= y + 1e-9).all()
        assert (y <= evaluate(up, points) + 1e-9).all()


def test_a_relu_whose_upper_line_stays_positive_keeps_that_line() -> None:
    """The tightening itself: x's interval crosses zero, but its upper line is positive over
    the whole box, so the upper line of relu(x) is U(v) exactly (a chord on [l, u] is not)."""
    box = (torch.tensor([[0.0]]), torch.tensor([[1.0]]))
    lower = torch.tensor([[[2.0]], [[-1.5]]])  # 2 v - 1.5: from -1.5 to 0.5
    upper = torch.tensor([[[1.0]], [[0.5]]])  # v + 0.5: from 0.5 to 1.5
    sym = Sym(lower, upper, torch.tensor([[-1.5]]), torch.tensor([[1.5]]), torch.zeros(1, 1))
    _, up = _rectified(sym, 0.0, box)
    assert torch.equal(up, upper)
