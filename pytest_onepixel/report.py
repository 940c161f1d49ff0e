"""What a user reads: the failure text of a gate, the summary table, and the JSON report.

All three are built from the outcome dicts of runner.py, the form that crosses from
pytest-xdist workers, so a run on one process and on many prints and writes the same thing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
EXAMPLES_SHOWN = 3


def failure_text(outcome: Mapping[str, Any], report_path: Path | None) -> str:
    """The report of a failed gate: verdict, the numbers behind it, the worst images."""
    summary, settings = outcome["summary"], outcome["settings"]
    low, high = summary["interval"]
    mode = outcome["gate"]["mode"]
    lines = [
        f"onepixel gate {outcome['name']!r} FAILED ({mode} mode):",
        *(f"  - {reason}" for reason in outcome["reasons"]),
        f"  model:        {outcome['model']['description']}",
        f"  images:       {summary['attacked']} attacked of {summary['sampled']} sampled "
        f"(clean accuracy {summary['clean_accuracy']:.3f}; only correctly classified images "
        "are attacked)",
        f"  successes:    {summary['successes']} of {summary['attacked']} -> success rate "
        f"{summary['success_rate']:.3f}, {outcome['gate']['confidence']:.0%} interval "
        f"[{low:.3f}, {high:.3f}] (threshold {outcome['threshold']:.3f})",
        f"  queries:      {summary['queries_used']:,} (budget {settings['budget']} per image, "
        f"{settings['pixels']} pixel(s), seed {settings['seed']})",
    ]
    examples = most_confident(outcome["records"])
    if examples:
        lines.append("  most confident adversarial examples:")
        lines.extend(f"    {example_text(record)}" for record in examples)
    where = f"{report_path}" if report_path else "not written (add --onepixel-report PATH)"
    lines.append(f"  JSON report:  {where}")
    return "\n".join(lines)


def most_confident(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    successes = [r for r in records if r["success"]]
    successes.sort(key=lambda r: -r["adversarial_confidence"])
    return successes[:EXAMPLES_SHOWN]


def example_text(record: Mapping[str, Any]) -> str:
    changes = ", ".join(
        f"({p['row']}, {p['col']}) = {_values_text(p['values'])}" for p in record["pixels"]
    )
    return (
        f"image {record['index']}: {record['label']} -> {record['adversarial_label']} "
        f"(p={record['adversarial_confidence']:.2f}) with pixel {changes}"
    )


def _values_text(values: Sequence[float]) -> str:
    shown = [f"{v:g}" for v in values]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


TABLE_COLUMNS = (
    "gate",
    "attacked",
    "successes",
    "rate",
    "interval",
    "threshold",
    "mode",
    "verdict",
    "queries",
    "s",
)


def summary_rows(outcomes: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    """One row per gate; `attacked` reads m/N when an early verdict stopped after m of N."""
    rows = []
    for outcome in outcomes:
        summary = outcome["summary"]
        low, high = summary["interval"]
        attacked = str(summary["attacked"])
        if summary["skipped"]:
            attacked += f"/{summary['attacked'] + summary['skipped']}"
        rows.append(
            (
                outcome["name"],
                attacked,
                str(summary["successes"]),
                f"{summary['success_rate']:.3f}",
                f"[{low:.3f}, {high:.3f}]",
                f"{outcome['threshold']:.3f}",
                outcome["gate"]["mode"],
                "pass" if outcome["passed"] else "FAIL",
                f"{summary['queries_used']:,}",
                f"{outcome['seconds']:.1f}",
            )
        )
    return rows


def table_lines(outcomes: Sequence[Mapping[str, Any]]) -> list[str]:
    """One row per gate, sorted by test id so that runs on one process and under
    pytest-xdist (where gates finish in any order) print the same table."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.get("nodeid", outcome["name"]))
    return format_table([TABLE_COLUMNS, *summary_rows(ordered)])


def format_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Fixed-width columns: the first left-aligned, the rest right-aligned, a rule under the
    header row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([row[0].ljust(widths[0]), *rest])

    return [line(rows[0]), "  ".join("-" * w for w in widths), *(line(r) for r in rows[1:])]


def report_document(
    outcomes: Sequence[Mapping[str, Any]], options: Mapping[str, Any], version: str
) -> dict[str, Any]:
    """The JSON report: versioned schema, session options, one entry per gate with records."""
    return {
        "schema_version": SCHEMA_VERSION,
        "pytest_onepixel_version": version,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "options": dict(options),
        "gates": [dict(outcome) for outcome in outcomes],
    }


def write_atomically(path: Path, document: Mapping[str, Any]) -> None:
    """Write JSON to a temp file beside `path`, then rename: readers never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
