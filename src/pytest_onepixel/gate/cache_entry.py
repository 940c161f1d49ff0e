"""A result-cache entry read back as untrusted input: records and a Measured block that must
fit the request before a gate uses them.

An entry holds no verdict (gate/cache.py): the gate judges its records again. So what is
checked here is that the records could be this request's: one per sampled image with the
sample's indices and labels, well-typed, queries within the budget, a success with its k pixels
inside the image and a first success within its queries, attacked only if classified
correctly, no early stop in a full run, and an early stop that settles *this* gate (records cut
short for a looser threshold do not). Anything else raises `Unfit`, whose text becomes the
note on the outcome of the gate attacked again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..result import Counts, ImageRecord, Measured, successes_within
from ..settings.gate_settings import GateSettings
from .early import settled
from .spec import GateSpec

#: The fields of a stored entry (gate/cache.py writes exactly these).
ENTRY_FORMAT = 2
ENTRY_FIELDS = frozenset({"format", "records", "measured", "model"})
MODEL = ("description", "hash")

_INT, _BOOL, _NUMBER, _TEXT = "int", "bool", "number", "text"
#: Type of each record field; `None` after the type: may be null.
RECORD_TYPES: dict[str, tuple[str, bool]] = {
    "index": (_INT, False),
    "label": (_INT, False),
    "clean_correct": (_BOOL, False),
    "attacked": (_BOOL, False),
    "success": (_BOOL, False),
    "queries": (_INT, False),
    "first_success_query": (_INT, True),
    "adversarial_label": (_INT, True),
    "adversarial_confidence": (_NUMBER, True),
    "target": (_INT, True),
    "skipped": (_BOOL, False),
    "rejected": (_BOOL, False),
    "file": (_TEXT, True),
}
MEASURED_TYPES: dict[str, tuple[str, bool]] = {
    "backend": (_TEXT, False),
    "preset": (_TEXT, False),
    "popsize": (_INT, False),
    "generations": (_INT, False),
    "layout": (_TEXT, True),
    "data_layout": (_TEXT, False),
}


class Unfit(Exception):
    """A cache entry that cannot be this request's (the message says why)."""


@dataclass(frozen=True)
class Expected:
    """What an entry must fit: the request's sample, settings and gate."""

    labels: np.ndarray
    indices: np.ndarray  # the sample's indices in its data set (the records' `index`)
    image_shape: tuple[int, ...]  # one image's shape
    settings: GateSettings
    spec: GateSpec
    full: bool  # every image attacked: no early stop may show
    shard: tuple[int, int] | None


@dataclass(frozen=True)
class Entry:
    """What a hit supplies: records, the attack's Measured block and the model's description."""

    records: tuple[ImageRecord, ...]
    measured: Measured
    model: Mapping[str, str]
    positions: tuple[int, ...]  # the records' places in the sample (a shard holds some)


def parse_entry(data: object, expected: Expected) -> Entry:
    """The entry's records and Measured block, checked against `expected`; `Unfit` otherwise."""
    if not isinstance(data, Mapping):
        raise Unfit(f"it holds a {type(data).__name__}, not an entry")
    if set(data) != ENTRY_FIELDS or data.get("format") != ENTRY_FORMAT:
        extra = sorted(set(data) - ENTRY_FIELDS)
        missing = sorted(ENTRY_FIELDS - set(data))
        raise Unfit(
            f"its fields are not an entry's (format {ENTRY_FORMAT}: "
            f"{', '.join(sorted(ENTRY_FIELDS))}; unexpected {extra or 'none'}, "
            f"missing {missing or 'none'})"
        )
    model = data["model"]
    if not (isinstance(model, Mapping) and all(isinstance(model.get(k), str) for k in MODEL)):
        raise Unfit("its model block is not a description and a hash")
    measured = _measured(data["measured"], expected)
    positions = _positions(data["records"], expected)
    records = _records(data["records"], positions, expected, measured)
    _early_stop(records, expected)
    _shard_share(records, expected, measured)
    return Entry(records, measured, {k: model[k] for k in MODEL}, tuple(positions))


