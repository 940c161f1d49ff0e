"""A JSON report file read as untrusted input: the one reader behind `pytest-onepixel show`,
`compare`, `html` and `merge` and the `--onepixel-compare` baseline.

The document and every gate in it go through the schema check (gate/report_schema.py,
`GateOutcome.from_json`); whatever does not fit is one `ReportError` naming the file and the
field, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ReportError
from .outcome import GateOutcome
from .report_schema import SCHEMA_VERSION, Fields, certify_fields, found

#: The document's own fields and their kinds (unknown fields are left alone: a newer writer's).
DOCUMENT_KINDS = {
    "pytest_onepixel_version": "text",
    "created": "text",
    "options": "object",
    "state": "text",
    "interrupted": "flag",
    "signal": "text",
    "usage_error": "text",
    "shard": "object",
}


def read_document(path: Path) -> tuple[dict[str, Any], list[GateOutcome]]:
    """A JSON report and its gates, each checked; a ReportError names the file and the field."""
    document = _load(path)
    try:
        return document, gates_of(document)
    except ReportError as error:
        raise ReportError(
            f"{path} is not a pytest-onepixel JSON report this version can read: {error}. "
            "Give a report pytest wrote with --onepixel-report (an edited or truncated one is "
            "refused), or run the gates again to write a new one."
        ) from None


def gates_of(document: object) -> list[GateOutcome]:
    """The gates of a report document (a ReportError names the field that does not fit)."""
    if not isinstance(document, dict):
        raise ReportError(f"it holds {found(document)}, not a JSON object with `gates`")
    top = Fields(document, "")
    schema = top.get("schema_version", "count", SCHEMA_VERSION)
    if schema < SCHEMA_VERSION:
        raise ReportError(
            f"it was written by an older pytest-onepixel (report schema {schema}, whose "
            f"settings mix what was asked with what was measured); this version reads schema "
            f"{SCHEMA_VERSION}: run the gates again to make a new report"
        )
    if schema > SCHEMA_VERSION:
        raise ReportError(
            f"it was written by a newer pytest-onepixel (report schema {schema}); this version "
            f"reads schema {SCHEMA_VERSION}: upgrade pytest-onepixel to read it"
        )
    for key, kind in DOCUMENT_KINDS.items():
        top.get(key, kind, None, null=True)
    return [_gate(Fields(entry, where)) for where, entry in top.items("gates", "object")]


def _gate(entry: Fields) -> GateOutcome:
    """One gate, its fields typed (`GateOutcome.from_json`) and, when it ran, its certify
    outcomes agreeing with its settings and summary (report_schema.certify_fields)."""
    gate = GateOutcome.from_json(entry.data, entry.path)
    if gate.settings is not None and gate.summary is not None:
        certify_fields(entry, gate.records, gate.settings)
    return gate


def _load(path: Path) -> object:
    """The file's JSON; a ReportError names the file when it is missing, unreadable or not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"no such report: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path} cannot be read ({error}).") from None
    if not text.strip():
        raise ReportError(f"{path} is not a pytest-onepixel JSON report: the file is empty.")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
        where = (
            f" at line {error.lineno} column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise ReportError(
            f"{path} is not a pytest-onepixel JSON report: it is not JSON ({reason}{where})."
        ) from None
