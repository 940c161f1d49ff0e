"""Engine invariants a gate relies on, checked by hypothesis over random small problems."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from conftest import LinearModel, labelled_images
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pytest_onepixel import AttackResult, attack
from pytest_onepixel.gate.early import EarlyVerdict
from pytest_onepixel.gate.spec import GATE_MODES, GateSpec

gate_specs = st.builds(
    GateSpec,
    threshold=st.floats(0, 1),
    mode=st.sampled_from(GATE_MODES),
    max_success_rate_at=st.dictionaries(st.sampled_from([1, 5]), st.floats(0, 1), max_size=1),
)


@dataclass
class Problem:
    model: LinearModel
    images: np.ndarray
    labels: np.ndarray
    layout: str
    options: dict


@st.composite
def problems(draw: st.DrawFn, max_images: int = 6) -> Problem:
    """Random images (rank 3 or 4, either layout, uint8 or float), model and attack settings."""
    n = draw(st.integers(1, max_images))
    height, width = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    channels = draw(st.sampled_from([None, 1, 3]))
    layout = draw(st.sampled_from(["NCHW", "NHWC"]))
    integer = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if channels is None:
        shape = (n, height, width)
    else:
        shape = (n, channels, height, width) if layout == "NCHW" else (n, height, width, channels)
    if integer:
        images = rng.integers(0, 256, size=shape).astype(np.uint8)
    else:
        images = rng.random(shape).astype(np.float32)
    model = LinearModel(shape[1:], classes=3, seed=draw(st.integers(0, 1000)))
    model.scale = (1 / 255 if integer else 1.0) * draw(st.sampled_from([0.3, 1.0, 3.0]))
    images, labels = labelled_images(model, images, flip_every=draw(st.sampled_from([0, 3])))
    options = {
        "budget": draw(st.integers(1, 60)),
        "pixels": draw(st.integers(1, min(3, height * width))),
        "popsize": draw(st.integers(4, 12)),
        "seed": draw(st.integers(0, 2**16)),
        "preset": draw(st.sampled_from(["default", "paper"])),
    }
    return Problem(model, images, labels, layout, options)


def run(problem: Problem, **overrides: object) -> AttackResult:
    # LinearModel returns logits, which may all happen to lie in [0, 1]: say what they are.
    options = {**problem.options, "layout": problem.layout, "scores": "logits", **overrides}
    return attack(problem.model, problem.images, problem.labels, **options)


def changed_pixels(problem: Problem, adversarial: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Number of (row, col) positions where any channel differs, per image."""
    differs = adversarial != original
    if differs.ndim == 4:
        differs = differs.any(axis=1 if problem.layout == "NCHW" else 3)
    return differs.sum(axis=(1, 2))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_queries_are_exact_and_never_exceed_the_budget(problem: Problem) -> None:
    result = run(problem)
    budget = problem.options["budget"]
    for record in result.records:
        assert record.queries <= budget
        if record.attacked and not record.success:
            assert record.queries == budget
        if record.success:
            assert 1 <= record.first_success_query <= record.queries
    # The model saw: the consistency probe, one clean pass, every search query, and one
    # confirmation per attacked image.
    n = len(problem.images)
    probe = result.measured.model_check["images_scored"]
    timing = result.measured.batch["images_scored"]
    expected = probe + n + timing + result.queries_used + result.attacked
    assert problem.model.images_seen == expected


@settings(max_examples=60, deadline=None)
@given(problems())
def test_adversarial_images_change_at_most_k_pixels_within_range_and_dtype(
    problem: Problem,
) -> None:
    result = run(problem)
    assume(result.successes > 0)  # the claim is about adversarial images: need some
    indices, adversarial = result.adversarial_images()
    assert len(indices) == result.successes
    assert adversarial.dtype == problem.images.dtype
    assert adversarial.shape[1:] == problem.images.shape[1:]
    lo, hi = result.measured.pixel_range
    assert adversarial.min(initial=lo) >= lo and adversarial.max(initial=hi) <= hi
    changed = changed_pixels(problem, adversarial, problem.images[indices])
    assert (changed <= problem.options["pixels"]).all()
    spatial = problem.images.shape[-2:] if problem.layout == "NCHW" else problem.images.shape[1:3]
    for record in result.records:
        for row, col, values in record.pixels:
            assert 0 <= row < spatial[0] and 0 <= col < spatial[1]
            assert all(lo <= v <= hi for v in values)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_every_reported_success_is_misclassified_when_run_again(problem: Problem) -> None:
    result = run(problem)
    assume(result.successes > 0)  # not vacuous: every example checks at least one success
    indices, adversarial = result.adversarial_images()
    predicted = problem.model(adversarial.astype(np.float32)).argmax(axis=1)
    assert len(predicted) == result.successes
    assert (predicted != problem.labels[indices]).all()


@settings(max_examples=40, deadline=None)
@given(problems())
def test_targeted_successes_reach_the_target(problem: Problem) -> None:
    """Each image aims at the model's runner-up class, so successes are common enough to
    check on every example."""
    scores = problem.model(problem.images.astype(np.float32))
    problem.model.images_seen = 0
    targets = np.argsort(scores, axis=1, kind="stable")[:, -2]
    result = run(problem, targets=targets)
    assume(result.successes > 0)
    indices, adversarial = result.adversarial_images()
    wanted = targets[indices]  # indices are positions here (the default 0..N-1)
    assert (problem.model(adversarial.astype(np.float32)).argmax(axis=1) == wanted).all()
    for record, label, target in zip(result.records, problem.labels, targets, strict=True):
        assert record.target == target
        assert not record.attacked or label != target


