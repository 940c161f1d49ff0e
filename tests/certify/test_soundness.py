"""A certified image is never fooled, and every fooled image is really fooled: on random small
convolutional and residual networks with integer pixels 0..7 (C = 3), every position x every
value is enumerated exactly on the real model and compared with the proof's outcome."""

from __future__ import annotations

from contextlib import nullcontext
from unittest.mock import patch

import numpy as np
from certify_nets import HIGH, attacked, fooled_by_enumeration, random_net
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.certify import certify_images
from pytest_onepixel.certify.convert import graph_of
from pytest_onepixel.certify.margins import bound_boxes
from pytest_onepixel.certify.proof import ImageProof
from pytest_onepixel.certify.queries import with_pixels


@settings(max_examples=14, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    residual=st.booleans(),
    pool=st.sampled_from(["max", "avg"]),
    size=st.sampled_from([4, 5]),
    standardise=st.booleans(),
    cone=st.booleans(),
    corner_pass=st.booleans(),
)
def test_certified_images_are_never_fooled(
    seed: int, residual: bool, pool: str, size: int, standardise: bool, cone: bool, corner_pass
) -> None:
    """With and without the corner pre-pass: it finds most fooled images by query alone, so
    without it the outcome rests on the bounds and the splitting."""
    model = random_net(seed, residual, pool, size=size, standardise=standardise)
    images, labels = attacked(model, 2, seed=seed, size=size)
    skip = patch.object(ImageProof, "_corners", lambda self: None)
    with nullcontext() if corner_pass else skip:
        records = certify_images(
            model, images, labels, (0, HIGH), integer=True, certify_budget=10**6, cone=cone
        )
    for image, label, record in zip(images, labels, records, strict=True):
        exact = fooled_by_enumeration(model, image, int(label))
        assert record.outcome != "undecided"
        assert (record.outcome == "fooled") == exact, record


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    residual=st.booleans(),
    standardise=st.booleans(),
    corner=st.tuples(*[st.integers(0, HIGH)] * 3),
    extent=st.tuples(*[st.integers(0, HIGH)] * 3),
    cone=st.booleans(),
)
def test_the_margin_bound_holds_at_every_integer_point_of_a_box(
    seed: int, residual: bool, standardise: bool, corner, extent, cone: bool
) -> None:
    """The bound itself, on whole networks: below the float32 margin at every integer colour of
    random boxes at every position."""
    model = random_net(seed, residual, "max", standardise=standardise)
    images, labels = attacked(model, 1, seed=seed)
    image, label = images[0], int(labels[0])
    lo = np.array(corner, dtype=np.float64)
    hi = np.minimum(lo + np.array(extent), HIGH)
    rows, cols = np.divmod(np.arange(16), 4)
    positions = np.stack([rows, cols], 1)
    graph = graph_of(model, image.shape)
    lower = bound_boxes(
        graph, image, "NCHW", label, positions, np.tile(lo, (16, 1)), np.tile(hi, (16, 1)), cone
    )
    grid = [np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)]
    values = np.stack(np.meshgrid(*grid, indexing="ij"), -1).reshape(-1, 3)
    for position, bound in zip(positions, lower.lower, strict=True):
        batch = with_pixels(image, "NCHW", np.tile(position, (len(values), 1)), values)
        scores = model.predict(batch).astype(np.float64)
        margins = scores[:, label] - np.delete(scores, label, axis=1).max(1)
        assert margins.min() >= bound
