"""The guided default search (guiding.py, engine/guidance.py): its ranking is the model's first-
order margin change, its records depend on nothing but the image (hypothesis, over random small
convolutional networks), its charge is counted against the budget, and the report says what
guided the search and why not when nothing did."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel import attack
from pytest_onepixel.certify import graph_of
from pytest_onepixel.engine.pixels import ImageSet
from pytest_onepixel.errors import InputError
from pytest_onepixel.guiding import GRADIENT_CHARGE, GradientGuide, margin_gradients


def small_net(channels: int, size: int, classes: int, seed: int) -> torch.nn.Module:
    """Weights in multiples of 1/8 on pixels 0..16: float32 scores are exact, so the model's
    own answers never depend on the batch and only the guide's part is under test (as in
    tests/tinynet.py)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(channels, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * size * size, classes),
    )
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.round(torch.randn_like(parameter) * 4) / 8)
    return net.eval()


def predicted(net: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.as_tensor(images, dtype=torch.float32)).argmax(1).numpy()


@st.composite
def guided_problems(draw: st.DrawFn):
    channels = draw(st.sampled_from([1, 3]))
    size = draw(st.integers(3, 5))
    net = small_net(channels, size, draw(st.integers(2, 4)), draw(st.integers(0, 1000)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    images = rng.integers(0, 17, size=(draw(st.integers(2, 7)), channels, size, size))
    images = images.astype(np.uint8)
    options = {
        "pixel_range": (0, 16),
        "budget": draw(st.integers(2 * GRADIENT_CHARGE, 90)),
        "seed": draw(st.integers(0, 2**16)),
        "backend": "torch",
        "scores": "logits",
    }
    return net, images, predicted(net, images), options


@settings(max_examples=12, deadline=None)
@given(guided_problems(), st.randoms(use_true_random=False))
def test_guided_records_depend_on_the_image_only(problem, shuffle) -> None:
    """Identical records at any max_batch, with any other images beside it, and from shards."""
    net, images, labels, options = problem
    reference = attack(net, images, labels, max_batch=4096, **options)
    assert reference.measured.guidance["used"] == "gradient"
    assert attack(net, images, labels, max_batch=1, **options).records == reference.records
    assert attack(net, images, labels, max_batch=7, **options).records == reference.records
    by_index = {record.index: record for record in reference.records}
    order = list(range(len(images)))
    shuffle.shuffle(order)
    kept = order[: max(1, len(order) - 1)]
    subset = attack(net, images[kept], labels[kept], indices=kept, max_batch=3, **options)
    assert all(record == by_index[record.index] for record in subset.records)
    shards = [attack(net, images, labels, shard=(k, 2), **options).records for k in (1, 2)]
    merged = sorted((r for part in shards for r in part), key=lambda r: r.index)
    assert merged == sorted(reference.records, key=lambda r: r.index)
    for record in reference.records:
        assert GRADIENT_CHARGE <= record.queries <= options["budget"]
        if record.success:
            assert record.first_success_query > GRADIENT_CHARGE


def test_the_gradient_is_the_margins_by_hand() -> None:
    """A linear model's margin gradient is W[keep] - W[best other] (the first margin) and
    W[keep] - sum softmax(others) W[other] (the smooth one); targeted, W[best but the target]
    - W[target]."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
    image = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    graph = graph_of(net, image.shape[1:])
    weight = net[1].weight.detach().double().numpy()
    bias = net[1].bias.detach().double().numpy()
    scores = weight @ image.ravel() + bias
    hard, smooth = margin_gradients(graph, image, np.array([0]), np.array([-1]))
    other = 1 + int(np.argmax(scores[1:]))
    np.testing.assert_allclose(hard.ravel(), weight[0] - weight[other], atol=1e-12)
    soft = np.exp(scores[1:] - scores[1:].max())
    soft /= soft.sum()
    np.testing.assert_allclose(smooth.ravel(), weight[0] - soft @ weight[1:], atol=1e-6)
    hard_to_2, _ = margin_gradients(graph, image, np.array([0]), np.array([2]))
    best_not_2 = int(np.argmax(scores[:2]))
    np.testing.assert_allclose(hard_to_2.ravel(), weight[best_not_2] - weight[2], atol=1e-12)


def test_the_guide_ranks_by_the_first_order_change() -> None:
    """Through the guide, a linear grey model's ranking is the by-hand order of
    sum g (c - x) over (position, black or white), the two margins' rankings interleaved. A
    guide ranking at random fails this."""
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 3)).eval()
    images = np.random.default_rng(0).integers(0, 17, size=(2, 1, 3, 3)).astype(np.uint8)
    labels = predicted(net, images)
    image_set = ImageSet.from_user(images, "NCHW", (0, 16))
    guide = GradientGuide(graph_of(net, images.shape[1:]), "NCHW")
    ranked = guide.ranked(image_set, np.arange(2), labels, np.array([-1, -1]), 18)
    grads = margin_gradients(guide.graph, images.astype(np.float32), labels, np.array([-1, -1]))
    for n in range(2):
        orders = []
        for g in grads[:, n, 0].reshape(2, 9):
            x = images[n, 0].ravel().astype(float)
            change = np.stack([g * (0 - x), g * (16 - x)], axis=1).ravel()
            orders.append(np.argsort(change, kind="stable"))
        merged = [k for pair in zip(*orders, strict=True) for k in pair]
        expected = list(dict.fromkeys(merged))
        assert ranked[n].tolist() == expected


def one_weak_pixel_model():
    """Grey 8 x 8 images, two classes; only pixel (2, 1) set to 16 flips class 0 to 1 (a
    linear model: every other pixel's weight is too small to matter)."""
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2)).eval()
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].weight[1, 2 * 8 + 1] = 1.0
        net[1].weight[1, :] += 0.001
        net[1].bias.copy_(torch.tensor([10.0, 0.0]))
    images = np.zeros((3, 1, 8, 8), dtype=np.uint8)
    return net, images, np.zeros(3, dtype=int)


