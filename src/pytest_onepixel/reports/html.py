"""The HTML report: one self-contained page for a run's gates, to attach to a CI job or a
release ticket.

Everything the page shows is inside the file: CSS inline, pictures as data: URIs, curves as
inline SVG, no scripts. A reviewer can open it offline, from an artifact store or an e-mail,
years later, and see what the gate saw. It is built from `GateOutcome`s only, so a report read
back from JSON (a merge of shards, a baseline) renders the same page as the run itself. Every
text that comes from a user or a model (gate names, class names, reasons, settings) is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from html import escape
from string import Template
from typing import TYPE_CHECKING, Any

from ..gate.status import GateStatus
from .gallery import caption
from .text import TABLE_COLUMNS, summary_row

if TYPE_CHECKING:
    from ..gate.outcome import Comparison, Example, GateOutcome

#: The terminal table's columns (text.TABLE_COLUMNS) with the status after the gate's name and
#: whether the outcome came from the cache in place of its seconds: built from that list so the
#: two tables cannot drift apart.
COLUMNS = ("gate", "status", *TABLE_COLUMNS[1:-1], "cached")
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-bottom: 0.3em; } h3 { margin: 1em 0 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
table.kv td { text-align: left; font-family: ui-monospace, monospace; font-size: 12px; }
section.gate { border-top: 2px solid #ccc; margin-top: 2em; padding-top: 0.5em; }
.status { padding: 0.1em 0.5em; border-radius: 0.3em; font-size: 0.8em; color: white; }
.passed .status, tr.passed td.status { background: #2e7d32; color: white; }
.failed .status, tr.failed td.status { background: #c62828; color: white; }
.error .status, tr.error td.status { background: #ef6c00; color: white; }
.not-run .status, tr.not-run td.status { background: #757575; color: white; }
td.status { text-align: center; font-size: 1em; border-radius: 0; }
pre.error { background: #fff3e0; padding: 0.6em; white-space: pre-wrap; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; }
figure.pair { margin: 0; } figure.pair figcaption { font-size: 12px; }
img.example { image-rendering: pixelated; border: 1px solid #ddd; margin-right: 2px; }
figure.curve svg { max-width: 100%; height: auto; }
.muted { color: #666; }
"""
PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$style</style>
</head>
<body>
$body
</body>
</html>
"""
)


def html_report(
    outcomes: Sequence[GateOutcome],
    title: str,
    created: str,
    curves: Mapping[str, str] | None = None,
) -> str:
    """The page: a summary table with a row per gate, then a section per gate. `curves` maps a
    gate's key (`outcome.key`) to its curve's SVG text (reports/curve_plot.py), shown inline; it is
    trusted markup, unlike every other text, which is escaped."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.key)
    curves = curves or {}
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">created {escape(created)}; {len(ordered)} gate(s)</p>',
        _summary_table(ordered),
        *(_section(outcome, curves.get(outcome.key)) for outcome in ordered),
    ]
    return PAGE.substitute(title=escape(title), style=STYLE, body="\n".join(body))


def section_id(key: str) -> str:
    """A gate section's element id: readable from the key, unique by a hash of it (two node ids
    may differ only in characters an id leaves out)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")[:60]
    return f"gate-{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def _summary_table(outcomes: Sequence[GateOutcome]) -> str:
    """The terminal's summary table (text.summary_row) with the status and cache columns."""
    head = "".join(f"<th>{escape(column)}</th>" for column in COLUMNS)
    rows = []
    for outcome in outcomes:
        name, *numbers = summary_row(outcome)[:-1]
        link = f'<a href="#{section_id(outcome.key)}">{escape(name)}</a>'
        cells = [
            f"<td>{link}</td>",
            f'<td class="status">{escape(outcome.status)}</td>',
            *(f"<td>{escape(value)}</td>" for value in numbers),
            f"<td>{'yes' if outcome.cached else 'no'}</td>",
        ]
        rows.append(f'<tr class="{_status_class(outcome)}">{"".join(cells)}</tr>')
    return f'<table class="summary"><tr>{head}</tr>\n{chr(10).join(rows)}\n</table>'


