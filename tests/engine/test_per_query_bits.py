"""The per-query numpy work (issue 21.4) gives the same bits as the plain code it replaced.

`ScoreFunction` reads a batch's row ranges once, from a transposed copy, and softmaxes only the
rows that are logits; `ImageSet.write_batch` gathers straight into the buffer and scatters at
flat offsets; `BatchEvaluator.reduce` reads several chunks at once. Each is held here, bit for
bit, to the straightforward version it replaced (kept below as the reference), on inputs
hypothesis draws: records stay identical only if every probability and every pixel does.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel import ModelOutputError
from pytest_onepixel.engine import batches
from pytest_onepixel.engine.batches import BatchEvaluator
from pytest_onepixel.engine.layouts import channel_last_view
from pytest_onepixel.engine.pixels import ImageSet
from pytest_onepixel.engine.scoring import Rows, ScoreFunction, to_probabilities
from pytest_onepixel.engine.search import fitness_and_success

DTYPES = (np.float16, np.float32, np.float64)


def reference_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def reference_probabilities(
    scores: np.ndarray, kind: str | None, logits_seen: bool
) -> np.ndarray | None:
    """The reading before issue 21.4 (every row reduced row by row, every row softmaxed);
    None where it refused the rows."""
    tolerance = 1e-2 if scores.dtype == np.float16 else 1e-4
    scores = scores.astype(np.float64, copy=False)
    if kind == "logits":
        return reference_softmax(scores)
    in_unit = ((scores >= 0) & (scores <= 1)).all(axis=1)
    is_probability = in_unit & (np.abs(scores.sum(axis=1) - 1) <= tolerance)
    if kind == "probabilities":
        return scores if is_probability.all() else None
    constant = scores.max(axis=1) == scores.min(axis=1)
    ambiguous = in_unit & ~is_probability & ~constant
    if ambiguous.any() and not (logits_seen or not in_unit.all()):
        return None
    return np.where(is_probability[:, None], scores, reference_softmax(scores))


@st.composite
def score_batches(draw) -> np.ndarray:
    """Rows of every kind the reading tells apart: logits (some wide, some tiny), probability
    vectors, rows in [0, 1] that do not sum to 1, constant rows."""
    n = draw(st.integers(1, 12))
    classes = draw(st.sampled_from((2, 3, 10, Rows.NARROW, Rows.NARROW + 1, 300)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = rng.integers(0, 5, n) if draw(st.booleans()) else np.full(n, draw(st.integers(0, 4)))
    rows = []
    for kind in kinds:
        if kind == 0:
            rows.append(rng.standard_normal(classes) * 10 ** rng.uniform(-8, 2))
        elif kind == 1:
            raw = rng.random(classes) ** 4
            rows.append(raw / raw.sum())
        elif kind == 2:
            rows.append(rng.random(classes))
        elif kind == 3:
            rows.append(np.full(classes, rng.choice([0.0, 0.5, 3.0])))
        else:  # one-hot: exact 0s and a 1
            rows.append(np.eye(classes)[rng.integers(classes)])
    return np.array(rows).astype(draw(st.sampled_from(DTYPES)))


@settings(max_examples=300, deadline=None)
@given(
    score_batches(),
    st.sampled_from((None, "logits", "probabilities")),
    st.booleans(),
)
def test_probabilities_are_the_bits_of_the_row_by_row_reading(scores, kind, logits_seen) -> None:
    expected = reference_probabilities(scores, kind, logits_seen)
    if expected is None:
        with pytest.raises(ModelOutputError):
            to_probabilities(scores, kind, logits_seen=logits_seen)
        return
    found = to_probabilities(scores, kind, logits_seen=logits_seen)
    assert found.dtype == np.float64
    assert found.shape == expected.shape
    assert found.tobytes() == expected.tobytes()


@settings(max_examples=100, deadline=None)
@given(st.lists(score_batches(), min_size=1, max_size=4), st.sampled_from((None, "logits")))
def test_a_model_scored_batch_after_batch_reads_as_before(answers, kind) -> None:
    """Across calls the scorer learns that the model gives logits from a row outside [0, 1],
    as before; every batch it accepts has the reference's bits."""
    classes = {a.shape[1] for a in answers}
    answers = [a for a in answers if a.shape[1] == min(classes)]
    replies = iter(answers)
    score = ScoreFunction(lambda batch: next(replies), kind)
    seen = kind == "logits"
    for answer in answers:
        expected = reference_probabilities(answer, kind, seen)
        seen = seen or bool(((answer < 0) | (answer > 1)).any())
        if expected is None:
            with pytest.raises(ModelOutputError):
                score(np.zeros((len(answer), 1, 2, 2), np.float32))
            return
        found = score(np.zeros((len(answer), 1, 2, 2), np.float32))
        assert found.tobytes() == expected.tobytes()
        assert score.seen_logits == seen


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("classes", [10, Rows.NARROW + 5])
def test_a_non_finite_entry_anywhere_is_found(bad, classes) -> None:
    scores = np.zeros((4, classes), np.float32)
    scores[2, classes - 1] = bad
    with pytest.raises(ModelOutputError, match=r"non-finite scores .* for 1 of 4 images"):
        ScoreFunction(lambda batch: scores)(np.zeros((4, 1, 2, 2), np.float32))


