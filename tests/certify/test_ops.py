"""Each op's bound holds: for inputs sampled in the box, every output lies between the op's
lines and inside its interval (STYLE.md point 12). The relaxations are checked as pure functions
(hypothesis), then every op kind inside a tiny graph whose input lines are already relaxed (a
convolution and a ReLU in front), so an op sees inexact lines as it does in a real network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.certify import bounds as bounds_module
from pytest_onepixel.certify.bounds import input_sym, propagate
from pytest_onepixel.certify.graph import Graph, Node
from pytest_onepixel.certify.ops import relu_lines, scaled_lines, sqrt_lines, square_lines

RNG = np.random.default_rng(0)


def weights(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape) / np.sqrt(np.prod(shape[1:]))


def conv(inputs, cin: int, cout: int, **kw) -> Node:
    attrs = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 1} | kw
    weight = weights(cout, cin // attrs["groups"], 3, 3)
    return Node("conv", inputs, {"weight": weight, "bias": RNG.normal(size=cout), **attrs})


PRE = [Node("input", ()), conv((0,), 3, 4), Node("relu", (1,))]  # node 2: (4, 4, 4), relaxed
POOL = {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0)}
CASES = {
    "conv stride 2": [conv((2,), 4, 4, stride=(2, 2))],
    "conv groups 2": [conv((2,), 4, 6, groups=2)],
    "conv dilation 2": [conv((2,), 4, 4, dilation=(2, 2), padding=(2, 2))],
    "linear": [
        Node("reshape", (2,), {"shape": (64,)}),
        Node("linear", (3,), {"weight": weights(5, 64), "bias": RNG.normal(size=5)}),
    ],
    "affine": [Node("affine", (2,), {"factor": RNG.normal(size=(4, 1, 1)), "shift": 0.3})],
    "relu": [conv((2,), 4, 4), Node("relu", (3,))],
    "leaky_relu": [conv((2,), 4, 4), Node("leaky_relu", (3,), {"slope": 0.1})],
    "clip": [conv((2,), 4, 4), Node("clip", (3,), {"low": -0.5, "high": 0.4})],
    "clip above": [conv((2,), 4, 4), Node("clip", (3,), {"low": None, "high": 0.2})],
    "residual add": [conv((2,), 4, 4), Node("add", (3, 2))],
    "sub": [conv((2,), 4, 4), Node("sub", (2, 3))],
    "square": [conv((2,), 4, 4), Node("square", (3,))],
    "sqrt": [Node("sqrt", (2,))],
    "mean": [Node("mean", (2,), {"dims": (0, 1, 2), "keepdim": True})],
    "div": [
        conv((2,), 4, 4),
        Node("mean", (2,), {"dims": (0, 1, 2), "keepdim": True}),
        Node("affine", (4,), {"factor": 1.0, "shift": 0.5}),
        Node("div", (3, 5)),
    ],
    "concat": [conv((2,), 4, 2), Node("concat", (2, 3), {"axis": 0})],
    "maxpool disjoint": [conv((2,), 4, 4), Node("maxpool", (3,), POOL)],
    "maxpool overlapping": [
        conv((2,), 4, 4),
        Node("maxpool", (3,), {"kernel": (3, 3), "stride": (1, 1), "padding": (1, 1)}),
    ],
    "avgpool": [conv((2,), 4, 4), Node("avgpool", (3,), POOL)],
    "avgpool padded": [
        Node("avgpool", (2,), {**POOL, "kernel": (3, 3), "padding": (1, 1)}),
    ],
    "adaptive avgpool": [Node("adaptive_avgpool", (2,), {"output_size": (3, 3)})],
    "transpose": [Node("transpose", (2,), {"perm": (1, 2, 0)})],
}


def violation(graph: Graph, image: np.ndarray, position, lo, hi, samples: int = 300) -> float:
    """The largest amount by which a sampled output escapes its lines or its interval."""
    box = (torch.tensor(lo[None]), torch.tensor(hi[None]))
    first = input_sym(
        torch.as_tensor(image, dtype=torch.float64),
        "NCHW",
        torch.as_tensor(np.asarray(position)[None]),
        *box,
    )
    with torch.no_grad():
        out = propagate(graph, first, box)
    values = RNG.uniform(lo, hi, size=(samples, len(lo)))
    values[: 2 ** len(lo)] = np.where(
        (np.arange(2 ** len(lo))[:, None] >> np.arange(len(lo))) & 1, hi, lo
    )
    batch = np.repeat(image[None], samples, axis=0)
    batch[:, :, position[0], position[1]] = values
    exact = graph.run(batch)
    v = torch.as_tensor(values, dtype=torch.float64)
    shape = (samples, *([1] * (exact.dim() - 1)))
    lower = out.lo[0, -1] + sum(v[:, k].reshape(shape) * out.lo[0, k] for k in range(len(lo)))
    upper = out.up[0, -1] + sum(v[:, k].reshape(shape) * out.up[0, k] for k in range(len(lo)))
    gaps = [lower - exact, exact - upper, out.l[0] - exact, exact - out.u[0]]
    return max(float(g.max()) for g in gaps)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bounds_contain_every_sampled_output(case: str) -> None:
    nodes = (*PRE, *CASES[case])
    graph = Graph(nodes, len(nodes) - 1)
    for trial in range(3):
        image = RNG.uniform(0, 1, size=(3, 4, 4))
        position = RNG.integers(0, 4, size=2)
        lo = RNG.uniform(-1, 1, size=3)
        hi = lo + RNG.uniform(0, 2, size=3) * (trial + 1)
        assert violation(graph, image, position, lo, hi) <= 1e-9, case


def test_the_check_catches_an_unsound_relaxation(monkeypatch) -> None:
    """Dropping the ReLU's upper chord (a crossing neuron bounded above by x itself, as if it
    were active) is unsound, and the containment check above sees it."""

    def without_chord(lo, hi, slope=0.0):
        low, (upper_slope, upper_icpt) = relu_lines(lo, hi, slope)
        crossing = (lo < 0) & (hi > 0)
        one, zero = torch.ones_like(lo), torch.zeros_like(lo)
        return low, (
            torch.where(crossing, one, upper_slope),
            torch.where(crossing, zero, upper_icpt),
        )

    monkeypatch.setattr(bounds_module, "relu_lines", without_chord)
    nodes = (*PRE, *CASES["relu"])
    graph = Graph(nodes, len(nodes) - 1)
    worst = max(
        violation(graph, RNG.uniform(0, 1, (3, 4, 4)), (1, 1), -np.ones(3), np.ones(3) * 3)
        for _ in range(3)
    )
    assert worst > 1e-3


finite = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(finite, finite, st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.3, 1.0]))
def test_relu_lines_hold_on_the_interval(a: float, b: float, t: float, slope: float) -> None:
    lo, hi = torch.tensor([min(a, b)]).double(), torch.tensor([max(a, b)]).double()
    x = lo + t * (hi - lo)
    (ls, li), (us, ui) = relu_lines(lo, hi, slope)
    y = torch.where(x > 0, x, slope * x)
    assert ls * x + li <= y + 1e-9 and y <= us * x + ui + 1e-9


@settings(max_examples=60, deadline=None)
@given(finite, finite, st.floats(0, 1))
def test_square_and_sqrt_lines_hold_on_the_interval(a: float, b: float, t: float) -> None:
    lo, hi = torch.tensor([min(a, b)]).double(), torch.tensor([max(a, b)]).double()
    x = lo + t * (hi - lo)
    (ls, li), (us, ui) = square_lines(lo, hi)
    assert ls * x + li <= x * x + 1e-9 and x * x <= us * x + ui + 1e-6
    lo, hi, x = lo.abs(), hi.abs() + lo.abs(), x.abs()
    x = lo + t * (hi - lo)
    (ls, li), (us, ui) = sqrt_lines(lo, hi)
    assert ls * x + li <= x.sqrt() + 1e-9 and x.sqrt() <= us * x + ui + 1e-9


@settings(max_examples=60, deadline=None)
@given(finite, finite, st.floats(0.01, 5), st.floats(0, 2), st.floats(0, 1), st.floats(0, 1))
def test_scaled_lines_hold_on_the_box(a, b, r_lo, r_extra, t, s) -> None:
    lo, hi = torch.tensor([min(a, b)]).double(), torch.tensor([max(a, b)]).double()
    r_low, r_high = torch.tensor([r_lo]).double(), torch.tensor([r_lo + r_extra]).double()
    d, r = lo + t * (hi - lo), r_low + s * (r_high - r_low)
    (ls, li), (us, ui) = scaled_lines(lo, hi, r_low, r_high)
    assert ls * d + li <= d * r + 1e-9 and d * r <= us * d + ui + 1e-9
