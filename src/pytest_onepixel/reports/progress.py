"""The text of a running gate's progress line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api import AttackProgress


def progress_text(name: str, progress: AttackProgress, seconds: float) -> str:
    rate = progress.images_scored / seconds if seconds > 0 else 0.0
    return (
        f"onepixel {name}: {progress.finished}/{progress.attacked} images, "
        f"{progress.successes} successes, {rate:,.0f} queries/s"
    )
