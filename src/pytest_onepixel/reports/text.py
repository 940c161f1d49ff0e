"""What a user reads in the terminal: a failed gate's text, the summary table, comparisons.

All of it is rendered from `GateOutcome`s, the form that crosses from pytest-xdist workers, so a
run on one process and on many prints the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..gate.compare import OTHER_DATA

if TYPE_CHECKING:
    from ..gate.outcome import GateOutcome, Summary
    from ..result import ImageRecord

#: Characters a terminal acts on rather than shows: C0 and C1 controls, DEL, and the Unicode
#: format characters that reorder or hide text (bidi overrides and isolates, zero-width marks).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def terminal_text(text: object) -> str:
    """`text` on one line, safe to print: every control character (a newline too) shown as an
    escape (`\\x1b`), so a gate name or message read from a report cannot move the cursor,
    clear the screen or hide text. Every string the terminal table and `pytest-onepixel`
    print passes through here."""
    return _CONTROL.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


EXAMPLES_SHOWN = 3
#: Undecided images a failure text lists by name (the JSON report has them all).
UNDECIDED_SHOWN = 5
TABLE_COLUMNS = (
    "gate",
    "attacked",
    "successes",
    "rate",
    "interval",
    "threshold",
    "mode",
    "search",
    "verdict",
    "queries",
    "s",
)


def failure_text(outcome: GateOutcome, report_path: Path | None) -> str:
    """The report of a failed gate: verdict, the numbers behind it, the worst images."""
    summary, settings, spec = outcome.summary, outcome.settings, outcome.spec
    low, high = summary.interval
    lines = [
        f"onepixel gate {outcome.name!r} FAILED ({spec.mode} mode):",
        *(f"  - {reason}" for reason in outcome.reasons),
        *(f"  note: {note}" for note in outcome.notes),
        f"  model:        {outcome.model['description']}",
        f"  images:       {summary.attacked} attacked of {summary.sampled} sampled "
        f"(clean accuracy {summary.clean_accuracy:.3f}; only correctly classified images "
        "are attacked)",
        f"  successes:    {summary.successes} of {summary.attacked} -> success rate "
        f"{summary.success_rate:.3f}, {spec.level:.0%} interval [{low:.3f}, {high:.3f}] "
        f"(threshold {spec.threshold:.3f})",
        f"  queries:      {summary.queries_used:,} (budget {settings.budget} per image, "
        f"{settings.pixels} pixel(s), seed {settings.seed})",
    ]
    if summary.rejected:
        lines.append(
            f"  rejected:     {summary.rejected} success(es) found by the search and not "
            "confirmed by a re-query (not counted)"
        )
    if summary.bracket is not None:
        lines.append(
            f"  certify:      {certify_text(summary)} (exact for each image; the interval above "
            "is over the sample)"
        )
        lines.extend(undecided_lines(outcome.records, settings.certify_budget))
    examples = most_confident(outcome.records)
    if examples:
        lines.append("  most confident adversarial examples:")
        lines.extend(f"    {example_text(record)}" for record in examples)
    where = f"{report_path}" if report_path else "not written (add --onepixel-report PATH)"
    lines.append(f"  JSON report:  {where}")
    return "\n".join(lines)


def certify_text(summary: Summary) -> str:
    """A certify gate's outcomes and its vulnerability bracket, in one phrase."""
    return (
        f"{summary.successes} fooled, {summary.certified} certified, {summary.undecided} "
        f"undecided of {summary.attacked} attacked -> vulnerability bracket "
        f"{bracket_text(summary.bracket)}"
    )


def bracket_text(bracket: tuple[float, float]) -> str:
    low, high = bracket
    return f"[{low:.3f}, {high:.3f}]"


def undecided_lines(
    records: Sequence[ImageRecord], budget: int, count: int = UNDECIDED_SHOWN
) -> list[str]:
    """Where the proof of each undecided image stopped (the first `count`, then how many more)."""
    undecided = [record for record in records if record.outcome == "undecided"]
    lines = [f"    {stopped_text(record, budget)}" for record in undecided[:count]]
    if len(undecided) > count:
        lines.append(f"    ... and {len(undecided) - count} more (records[].proof in the report)")
    return ["  undecided:    where each image's proof stopped", *lines] if lines else []


