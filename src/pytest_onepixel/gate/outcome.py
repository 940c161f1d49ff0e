"""`GateOutcome`: everything a gate's run says, and the JSON report's schema for one gate.

One frozen object travels from the gate to every reader: the failure text, the summary table,
JUnit properties, the JSON report, and across processes (pytest-xdist workers send
`to_json()` on their test reports; the controller reads it back with `from_json`). Keeping the
schema here, rather than in dicts built where they are needed, means a field is added once.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..result import Counts, ImageRecord, Measured
from ..settings.gate_settings import GateSettings
from .report_schema import (
    REQUIRED,
    Fields,
    ReportError,
    curve_point,
    early_verdict,
    gate_settings,
    gate_spec,
    image_record,
    measured_block,
    pixels,
    shard_header,
    text_map,
)
from .robustness_curve import CurvePoint, robustness_curve
from .spec import GateSpec
from .statistics import interval
from .status import GateStatus
from .verdict import judge


@dataclass(frozen=True)
class Summary:
    """The counts and rate a verdict is made of, with the rate's interval. After an early
    verdict (`early_verdict`) the rate is over the images attacked before it settled only."""

    sampled: int
    attacked: int
    skipped: int
    successes: int
    success_rate: float
    interval: tuple[float, float]
    clean_accuracy: float
    queries_used: int
    settled_after: int | None
    queries_saved_estimate: int
    rejected: int = 0
    early_verdict: bool = False  # the rate is over the images attacked before the verdict
    # search: certify only (None otherwise): proof outcomes and the vulnerability bracket,
    # [fooled, attacked - certified] / attacked (result.Counts.bracket)
    certified: int | None = None
    undecided: int | None = None
    bracket: tuple[float, float] | None = None

    @classmethod
    def of(cls, records: Sequence[ImageRecord], level: float) -> Summary:
        counts = Counts.of(records)
        per_image = counts.queries_used / counts.attacked if counts.attacked else 0.0
        return cls(
            sampled=counts.sampled,
            attacked=counts.attacked,
            skipped=counts.skipped,
            successes=counts.successes,
            success_rate=counts.success_rate,
            interval=interval(counts.successes, counts.attacked, level),
            clean_accuracy=counts.clean_accuracy,
            queries_used=counts.queries_used,
            settled_after=counts.attacked if counts.skipped else None,
            queries_saved_estimate=round(counts.skipped * per_image),
            rejected=counts.rejected,
            early_verdict=bool(counts.skipped),
            certified=None if counts.bracket is None else counts.certified,
            undecided=None if counts.bracket is None else counts.undecided,
            bracket=counts.bracket,
        )

    @property
    def rate_over(self) -> str:
        """What `success_rate` is over, in words (JSON `rate_over`, JUnit property)."""
        attacked_set = self.attacked + self.skipped
        if self.early_verdict:
            return (
                f"the {self.attacked} images attacked before the early verdict (of "
                f"{attacked_set} in the attacked set; --onepixel-full attacks all)"
            )
        return f"all {attacked_set} images of the attacked set"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["interval"] = list(self.interval)
        data["rate_over"] = self.rate_over
        for key in ("certified", "undecided", "bracket"):  # a certify gate's only
            if data[key] is None:
                del data[key]
        if self.bracket is not None:
            data["bracket"] = list(self.bracket)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "summary") -> Summary:
        """The inverse of `to_json`, every field typed (a ReportError names the bad one)."""
        block = Fields.of(data, where)
        block.only({f.name for f in fields(cls)} | {"rate_over"})
        block.get("rate_over", "text", None)  # derived from the counts: checked, not kept
        low, high = (value for _, value in _pair(block, "interval", "rate"))
        settled_after = block.get("settled_after", "count", None, null=True)
        return cls(
            **{key: block.get(key, "count") for key in _SUMMARY_COUNTS},
            success_rate=block.get("success_rate", "rate"),
            interval=(low, high),
            clean_accuracy=block.get("clean_accuracy", "rate"),
            settled_after=settled_after,
            rejected=block.get("rejected", "count", 0),
            early_verdict=early_verdict(block, settled_after),
            certified=block.get("certified", "count", None),
            undecided=block.get("undecided", "count", None),
            bracket=tuple(v for _, v in _pair(block, "bracket", "rate"))
            if "bracket" in block.data
            else None,
        )


@dataclass(frozen=True)
class Comparison:
    """How a gate's rate moved against a baseline report, and whether that is acceptable."""

    baseline: float | None
    now: float
    change: float | None
    passed: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "compare") -> Comparison:
        """The inverse of `to_json`, every field typed (a ReportError names the bad one)."""
        block = Fields.of(data, where)
        block.only({f.name for f in fields(cls)})
        return cls(
            baseline=block.get("baseline", "rate", null=True),
            now=block.get("now", "rate"),
            change=block.get("change", "change", null=True),
            passed=block.get("passed", "flag"),
            reason=block.get("reason", "text"),
        )