def test_the_guided_search_queries_the_weak_pixel_first() -> None:
    """The one fooling candidate is the top of the ranking, so every image is fooled by the
    first query after the charge; the black-box preset needs more, on average, than that."""
    net, images, labels = one_weak_pixel_model()
    options = {"budget": 80, "pixel_range": (0, 16), "backend": "torch", "scores": "logits"}
    guided = attack(net, images, labels, **options)
    assert [r.first_success_query for r in guided.records] == [GRADIENT_CHARGE + 1] * 3
    assert all(r.pixels[0][:2] == (2, 1) for r in guided.records)
    blind = attack(net, images, labels, preset="blackbox", **options)
    assert blind.measured.guidance == {"used": "none", "charge": 0, "reason": (
        "preset 'blackbox' takes no guidance")}  # fmt: skip
    assert np.mean([r.first_success_query or 81 for r in blind.records]) > GRADIENT_CHARGE + 1


def test_the_report_says_why_a_search_was_not_guided() -> None:
    net, images, labels = one_weak_pixel_model()
    options = {"pixel_range": (0, 16), "backend": "torch", "scores": "logits"}
    small = attack(net, images, labels, budget=30, **options)
    assert small.measured.guidance["used"] == "none"
    assert "over half the budget" in small.measured.guidance["reason"]
    assert all(r.queries <= 30 for r in small.records)
    paper = attack(net, images, labels, budget=60, preset="paper", **options)
    assert "preset 'paper' takes no guidance" in paper.measured.guidance["reason"]
    off = attack(net, images, labels, budget=60, guidance="none", **options)
    assert off.measured.guidance["reason"] == "guidance: none"
    guided = attack(net, images, labels, budget=60, guidance="gradient", **options)
    assert guided.measured.guidance == {"used": "gradient", "charge": 20, "exact": True}


def test_guidance_gradient_on_a_model_without_a_graph_is_a_usage_error() -> None:
    def model(batch):
        return np.tile([1.0, 0.0], (len(batch), 1))

    images = np.zeros((2, 1, 3, 3), dtype=np.uint8)
    with pytest.raises(InputError, match="guidance 'gradient' cannot be used here: no gradient"):
        attack(model, images, [0, 0], budget=60, guidance="gradient", pixel_range=(0, 16))
    auto = attack(model, images, [0, 0], budget=60, pixel_range=(0, 16))
    assert auto.measured.guidance["used"] == "none"
    assert auto.measured.guidance["reason"].startswith("no gradient:")


def test_gradients_batch_only_when_the_probe_finds_them_identical(monkeypatch) -> None:
    """A gradient that moves with the chunk's size: the probe says so, each image is then
    computed alone, and records equal those of a guide that was never chunked."""
    import pytest_onepixel.guiding as guiding

    exact = guiding.margin_gradients

    def drifting(graph, batch, labels, targets):
        return exact(graph, batch, labels, targets) * (1 + 1e-9 * (len(batch) - 1))

    net, images, labels = one_weak_pixel_model()
    images = np.random.default_rng(3).integers(0, 17, size=(6, 1, 8, 8)).astype(np.uint8)
    labels = predicted(net, images)
    options = {"budget": 60, "pixel_range": (0, 16), "backend": "torch", "scores": "logits"}
    reference = attack(net, images, labels, **options)
    monkeypatch.setattr(guiding, "margin_gradients", drifting)
    drifted = attack(net, images, labels, **options)
    assert drifted.measured.guidance["exact"] is False
    assert drifted.records == reference.records