def stopped_text(record: ImageRecord, budget: int) -> str:
    """Where one image's proof search stopped: what was left and what it spent."""
    proof = record.proof or {}
    where = f"image {record.index}" + (f" ({terminal_text(record.file)})" if record.file else "")
    return (
        f"{where}: {proof.get('positions_left', 0):,} position(s) and "
        f"{proof.get('boxes_left', 0):,} box(es) left after {proof.get('passes', 0):,} of "
        f"{budget:,} model-pass equivalents"
    )


def most_confident(
    records: Sequence[ImageRecord], count: int = EXAMPLES_SHOWN
) -> list[ImageRecord]:
    """The successes the model is most sure of, most confident first."""
    successes = [r for r in records if r.success]
    successes.sort(key=lambda r: -(r.adversarial_confidence or 0.0))
    return successes[:count]


def example_text(record: ImageRecord) -> str:
    changes = ", ".join(
        f"({row}, {col}) = {_values_text(values)}" for row, col, values in record.pixels
    )
    return (
        f"image {record.index}: {record.label} -> {record.adversarial_label} "
        f"(p={record.adversarial_confidence:.2f}) with pixel {changes}"
    )


def _values_text(values: Sequence[float]) -> str:
    shown = [f"{v:g}" for v in values]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def summary_row(outcome: GateOutcome) -> tuple[str, ...]:
    """One gate's row; `attacked` reads m/N when an early verdict stopped after m of N, and a
    certify gate's `rate` is its vulnerability bracket [fooled, attacked - certified] / attacked
    (its counts are on a line under the table)."""
    summary = outcome.summary
    if summary is None:
        status = outcome.status.value.upper()
        return (outcome.name, *["-"] * 7, status, "-", f"{outcome.seconds:.1f}")
    low, high = summary.interval
    attacked = str(summary.attacked)
    if summary.skipped:
        attacked += f"/{summary.attacked + summary.skipped}"
    return (
        outcome.name,
        attacked,
        str(summary.successes),
        f"{summary.success_rate:.3f}" if summary.bracket is None else bracket_text(summary.bracket),
        f"[{low:.3f}, {high:.3f}]",
        f"{outcome.threshold:.3f}",
        outcome.spec.mode,
        outcome.settings.search,
        _verdict_cell(outcome),
        f"{summary.queries_used:,}",
        "cached" if outcome.cached else f"{outcome.seconds:.1f}",
    )


def _verdict_cell(outcome: GateOutcome) -> str:
    if outcome.shard is not None:
        return f"shard {outcome.shard['index']}/{outcome.shard['count']}"
    return "pass" if outcome.passed else "FAIL"


def table_lines(outcomes: Sequence[GateOutcome]) -> list[str]:
    """One row per gate, sorted by test id so that runs on one process and under
    pytest-xdist (where gates finish in any order) print the same table; notes below it."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.key)
    lines = format_table([TABLE_COLUMNS, *(summary_row(o) for o in ordered)])
    for outcome in ordered:
        lines.extend(terminal_text(f"note ({outcome.name}): {note}") for note in outcome.notes)
    lines.extend(
        terminal_text(f"certify ({outcome.name}): {certify_text(outcome.summary)}")
        for outcome in ordered
        if outcome.summary is not None and outcome.summary.bracket is not None
    )
    return lines


def compare_lines(outcomes: Sequence[GateOutcome]) -> list[str]:
    """A row per compared gate: baseline rate, new rate, change, verdict of the comparison."""
    rows = [("gate", "baseline", "now", "change", "verdict")]
    notes = []
    for outcome in sorted(outcomes, key=lambda o: o.key):
        c = outcome.compare
        if c is None:
            continue
        if c.baseline is None:
            rows.append((outcome.name, "-", f"{c.now:.3f}", "new", "pass"))
            continue
        verdict = "pass" if c.passed else "FAIL"
        rows.append(
            (outcome.name, f"{c.baseline:.3f}", f"{c.now:.3f}", f"{c.change:+.3f}", verdict)
        )
        if OTHER_DATA in c.reason:
            note = f"note ({outcome.name}): {OTHER_DATA}: the rates come from different images"
            notes.append(terminal_text(note))
    return [*format_table(rows), *notes]


def format_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Fixed-width columns: the first left-aligned, the rest right-aligned, a rule under the
    header row. Every cell is made safe for the terminal first (`terminal_text`)."""
    rows = [[terminal_text(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([row[0].ljust(widths[0]), *rest])

    return [line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])]