def reference_write(images: ImageSet, out: np.ndarray, owners, changes) -> np.ndarray:
    """write_batch before issue 21.4: a fancy-index gather, a scatter through the layout view."""
    m = len(owners)
    batch = out[:m]
    batch[...] = images.model_images[owners]
    if changes is not None and m:  # (it could not reshape an empty batch's changes)
        k = changes.rows.shape[1]
        view = channel_last_view(batch, images.model_layout)
        view[np.repeat(np.arange(m), k), changes.rows.ravel(), changes.cols.ravel()] = (
            changes.values.reshape(m * k, -1)
        )
    return batch


@st.composite
def pixel_problems(draw):
    """Images in either layout (or 3-D), a model layout, and m candidates of k pixels (with
    repeated positions inside a candidate when the image is small)."""
    n, height, width = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    channels = draw(st.sampled_from((None, 1, 3)))
    layout = draw(st.sampled_from(("NCHW", "NHWC")))
    model_layout = draw(st.sampled_from((None, "NCHW", "NHWC")))
    dtype = draw(st.sampled_from((np.uint8, np.float32)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if channels is None:
        shape = (n, height, width)
    else:
        shape = (n, channels, height, width) if layout == "NCHW" else (n, height, width, channels)
    high = 255 if dtype == np.uint8 else 1
    images = (rng.random(shape) * high).astype(dtype)
    image_set = ImageSet.from_user(images, layout, (0, high), model_layout)
    m, k = draw(st.integers(0, 9)), draw(st.integers(1, 3))
    positions = rng.random((m, k, 2)) * [image_set.height, image_set.width]
    values = rng.random((m, k, image_set.channels)) * high
    candidates = np.concatenate([positions, values], axis=2)
    owners = rng.integers(0, n, m)
    return image_set, owners, image_set.realize(candidates), draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(pixel_problems())
def test_written_batches_are_the_bits_of_the_gather_and_scatter(problem) -> None:
    images, owners, changes, unchanged = problem
    changes = None if unchanged else changes
    size = len(owners) + 2  # a buffer larger than the batch, as the evaluator's often is
    out = np.full((size, *images.model_images.shape[1:]), -7, np.float32)
    expected = reference_write(images, out.copy(), owners, changes)
    found = images.write_batch(out, owners, changes)
    assert found.tobytes() == expected.tobytes()
    assert (out[len(owners) :] == -7).all()  # nothing written past the batch


def test_a_candidate_naming_a_pixel_twice_keeps_the_later_value() -> None:
    images = ImageSet.from_user(np.zeros((1, 1, 2, 2), np.uint8), "NCHW", (0, 255))
    candidates = np.array([[[0.5, 1.5, 10.0], [0.2, 1.9, 200.0]]])
    out = np.empty((1, 1, 2, 2), np.float32)
    batch = images.write_batch(out, np.array([0]), images.realize(candidates))
    assert batch[0, 0].tolist() == [[0.0, 200.0], [0.0, 0.0]]


def logits_model(batch: np.ndarray) -> np.ndarray:
    """Ten logits from the pixels: a fixed linear map, so every row differs."""
    flat = batch.reshape(len(batch), -1).astype(np.float64)
    weights = np.cos(np.arange(flat.shape[1] * 10)).reshape(flat.shape[1], 10)
    return (flat @ weights).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_reduce_reads_groups_of_chunks_as_it_read_each_chunk(max_batch, m, seed) -> None:
    """Fitness and success whatever the grouping: each chunk alone (the old reading), groups
    under a small byte bound, or the whole generation at once."""
    rng = np.random.default_rng(seed)
    images = ImageSet.from_user(rng.integers(0, 17, (6, 1, 4, 4)), "NCHW", (0, 16))
    owners = rng.integers(0, 6, m)
    candidates = np.concatenate([rng.random((m, 1, 2)) * 4, rng.random((m, 1, 1)) * 16], axis=2)
    changes = images.realize(candidates)
    labels, targets = rng.integers(0, 10, m), np.where(rng.random(m) < 0.3, 3, -1)
    calls: list[int] = []

    def per_chunk(rows: slice, probabilities: np.ndarray):
        calls.append(len(probabilities))
        assert len(probabilities) == rows.stop - rows.start
        return fitness_and_success(probabilities, labels[rows], targets[rows])

    found = {}
    for bound in (0, 2000, 1 << 40):  # 0: a call per chunk; 2000 B: 25 rows of 10 classes
        evaluator = BatchEvaluator(images, ScoreFunction(logits_model), max_batch)
        batches.REDUCE_BYTES, saved = bound, batches.REDUCE_BYTES
        try:
            calls.clear()
            found[bound] = evaluator.reduce(owners, changes, per_chunk)
        finally:
            batches.REDUCE_BYTES = saved
        assert sum(calls) == m
        assert evaluator.images_scored == m
        held = {0: max_batch, 2000: 25 - 1 + max_batch, 1 << 40: m}[bound]  # the most rows held
        assert max(calls) <= held
    assert len(calls) == 1  # the unbounded reading: the generation at once
    assert len({(f.tobytes(), s.tobytes()) for f, s in found.values()}) == 1