@dataclass(frozen=True)
class Example:
    """One adversarial example as reports show it: picture cells (PNG bytes, rendered by
    reports/gallery.py) of the clean image and of its adversarial twin with the changed pixels
    outlined, and what the model said. Kept in the outcome (base64 in JSON), so galleries and
    HTML can be made from a saved or merged report without the data."""

    index: int  # the image's index in its data set
    label: str  # the true class: its name when the data has class names, else its number
    adversarial: str  # the class the model predicts for the adversarial image
    confidence: float  # the model's probability for that class
    pixels: tuple[tuple[int, int, tuple[float, ...]], ...]  # the changes (row, col, values)
    clean_png: bytes
    adversarial_png: bytes
    file: str | None = None  # the image's file, for data read from an image folder

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pixels"] = [{"row": r, "col": c, "values": list(v)} for r, c, v in self.pixels]
        data["clean_png"] = base64.b64encode(self.clean_png).decode("ascii")
        data["adversarial_png"] = base64.b64encode(self.adversarial_png).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "example") -> Example:
        """The inverse of `to_json`, every field typed (a ReportError names the bad one)."""
        block = Fields.of(data, where)
        block.only({f.name for f in fields(cls)})
        return cls(
            index=block.get("index", "count"),
            label=block.get("label", "text"),
            adversarial=block.get("adversarial", "text"),
            confidence=block.get("confidence", "rate"),
            pixels=pixels(block, "pixels"),
            clean_png=_png(block, "clean_png"),
            adversarial_png=_png(block, "adversarial_png"),
            file=block.get("file", "text", None, null=True),
        )


@dataclass(frozen=True)
class GateOutcome:
    """One gate's result. Gates that ran have `spec`, `summary`, `curve` and `records`; a gate
    that errored has only its `error`."""

    name: str
    status: GateStatus  # what became of the gate (gate/status.py); its value in JSON
    nodeid: str = ""
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None
    spec: GateSpec | None = None
    model: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)  # source, hash, class_names
    settings: GateSettings | None = None  # what the gate asked for
    measured: Measured | None = None  # what its attack found out (batch, backend, layouts, ...)
    full: bool = False  # every image attacked (no early verdict: --onepixel-full, or a shard)
    summary: Summary | None = None
    curve: tuple[CurvePoint, ...] = ()
    records: tuple[ImageRecord, ...] = ()
    compare: Comparison | None = None
    seconds: float = 0.0
    examples: tuple[Example, ...] = ()  # the most confident successes, rendered (gallery)
    cached: bool = False  # taken from the result cache rather than attacked again
    shard: Mapping[str, Any] | None = None  # index, count, attacked, sample_order (a shard)

    def __post_init__(self) -> None:
        # A plain string ("shard") becomes its member, so every reader compares enum to enum.
        object.__setattr__(self, "status", GateStatus.of(self.status))

    @classmethod
    def judged(
        cls,
        name: str,
        spec: GateSpec,
        records: Sequence[ImageRecord],
        *,
        settings: GateSettings,
        measured: Measured,
        model: Mapping[str, str],
        data: Mapping[str, Any],
        notes: Sequence[str] = (),
        seconds: float = 0.0,
        full: bool = False,
    ) -> GateOutcome:
        """The outcome of applying `spec` to `records` (a local run, or a merge of shards)."""
        certify = settings.certify_budget if settings.search == "certify" else None
        verdict = judge(spec, records, certify)
        return cls(
            name=name,
            status=GateStatus.PASSED if verdict.passed else GateStatus.FAILED,
            reasons=verdict.reasons,
            notes=tuple(notes),
            spec=spec,
            model=dict(model),
            data=dict(data),
            settings=settings,
            measured=measured,
            full=full,
            summary=Summary.of(records, spec.level),
            curve=robustness_curve(records, settings.budget, spec.level),
            records=tuple(records),
            seconds=seconds,
        )

    @classmethod
    def errored(
        cls, name: str, message: str, nodeid: str = "", seconds: float = 0.0
    ) -> GateOutcome:
        return cls(
            name=name, status=GateStatus.ERROR, nodeid=nodeid, error=message, seconds=seconds
        )

    @property
    def passed(self) -> bool:
        return self.status == GateStatus.PASSED

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def threshold(self) -> float | None:
        return self.spec.threshold if self.spec else None

    @property
    def key(self) -> str:
        """How reports and tables order and match gates: the node id, else the name."""
        return self.nodeid or self.name

    def compared(self, comparison: Comparison) -> GateOutcome:
        """This outcome with a baseline comparison; a failed comparison fails the gate."""
        if comparison.passed or not self.status.has_verdict:
            return replace(self, compare=comparison)
        return replace(
            self,
            compare=comparison,
            status=GateStatus.FAILED,
            reasons=(*self.reasons, comparison.reason),
        )

    def to_json(self) -> dict[str, Any]:
        """The report's entry for this gate (schema: docs/reports-and-history.md)."""
        data: dict[str, Any] = {
            "name": self.name,
            "nodeid": self.nodeid,
            "status": self.status.value,
            "passed": self.passed,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "error": self.error,
            "seconds": self.seconds,
        }
        if self.spec is None or self.summary is None or self.settings is None:
            return data
        return {
            **data,
            "threshold": self.spec.threshold,
            "gate": self.spec.to_json(),
            "model": dict(self.model),
            "data": dict(self.data),
            "settings": self.settings.to_json(),
            "measured": self.measured.to_json() if self.measured else None,
            "full": self.full,
            "summary": self.summary.to_json(),
            "curve": [point.to_json() for point in self.curve],
            "compare": self.compare.to_json() if self.compare else None,
            "cached": self.cached,
            "shard": dict(self.shard) if self.shard else None,
            "examples": [example.to_json() for example in self.examples],
            "records": [record.to_dict() for record in self.records],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "gate") -> GateOutcome:
        """The inverse of `to_json`, reading `data` as untrusted input: every field's type and
        range is checked, and a ReportError (gate/report_schema.py) names the first that does
        not fit by its path under `where` (`gates[2].summary.success_rate: expected a number,
        found '0.0'`). Reports before schema 2 have no status: their `passed` gives it."""
        gate = Fields.of(data, where)
        gate.get("reason", "text", "")
        gate.get("threshold", "rate", None, null=True)
        common = {
            "name": gate.get("name", "text"),
            "status": _status(gate),
            "nodeid": gate.get("nodeid", "text", ""),
            "reasons": gate.texts("reasons"),
            "notes": gate.texts("notes"),
            "error": gate.get("error", "text", None, null=True),
            "seconds": gate.get("seconds", "seconds", 0.0),
        }
        return cls(**common, **_run_fields(gate)) if "gate" in data else cls(**common)


