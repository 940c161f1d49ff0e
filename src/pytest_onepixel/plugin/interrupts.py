"""SIGTERM ends a run the way Ctrl-C does, so an interrupted run still writes its report.

CI systems stop a job on cancel or timeout with SIGTERM, whose default action kills Python
without running any cleanup: the previous run's report would stay in place as if it were this
run's. While a report is to be written, SIGTERM raises KeyboardInterrupt instead; pytest then
finishes the session as for Ctrl-C (exit code 2), and the report says `"interrupted": true,
"signal": "SIGTERM"`. A handler the user installed is left alone.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_previous: Any = None


def install(session: Any) -> None:
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        session.stopped_by = signal.Signals(signum).name
        raise KeyboardInterrupt(f"stopped by {session.stopped_by}")

    _previous = signal.signal(signal.SIGTERM, handler)


def uninstall() -> None:
    global _previous
    if _previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _previous)
        _previous = None
