"""Every image ends fooled (a pixel the model itself confirms), certified, or undecided (the
budget ran out; the record says where), and the work never passes `certify_budget`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from certify_nets import HIGH, attacked, fooled_by_enumeration, random_net

from pytest_onepixel.certify import certify_images
from pytest_onepixel.certify.proof import box_cost
from pytest_onepixel.certify.queries import with_pixels
from pytest_onepixel.errors import InputError
from pytest_onepixel.models.torch_model import TorchModel


def test_fooled_records_are_confirmed_by_the_model() -> None:
    model = random_net(1, residual=False)
    images, labels = attacked(model, 8, seed=0)
    records = certify_images(model, images, labels, (0, HIGH), integer=True)
    outcomes = {r.outcome for r in records}
    assert outcomes == {"fooled", "certified"}
    for image, label, record in zip(images, labels, records, strict=True):
        if record.outcome == "fooled":
            batch = with_pixels(
                image, "NCHW", np.array([record.position]), np.array([record.value])
            )
            assert model.predict(batch).argmax() != label
            assert record.value == tuple(float(int(v)) for v in record.value)  # integers
            assert record.scores is not None and record.found_by is not None


def test_a_small_budget_leaves_the_image_undecided_and_says_where() -> None:
    model = random_net(1, residual=True)
    images, labels = attacked(model, 2, seed=0)
    budget = 10 * box_cost(3)  # fewer boxes than the 16 positions
    records = certify_images(model, images, labels, (0, HIGH), integer=True, certify_budget=budget)
    for record in records:
        assert record.outcome == "undecided"
        assert record.passes <= budget
        assert 0 < record.positions_left <= 16 and record.boxes_left >= record.positions_left


@pytest.mark.parametrize("budget", [1, 100, 700, 3000])
def test_the_budget_is_never_exceeded(budget: int) -> None:
    model = random_net(2, residual=True)
    images, labels = attacked(model, 3, seed=1)
    records = certify_images(
        model, images, labels, (0, HIGH), integer=True, certify_budget=budget, bound_memory_mb=1
    )
    assert all(r.passes <= budget for r in records)


def test_float_data_are_proven_over_the_continuous_box() -> None:
    model = random_net(4, residual=False, pool="avg")
    images, labels = attacked(model, 4, seed=2)
    images = images / HIGH
    labels = model.predict(images).argmax(1)
    records = certify_images(model, images, labels, (0.0, 1.0), integer=False)
    assert {r.outcome for r in records} <= {"fooled", "certified", "undecided"}
    for image, label, record in zip(images, labels, records, strict=True):
        if record.outcome == "certified":  # then no integer-like grid point fools it either
            grid = np.linspace(0, 1, 5)
            values = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
            positions = np.repeat(np.array([[r, c] for r in range(4) for c in range(4)]), 125, 0)
            batch = with_pixels(image, "NCHW", positions, np.tile(values, (16, 1)))
            assert (model.predict(batch).argmax(1) == label).all()


class ChannelsLast(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.permute(0, 3, 1, 2))


def test_channels_last_models_are_proven_in_their_layout() -> None:
    inner = random_net(1, residual=False)
    model = TorchModel(
        ChannelsLast(inner.module).eval(), description="nhwc", content_hash="n"
    )  # fmt: skip
    images, labels = attacked(inner, 6, seed=0)
    first = certify_images(inner, images, labels, (0, HIGH), integer=True)
    second = certify_images(
        model, images.transpose(0, 2, 3, 1), labels, (0, HIGH), integer=True, layout="NHWC"
    )
    assert [r.outcome for r in first] == [r.outcome for r in second]
    for image, label, record in zip(images, labels, second, strict=True):
        if record.outcome != "fooled":
            assert record.outcome == "certified"
            assert not fooled_by_enumeration(inner, image, label)


def test_misclassified_images_are_refused() -> None:
    model = random_net(1, residual=False)
    images, labels = attacked(model, 3, seed=0)
    with pytest.raises(InputError, match=r"images \[1\] are not classified as labelled"):
        certify_images(
            model, images, [labels[0], (labels[1] + 1) % 3, labels[2]], (0, HIGH), integer=True
        )


def test_onnx_and_preprocessed_models_reach_the_same_verdicts() -> None:
    """The same network as an ONNX file (through the interpreter) and behind the plugin's
    preprocessing (pixels scaled to 0..1 first, weights scaled to match) is proven the same."""
    import io
    import warnings

    from pytest_onepixel.models.onnx_model import OnnxModel
    from pytest_onepixel.models.preprocess import PreprocessedModel

    torch_model = random_net(5, residual=True, pool="avg")
    images, labels = attacked(torch_model, 4, seed=3)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            torch_model.module, torch.zeros(1, 3, 4, 4), buffer, dynamo=False,
            input_names=["x"], dynamic_axes={"x": {0: "n"}},
        )  # fmt: skip
    onnx_model = OnnxModel("net.onnx", graph=buffer.getvalue())
    scaled = random_net(5, residual=True, pool="avg")
    with torch.no_grad():
        scaled.module.stem.weight.mul_(HIGH)
    preprocessed = PreprocessedModel(scaled, {"scale": 1 / HIGH}, "NCHW")
    verdicts = [
        [r.outcome for r in certify_images(m, images, labels, (0, HIGH), integer=True)]
        for m in (torch_model, onnx_model, preprocessed)
    ]
    assert verdicts[0] == verdicts[1] == verdicts[2]
    for image, label, outcome in zip(images, labels, verdicts[0], strict=True):
        assert (outcome == "fooled") == fooled_by_enumeration(torch_model, image, label)


def test_a_graph_that_disagrees_with_its_model_is_refused() -> None:
    """A converter mistake must never become a proof: the graph is checked against the model."""
    from pytest_onepixel.certify.convert import graph_of
    from pytest_onepixel.errors import UnsupportedOpError

    model = random_net(1, residual=False)
    other = random_net(2, residual=False)
    images, labels = attacked(model, 3, seed=0)
    graph = graph_of(other, images.shape[1:])
    with pytest.raises(UnsupportedOpError, match="differ from the model's own"):
        certify_images(model, images, labels, (0, HIGH), integer=True, graph=graph)
