"""The receptive-field saving changes the work, not the bounds: bounding only each pixel's cone
gives the dense propagation's margin bounds, at every position (borders included), through
strided, dilated and padded convolutions, overlapping and disjoint pooling, residual adds and
channel concats, and through the switch to dense bounds at the first global op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pytest_onepixel.certify.convert import graph_of
from pytest_onepixel.certify.margins import bound_boxes

F = torch.nn.functional


class Local(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.dilated = torch.nn.Conv2d(4, 4, 3, padding=2, dilation=2)
        self.norm = torch.nn.BatchNorm2d(4)
        self.side = torch.nn.Conv2d(4, 2, 1)
        self.pool = torch.nn.MaxPool2d(3, stride=2, padding=1)
        self.average = torch.nn.AvgPool2d(2)
        self.head = torch.nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        h = F.leaky_relu(self.norm(self.dilated(h)), 0.1) + h
        h = torch.cat([F.hardtanh(h), self.side(h)], dim=1)
        h = self.average(self.pool(h))
        return self.head(h.flatten(1))


class Sequential(torch.nn.Sequential):
    def __init__(self) -> None:
        super().__init__(
            torch.nn.Conv2d(3, 4, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(4, 4, 3),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(4, 3),
        )


@pytest.mark.parametrize("build", [Local, Sequential])
def test_cone_bounds_equal_dense_bounds(build) -> None:
    torch.manual_seed(0)
    module = build().eval()
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 7, (3, 9, 9))
    label = int(module(torch.as_tensor(image[None], dtype=torch.float32)).argmax())
    graph = graph_of(module, image.shape)
    rows, cols = np.divmod(np.arange(81), 9)
    positions = np.stack([rows, cols], 1)
    lo = rng.uniform(0, 3, (81, 3))
    hi = lo + rng.uniform(0, 4, (81, 3))
    dense = bound_boxes(graph, image, "NCHW", label, positions, lo, hi, cone=False)
    cone = bound_boxes(graph, image, "NCHW", label, positions, lo, hi, cone=True)
    assert np.allclose(cone.lower, dense.lower, rtol=1e-9, atol=1e-9)
    assert (cone.corner == dense.corner).all()
