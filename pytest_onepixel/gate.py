"""The verdict of a gate: does the measured success rate stay within its threshold?"""

from __future__ import annotations

from dataclasses import dataclass

from .result import AttackResult


@dataclass(frozen=True)
class Verdict:
    """pass / fail plus the reason a user reads in the failure text and the summary table."""

    passed: bool
    reason: str


def judge(result: AttackResult, threshold: float) -> Verdict:
    """Point mode: pass iff successes / attacked <= threshold.

    A gate that attacked nothing fails: a model that gets none of the sample right has not
    shown any robustness, and a 0% success rate over zero images would hide that.
    """
    if result.attacked == 0:
        return Verdict(
            False,
            f"no image was attacked: the model classified none of the {len(result.records)} "
            f"sampled images correctly (clean accuracy {result.clean_accuracy:.3f})",
        )
    rate = result.success_rate
    if rate <= threshold:
        return Verdict(True, f"success rate {rate:.3f} <= threshold {threshold:.3f}")
    return Verdict(False, f"success rate {rate:.3f} > threshold {threshold:.3f}")