@settings(max_examples=40, deadline=None)
@given(problems(max_images=60), st.booleans(), gate_specs)
def test_records_do_not_depend_on_max_batch(problem: Problem, early: bool, spec: GateSpec) -> None:
    """With an early verdict (which images get attacked is then decided as records arrive) and
    without one, every record, skipped flags included, is the same for any max_batch."""
    stop = (lambda: EarlyVerdict(spec)) if early else (lambda: None)
    reference = run(problem, max_batch=4096, stop_when=stop()).records
    assert run(problem, max_batch=1, stop_when=stop()).records == reference
    assert run(problem, max_batch=7, stop_when=stop()).records == reference


class BatchSizeNoise:
    """`model`'s scores with class 0 nudged by 1e-7 per image in the batch, as PyTorch's CPU
    kernels move scores in about the 7th digit with the batch size (within the consistency
    check's tolerance, so the model is accepted)."""

    def __init__(self, model: LinearModel) -> None:
        self.model = model

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        scores = np.array(self.model(batch), dtype=np.float64)
        scores[:, 0] += 1e-7 * len(batch)
        return scores


def test_stored_confidences_do_not_move_with_the_batch_size(digits_like) -> None:
    """Confirmations score each adversarial image alone, so a model whose last digits move with
    the batch size still gives identical records (labels and confidences) at any max_batch."""
    model, images, labels = digits_like
    runs = [
        attack(BatchSizeNoise(model), images, labels, budget=60, max_batch=size, seed=3)
        for size in (3, 7)  # below the first measured size (16): the search's batch is pinned
    ]
    assert runs[0].measured.model_check["stable"] and runs[0].successes >= 3
    assert [r.measured.batch["size"] for r in runs] == [3, 7]
    assert runs[0].records == runs[1].records


@settings(max_examples=40, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_records_do_not_depend_on_the_other_images(problem: Problem, shuffle) -> None:
    reference = {r.index: r for r in run(problem, max_batch=5).records}
    order = list(range(len(problem.images)))
    shuffle.shuffle(order)
    kept = order[: max(1, len(order) - 1)]
    subset = attack(
        problem.model,
        problem.images[kept],
        problem.labels[kept],
        indices=kept,
        layout=problem.layout,
        max_batch=5,
        scores="logits",
        **problem.options,
    )
    assert [r.index for r in subset.records] == kept
    for record in subset.records:
        assert record == reference[record.index]


def test_success_rate_at_smaller_budgets_is_the_robustness_curve(digits_like) -> None:
    model, images, labels = digits_like
    result = attack(model, images, labels, budget=200, pixel_range=(0, 16), popsize=10)
    curve = [result.success_rate_at(b) for b in (1, 10, 50, 100, 200)]
    assert curve == sorted(curve)
    assert curve[-1] == result.success_rate
    smaller = attack(model, images, labels, budget=50, pixel_range=(0, 16), popsize=10)
    assert smaller.success_rate == result.success_rate_at(50)


def test_summary_counts_and_json_report(digits_like) -> None:
    model, images, labels = digits_like
    labels = labels.copy()
    labels[:5] = (labels[:5] + 1) % 4
    result = attack(model, images, labels, budget=30, pixel_range=(0, 16))
    assert result.attacked == 15
    assert result.clean_accuracy == 0.75
    assert result.success_rate == result.successes / 15
    assert result.queries_used == sum(r.queries for r in result.records)
    assert [r.attacked for r in result.records[:5]] == [False] * 5
    data = json.loads(json.dumps(result.to_dict()))
    assert data["summary"]["attacked"] == 15
    assert data["settings"]["budget"] == 30
    assert len(data["records"]) == 20


def test_model_receives_float32_batches_in_the_images_layout() -> None:
    seen = []
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 8, 5, 3)).astype(np.uint8)

    def model(batch: np.ndarray) -> np.ndarray:
        seen.append((batch.dtype, batch.shape[1:]))
        return np.stack([batch[:, 0, 0, 0], 255 - batch[:, 0, 0, 0]], axis=1)

    attack(model, images, np.zeros(3, dtype=int), budget=8, layout="NHWC", max_batch=4)
    assert set(seen) == {(np.dtype(np.float32), (8, 5, 3))}


def test_an_easy_model_is_fooled_with_the_right_pixel() -> None:
    """A model that only looks at one pixel is fooled exactly by changing that pixel."""
    images = np.full((4, 1, 5, 5), 200, dtype=np.uint8)

    def model(batch: np.ndarray) -> np.ndarray:
        bright = batch[:, 0, 2, 3] > 100
        return np.stack([bright, ~bright], axis=1).astype(np.float32) * 5

    result = attack(model, images, np.zeros(4, dtype=int), budget=400, seed=3)
    assert result.success_rate == 1.0
    for record in result.records:
        ((row, col, (value,)),) = record.pixels
        assert (row, col) == (2, 3) and value <= 100


def test_float16_probabilities_are_not_softmaxed_again() -> None:
    from pytest_onepixel.engine.scoring import to_probabilities

    logits = np.random.default_rng(0).normal(size=(200, 10)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    half = probabilities.astype(np.float16)
    np.testing.assert_allclose(to_probabilities(half), half.astype(np.float64))


def test_channel_last_images_are_recognised_without_a_layout() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(2, 5, 5, 3)).astype(np.uint8)
    shapes = set()

    def model(batch: np.ndarray) -> np.ndarray:
        shapes.add(batch.shape[1:])
        return np.stack([batch[:, 0, 0, 0], 255 - batch[:, 0, 0, 0]], axis=1)

    result = attack(model, images, model(images.astype(np.float32)).argmax(1), budget=10)
    assert result.measured.layout == "NHWC" and shapes == {(5, 5, 3)}
    for record in result.records:
        assert all(len(values) == 3 for _, _, values in record.pixels)