def _section(outcome: GateOutcome, svg: str | None) -> str:
    """Everything about one gate, in the order a reviewer asks: verdict, why, what was found,
    how it was run."""
    parts = [
        f'<section class="gate {_status_class(outcome)}" id="{section_id(outcome.key)}" '
        f'data-gate="{escape(outcome.name)}">',
        f'<h2>{escape(outcome.name)} <span class="status">{escape(outcome.status)}</span></h2>',
    ]
    if outcome.nodeid:
        parts.append(f'<p class="muted"><code>{escape(outcome.nodeid)}</code></p>')
    parts.append(_verdict(outcome))
    parts.extend(_list("reasons", outcome.reasons))
    parts.extend(_list("notes", outcome.notes))
    if outcome.error:
        parts.append(f'<pre class="error">{escape(outcome.error)}</pre>')
    if outcome.compare is not None:
        parts.append(_comparison(outcome.compare))
    if outcome.examples:
        parts.append(_gallery(outcome.examples))
    if svg:
        parts.append(
            f'<h3>robustness curve</h3>\n<figure class="curve">{_inline_svg(svg)}</figure>'
        )
    changed = outcome.settings.changed() if outcome.settings else {}
    measured = outcome.measured.to_json() if outcome.measured else {}
    for heading, values, encode in (
        ("settings (all others at their defaults)", changed, True),
        ("measured", measured, True),
        ("model", outcome.model, False),
        ("data", outcome.data, False),
    ):
        if values:
            parts.append(f"<h3>{heading}</h3>\n{_key_values(values, encode)}")
    parts.append("</section>")
    return "\n".join(parts)


def _verdict(outcome: GateOutcome) -> str:
    """One sentence: the rate against the threshold, or why there is no rate."""
    summary, spec = outcome.summary, outcome.spec
    if summary is None or spec is None:
        errored = outcome.status == GateStatus.ERROR
        what = "could not run" if errored else "was collected but not run"
        return f"<p><strong>No verdict:</strong> the gate {what}.</p>"
    low, high = summary.interval
    return (
        f"<p><strong>{escape(outcome.status.capitalize())}</strong> ({escape(spec.mode)} mode): "
        f"{summary.successes} of {summary.attacked} attacked images fooled, success rate "
        f"{summary.success_rate:.3f}, {spec.level:.0%} interval [{low:.3f}, {high:.3f}], "
        f"threshold {spec.threshold:.3f}; clean accuracy {summary.clean_accuracy:.3f} over "
        f"{summary.sampled} sampled; {summary.queries_used:,} queries in "
        f"{outcome.seconds:.1f} s{' (cached)' if outcome.cached else ''}.</p>"
    )


def _list(heading: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    entries = "".join(f"<li>{escape(item)}</li>" for item in items)
    return [f"<h3>{heading}</h3>\n<ul>{entries}</ul>"]


def _comparison(compare: Comparison) -> str:
    """The baseline comparison: rates before and now, the change and its verdict."""
    rows = {
        "baseline": "-" if compare.baseline is None else f"{compare.baseline:.3f}",
        "now": f"{compare.now:.3f}",
        "change": "new gate" if compare.change is None else f"{compare.change:+.3f}",
        "verdict": "pass" if compare.passed else "FAIL",
        "reason": compare.reason,
    }
    return f"<h3>against the baseline</h3>\n{_key_values(rows, encode=False)}"


def _gallery(examples: Sequence[Example]) -> str:
    """Each example's clean and adversarial cells side by side, with what the model said."""
    figures = []
    for example in examples:
        changes = "; ".join(
            f"({row}, {col}) = [{', '.join(f'{v:g}' for v in values)}]"
            for row, col, values in example.pixels
        )
        where = f"image {example.index}" + (f", {example.file}" if example.file else "")
        figures.append(
            '<figure class="pair">'
            f"{_image(example.clean_png, f'{where}, clean')}"
            f"{_image(example.adversarial_png, f'{where}, adversarial')}"
            f"<figcaption><strong>{escape(caption(example, '→'))}</strong><br>"
            f"{escape(where)}<br>pixel {escape(changes)}</figcaption></figure>"
        )
    heading = "<h3>most confident adversarial examples</h3>"
    return f'{heading}\n<div class="gallery">{"".join(figures)}</div>'


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="example" src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def _key_values(values: Mapping[str, Any], encode: bool) -> str:
    """A compact two-column table, in the mapping's order; `encode` shows values as JSON
    (settings hold lists, None, numbers and strings, which JSON tells apart)."""
    rows = []
    for key, value in values.items():
        shown = json.dumps(value, sort_keys=True, default=str) if encode else str(value)
        rows.append(f"<tr><td>{escape(str(key))}</td><td>{escape(shown)}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _inline_svg(svg: str) -> str:
    """The <svg> element of an SVG document, for HTML: without the XML prolog and doctype, and
    without namespace declarations, which HTML implies and which would be the page's only
    http:// strings."""
    element = svg[svg.index("<svg") :]
    head, _, rest = element.partition(">")
    return re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", head) + ">" + rest


def _status_class(outcome: GateOutcome) -> str:
    """The status as a CSS class: "not run" becomes "not-run"."""
    return outcome.status.replace(" ", "-")
