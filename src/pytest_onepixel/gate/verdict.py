"""The verdict of a gate from its records: pass or fail, and the reasons a user reads.

The verdict is a function of the records alone (not of the images or the run), so the same
function judges a local run, a merge of shards and a report read back from JSON. With skipped
images (an early verdict stopped the gate) it is the settled verdict, which equals the full
run's by construction (gate/early.py).

A gate whose model gets most of its sample wrong fails whatever its success rate: the attack
measures nothing on images the model never got right, and a clean accuracy far below a
released model's means the labels or the images are wrong more often than the model is
(an image folder read in another class order, images in another layout). The floor is the
gate's `min_clean_accuracy`, or DEFAULT_MIN_CLEAN_ACCURACY when it is not set; a team whose
model really is that weak sets `min_clean_accuracy` to what it expects (0 turns it off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..result import Counts, ImageRecord, successes_within
from .spec import GateSpec
from .statistics import interval, needed_text

#: The clean-accuracy floor of a gate that sets no `min_clean_accuracy`.
DEFAULT_MIN_CLEAN_ACCURACY = 0.5


@dataclass(frozen=True)
class Verdict:
    """pass / fail plus the reasons a user reads in the failure text and the summary table."""

    passed: bool
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def judge(
    spec: GateSpec, records: Sequence[ImageRecord], certify_budget: int | None = None
) -> Verdict:
    """Every criterion of `spec` applied to the records: the clean-accuracy floor, the main
    threshold and each `max_success_rate_at` budget. A `search: certify` gate (its
    `certify_budget` given; or records that carry outcomes) is judged on the vulnerability
    bracket for the main threshold (`_bracket_verdict`), which names `certify_budget` when
    undecided images keep it open."""
    counts = Counts.of(records)
    reasons: list[str] = []
    failed = False
    floor = spec.min_clean_accuracy
    if counts.clean_accuracy < (DEFAULT_MIN_CLEAN_ACCURACY if floor is None else floor):
        failed = True
        reasons.append(_below_floor(counts, floor))
    total = counts.attacked + counts.skipped
    if total == 0:
        return Verdict(False, (*reasons, _nothing_attacked(counts)))
    for budget, limit in spec.criteria():
        if budget is None and (counts.bracket is not None or certify_budget is not None):
            ok, text = _bracket_verdict(spec, records, counts, certify_budget)
            failed |= not ok
            reasons.append(text)
            continue
        found = successes_within(records, budget)
        ok = spec.passes(found, total, limit)
        if counts.skipped:
            decided = ok == spec.passes(found + counts.skipped, total, limit)
            failed |= decided and not ok
            if budget is None or (decided and not ok):
                reasons.append(_explain_early(spec, found, counts, limit, ok, decided, budget))
            continue
        failed |= not ok
        if budget is None or not ok:
            reasons.append(_explain(spec, found, counts.attacked, limit, ok, budget))
    if counts.skipped:
        reasons.append(
            f"settled after {counts.attacked} of {total} images: no outcome of the other "
            f"{counts.skipped} could change the verdict"
        )
    return Verdict(not failed, tuple(reasons))


def _bracket_verdict(
    spec: GateSpec, records: Sequence[ImageRecord], counts: Counts, certify_budget: int | None
) -> tuple[bool, str]:
    """A certify gate's main criterion: it passes only when the bracket's upper end (every image
    not certified counted fooled, skipped ones too) passes the threshold in the gate's mode, and
    fails as soon as the lower end (the images fooled) breaks it; in between, undecided images
    keep it open, which is a failure naming them and the limit to raise."""
    total = counts.attacked + counts.skipped
    low, high = counts.successes, counts.attacked - counts.certified + counts.skipped
    bracket = f"vulnerability bracket [{low / total:.3f}, {high / total:.3f}]"
    detail = (
        f" ({counts.successes} fooled, {counts.certified} certified, {counts.undecided} "
        f"undecided of {total})"
    )
    mode = f"threshold {spec.threshold:.3f} in {spec.mode} mode"
    if spec.passes(high, total):
        return True, f"{bracket}{detail}: the upper end passes {mode}"
    if not spec.passes(low, total):
        return False, f"{bracket}{detail}: the lower end alone fails {mode}"
    undecided = [r for r in records if r.outcome == "undecided"]
    named = ", ".join(f"{r.index}" + (f" ({r.file})" if r.file else "") for r in undecided[:10])
    if len(undecided) > 10:
        named += f" and {len(undecided) - 10} more"
    budget = "" if certify_budget is None else f" (now {certify_budget})"
    return False, (
        f"{bracket}{detail}: open, the lower end passes {mode} but the upper end does not; "
        f"undecided images: {named or 'none'}: raise certify_budget{budget} or use search: de"
    )


def _explain_early(
    spec: GateSpec,
    found: int,
    counts: Counts,
    limit: float,
    ok: bool,
    decided: bool,
    budget: int | None,
) -> str:
    """A criterion after an early verdict: the rate over the attacked prefix, and what the full
    run's verdict is whatever the skipped images would have done."""
    rate = found / counts.attacked if counts.attacked else 0.0
    low, high = interval(found, counts.attacked, spec.level)
    where = "" if budget is None else f" at budget {budget}"
    shown = (
        f"success rate{where} {rate:.3f} [{low:.3f}, {high:.3f}] over the "
        f"{counts.attacked} images attacked"
    )
    if not decided:
        return f"{shown}: not decided (another criterion settled the verdict first)"
    outcome = "passes" if ok else "fails"
    return (
        f"{shown}: the full run {outcome} threshold {limit:.3f} in {spec.mode} mode "
        f"whatever the other {counts.skipped} images do"
    )