def _status(gate: Fields) -> GateStatus:
    """The entry's status (a known GateStatus), or from `passed` before schema 2."""
    status = gate.get("status", "text", None)
    passed = gate.get("passed", "flag", None if status is not None else REQUIRED)
    if status is None:
        return GateStatus.PASSED if passed else GateStatus.FAILED
    try:
        return GateStatus.of(status)
    except ValueError as error:
        raise ReportError(f"{gate.where('status')}: {error}") from None


_SUMMARY_COUNTS = (
    "sampled",
    "attacked",
    "skipped",
    "successes",
    "queries_used",
    "queries_saved_estimate",
)


def _run_fields(gate: Fields) -> dict[str, Any]:
    """The fields of a gate that ran, read back from its JSON entry, each typed."""
    measured = gate.object("measured", null=True)
    compare = gate.get("compare", "object", None, null=True)
    shard = gate.object("shard", null=True)
    return {
        "spec": gate_spec(gate.object("gate")),
        "model": text_map(gate.object("model")),
        "data": _data(gate.object("data")),
        "settings": gate_settings(gate.object("settings")),
        "measured": measured_block(measured) if measured else None,
        "full": gate.get("full", "flag", False),
        "summary": Summary.from_json(gate.data.get("summary"), gate.where("summary")),
        "curve": tuple(curve_point(p) for p in gate.objects("curve")),
        "records": tuple(image_record(r) for r in gate.objects("records")),
        "compare": Comparison.from_json(compare, gate.where("compare")) if compare else None,
        "cached": gate.get("cached", "flag", False),
        "shard": shard_header(shard) if shard else None,
        "examples": tuple(Example.from_json(e.data, e.path) for e in gate.objects("examples", [])),
    }


def _data(block: Fields) -> dict[str, Any]:
    """The `data` block: where the sample came from, its hash and class names."""
    block.get("source", "text", None, null=True)
    block.get("hash", "text", None, null=True)
    if block.get("class_names", "list", None, null=True) is not None:
        block.texts("class_names")
    return dict(block.data)


def _pair(block: Fields, key: str, kind: str) -> list[tuple[str, Any]]:
    values = block.items(key, kind)
    if len(values) != 2 or values[0][1] > values[1][1]:
        raise ReportError(f"{block.where(key)}: expected [low, high] with low <= high")
    return values


def _png(block: Fields, key: str) -> bytes:
    try:
        return base64.b64decode(block.get(key, "text"), validate=True)
    except ValueError:
        raise ReportError(f"{block.where(key)}: expected base64 PNG bytes") from None
