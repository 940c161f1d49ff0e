"""The HTML report: one self-contained page for a run's gates, to attach to a CI job or a
release ticket.

Everything the page shows is inside the file: CSS inline, pictures as data: URIs, curves as
inline SVG, no scripts. A reviewer can open it offline, from an artifact store or an e-mail,
years later, and see what the gate saw. It is built from `GateOutcome`s only, so a report read
back from JSON (a merge of shards, a baseline) renders the same page as the run itself.

Every text comes from a user, a model or a report file someone may have edited, so none of it
is trusted: this module only gathers plain values, and the page is rendered by Jinja2 with
autoescape on (reports/html_template.py), which escapes each of them where it is placed. The
one exception is the curve's SVG, embedded as markup once reports/inline_svg.py has checked it.
Jinja2 is imported when a page is rendered, not when pytest starts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from ..gate.status import GateStatus
from . import html_template
from .gallery import caption
from .inline_svg import inline_svg
from .names import slug
from .text import TABLE_COLUMNS, bracket_text, certify_text, summary_row

if TYPE_CHECKING:
    from jinja2 import Template

    from ..gate.outcome import Comparison, Example, GateOutcome
    from ..result import ImageRecord

#: The terminal table's columns (text.TABLE_COLUMNS) with the status after the gate's name and
#: whether the outcome came from the cache in place of its seconds: built from that list so the
#: two tables cannot drift apart.
COLUMNS = ("gate", "status", *TABLE_COLUMNS[1:-1], "cached")
#: A status's CSS class; a status that is none of these (a doctored report) gets "unknown".
STATUS_CLASSES = {status: status.value.replace(" ", "-") for status in GateStatus}

#: The columns of a certify gate's table of attacked images: what became of each, and what its
#: proof search spent (the record's `proof`).
IMAGE_COLUMNS = (
    "image",
    "file",
    "label",
    "outcome",
    "found by",
    "model passes",
    "proof queries",
    "boxes",
    "positions left",
    "boxes left",
)

#: Why a gate has no verdict, by status.
NO_VERDICT = {
    GateStatus.ERROR: "could not run",
    GateStatus.DESELECTED: "was deselected in this run (-k, -m or --deselect)",
}


def html_report(
    outcomes: Sequence[GateOutcome],
    title: str,
    created: str,
    curves: Mapping[str, str] | None = None,
) -> str:
    """The page: a summary table with a row per gate, then a section per gate. `curves` maps a
    gate's key (`outcome.key`) to its curve's SVG text (reports/curve_plot.py), shown inline
    when reports/inline_svg.py accepts it; every other text is escaped by the template."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.key)
    curves = curves or {}
    gates = [_gate(outcome, curves.get(outcome.key)) for outcome in ordered]
    page = _template(html_template.PAGE)
    return page.render(
        title=title, created=created, columns=COLUMNS, image_columns=IMAGE_COLUMNS, gates=gates
    )


def verdict_html(outcome: GateOutcome) -> str:
    """A gate's verdict and reasons as an HTML snippet (the pytest-html extra), escaped by the
    same template layer as the page."""
    return _template(html_template.VERDICT).render(
        name=outcome.name, status=str(outcome.status), reasons=[*outcome.reasons, *outcome.notes]
    )


@cache
def _template(source: str) -> Template:
    """A template of html_template.py, compiled once, escaping every value (autoescape) and
    refusing an undefined one (a misspelt field is an error, not an empty cell)."""
    from jinja2 import Environment, StrictUndefined

    environment = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.from_string(source)


def section_id(key: str) -> str:
    """A gate section's element id: readable from the key, unique by a hash of it (two node ids
    may differ only in characters an id leaves out)."""
    return "gate-" + slug(key, unsafe=r"[^A-Za-z0-9_-]+", fill="-")


def _gate(outcome: GateOutcome, svg: str | None) -> dict[str, Any]:
    """Everything the page shows about one gate, as plain values, in the order a reviewer asks:
    verdict, why, what was found, how it was run."""
    name, *numbers = summary_row(outcome)[:-1]
    svg_markup, svg_problem = _curve(svg)
    return {
        "name": name,
        "id": section_id(outcome.key),
        "css": STATUS_CLASSES.get(outcome.status, "unknown"),
        "status": str(outcome.status),
        "row": [str(outcome.status), *numbers, "yes" if outcome.cached else "no"],
        "nodeid": outcome.nodeid,
        "verdict": _verdict(outcome),
        "no_verdict": NO_VERDICT.get(outcome.status, "was collected but not run"),
        "reasons": list(outcome.reasons),
        "notes": list(outcome.notes),
        "error": outcome.error,
        "compare": _comparison(outcome.compare) if outcome.compare is not None else None,
        "examples": [_example(example) for example in outcome.examples],
        "svg": svg_markup,
        "svg_problem": svg_problem,
        "tables": _tables(outcome),
        "certify": _certify(outcome),
        "images": _images(outcome.records),
    }


