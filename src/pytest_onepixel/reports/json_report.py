"""The JSON report: a versioned document with session options and one entry per gate,
written atomically (temp file + rename) so a reader never sees half a report."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..gate.report_schema import SCHEMA_VERSION  # kept with the schema check

if TYPE_CHECKING:
    from ..gate.outcome import GateOutcome

__all__ = [
    "SCHEMA_VERSION",
    "read_report",
    "report_document",
    "write_atomically",
    "write_text_atomically",
]


def report_document(
    outcomes: Sequence[GateOutcome], options: Mapping[str, Any], version: str
) -> dict[str, Any]:
    """The JSON report: versioned schema, session options, one entry per gate by node id."""
    return {
        "schema_version": SCHEMA_VERSION,
        "pytest_onepixel_version": version,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "options": dict(options),
        "gates": [outcome.to_json() for outcome in sorted(outcomes, key=lambda o: o.key)],
    }


def write_atomically(path: Path, document: Mapping[str, Any]) -> None:
    """Write the JSON report so that readers never see half of it."""
    write_text_atomically(path, json.dumps(document, indent=2) + "\n")


def write_text_atomically(path: Path, text: str) -> None:
    """Write to a temp file beside `path`, then rename; with the permissions the umask gives."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a report is for everyone
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_report(path: Path) -> tuple[dict[str, Any], list[GateOutcome]]:
    """A JSON report and its gates, read as untrusted input (gate/report_reader.py): a
    ConfigError (ReportError) names the file and the field that does not fit the schema."""
    from ..gate.report_reader import read_document

    return read_document(path)
