"""The text of a running gate's progress line: images done, successes, speed and time left."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..executors.common import AttackProgress


def progress_text(name: str, progress: AttackProgress, seconds: float) -> str:
    """Images finished, successes, speed, share of the work done and the most time left.

    The work is in queries: what the search has spent, against the most it can still spend
    (the budget of every unfinished image less what those in flight spent). Time left is the
    queries left at the speed so far: an upper bound while the speed holds, and it falls as
    work is done, even while no image finishes (those a generation cannot fool all finish
    together, at the end of their budget)."""
    rate = progress.images_scored / seconds if seconds > 0 else 0.0
    text = (
        f"onepixel {name}: {progress.finished}/{progress.attacked} images, "
        f"{progress.successes} successes, {rate:,.0f} queries/s"
    )
    work = progress.queries + progress.queries_left
    if progress.queries > 0 and progress.finished < progress.attacked and work > 0:
        left = seconds * progress.queries_left / progress.queries
        text += f", {100 * progress.queries // work}% done, at most {duration_text(left)} left"
    return text


def duration_text(seconds: float) -> str:
    """12s, 3m05s, 1h02m: short enough for a progress line."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
