"""The text of a running gate's progress line: images done, successes, speed and time left."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..executors.common import AttackProgress


def progress_text(name: str, progress: AttackProgress, seconds: float) -> str:
    rate = progress.images_scored / seconds if seconds > 0 else 0.0
    text = (
        f"onepixel {name}: {progress.finished}/{progress.attacked} images, "
        f"{progress.successes} successes, {rate:,.0f} queries/s"
    )
    if 0 < progress.finished < progress.attacked:
        left = seconds * (progress.attacked - progress.finished) / progress.finished
        text += f", at most {duration_text(left)} left"
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
