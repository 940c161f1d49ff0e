"""The robustness curve's picture: PNG and SVG from one outcome, matplotlib's global state left
alone, and a one-line reason when matplotlib is missing."""

from __future__ import annotations

import sys

import pytest
from conftest import measured

from pytest_onepixel.gate.outcome import GateOutcome
from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.reports.curve_plot import curve_figures, matplotlib_missing_reason
from pytest_onepixel.result import ImageRecord
from pytest_onepixel.settings.gate_settings import GateSettings


def attacked(index: int, first_success: int | None) -> ImageRecord:
    return ImageRecord(
        index=index,
        label=0,
        clean_correct=True,
        attacked=True,
        success=first_success is not None,
        queries=first_success or 100,
        first_success_query=first_success,
        pixels=(),
        adversarial_label=None,
        adversarial_confidence=None,
    )


@pytest.fixture
def outcome() -> GateOutcome:
    """60 images, every third fooled, at queries spread over the budget of 100."""
    records = [attacked(i, (i * 7) % 100 + 1 if i % 3 == 0 else None) for i in range(60)]
    spec = GateSpec(0.3, max_success_rate_at={10: 0.1, 50: 0.2})
    return GateOutcome.judged(
        "cifar10-fast",
        spec,
        records,
        settings=GateSettings(budget=100),
        measured=measured(),
        model={},
        data={},
    )


def test_the_curve_renders_as_png_and_svg(outcome: GateOutcome) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    assert matplotlib_missing_reason() is None
    before = {key: matplotlib.rcParams[key] for key in ("svg.fonttype", "svg.hashsalt")}
    png, svg = curve_figures(outcome)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert "<svg" in svg and "</svg>" in svg
    assert "cifar10-fast" in svg  # the title, as text
    assert "https://" not in svg  # no creator URL in the metadata
    assert {key: matplotlib.rcParams[key] for key in before} == before


def test_a_gate_without_a_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="no robustness curve"):
        curve_figures(GateOutcome.errored("broken", "ModelLoadError: no such file"))


def test_without_matplotlib_the_reason_is_one_line(monkeypatch, outcome: GateOutcome) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    reason = matplotlib_missing_reason()
    assert reason is not None and "\n" not in reason
    assert "pip install 'pytest-onepixel[report]'" in reason
    with pytest.raises(ImportError, match=r"pytest-onepixel\[report\]"):
        curve_figures(outcome)
