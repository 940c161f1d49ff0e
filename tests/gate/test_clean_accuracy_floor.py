"""A gate fails when its model gets most of the sample wrong: below min_clean_accuracy, or
below 0.5 when it sets none, naming label order (`classes`) and layout as likely causes."""

from __future__ import annotations

from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.gate.verdict import DEFAULT_MIN_CLEAN_ACCURACY, judge
from pytest_onepixel.result import ImageRecord


def records(correct: int, wrong: int) -> list[ImageRecord]:
    """`correct` attacked images the attack did not fool, `wrong` the model misclassified."""
    fought = [ImageRecord(i, 0, True, True, False, 10, None, (), 0, 0.9) for i in range(correct)]
    missed = [ImageRecord.unattacked(correct + i, 0, False, None, False) for i in range(wrong)]
    return fought + missed


def test_a_clean_accuracy_far_below_a_models_fails_by_default() -> None:
    verdict = judge(GateSpec(threshold=0.5), records(5, 15))
    assert not verdict.passed
    assert "clean accuracy 0.250 < 0.500" in verdict.reason
    assert "5 of 20 sampled images" in verdict.reason
    assert "`classes`" in verdict.reason and "`layout`, `data_layout`" in verdict.reason
    assert "set min_clean_accuracy" in verdict.reason


def test_the_default_floor_is_one_half() -> None:
    assert DEFAULT_MIN_CLEAN_ACCURACY == 0.5
    assert judge(GateSpec(threshold=0.5), records(10, 10)).passed
    assert not judge(GateSpec(threshold=0.5), records(9, 11)).passed


def test_a_weak_model_opts_out_with_its_own_floor() -> None:
    assert judge(GateSpec(threshold=0.5, min_clean_accuracy=0.2), records(5, 15)).passed
    assert judge(GateSpec(threshold=0.5, min_clean_accuracy=0.0), records(1, 19)).passed
    low = judge(GateSpec(threshold=0.5, min_clean_accuracy=0.3), records(5, 15))
    assert not low.passed and "clean accuracy 0.250 < min_clean_accuracy 0.300" in low.reason
    assert "`classes`" in low.reason and "set min_clean_accuracy" not in low.reason


def test_a_floor_missed_by_little_names_no_cause() -> None:
    verdict = judge(GateSpec(threshold=0.5, min_clean_accuracy=0.95), records(18, 2))
    assert not verdict.passed
    assert "clean accuracy 0.900 < min_clean_accuracy 0.950" in verdict.reason
    assert "`classes`" not in verdict.reason
