"""pytest-html extras: when pytest-html runs, each gate's row carries its verdict and reasons,
its gallery and its robustness curve (pytest-html's documented `report.extras`)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from ..gate.outcome import GateOutcome


def pytest_html_extras(outcomes: Sequence[GateOutcome]) -> list[dict[str, Any]]:
    """pytest-html's documented extras (`report.extras`) for a test's gates: the verdict and
    reasons, the gallery grid and the robustness curve."""
    import html

    from pytest_html import extras

    from ..reports.curve_plot import curve_figures, matplotlib_missing_reason

    found: list[dict[str, Any]] = []
    for outcome in outcomes:
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in (*outcome.reasons, *outcome.notes))
        verdict = html.escape(f"onepixel gate {outcome.name}: {outcome.status}")
        found.append(extras.html(f"<div><strong>{verdict}</strong><ul>{reasons}</ul></div>"))
        if outcome.examples:
            from ..reports.gallery import gallery_png

            picture = base64.b64encode(gallery_png(outcome.name, outcome.examples)).decode()
            found.append(extras.png(picture, name=f"{outcome.name} gallery"))
        if outcome.summary is not None and matplotlib_missing_reason() is None:
            curve = base64.b64encode(curve_figures(outcome)[0]).decode()
            found.append(extras.png(curve, name=f"{outcome.name} robustness curve"))
    return found
