"""The proof holds for the model's float32 arithmetic, not only for exact arithmetic: the
certified lower bound of the margin never exceeds the margin the float32 model computes, and a
net whose exact margin is positive everywhere but whose float32 margin is not shows the safety
margin is needed (without it, that image would be certified while a pixel fools it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from certify_nets import attacked, random_net

from pytest_onepixel.certify import certify_images
from pytest_onepixel.certify import margins as margins_module
from pytest_onepixel.certify import proof as proof_module
from pytest_onepixel.certify.convert import graph_of
from pytest_onepixel.certify.margins import bound_boxes
from pytest_onepixel.certify.queries import with_pixels
from pytest_onepixel.models.torch_model import TorchModel

BIG = 2.0**25


def cancelling() -> TorchModel:
    """score 0 = relu(x + 1) - relu(x) = 1 exactly, score 1 = 0.5: class 0 for every x >= 0 in
    exact arithmetic; in float32, x + 1 rounds to x once x >= 2^24, and class 1 wins."""
    first = torch.nn.Linear(1, 2)
    second = torch.nn.Linear(2, 2)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0], [1.0]]))
        first.bias.copy_(torch.tensor([1.0, 0.0]))
        second.weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 0.0]]))
        second.bias.copy_(torch.tensor([0.0, 0.5]))
    module = torch.nn.Sequential(torch.nn.Flatten(), first, torch.nn.ReLU(), second)
    return TorchModel(module.eval(), description="cancelling", content_hash="c")


def float32_margins(model, image, label, positions, values) -> np.ndarray:
    scores = model.predict(with_pixels(image, "NCHW", positions, values)).astype(np.float64)
    others = np.delete(scores, label, axis=1)
    return scores[:, label] - others.max(1)


@pytest.mark.parametrize("residual", [False, True])
def test_the_certified_lower_bound_is_below_every_float32_margin(residual: bool) -> None:
    model = random_net(3, residual)
    images, labels = attacked(model, 3, seed=4)
    graph = graph_of(model, images.shape[1:])
    rng = np.random.default_rng(5)
    for image, label in zip(images, labels, strict=True):
        positions = rng.integers(0, 4, (40, 2))
        lo = rng.uniform(0, 7, (40, 3))
        hi = np.minimum(lo + rng.uniform(0, 4, (40, 3)), 7)
        lower = bound_boxes(graph, image, "NCHW", int(label), positions, lo, hi).lower
        for _ in range(20):
            values = rng.uniform(lo, hi).astype(np.float32)
            margins = float32_margins(model, image, int(label), positions, values)
            assert (margins >= lower).all()


def test_the_safety_margin_stops_a_float32_only_fooling(monkeypatch) -> None:
    """With the margin, the bound does not prove the box, and a candidate finds the fooling
    colour (the corner pre-pass, which would find it first, is switched off)."""
    monkeypatch.setattr(proof_module.ImageProof, "_corners", lambda self: None)
    model = cancelling()
    image = np.zeros((1, 1, 1), np.float32)
    (record,) = certify_images(model, image[None], [0], (0.0, BIG), integer=False)
    assert record.outcome == "fooled"
    assert model.predict(np.full((1, 1, 1, 1), record.value[0], np.float32)).argmax() == 1


def test_without_the_safety_margin_a_fooled_image_is_certified(monkeypatch) -> None:
    """The deliberately unsound bound: drop the float32 safety margin (and the corner pre-pass,
    which would find this fooling colour by query before any bound is trusted)."""
    monkeypatch.setattr(margins_module, "SAFETY_FACTOR", 0.0)
    monkeypatch.setattr(proof_module.ImageProof, "_corners", lambda self: None)
    model = cancelling()
    image = np.zeros((1, 1, 1), np.float32)
    (record,) = certify_images(model, image[None], [0], (0.0, BIG), integer=False)
    assert record.outcome == "certified"
    assert model.predict(np.full((1, 1, 1, 1), 2.0**24, np.float32)).argmax() == 1
