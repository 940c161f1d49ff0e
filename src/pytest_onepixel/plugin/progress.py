"""A live progress line for long gates, shown only on a terminal and not under -q.

A gate of a few hundred images takes seconds to minutes; without a sign of life a user cannot
tell a slow model from a hung one. The line appears after `DELAY` seconds, is rewritten at most
every `INTERVAL` seconds, and is erased when the gate ends, so short gates and logs (non-TTY,
CI) print nothing extra.
"""

from __future__ import annotations

import time
from typing import Any

from ..reports.progress import progress_text

DELAY = 2.0
INTERVAL = 0.25


class ProgressLine:
    """Callable handed to `attack(progress=...)`; rewrites one terminal line in place."""

    def __init__(self, terminal: Any | None, name: str) -> None:
        self._terminal = terminal if _wants_progress(terminal) else None
        self._name = name
        self._start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def __call__(self, progress: Any) -> None:
        if self._terminal is None:
            return
        now = time.monotonic()
        if now - self._start < DELAY or now - self._last < INTERVAL:
            return
        self._last = now
        if not self._shown:
            self._terminal.ensure_newline()
            self._shown = True
        self._terminal.rewrite(progress_text(self._name, progress, now - self._start), erase=True)

    def close(self) -> None:
        if self._shown:
            self._terminal.rewrite("", erase=True)


def _wants_progress(terminal: Any | None) -> bool:
    if terminal is None or terminal.verbosity < 0:
        return False
    isatty = getattr(terminal, "isatty", False)
    return bool(isatty() if callable(isatty) else isatty)