def _explain(
    spec: GateSpec, found: int, trials: int, limit: float, ok: bool, budget: int | None
) -> str:
    rate = found / trials if trials else 0.0
    low, high = interval(found, trials, spec.level)
    where = "" if budget is None else f" at budget {budget}"
    shown = f"success rate{where} {rate:.3f} [{low:.3f}, {high:.3f}]"
    sign = "<=" if ok else ">"
    level = f"{spec.level:.0%}"
    if spec.mode == "point":
        return f"{shown} {sign} threshold {limit:.3f} (point mode)"
    if spec.mode == "strict":
        text = (
            f"{shown}: the {level} interval's upper end {high:.3f} {sign} threshold "
            f"{limit:.3f} (strict mode passes only when it is <= the threshold)"
        )
        if not ok:
            text += "; " + needed_text(rate, limit, spec.level)
        return text
    return (
        f"{shown}: the {level} interval's lower end {low:.3f} "
        f"{'>' if not ok else '<='} threshold {limit:.3f} (lenient mode fails only when it is "
        "above the threshold)"
    )


def _below_floor(counts: Counts, floor: float | None) -> str:
    """Why a clean accuracy below the floor fails the gate; far below (under the default
    floor) it names the likely causes and how a weak model opts out."""
    accuracy = counts.clean_accuracy
    if floor is None:
        shown = (
            f"clean accuracy {accuracy:.3f} < {DEFAULT_MIN_CLEAN_ACCURACY:.3f} (the floor of "
            "a gate without min_clean_accuracy)"
        )
    else:
        shown = f"clean accuracy {accuracy:.3f} < min_clean_accuracy {floor:.3f}"
    if accuracy >= DEFAULT_MIN_CLEAN_ACCURACY:
        return shown
    text = (
        f"{shown}: the model got {counts.clean_correct} of {counts.sampled} sampled images "
        "right. Likely causes: labels in another class order than the model's (an image "
        "folder's labels follow its sub-folder names sorted, unless `classes` gives the "
        "order), or images in another layout than the model takes (`layout`, `data_layout`)"
    )
    if floor is None:
        text += (
            ". If the model really is this weak, set min_clean_accuracy to what it should "
            "reach (e.g. 0.2, or 0 to turn the floor off)"
        )
    return text


def _nothing_attacked(counts: Counts) -> str:
    return (
        f"no image was attacked: the model classified none of the {counts.sampled} "
        f"sampled images correctly (clean accuracy {counts.clean_accuracy:.3f})"
    )