def _measured(data: object, expected: Expected) -> Measured:
    names = {f.name for f in fields(Measured)}
    if not isinstance(data, Mapping) or not set(data) <= names:
        raise Unfit("its measured block is not a Measured block")
    _typed(data, MEASURED_TYPES, "measured")
    for key in ("batch", "twin", "model_check"):
        if not isinstance(data.get(key), Mapping):
            raise Unfit(f"measured.{key} is not a mapping")
    if not isinstance(data.get("guidance"), Mapping | None):
        raise Unfit("measured.guidance is not a mapping")
    pixel_range = data.get("pixel_range")
    if not (isinstance(pixel_range, list) and len(pixel_range) == 2 and _numbers(pixel_range)):
        raise Unfit("measured.pixel_range is not two numbers")
    if not isinstance(data.get("notes", []), list) or not _texts(data.get("notes", [])):
        raise Unfit("measured.notes is not a list of texts")
    _model_check(data["model_check"], expected.settings)
    _shard(data.get("shard"), expected.shard)
    if data["popsize"] < 1 or data["generations"] < 0 or pixel_range[0] >= pixel_range[1]:
        raise Unfit("measured popsize, generations or pixel_range is out of range")
    wanted = expected.settings.pixel_range
    if wanted is not None and [float(v) for v in wanted] != [float(v) for v in pixel_range]:
        raise Unfit(f"measured.pixel_range {pixel_range} is not this gate's {list(wanted)}")
    try:
        return Measured.from_json(data)
    except (KeyError, TypeError, ValueError) as error:
        raise Unfit(f"its measured block does not read back ({error})") from None


def _model_check(check: Mapping[str, Any], settings: GateSettings) -> None:
    if not isinstance(check.get("stable"), bool):
        raise Unfit("measured.model_check.stable is not true or false")
    if check["stable"]:
        return
    if not settings.allow_unstable_model:
        raise Unfit("its model check says unstable, and this gate does not allow that")
    if not _numbers([check.get("max_difference")]) or not _texts(
        [check.get("differs"), check.get("cause")]
    ):
        raise Unfit("measured.model_check does not say how the model was unstable")


def _shard(shard: object, wanted: tuple[int, int] | None) -> None:
    if wanted is None and shard is None:
        return
    if not isinstance(shard, Mapping) or wanted is None:
        raise Unfit(f"measured.shard {shard!r} is not this run's shard {wanted}")
    if (shard.get("index"), shard.get("count")) != tuple(wanted):
        raise Unfit(f"measured.shard {dict(shard)} is not this run's shard {wanted}")
    if not (_is_int(shard.get("attacked")) and shard["attacked"] >= 0):
        raise Unfit("measured.shard does not say how many images the whole run attacks")


def _positions(data: object, expected: Expected) -> list[int]:
    """Where each record's image is in the sample: every image in order, or for a shard some
    of them, in sample order."""
    if not isinstance(data, list):
        raise Unfit("its records are not a list")
    sample = len(expected.labels)
    if expected.shard is None:
        if len(data) != sample:
            raise Unfit(f"it has {len(data)} records for a sample of {sample} images")
        return list(range(sample))
    place = {int(index): position for position, index in enumerate(expected.indices)}
    positions = []
    for number, record in enumerate(data):
        index = record.get("index") if isinstance(record, Mapping) else None
        if not _is_int(index) or index not in place:
            raise Unfit(f"record {number} has index {index!r}, not one of the sample's")
        positions.append(place[index])
    if positions != sorted(set(positions)):
        raise Unfit("its records are not in sample order")
    return positions


def _shard_share(records: Sequence[ImageRecord], expected: Expected, measured: Measured) -> None:
    """A shard K of N holds every N-th attacked image from the K-th, and likewise of the others
    (engine/schedule.py `shard_positions`)."""
    if expected.shard is None or measured.shard is None:
        return
    index, count = expected.shard
    total, sample = measured.shard["attacked"], len(expected.labels)
    attacked = sum(record.attacked for record in records)
    wanted = (len(range(index - 1, total, count)), len(range(index - 1, sample - total, count)))
    if total > sample or (attacked, len(records) - attacked) != wanted:
        raise Unfit(
            f"it holds {attacked} attacked and {len(records) - attacked} other images, not "
            f"shard {index}/{count}'s share of {total} attacked in {sample}"
        )


def _records(
    data: list, positions: Sequence[int], expected: Expected, measured: Measured
) -> tuple[ImageRecord, ...]:
    known = {f.name for f in fields(ImageRecord)}
    height, width, channels = _image_size(expected.image_shape, measured.data_layout)
    records = []
    for number, (position, record) in enumerate(zip(positions, data, strict=True)):
        where = f"record {number}"
        if not isinstance(record, Mapping) or not set(record) <= known:
            raise Unfit(f"{where} is not an image record")
        _typed(record, RECORD_TYPES, where)
        _belongs(record, position, expected, where)
        _consistent(record, expected.settings, where)
        _pixels(record.get("pixels"), (height, width, channels), measured.pixel_range, where)
        try:
            records.append(ImageRecord.from_dict(record))
        except (KeyError, TypeError, ValueError) as error:
            raise Unfit(f"{where} does not read back ({error})") from None
    return tuple(records)


def _image_size(shape: tuple[int, ...], layout: str) -> tuple[int, int, int]:
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) == 3 and layout in ("NCHW", "NHWC"):
        return (shape[1], shape[2], shape[0]) if layout == "NCHW" else shape
    raise Unfit(f"measured.data_layout {layout!r} does not fit images of shape {shape}")


