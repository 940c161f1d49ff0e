"""One verdict from the parts: merge the shard reports of a gate run split across CI jobs.

`--onepixel-shard K/N` attacks every N-th attacked image of each gate's sample from the K-th
(and records every N-th of the others), with no early verdict; each image draws from its own
random stream keyed by its index, so the union of the N shards' records is exactly the records
of one full run. Merging checks that the shards belong together, gate by gate: the same sample
(hash and order), the same settings and the same model (hash), every shard 1..N present exactly
once and no image twice; then it applies the gate to the union, as a full run would. A
`search: certify` gate's outcomes are in its records, so the merged `certified` and `undecided`
are the shards' sums and its bracket is that of the union (each shard report was checked on
reading: gate/report_schema.py `certify_fields`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import ConfigError
from ..result import ImageRecord
from .outcome import Example, GateOutcome
from .status import GateStatus


def merge_shards(reports: Sequence[tuple[Path, Sequence[GateOutcome]]]) -> list[GateOutcome]:
    """The merged outcome of every gate in the shard reports (path, gates)."""
    by_gate: dict[str, list[tuple[Path, GateOutcome]]] = {}
    for path, outcomes in reports:
        for outcome in outcomes:
            if outcome.status == GateStatus.DESELECTED:
                continue  # left out of every shard by -k/-m (else the gate counts differ)
            if outcome.status == GateStatus.ERROR:
                raise ConfigError(f"{path}: gate {outcome.name!r} errored: {outcome.error}")
            if outcome.shard is None:
                raise ConfigError(
                    f"{path}: gate {outcome.name!r} is not a shard (run with --onepixel-shard K/N)."
                )
            by_gate.setdefault(outcome.key, []).append((path, outcome))
    counts = {len(parts) for parts in by_gate.values()}
    if len(counts) > 1:
        raise ConfigError(
            "the reports do not hold the same gates: "
            + "; ".join(f"{key} in {len(parts)} report(s)" for key, parts in by_gate.items())
        )
    return [_merge_gate(key, parts) for key, parts in sorted(by_gate.items())]


def _merge_gate(key: str, parts: list[tuple[Path, GateOutcome]]) -> GateOutcome:
    first = parts[0][1]
    count = first.shard["count"]
    _check_same(key, parts)
    seen: dict[int, Path] = {}
    for path, outcome in parts:
        index = outcome.shard["index"]
        if index in seen:
            raise ConfigError(
                f"gate {key}: shard {index}/{count} is in both {seen[index]} and {path}."
            )
        seen[index] = path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise ConfigError(
            f"gate {key}: shard(s) {', '.join(f'{m}/{count}' for m in missing)} missing; give "
            f"all {count} shard reports (found {', '.join(str(p) for p in seen.values())})."
        )
    for path, outcome in parts:
        _check_records(path, outcome)
    records = _union(key, parts)
    # Each shard measured its own batch size; the merged gate shows the first shard's.
    measured = replace(first.measured, shard=None) if first.measured else None
    merged = GateOutcome.judged(
        first.name,
        first.spec,
        records,
        settings=first.settings,
        measured=measured,
        full=True,
        model=first.model,
        data=first.data,
        notes=sorted({note for _, outcome in parts for note in outcome.notes}),
        seconds=round(sum(outcome.seconds for _, outcome in parts), 3),
    )
    examples = _top_examples([o.examples for _, o in parts], first.settings.examples)
    return replace(merged, nodeid=first.nodeid, examples=examples)


def _check_same(key: str, parts: list[tuple[Path, GateOutcome]]) -> None:
    """Every shard of a gate names the same sample, settings, model and shard count."""
    first_path, first = parts[0]
    for path, outcome in parts[1:]:
        for what, mine, theirs in (
            ("sample", first.data.get("hash"), outcome.data.get("hash")),
            ("sample order", first.shard["sample_order"], outcome.shard["sample_order"]),
            ("model", first.model.get("hash"), outcome.model.get("hash")),
            ("settings", first.settings, outcome.settings),
            ("shard count", first.shard["count"], outcome.shard["count"]),
            ("attacked set", first.shard["attacked"], outcome.shard["attacked"]),
            ("criteria", first.spec, outcome.spec),
        ):
            if mine != theirs:
                raise ConfigError(
                    f"gate {key}: {path} does not match {first_path} in its {what}; shards "
                    "to merge must come from one run split with --onepixel-shard K/N (same "
                    "data, model and settings)."
                )


def _check_records(path: Path, outcome: GateOutcome) -> None:
    """A shard's records agree with themselves, with its settings and with its header: a shard
    edited by hand (a flipped `success`, queries over the budget, an image dropped from the
    attacked set) would otherwise change the merged verdict."""
    settings, header = outcome.settings, outcome.shard
    for position, record in enumerate(outcome.records):
        problem = _record_problem(record, settings.budget, settings.pixels)
        if problem:
            raise ConfigError(
                f"{path}: gate {outcome.name!r}: records[{position}] (image {record.index}) "
                f"{problem}; the shard report was edited or damaged: run shard "
                f"{header['index']}/{header['count']} again."
            )
    attacked = sum(record.attacked for record in outcome.records)
    share = len(range(header["index"] - 1, header["attacked"], header["count"]))
    if attacked != share:
        raise ConfigError(
            f"{path}: gate {outcome.name!r}: {attacked} attacked image(s) in the records, but "
            f"shard {header['index']}/{header['count']} of an attacked set of "
            f"{header['attacked']} holds {share}; the shard report was edited or damaged: run "
            "it again."
        )


def _record_problem(record: ImageRecord, budget: int, pixels: int) -> str | None:
    """What is wrong with one shard record, or None."""
    first, queries, changed = record.first_success_query, record.queries, len(record.pixels)
    flag = "a success without" if record.success else "no success but has"
    checks = (
        ((first is not None) == record.success, f"is {flag} a first_success_query"),
        (
            not (record.success and record.rejected) or _proof_found(record),
            "is both a success and rejected",
        ),
        (first is None or first <= queries, f"was first fooled at query {first} of {queries}"),
        (queries <= budget, f"spent {queries} queries, more than the budget {budget}"),
        (record.attacked or queries == 0, f"spent {queries} queries without being attacked"),
        (not record.success or record.attacked, "is a success but was not attacked"),
        (not record.attacked or record.clean_correct, "is attacked but misclassified"),
        (not record.skipped, "is skipped, but a shard attacks every image"),
        (
            not record.success or changed == pixels,
            f"is a success with {changed} pixel(s), not {pixels}",
        ),
        (changed <= pixels, f"changes {changed} pixels, more than {pixels}"),
    )
    return next((problem for holds, problem in checks if not holds), None)


def _proof_found(record: ImageRecord) -> bool:
    """A `search: certify` image whose search success was rejected and whose proof then found
    a pixel the model confirmed: both a success and rejected (proving.py)."""
    found_by = (record.proof or {}).get("found_by")
    return record.outcome == "fooled" and found_by not in (None, "search")


def _union(key: str, parts: list[tuple[Path, GateOutcome]]) -> list[ImageRecord]:
    """The shards' records in sample order; each sampled image exactly once."""
    order = {index: position for position, index in enumerate(parts[0][1].shard["sample_order"])}
    records: dict[int, ImageRecord] = {}
    for path, outcome in parts:
        for record in outcome.records:
            if record.index in records or record.index not in order:
                raise ConfigError(
                    f"gate {key}: {path} holds image {record.index} "
                    + ("twice" if record.index in records else "not in the sample")
                    + "; the shards overlap or come from different samples."
                )
            records[record.index] = record
    absent = sorted(set(order) - set(records))
    if absent:
        raise ConfigError(f"gate {key}: no shard holds images {absent[:5]}...; a shard is missing.")
    return sorted(records.values(), key=lambda record: order[record.index])


def _top_examples(groups: Sequence[Sequence[Example]], count: int) -> tuple[Example, ...]:
    """The most confident examples of the union: each shard kept its own most confident, so
    the union's top `count` are among them."""
    examples = [example for group in groups for example in group]
    return tuple(sorted(examples, key=lambda e: -e.confidence)[:count])
