"""Progress that tells the truth: the work done moves with every batch the search sends, the
image count moves as images finish, and the time left falls as work is done at a steady rate
(issue 21: a 36 s gate stayed at `161/531` and its "at most ... left" rose at every update)."""

from __future__ import annotations

import re
import textwrap

import numpy as np

from pytest_onepixel import attack
from pytest_onepixel.executors.common import AttackProgress, queries_left
from pytest_onepixel.reports.progress_text import progress_text

BUDGET = 100


def estimate(text: str) -> int:
    """Seconds in "at most 1m05s left" (or "12s")."""
    found = re.search(r"at most (?:(\d+)m)?(\d+)s left", text)
    assert found, text
    return int(found.group(1) or 0) * 60 + int(found.group(2))


# (finished, spent by the finished, all search queries spent): 10 images, budget 100, a steady
# 100 queries/s; two images fooled early, the other eight all finish at their budget's end.
EVENTS = [(0, 0, 200), (1, 30, 400), (2, 70, 600), (2, 70, 800), (2, 70, 900), (10, 870, 870)]


def test_the_estimate_falls_at_a_steady_rate_while_no_image_finishes() -> None:
    texts = []
    for finished, spent_finished, spent in EVENTS[:-1]:
        left = queries_left(BUDGET, 10 - finished, spent, spent_finished)
        progress = AttackProgress(finished, 10, finished, spent, spent, left)
        texts.append(progress_text("g", progress, spent / 100))
    estimates = [estimate(text) for text in texts]
    assert estimates == sorted(estimates, reverse=True) and estimates[0] > estimates[-1]
    assert texts[3] == (
        "onepixel g: 2/10 images, 2 successes, 100 queries/s, 91% done, at most 1s left"
    )
    done = [int(re.search(r"(\d+)% done", text).group(1)) for text in texts]
    assert done == sorted(done) and len(set(done)) == len(done)


def test_the_old_estimate_rose_where_the_new_one_falls() -> None:
    """What the line said before: seconds x unfinished / finished, at 2/10 for 2 s more."""
    old = [seconds * (10 - 2) / 2 for seconds in (6.0, 8.0, 9.0)]
    assert old == sorted(old)  # rising, as reported
    new = [queries_left(BUDGET, 8, q, 70) * (q / 100) / q for q in (600, 800, 900)]
    assert new == sorted(new, reverse=True)


def constant(batch: np.ndarray) -> np.ndarray:
    """Class 0 whatever the pixels: every image is searched to the end of its budget."""
    return np.tile([5.0, 0.0], (len(batch), 1))


def test_a_real_attack_reports_after_every_batch_and_its_work_adds_up() -> None:
    steps: list[AttackProgress] = []
    images = np.zeros((20, 1, 4, 4), np.uint8)
    attack(
        constant, images, np.zeros(20, int), budget=BUDGET, popsize=20, max_batch=16,
        progress=steps.append,
    )  # fmt: skip
    generations = BUDGET // 20
    assert len(steps) > 2 * generations  # within generations too, not only at their end
    spent = [step.queries for step in steps]
    left = [step.queries_left for step in steps]
    assert spent == sorted(spent) and left == sorted(left, reverse=True)
    assert all(s + q == 20 * BUDGET for s, q in zip(spent, left, strict=True))
    assert steps[-1].queries == 20 * BUDGET and steps[-1].queries_left == 0
    # At a steady rate (time = queries / rate) the estimate never rises.
    estimates = [q_left / (q / 1000) * (q / 1000) for q, q_left in zip(spent, left, strict=True)]
    assert estimates == sorted(estimates, reverse=True)


SLOW_GATE = textwrap.dedent(
    """
    import time
    import numpy as np
    import pytest

    def slow(batch):
        time.sleep(0.02)
        flat = batch.reshape(len(batch), -1)
        weak = flat[:, 0] > 128  # the top-left pixel fools the images marked weak
        marked = flat[:, -1] > 0
        scores = np.tile([5.0, 0.0], (len(batch), 1))
        scores[weak & marked] = [0.0, 5.0]
        return scores

    IMAGES = np.zeros((16, 1, 4, 4), np.uint8)
    IMAGES[:8, 0, 3, 3] = 1  # the first eight are weak

    @pytest.mark.onepixel(max_success_rate=1.0, budget=200, popsize=20, max_batch=16)
    def test_slow(onepixel):
        onepixel.check(slow, IMAGES, np.zeros(16, int))
    """
)


def test_heartbeat_lines_show_the_work_moving_and_the_time_left_falling(pytester) -> None:
    pytester.makepyfile(test_slow_gate=SLOW_GATE)
    result = pytester.runpytest_subprocess("--onepixel-heartbeat=0.3", "--onepixel-full")
    result.assert_outcomes(passed=1)
    lines = [line for line in result.outlines if line.startswith("onepixel test_slow: ")]
    lines = [line for line in lines if "% done" in line]  # not the last, all images finished
    assert len(lines) >= 3, result.outlines
    done = [int(re.search(r"(\d+)% done", line).group(1)) for line in lines]
    assert done == sorted(done) and done[0] < done[-1], lines
    counts = [int(re.search(r": (\d+)/16 images", line).group(1)) for line in lines]
    assert counts == sorted(counts) and counts[0] < counts[-1], lines
    estimates = [estimate(line) for line in lines]
    assert estimates[-1] < estimates[0], lines
