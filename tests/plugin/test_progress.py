"""Progress that shows: a live line on a terminal, a heartbeat line in logs, nothing under -q;
written through pytest's terminal reporter so output capture does not swallow it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap

from pytest_onepixel.executors.common import AttackProgress
from pytest_onepixel.plugin import progress_line as progress_module
from pytest_onepixel.plugin.progress_line import ProgressLine
from pytest_onepixel.reports.progress_text import duration_text, progress_text


class FakeTerminal:
    def __init__(self, isatty: bool, verbosity: int) -> None:
        self.isatty = isatty
        self.verbosity = verbosity
        self.lines: list[str] = []

    def ensure_newline(self) -> None:
        self.lines.append("<newline>")

    def rewrite(self, line: str, erase: bool = False) -> None:
        self.lines.append(f"rewrite:{line}")

    def write_line(self, line: str) -> None:
        self.lines.append(f"line:{line}")


STEP = AttackProgress(
    finished=40,
    attacked=96,
    successes=12,
    images_scored=20_000,
    queries=19_960,
    queries_left=29_940,
)
TEXT = "onepixel digits-cnn: 40/96 images, 12 successes, 5,000 queries/s, 40% done, at most 6s left"


def run(terminal: FakeTerminal, monkeypatch, *elapsed: float) -> list[str]:
    clock = iter([100.0, *(100.0 + seconds for seconds in elapsed)])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    line = ProgressLine(terminal, "digits-cnn", heartbeat=30.0)
    for _ in elapsed:
        line(STEP)
    line.close()
    return terminal.lines


def test_long_gate_on_a_terminal_shows_and_erases_a_live_line(monkeypatch) -> None:
    lines = run(FakeTerminal(isatty=True, verbosity=0), monkeypatch, 4.0)
    assert lines == ["<newline>", f"rewrite:{TEXT}", "rewrite:"]


def test_without_a_terminal_a_heartbeat_line_at_most_every_30_seconds(monkeypatch) -> None:
    lines = run(FakeTerminal(isatty=False, verbosity=0), monkeypatch, 4.0, 31.0, 40.0, 62.0)
    heartbeats = [line for line in lines if line.startswith("line:")]
    assert len(heartbeats) == 2  # at 31 s and 62 s; none at 4 s or 40 s
    assert heartbeats[0].startswith("line:onepixel digits-cnn: 40/96 images")


def test_short_gates_and_quiet_runs_show_nothing(monkeypatch) -> None:
    assert run(FakeTerminal(isatty=True, verbosity=0), monkeypatch, 0.5) == []
    assert run(FakeTerminal(isatty=True, verbosity=-1), monkeypatch, 4.0) == []
    assert run(FakeTerminal(isatty=False, verbosity=-1), monkeypatch, 40.0) == []


def test_progress_text_and_durations() -> None:
    assert progress_text("g", STEP, 2.0).startswith("onepixel g: 40/96 images, 12 successes")
    assert [duration_text(s) for s in (5, 185, 3725)] == ["5s", "3m05s", "1h02m"]


SLOW_GATE = textwrap.dedent(
    """
    import time
    import numpy as np
    import pytest

    def slow(batch):
        time.sleep(0.02)
        return np.tile([5.0, 0.0], (len(batch), 1))

    @pytest.mark.onepixel(max_success_rate=1.0, budget=200, max_batch=16)
    def test_slow(onepixel):
        onepixel.check(slow, np.zeros((16, 1, 4, 4), np.uint8), np.zeros(16, int))
    """
)


def test_a_log_gets_heartbeat_lines(pytester) -> None:
    pytester.makepyfile(test_slow_gate=SLOW_GATE)
    result = pytester.runpytest_subprocess("--onepixel-heartbeat=0.5")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["onepixel test_slow: */16 images, * successes, * queries/s*"])


def test_a_terminal_gets_a_live_line_despite_output_capture(pytester) -> None:
    pytester.makepyfile(test_slow_gate=SLOW_GATE)
    main, secondary = pty.openpty()
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_slow_gate.py"]
    process = subprocess.Popen(command, cwd=pytester.path, stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=120)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "onepixel test_slow: " in text and " images, " in text
