"""The report schema as a check: every report, baseline, shard or cache entry the plugin reads is
untrusted input (DESIGN.md, "Trust"), so each field is read with its type and range checked.

`Fields` reads one JSON object field by field; a value that does not fit raises `ReportError`,
whose message names the field's path and what was found
(`gates[2].summary.success_rate: expected a number, found '0.0'`). The readers of the types
defined outside gate/outcome.py (image records, the measured block, the gate's criteria, curve
points, a shard's header, settings) live here; `GateOutcome.from_json` (gate/outcome.py) reads
the rest with them. A caller that knows the file (gate/report_reader.py) adds its name.
Beyond types, a `search: certify` gate's outcomes must agree with the rest of the report: each
record's `outcome` with its `success` and `attacked`, its `proof` with its outcome and the
`certify_budget`, and the summary's `certified`, `undecided` and `bracket` with the records
(`certify_fields`), since a merge judges the records and every reader shows the summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError, ReportError
from ..result import Counts, ImageRecord, Measured
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
    "outcome": ("text", True),
}
_RECORD_DEFAULTS = {"skipped": False, "rejected": False, "file": None, "target": None}
_RECORD_DEFAULTS["outcome"] = None  # reports before `search: certify` have no outcome

#: What became of an attacked image of a `search: certify` gate (result.py `ImageRecord.outcome`).
OUTCOMES = ("fooled", "certified", "undecided")
#: The counts of a record's `proof`: what the proof search spent and where it stopped.
PROOF_COUNTS = ("passes", "queries", "boxes", "positions_left", "boxes_left")


def image_record(record: Fields) -> ImageRecord:
    """One record of `records[]`, every field typed, its outcome agreeing with the rest."""
    record.only({f.name for f in fields(ImageRecord)})
    values = {
        key: record.get(key, kind, _RECORD_DEFAULTS.get(key, _MISSING), null)
        for key, (kind, null) in RECORD_KINDS.items()
    }
    _check_outcome(record, values)
    proof = record.object("proof", null=True)
    if proof is not None and values["outcome"] is None:
        raise ReportError(f"{record.where('proof')}: a proof for an image without an outcome")
    values["proof"] = proof_block(proof, values) if proof is not None else None
    return ImageRecord(**values, pixels=pixels(record, "pixels"))


def _check_outcome(record: Fields, values: Mapping[str, Any]) -> None:
    """A certify outcome is one of OUTCOMES, given only to an attacked image, and `fooled`
    exactly when the record is a success (a confirmed pixel)."""
    outcome = values["outcome"]
    if outcome is None:
        return
    problem = None
    if outcome not in OUTCOMES:
        problem = f"expected one of {', '.join(OUTCOMES)} or null, found {found(outcome)}"
    elif not values["attacked"]:
        problem = f"{outcome!r} for an image that was not attacked"
    elif (outcome == "fooled") != values["success"]:
        problem = f"{outcome!r} disagrees with success {found(values['success'])}"
    if problem:
        raise ReportError(f"{record.where('outcome')}: {problem}")


def proof_block(proof: Fields, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's `proof`: non-negative counts and `found_by`. Only an undecided image has
    positions or boxes left (where its search stopped); only a fooled one has a finder, or an
    undecided one whose found pixel the model did not confirm (`rejected`)."""
    outcome = record["outcome"]
    proof.only({*PROOF_COUNTS, "found_by"})
    block: dict[str, Any] = {key: proof.get(key, "count") for key in PROOF_COUNTS}
    block["found_by"] = proof.get("found_by", "text", None, null=True)
    for key in ("positions_left", "boxes_left"):
        if block[key] and outcome != "undecided":
            raise ReportError(
                f"{proof.where(key)}: {block[key]} left, but the image is {outcome} (only an "
                "undecided image has any left)"
            )
    unconfirmed = outcome == "undecided" and record["rejected"]
    if block["found_by"] is not None and outcome != "fooled" and not unconfirmed:
        raise ReportError(
            f"{proof.where('found_by')}: {found(block['found_by'])}, but the image is {outcome} "
            "(only a fooled image was found by a step)"
        )
    return block


def pixels(owner: Fields, key: str) -> tuple[tuple[int, int, tuple[float, ...]], ...]:
    """A list of changed pixels, {row, col, values}."""
    changes = []
    for pixel in owner.objects(key):
        pixel.only({"row", "col", "values"})
        values = tuple(value for _, value in pixel.items("values", "number"))
        changes.append((pixel.get("row", "count"), pixel.get("col", "count"), values))
    return tuple(changes)


#: A `search: certify` gate's summary fields (gate/outcome.py), none of them in other gates'.
CERTIFY_SUMMARY = ("certified", "undecided", "bracket")


def certify_fields(gate: Fields, records: Sequence[ImageRecord], settings: GateSettings) -> None:
    """Only a certify gate's records have outcomes (each attacked image one, its proof within
    `certify_budget`), and its summary's `certified`, `undecided` and `bracket` are those of its
    records (result.py `Counts`): an edited count would otherwise be shown, and a merge would
    judge records that do not say what the summary does."""
    certify = settings.search == "certify"
    for position, record in enumerate(records):
        where = f"{gate.where('records')}[{position}]"
        if record.outcome is not None and not certify:
            raise ReportError(
                f"{where}.outcome: {record.outcome!r} in a gate whose search is "
                f"{settings.search!r} (only `search: certify` proves images)"
            )
        if certify and record.attacked and record.outcome is None:
            raise ReportError(f"{where}.outcome: missing for an attacked image of a certify gate")
        passes = (record.proof or {}).get("passes", 0)
        if passes > settings.certify_budget:
            raise ReportError(
                f"{where}.proof.passes: {passes:,} is over the certify_budget "
                f"{settings.certify_budget:,}"
            )
    _certify_summary(gate.object("summary"), Counts.of(records))


def _certify_summary(summary: Fields, counts: Counts) -> None:
    """The summary's certify fields, present exactly when a record has an outcome, equal to
    the records' counts and bracket."""
    expected = counts.bracket
    if expected is None:
        extra = next((key for key in CERTIFY_SUMMARY if key in summary.data), None)
        if extra is not None:
            raise ReportError(f"{summary.where(extra)}: present, but no record has an outcome")
        return
    for key in ("certified", "undecided"):
        value, wanted = summary.get(key, "count"), getattr(counts, key)
        if value != wanted:
            raise ReportError(
                f"{summary.where(key)}: {value} disagrees with the records ({wanted} {key})"
            )
    bracket = [value for _, value in summary.items("bracket", "rate")]
    if len(bracket) != 2 or bracket[0] > bracket[1]:
        raise ReportError(f"{summary.where('bracket')}: expected [low, high] with low <= high")
    if any(abs(value - wanted) > _SLACK for value, wanted in zip(bracket, expected, strict=True)):
        raise ReportError(
            f"{summary.where('bracket')}: [{bracket[0]:g}, {bracket[1]:g}] disagrees with the "
            f"records ([{expected[0]:g}, {expected[1]:g}]: fooled and attacked - certified, "
            "over attacked)"
        )


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
        guidance=block.get("guidance", "object", None, null=True),
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
