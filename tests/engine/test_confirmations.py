"""Confirmations share a model call only when that cannot change a record: the consistency probe
must have found the model's scores bit-identical in every batch it tried (engine/batches.py
`confirm_batch`); a model whose scores move with the batch, even in the 7th digit, still
confirms each image alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_gates
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel import api, attack
from pytest_onepixel.engine.batches import (
    CHECK_BATCH,
    CONFIRM_BATCH,
    BatchEvaluator,
    confirm_batch,
)
from pytest_onepixel.engine.consistency import check_consistency
from pytest_onepixel.engine.pixels import ImageSet
from pytest_onepixel.engine.scoring import ScoreFunction

RNG = np.random.default_rng(3)
IMAGES = RNG.integers(0, 17, size=(40, 6, 6)).astype(np.uint8)
WEIGHTS = RNG.normal(size=(36, 3))


class Exact:
    """Elementwise products summed over a fixed axis: each row's scores are the same bits
    whatever else is in the batch. Records the size of every call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        flat = batch.reshape(len(batch), -1).astype(np.float64)
        return self.scores(flat, len(batch))

    def scores(self, flat: np.ndarray, size: int) -> np.ndarray:
        return (flat[:, :, None] * WEIGHTS[None]).sum(axis=1) / 16


class BatchSized(Exact):
    """Class 0's logit moves by 1e-7 per image in the batch: well inside the probe's tolerance
    (a stable model), but not bit-identical, as PyTorch's CPU kernels are not."""

    def scores(self, flat: np.ndarray, size: int) -> np.ndarray:
        scores = super().scores(flat, size)
        scores[:, 0] += 1e-7 * size
        return scores


LABELS = Exact()(IMAGES.astype(np.float32)).argmax(axis=1)


def probe(model: Exact, max_batch: int = CHECK_BATCH):
    images = ImageSet.from_user(IMAGES, "NHWC", (0, 16))
    return check_consistency(BatchEvaluator(images, ScoreFunction(model), max_batch))


def test_the_probe_calls_only_bit_identical_scores_exact() -> None:
    exact, sized = probe(Exact()), probe(BatchSized())
    assert exact.stable and exact.exact and exact.max_difference == 0.0
    assert sized.stable and not sized.exact and 0 < sized.max_difference <= 1e-4
    assert exact.to_json()["exact"] and not sized.to_json()["exact"]


def test_the_probe_tries_a_batch_as_large_as_a_confirmation_call() -> None:
    model = Exact()
    probe(model)
    assert max(model.calls) == CHECK_BATCH
    model = Exact()
    probe(model, max_batch=7)
    assert max(model.calls) == 7


def test_confirmations_share_a_call_only_for_an_exact_model() -> None:
    assert confirm_batch(True, None) == CHECK_BATCH
    assert confirm_batch(True, 7) == 7
    assert confirm_batch(False, None) == confirm_batch(False, 7) == CONFIRM_BATCH == 1


def run(model: Exact, alone: bool, **options):
    """The attack, with every confirmation forced to score one image per call when `alone`."""
    with pytest.MonkeyPatch.context() as patch:
        if alone:
            patch.setattr(api, "confirm_batch", lambda exact, max_batch: CONFIRM_BATCH)
        return attack(model, IMAGES, LABELS, pixel_range=(0, 16), preset="continuous", **options)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    budget=st.integers(5, 60),
    max_batch=st.sampled_from([2, 3, 7, 16]),  # one size timed: the same calls every run
)
def test_an_exact_model_confirms_in_fewer_calls_with_identical_records(
    seed: int, budget: int, max_batch: int | None
) -> None:
    batched, alone = Exact(), Exact()
    options = {"seed": seed, "budget": budget, "max_batch": max_batch}
    together, one_by_one = run(batched, False, **options), run(alone, True, **options)
    unlimited = run(Exact(), False, seed=seed, budget=budget)  # max_batch None: timed
    assert together.records == one_by_one.records == unlimited.records
    assert together.measured.model_check["exact"]
    # Same search, same checks: only the confirmations' calls differ, never in images scored.
    assert sum(batched.calls) == sum(alone.calls)
    assert len(batched.calls) <= len(alone.calls) - (together.attacked > 1 and budget < 40)


@pytest.mark.parametrize("max_batch", [3, 16])
def test_a_model_whose_scores_move_with_the_batch_confirms_each_image_alone(max_batch) -> None:
    batched, alone = BatchSized(), BatchSized()
    options = {"seed": 1, "budget": 30, "max_batch": max_batch}
    result, reference = run(batched, False, **options), run(alone, True, **options)
    assert not result.measured.model_check["exact"] and result.measured.model_check["stable"]
    assert batched.calls == alone.calls
    assert result.records == reference.records
    for record in result.records:
        if record.attacked:  # the stored confidence is the image's score alone, bit for bit
            image = IMAGES[record.index].astype(np.float32)
            for row, col, (value,) in record.pixels:
                image[row, col] = value
            probabilities = ScoreFunction(BatchSized())(image[None])[0]
            assert record.adversarial_confidence == probabilities[record.adversarial_label]


def test_the_report_says_an_onnx_gate_was_exact_and_its_records_hold_at_any_max_batch(
    repo,
) -> None:
    """What a user sees: `measured.model_check.exact` in the JSON report, and the same records
    at the measured batch and at `--onepixel-max-batch=3` (confirmations of 3, not 32)."""
    write_gates(repo)
    reports = {}
    for name, options in (("default", []), ("small", ["--onepixel-max-batch=3"])):
        report = repo.path / f"{name}.json"
        repo.runpytest("--onepixel-cache=off", f"--onepixel-report={report}", *options)
        reports[name] = json.loads(report.read_text())["gates"]
    for default, small in zip(reports["default"], reports["small"], strict=True):
        assert default["measured"]["model_check"]["exact"] is True
        assert default["records"] and default["records"] == small["records"]
