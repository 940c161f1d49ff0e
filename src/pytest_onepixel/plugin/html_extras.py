"""pytest-html extras: when pytest-html runs, each gate's row carries its verdict and reasons,
its gallery and its robustness curve (pytest-html's documented `report.extras`).

What is embedded is escaped or inert: the verdict snippet is rendered by the HTML report's
template layer (reports/html.py, autoescape on), pictures are base64 PNG, and a picture's name
is shown by pytest-html as text (`innerText`). A picture that cannot be drawn is left out with
a warning: pytest-html's page is never worth a test's report.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import OnePixelWarning
from ..gate.outcome import GateOutcome


def pytest_html_extras(outcomes: Sequence[GateOutcome]) -> list[dict[str, Any]]:
    """pytest-html's documented extras (`report.extras`) for a test's gates: the verdict and
    reasons, the gallery grid and the robustness curve."""
    return [extra for outcome in outcomes for extra in _extras(outcome)]


def _extras(outcome: GateOutcome) -> list[dict[str, Any]]:
    """One gate's extras: its verdict snippet, then each picture that could be drawn."""
    from pytest_html import extras

    from ..reports.curve_plot import curve_figures, matplotlib_missing_reason
    from ..reports.gallery import gallery_png
    from ..reports.html import verdict_html

    pictures: dict[str, Callable[[], bytes]] = {}
    if outcome.examples:
        pictures["gallery"] = lambda: gallery_png(outcome.name, outcome.examples)
    if outcome.spec is not None and outcome.curve and matplotlib_missing_reason() is None:
        pictures["robustness curve"] = lambda: curve_figures(outcome)[0]
    found = [extras.html(verdict_html(outcome))]
    for what, draw in pictures.items():
        picture = _picture(outcome, what, draw)
        if picture is not None:
            found.append(extras.png(picture, name=f"{outcome.name} {what}"))
    return found


def _picture(outcome: GateOutcome, what: str, draw: Callable[[], bytes]) -> str | None:
    """The picture as base64 text, or None and a OnePixelWarning when it cannot be drawn."""
    try:
        return base64.b64encode(draw()).decode("ascii")
    except Exception as error:  # a picture is never worth the test's report
        message = (
            f"pytest-html: no {what} for gate {outcome.name!r} ({type(error).__name__}: {error})"
        )
        warnings.warn(message, OnePixelWarning, stacklevel=2)
        return None