def _belongs(record: Mapping[str, Any], position: int, expected: Expected, where: str) -> None:
    index, label = int(expected.indices[position]), int(expected.labels[position])
    if record["index"] != index:
        raise Unfit(f"{where} has index {record['index']}, the sample's is {index}")
    if record["label"] != label:
        raise Unfit(f"{where} has label {record['label']}, the sample's is {label}")


def _consistent(record: Mapping[str, Any], settings: GateSettings, where: str) -> None:
    """The record's flags and counts agree with each other and with the settings."""
    attacked, success, first = record["attacked"], record["success"], record["first_success_query"]
    queries, budget, k = record["queries"], settings.budget, settings.pixels
    pixels = record.get("pixels")
    count = len(pixels) if isinstance(pixels, list) else -1
    checks = [
        (not attacked or record["clean_correct"], "is attacked but was not classified correctly"),
        (not record["skipped"] or (record["clean_correct"] and not attacked), "is skipped badly"),
        (not success or (attacked and not record["rejected"]), "is a success but not attacked"),
        (not record["rejected"] or attacked, "is rejected but not attacked"),
        (0 <= queries <= budget, f"spent {queries} queries, outside the budget {budget}"),
        (attacked or queries == 0, f"spent {queries} queries without being attacked"),
        ((first is not None) == success, "has a first_success_query but is no success, or not"),
        (first is None or 1 <= first <= queries, f"was first fooled at query {first} of {queries}"),
        (not settings.targeted or not attacked or record["target"] is not None, "has no target"),
        (settings.targeted or record["target"] is None, "has a target in an untargeted gate"),
        (not success or count == k, f"is a success with {count} pixels changed, not k = {k}"),
        (attacked or count == 0, f"has {count} pixels changed without being attacked"),
        (count <= k, f"has {count} pixels changed, more than k = {k}"),
    ]
    for holds, problem in checks:
        if not holds:
            raise Unfit(f"{where} {problem}")


def _pixels(
    pixels: object, size: tuple[int, int, int], value_range: tuple[float, float], where: str
) -> None:
    height, width, channels = size
    low, high = value_range
    for pixel in pixels if isinstance(pixels, list) else [None]:
        if not isinstance(pixel, Mapping) or set(pixel) != {"row", "col", "values"}:
            raise Unfit(f"{where} has a pixel that is not row, col and values")
        row, col, values = pixel["row"], pixel["col"], pixel["values"]
        if not (_is_int(row) and _is_int(col) and 0 <= row < height and 0 <= col < width):
            raise Unfit(f"{where} has a pixel at ({row}, {col}) outside a {height}x{width} image")
        if not (isinstance(values, list) and len(values) == channels and _numbers(values)):
            raise Unfit(f"{where} has a pixel whose values are not {channels} numbers")
        slack = 1e-6 * (high - low)
        if not all(low - slack <= value <= high + slack for value in values):
            raise Unfit(f"{where} has pixel values outside the pixel range [{low}, {high}]")


def _early_stop(records: Sequence[ImageRecord], expected: Expected) -> None:
    """Skipped images are allowed only where this gate's early verdict would have stopped."""
    counts = Counts.of(records)
    if not counts.skipped:
        return
    if expected.full or expected.shard is not None:
        raise Unfit(f"{counts.skipped} images were skipped in a run that attacks every image")
    spec = expected.spec
    found = {budget: successes_within(records, budget) for budget, _ in spec.criteria()}
    floor = spec.min_clean_accuracy
    clean_ok = floor is None or counts.clean_accuracy >= floor
    if not settled(spec, found, counts.attacked, counts.attacked + counts.skipped, clean_ok):
        raise Unfit(
            f"its early stop after {counts.attacked} attacked images does not settle this "
            f"gate's verdict ({counts.skipped} images skipped)"
        )


def _typed(data: Mapping[str, Any], types: Mapping[str, tuple[str, bool]], where: str) -> None:
    for key, (kind, nullable) in types.items():
        if key not in data:
            if kind == _BOOL and key in ("skipped", "rejected"):
                continue  # older records leave them out (ImageRecord.from_dict defaults)
            if nullable and key == "file":
                continue
            raise Unfit(f"{where} has no {key}")
        value = data[key]
        if value is None and nullable:
            continue
        if not _CHECKS[kind](value):
            raise Unfit(f"{where}.{key} is {value!r}, not {'an ' if kind == _INT else 'a '}{kind}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(values: Sequence[object]) -> bool:
    return all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _texts(values: Sequence[object]) -> bool:
    return all(value is None or isinstance(value, str) for value in values)


_CHECKS = {
    _INT: _is_int,
    _BOOL: lambda value: isinstance(value, bool),
    _NUMBER: lambda value: _numbers([value]),
    _TEXT: lambda value: isinstance(value, str),
}
