"""The report schema as a check: every report, baseline, shard or cache entry the plugin reads is
untrusted input (DESIGN.md, "Trust"), so each field is read with its type and range checked.

`Fields` reads one JSON object field by field; a value that does not fit raises `ReportError`,
whose message names the field's path and what was found
(`gates[2].summary.success_rate: expected a number, found '0.0'`). The readers of the types
defined outside gate/outcome.py (image records, the measured block, the gate's criteria, curve
points, a shard's header, settings) live here; `GateOutcome.from_json` (gate/outcome.py) reads
the rest with them. A caller that knows the file (gate/report_reader.py) adds its name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError, ReportError
from ..result import ImageRecord, Measured
from ..settings.gate_settings import GateSettings
from . import GATE_MODES
from .robustness_curve import CurvePoint
from .spec import GateSpec

#: 2: every gate has a `status`; `notes`; gates sorted by node id; `interrupted`, `signal`.
#: 3: a gate's `settings` hold exactly what was asked, its `measured` block what the attack found
#: out (batch, backend, twin, model check, population, layouts), `full` whether every image ran.
SCHEMA_VERSION = 3


_MISSING = object()
#: A `default` that makes a field required (the default of `Fields.get`).
REQUIRED = _MISSING


def found(value: object) -> str:
    """What a message says was found: a short repr (control characters escaped by repr)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:45]}... ({len(text):,} characters)"


#: Rates and probabilities computed in float32 may pass 1 by a rounding step.
_SLACK = 1e-6


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


#: Each kind: what a message expects, and the test a value passes.
KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "text": ("a string", lambda v: isinstance(v, str)),
    "flag": ("true or false", lambda v: isinstance(v, bool)),
    "count": ("a non-negative integer", lambda v: _is_int(v) and v >= 0),
    "positive": ("a positive integer", lambda v: _is_int(v) and v > 0),
    "number": ("a number", _is_number),
    "seconds": ("a non-negative number", lambda v: _is_number(v) and v >= 0),
    "rate": ("a number in [0, 1]", lambda v: _is_number(v) and -_SLACK <= v <= 1 + _SLACK),
    "change": ("a number in [-1, 1]", lambda v: _is_number(v) and -1 - _SLACK <= v <= 1 + _SLACK),
    "object": ("an object", lambda v: isinstance(v, Mapping)),
    "list": ("a list", lambda v: isinstance(v, list)),
}


def checked(value: object, kind: str, path: str) -> Any:
    """`value` if it is of `kind`; a ReportError naming `path` otherwise."""
    expected, test = KINDS[kind]
    if not test(value):
        raise ReportError(f"{path}: expected {expected}, found {found(value)}")
    return float(value) if kind in ("number", "rate", "change", "seconds") else value


@dataclass(frozen=True)
class Fields:
    """One JSON object of a report, read field by field with each field's type checked."""

    data: Mapping[str, Any]
    path: str

    @classmethod
    def of(cls, value: object, path: str) -> Fields:
        return cls(checked(value, "object", path), path)

    def where(self, key: object) -> str:
        """The path of field `key` (a key that is not a plain name is shown as its repr, so a
        message never carries a report's control characters)."""
        name = key if isinstance(key, str) and key.isidentifier() else found(key)
        return f"{self.path}.{name}" if self.path else name

    def get(self, key: str, kind: str, default: Any = _MISSING, null: bool = False) -> Any:
        """The field `key`, of `kind` (or None when `null`); `default` when it is absent."""
        if key not in self.data:
            if default is _MISSING:
                raise ReportError(f"{self.where(key)}: missing")
            return default
        value = self.data[key]
        return None if value is None and null else checked(value, kind, self.where(key))

    def object(self, key: str, null: bool = False) -> Fields | None:
        value = self.get(key, "object", None if null else _MISSING, null)
        return None if value is None else Fields(value, self.where(key))

    def items(self, key: str, kind: str, default: Any = _MISSING) -> list[tuple[str, Any]]:
        """The list `key` as (path, element) pairs, each element of `kind`."""
        values = self.get(key, "list", default)
        where = self.where(key)
        return [(f"{where}[{i}]", checked(v, kind, f"{where}[{i}]")) for i, v in enumerate(values)]

    def objects(self, key: str, default: Any = _MISSING) -> list[Fields]:
        return [Fields(value, path) for path, value in self.items(key, "object", default)]

    def texts(self, key: str) -> tuple[str, ...]:
        return tuple(value for _, value in self.items(key, "text", []))

    def only(self, allowed: set[str]) -> None:
        """Refuse fields a reader does not know (they would be silently dropped, or crash)."""
        unknown = sorted(set(self.data) - allowed, key=str)
        if unknown:
            raise ReportError(f"{self.where(unknown[0])}: not a field of this object")


