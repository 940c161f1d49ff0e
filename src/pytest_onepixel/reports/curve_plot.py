"""The robustness curve as a picture: success rate against queries per image, for one gate.

The curve (gate/robustness_curve.py) answers "would the gate still pass with a smaller
budget?"; a plot of it with its interval band, the gate's threshold and its
`max_success_rate_at` points shows the
answer at a glance. matplotlib is an optional extra and slow to import, so it is imported inside
the functions, and drawn on a bare `Figure` with the Agg canvas: pyplot's global figure registry
and backend are never touched, so rendering inside a pytest run leaves nothing behind.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ..importing import first_line

if TYPE_CHECKING:
    from ..gate.outcome import GateOutcome

INSTALL = "pip install 'pytest-onepixel[report]'"
#: Inches at DPI dots per inch: 768 x 432 pixels in the PNG.
SIZE = (8.0, 4.5)
DPI = 96
#: Without a date, creator or URL the SVG of one curve is the same on every run, and embeds in
#: an HTML page with no reference to the network.
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def matplotlib_missing_reason() -> str | None:
    """None when matplotlib can be imported; else one line saying why not and how to fix it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        return f"robustness curves need matplotlib ({first_line(error)}): {INSTALL}"
    return None


def curve_figures(outcome: GateOutcome) -> tuple[bytes, str]:
    """(PNG bytes, SVG text) of the gate's robustness curve. Only gates that ran have one:
    a ValueError for an errored or not-run gate, an ImportError without matplotlib."""
    if outcome.spec is None or not outcome.curve:
        raise ValueError(f"gate {outcome.name!r} has no robustness curve ({outcome.status})")
    reason = matplotlib_missing_reason()
    if reason:
        raise ImportError(reason)
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Text as <text>, not glyph paths: smaller, searchable, and no glyph ids that would repeat
    # when several curves share one HTML page. rc_context restores the setting afterwards.
    with rc_context({"svg.fonttype": "none"}):
        figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        _draw(figure.add_subplot(), outcome)
        png, svg = io.BytesIO(), io.StringIO()
        figure.savefig(png, format="png")
        figure.savefig(svg, format="svg", metadata=SVG_METADATA)
        figure.clear()
    return png.getvalue(), svg.getvalue()


def _draw(axes: Any, outcome: GateOutcome) -> None:
    """The rate with its interval band, the threshold line and the per-budget limits."""
    spec, curve = outcome.spec, outcome.curve
    budgets = [point.budget for point in curve]
    axes.fill_between(
        budgets,
        [point.low for point in curve],
        [point.high for point in curve],
        alpha=0.25,
        color="tab:blue",
        linewidth=0,
        label=f"{spec.level:.0%} interval",
    )
    axes.plot(budgets, [point.rate for point in curve], "o-", color="tab:blue", label="rate")
    axes.axhline(
        spec.threshold,
        color="tab:red",
        linestyle="--",
        label=f"threshold {spec.threshold:.3g} ({spec.mode})",
    )
    limits = sorted(spec.max_success_rate_at.items())
    if limits:
        axes.plot(
            [budget for budget, _ in limits],
            [limit for _, limit in limits],
            "v",
            color="tab:red",
            markersize=9,
            linestyle="none",
            label="max rate at budget",
        )
    highest = max([p.high for p in curve] + [spec.threshold] + [r for _, r in limits])
    axes.set_xscale("log")
    axes.set_xticks(budgets, [f"{budget:,}" for budget in budgets])
    axes.set_ylim(0.0, min(1.0, 1.15 * highest) or 1.0)
    axes.set_xlabel("queries per image (log scale)")
    axes.set_ylabel("success rate")
    axes.set_title(f"{outcome.name}: robustness curve")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="best", fontsize="small")
