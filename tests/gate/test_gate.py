"""Gate statistics: intervals, modes, and the exactness of the early verdict."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import measured
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from pytest_onepixel.errors import ConfigError, ReportError
from pytest_onepixel.gate.early import EarlyVerdict
from pytest_onepixel.gate.outcome import GateOutcome
from pytest_onepixel.gate.spec import GATE_MODES, GateSpec
from pytest_onepixel.gate.statistics import interval, needed_for_strict
from pytest_onepixel.gate.verdict import judge
from pytest_onepixel.result import ImageRecord
from pytest_onepixel.settings.gate_settings import GateSettings


def record(success: bool, first_query: int | None = None) -> ImageRecord:
    return ImageRecord(
        index=0,
        label=0,
        clean_correct=True,
        attacked=True,
        success=success,
        queries=first_query or 400,
        first_success_query=first_query if success else None,
        pixels=(),
        adversarial_label=None,
        adversarial_confidence=None,
    )


specs = st.builds(
    GateSpec,
    threshold=st.floats(0, 1),
    mode=st.sampled_from(GATE_MODES),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    max_success_rate_at=st.dictionaries(st.sampled_from([10, 100]), st.floats(0, 1), max_size=2),
)
outcomes = st.lists(st.tuples(st.booleans(), st.integers(1, 400)), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(specs, outcomes)
def test_early_verdict_equals_the_full_runs_verdict(spec: GateSpec, sequence) -> None:
    """Stop at the first settled point, mark the rest skipped, judge: same verdict as judging
    every image. Any later outcome is then a completion the verdict no longer depends on."""
    records = [record(success, first) for success, first in sequence]
    full = judge(spec, records).passed
    early_verdict = EarlyVerdict(spec)
    for m in range(len(records) + 1):
        if early_verdict(records[:m], len(records), clean_accuracy=1.0):
            skipped = [replace(record(False), attacked=False, skipped=True)] * (len(records) - m)
            assert judge(spec, records[:m] + skipped).passed == full
            break


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(1, 300), st.sampled_from([0.8, 0.95, 0.99]))
def test_intervals_match_scipy(successes: int, trials: int, level: float) -> None:
    successes = min(successes, trials)
    expected = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    assert interval(successes, trials, level) == (expected.low, expected.high)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 200), st.integers(1, 200), st.floats(0, 1))
def test_strict_never_passes_above_the_threshold(successes, trials, threshold) -> None:
    successes = min(successes, trials)
    strict = GateSpec(threshold, mode="strict")
    if successes / trials > threshold:
        assert not strict.passes(successes, trials)
    lenient = GateSpec(threshold, mode="lenient")
    if successes / trials <= threshold:
        assert lenient.passes(successes, trials)


def test_strict_mode_passes_rarely_when_the_true_rate_is_just_above_the_threshold() -> None:
    """Over 2,000 seeded binomial draws of 200 images at a true rate 0.02 above the threshold,
    strict mode passes at most 5% of the time (Clopper-Pearson coverage)."""
    threshold, true_rate, n = 0.30, 0.32, 200
    draws = np.random.default_rng(0).binomial(n, true_rate, size=2000)
    strict = GateSpec(threshold, mode="strict")
    passed = np.mean([strict.passes(int(k), n) for k in draws])
    assert passed <= 0.05
    point = GateSpec(threshold, mode="point")
    assert np.mean([point.passes(int(k), n) for k in draws]) > passed


def test_needed_for_strict() -> None:
    needed = needed_for_strict(0.2, 0.3)
    assert interval(round(0.2 * needed), needed)[1] <= 0.3
    assert interval(round(0.2 * (needed - 5)), needed - 5)[1] > 0.3
    assert needed_for_strict(0.3, 0.3) is None


def test_early_stop_text_never_contradicts_the_numbers() -> None:
    """The budget-10 criterion fails for sure after 12 images; the main one is still open and
    must say so rather than claim a pass its own numbers contradict."""
    spec = GateSpec(0.35, max_success_rate_at={10: 0.2})
    attacked = [record(True, 5)] * 9 + [record(False)] * 3
    skipped = [replace(record(False), attacked=False, skipped=True)] * 28
    verdict = judge(spec, attacked + skipped)
    assert not verdict.passed
    assert "success rate 0.750 [0.428, 0.945] over the 12 images attacked: not decided" in (
        verdict.reason
    )
    assert "at budget 10 0.750" in verdict.reason and "the full run fails threshold 0.200" in (
        verdict.reason
    )


def test_a_gate_entry_is_read_with_every_field_typed() -> None:
    """GateOutcome.from_json is the one schema check (gate/report_schema.py): a wrong type is a
    ReportError naming the field's path, a ValueError too, so a cache entry that holds it is a
    miss rather than a crash."""

    settings = GateSettings(budget=400, max_success_rate=0.5)
    spec = GateSpec.from_settings(settings, "g")
    outcome = GateOutcome.judged(
        "g", spec, [record(True, 7), record(False)], settings=settings, measured=measured(),
        model={"description": "m", "hash": "h"}, data={"source": "d", "hash": "h"},
    )  # fmt: skip
    entry = outcome.to_json()
    assert GateOutcome.from_json(entry) == outcome
    cases = {
        ("summary", "success_rate", "0.0"): "gate.summary.success_rate: expected a number",
        ("summary", "attacked", -2): "gate.summary.attacked: expected a non-negative integer",
        ("gate", "mode", "loose"): "gate.gate.mode: expected one of",
        ("settings", "budget", "400"): "gate.settings.budget",
    }
    for (block, key, value), message in cases.items():
        bad = {**entry, block: {**entry[block], key: value}}
        with pytest.raises(ReportError, match=message.replace(".", r"\.")) as error:
            GateOutcome.from_json(bad)
        assert isinstance(error.value, ValueError) and isinstance(error.value, ConfigError)
    with pytest.raises(ReportError, match=r"gates\[3\]\.records\[1\]\.queries"):
        records = [entry["records"][0], {**entry["records"][1], "queries": None}]
        GateOutcome.from_json({**entry, "records": records}, "gates[3]")