#: The type of each field of an image record (the others: `pixels`, checked apart).
RECORD_KINDS: dict[str, tuple[str, bool]] = {
    "index": ("count", False),
    "label": ("count", False),
    "clean_correct": ("flag", False),
    "attacked": ("flag", False),
    "success": ("flag", False),
    "queries": ("count", False),
    "first_success_query": ("positive", True),
    "adversarial_label": ("count", True),
    "adversarial_confidence": ("rate", True),
    "target": ("count", True),
    "skipped": ("flag", False),
    "rejected": ("flag", False),
    "file": ("text", True),
}
_RECORD_DEFAULTS = {"skipped": False, "rejected": False, "file": None, "target": None}


def image_record(record: Fields) -> ImageRecord:
    """One record of `records[]`, every field typed."""
    record.only({f.name for f in fields(ImageRecord)})
    values = {
        key: record.get(key, kind, _RECORD_DEFAULTS.get(key, _MISSING), null)
        for key, (kind, null) in RECORD_KINDS.items()
    }
    return ImageRecord(**values, pixels=pixels(record, "pixels"))


def pixels(owner: Fields, key: str) -> tuple[tuple[int, int, tuple[float, ...]], ...]:
    """A list of changed pixels, {row, col, values}."""
    changes = []
    for pixel in owner.objects(key):
        pixel.only({"row", "col", "values"})
        values = tuple(value for _, value in pixel.items("values", "number"))
        changes.append((pixel.get("row", "count"), pixel.get("col", "count"), values))
    return tuple(changes)


def measured_block(block: Fields) -> Measured:
    """The `measured` block: what the attack found out."""
    block.only({f.name for f in fields(Measured)})
    pixel_range = [value for _, value in block.items("pixel_range", "number")]
    if len(pixel_range) != 2 or pixel_range[0] >= pixel_range[1]:
        raise ReportError(f"{block.where('pixel_range')}: expected [low, high] with low < high")
    return Measured(
        batch=block.get("batch", "object"),
        backend=block.get("backend", "text"),
        twin=block.get("twin", "object"),
        model_check=block.get("model_check", "object"),
        preset=block.get("preset", "text"),
        popsize=block.get("popsize", "count"),
        generations=block.get("generations", "count"),
        layout=block.get("layout", "text", null=True),
        data_layout=block.get("data_layout", "text"),
        pixel_range=(float(pixel_range[0]), float(pixel_range[1])),
        shard=block.get("shard", "object", None, null=True),
        notes=block.texts("notes"),
    )


def gate_spec(block: Fields) -> GateSpec:
    """The `gate` block: the criteria the verdict was made with."""
    mode = block.get("mode", "text")
    if mode not in GATE_MODES:
        raise ReportError(f"{block.where('mode')}: expected one of {', '.join(GATE_MODES)}")
    at = block.object("max_success_rate_at")
    budgets = {}
    for key in at.data:
        if not (isinstance(key, str) and key.isdigit() and int(key) > 0):
            raise ReportError(f"{at.where(key)}: expected a positive budget as the key")
        budgets[int(key)] = at.get(key, "rate")
    confidence = block.get("confidence", "rate")
    if not 0 < confidence < 1:
        raise ReportError(f"{block.where('confidence')}: expected a level between 0 and 1")
    return GateSpec(
        threshold=block.get("threshold", "rate"),
        mode=mode,
        level=confidence,
        min_clean_accuracy=block.get("min_clean_accuracy", "rate", None, null=True),
        max_success_rate_at=budgets,
    )


def early_verdict(block: Fields, settled_after: int | None) -> bool:
    """`early_verdict`, agreeing with `settled_after` (older reports have only the latter)."""
    early = block.get("early_verdict", "flag", settled_after is not None)
    if early != (settled_after is not None):
        raise ReportError(
            f"{block.where('early_verdict')}: {str(early).lower()} disagrees with settled_after "
            f"{'null' if settled_after is None else settled_after}"
        )
    return early


def curve_point(point: Fields) -> CurvePoint:
    point.only({"budget", "successes", "rate", "low", "high"})
    return CurvePoint(
        budget=point.get("budget", "positive"),
        successes=point.get("successes", "count"),
        rate=point.get("rate", "rate"),
        low=point.get("low", "rate"),
        high=point.get("high", "rate"),
    )


def shard_header(header: Fields) -> dict[str, Any]:
    """A shard's header: which slice it holds (index of count), the attacked set's size, and
    the sample's order."""
    index, count = header.get("index", "positive"), header.get("count", "positive")
    if index > count:
        raise ReportError(f"{header.where('index')}: shard {index} of {count} does not exist")
    order = [value for _, value in header.items("sample_order", "count")]
    return {
        **header.data,
        "index": index,
        "count": count,
        "attacked": header.get("attacked", "count"),
        "sample_order": order,
    }


def gate_settings(block: Fields) -> GateSettings:
    """The `settings` block, validated as any other input (settings/gate_settings.py)."""
    try:
        return GateSettings.from_json(block.data, block.where)
    except InputError as error:
        raise ReportError(str(error).rstrip(".")) from None


def text_map(block: Fields) -> dict[str, str]:
    """An object whose values are all strings (the `model` block)."""
    return {str(key): block.get(key, "text") for key in block.data}
