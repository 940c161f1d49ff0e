"""A running gate's progress, through pytest's terminal reporter so output capture cannot
swallow it.

A gate of a few hundred images takes seconds to minutes; without a sign of life a user cannot
tell a slow model from a hung one. On a terminal one live line per running gate appears after
`DELAY` seconds, is rewritten at most every `INTERVAL` seconds and erased when the gate ends.
Without a terminal (CI logs) a heartbeat line is written at most every `heartbeat` seconds
(30 by default, `--onepixel-heartbeat`) for a gate still running. `-q` silences both. Writes go
through the terminal reporter with pytest's capture suspended for the moment, as pytest's own
live logging does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from ..reports.progress_text import progress_text

DELAY = 2.0
INTERVAL = 0.25


class ProgressLine:
    """Callable handed to `attack(progress=...)`."""

    def __init__(
        self, terminal: Any | None, name: str, heartbeat: float, capture: Any | None = None
    ) -> None:
        quiet = terminal is None or terminal.verbosity < 0
        self._terminal = None if quiet else terminal
        self._live = not quiet and _isatty(terminal)
        self._capture = capture
        self._name = name
        self._every = INTERVAL if self._live else heartbeat
        self._start = time.monotonic()
        self._last = self._start
        self._shown = False

    def __call__(self, progress: Any) -> None:
        if self._terminal is None:
            return
        now = time.monotonic()
        first_due = DELAY if self._live else self._every
        if now - self._start < first_due or now - self._last < self._every:
            return
        self._last = now
        text = progress_text(self._name, progress, now - self._start)
        with self._uncaptured():
            if self._live:
                if not self._shown:
                    self._terminal.ensure_newline()
                self._terminal.rewrite(text, erase=True)
            else:
                self._terminal.ensure_newline()
                self._terminal.write_line(text)
        self._shown = True

    def close(self) -> None:
        if self._shown and self._live:
            with self._uncaptured():
                self._terminal.rewrite("", erase=True)

    @contextlib.contextmanager
    def _uncaptured(self) -> Iterator[None]:
        if self._capture is None:
            yield
            return
        with self._capture.global_and_fixture_disabled():
            yield


def _isatty(terminal: Any) -> bool:
    isatty = getattr(terminal, "isatty", False)
    return bool(isatty() if callable(isatty) else isatty)