def _verdict(outcome: GateOutcome) -> dict[str, str] | None:
    """One sentence: the rate against the threshold (None when there is no rate)."""
    summary, spec = outcome.summary, outcome.spec
    if summary is None or spec is None:
        return None
    low, high = summary.interval
    text = (
        f"{summary.successes} of {summary.attacked} attacked images fooled, success rate "
        f"{summary.success_rate:.3f}, {spec.level:.0%} interval [{low:.3f}, {high:.3f}], "
        f"threshold {spec.threshold:.3f}; clean accuracy {summary.clean_accuracy:.3f} over "
        f"{summary.sampled} sampled; {summary.queries_used:,} queries in "
        f"{outcome.seconds:.1f} s{' (cached)' if outcome.cached else ''}."
    )
    if summary.bracket is not None:
        text += f" Exact verdict per image: {certify_text(summary)}."
    return {"word": str(outcome.status).capitalize(), "mode": str(spec.mode), "text": text}


def _certify(outcome: GateOutcome) -> list[tuple[str, str]] | None:
    """A certify gate's outcome counts and vulnerability bracket (None for other gates)."""
    summary = outcome.summary
    if summary is None or summary.bracket is None:
        return None
    return [
        ("attacked", str(summary.attacked)),
        ("fooled", str(summary.successes)),
        ("certified", str(summary.certified)),
        ("undecided", str(summary.undecided)),
        ("vulnerability bracket", bracket_text(summary.bracket)),
        ("certify_budget", f"{outcome.settings.certify_budget:,} model-pass equivalents per image"),
    ]


def _images(records: Sequence[ImageRecord]) -> list[tuple[str, ...]]:
    """One row per image with a certify outcome: what became of it and what its proof spent."""
    rows = []
    for record in records:
        if record.outcome is None:
            continue
        proof = record.proof or {}
        spent = (
            f"{proof[key]:,}" if key in proof else "-"
            for key in ("passes", "queries", "boxes", "positions_left", "boxes_left")
        )
        found_by = proof.get("found_by") or "-"
        rows.append(
            (
                str(record.index),
                record.file or "-",
                str(record.label),
                record.outcome,
                found_by,
                *spent,
            )
        )
    return rows


def _comparison(compare: Comparison) -> list[tuple[str, str]]:
    """The baseline comparison: rates before and now, the change and its verdict."""
    return [
        ("baseline", "-" if compare.baseline is None else f"{compare.baseline:.3f}"),
        ("now", f"{compare.now:.3f}"),
        ("change", "new gate" if compare.change is None else f"{compare.change:+.3f}"),
        ("verdict", "pass" if compare.passed else "FAIL"),
        ("reason", str(compare.reason)),
    ]


def _example(example: Example) -> dict[str, str]:
    """One example's clean and adversarial cells (PNG data URIs) and what the model said."""
    changes = "; ".join(
        f"({row}, {col}) = [{', '.join(f'{v:g}' for v in values)}]"
        for row, col, values in example.pixels
    )
    return {
        "clean": _data_uri(example.clean_png),
        "adversarial": _data_uri(example.adversarial_png),
        "where": f"image {example.index}" + (f", {example.file}" if example.file else ""),
        "caption": caption(example, "→"),
        "changes": changes,
    }


def _data_uri(png: bytes) -> str:
    """PNG bytes as a data: URI; base64 has no character that escaping would change."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _tables(outcome: GateOutcome) -> list[tuple[str, list[tuple[str, str]]]]:
    """How the gate was run: settings not at their defaults and what was measured (as JSON,
    which tells lists, None, numbers and strings apart), then the model's and the data's
    description and hashes; empty tables are left out."""
    changed = outcome.settings.changed() if outcome.settings else {}
    measured = outcome.measured.to_json() if outcome.measured else {}
    tables = []
    for heading, values, encode in (
        ("settings (all others at their defaults)", changed, True),
        ("measured", measured, True),
        ("model", outcome.model, False),
        ("data", outcome.data, False),
    ):
        rows = [(str(key), _shown(value, encode)) for key, value in values.items()]
        if rows:
            tables.append((heading, rows))
    return tables


def _shown(value: Any, encode: bool) -> str:
    return json.dumps(value, sort_keys=True, default=str) if encode else str(value)


def _curve(svg: str | None) -> tuple[str | None, str | None]:
    """(the curve's <svg> element to embed, None) when it is a plain drawing; (None, why) when
    it is not; (None, None) when the gate has no curve."""
    if not svg:
        return None, None
    try:
        return inline_svg(svg), None
    except ValueError as error:
        return None, f"its SVG is not a plain drawing ({error})"
