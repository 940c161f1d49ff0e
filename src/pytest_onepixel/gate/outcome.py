"""`GateOutcome`: everything a gate's run says, and the JSON report's schema for one gate.

One frozen object travels from the gate to every reader: the failure text, the summary table,
JUnit properties, the JSON report, and across processes (pytest-xdist workers send
`to_json()` on their test reports; the controller reads it back with `from_json`). Keeping the
schema here, rather than in dicts built where they are needed, means a field is added once.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..result import Counts, ImageRecord, Measured
from ..settings.gate_settings import GateSettings
from .robustness_curve import CurvePoint, robustness_curve
from .spec import GateSpec
from .statistics import interval
from .status import GateStatus
from .verdict import judge


@dataclass(frozen=True)
class Summary:
    """The counts and rate a verdict is made of, with the rate's interval."""

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
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["interval"] = list(self.interval)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        return cls(**{**data, "interval": tuple(data["interval"])})


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
    def from_json(cls, data: Mapping[str, Any]) -> Example:
        pixels = tuple((p["row"], p["col"], tuple(p["values"])) for p in data["pixels"])
        return cls(
            **{
                **data,
                "pixels": pixels,
                "clean_png": base64.b64decode(data["clean_png"]),
                "adversarial_png": base64.b64decode(data["adversarial_png"]),
            }
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
        verdict = judge(spec, records)
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
    def from_json(cls, data: Mapping[str, Any]) -> GateOutcome:
        """The inverse of `to_json`; raises KeyError, TypeError or ValueError (an unknown
        status, named) on a malformed entry. Reports before schema 2 have no status: their
        `passed` gives it."""
        status = data.get("status") or (GateStatus.PASSED if data["passed"] else GateStatus.FAILED)
        common = {
            "name": data["name"],
            "status": GateStatus.of(status),
            "nodeid": data.get("nodeid", ""),
            "reasons": tuple(data.get("reasons", ())),
            "notes": tuple(data.get("notes", ())),
            "error": data.get("error"),
            "seconds": float(data.get("seconds", 0.0)),
        }
        return cls(**common) if "gate" not in data else cls(**common, **_run_fields(data))


def _run_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a gate that ran, read back from its JSON entry."""
    compare = data.get("compare")
    return {
        "spec": GateSpec.from_json(data["gate"]),
        "model": dict(data["model"]),
        "data": dict(data["data"]),
        "settings": GateSettings.from_json(
            data["settings"], lambda key: f"gate {data['name']!r}: settings.{key}"
        ),
        "measured": Measured.from_json(data["measured"]) if data.get("measured") else None,
        "full": bool(data.get("full", False)),
        "summary": Summary.from_json(data["summary"]),
        "curve": tuple(CurvePoint(**point) for point in data["curve"]),
        "records": tuple(ImageRecord.from_dict(r) for r in data["records"]),
        "compare": Comparison(**compare) if compare else None,
        "cached": bool(data.get("cached", False)),
        "shard": data.get("shard"),
        "examples": tuple(Example.from_json(e) for e in data.get("examples", ())),
    }
