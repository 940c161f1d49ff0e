"""The live progress line: shown on a terminal for long gates, never under -q or in logs."""

from __future__ import annotations

from pytest_onepixel.api import AttackProgress
from pytest_onepixel.plugin import progress as progress_module
from pytest_onepixel.plugin.progress import ProgressLine
from pytest_onepixel.reports.progress import progress_text


class FakeTerminal:
    def __init__(self, isatty: bool, verbosity: int) -> None:
        self.isatty = isatty
        self.verbosity = verbosity
        self.lines: list[str] = []

    def ensure_newline(self) -> None:
        self.lines.append("<newline>")

    def rewrite(self, line: str, erase: bool = False) -> None:
        self.lines.append(line)


STEP = AttackProgress(finished=40, attacked=96, successes=12, images_scored=20_000)


def run(terminal: FakeTerminal, monkeypatch, seconds: float) -> list[str]:
    clock = iter([100.0, 100.0 + seconds])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    line = ProgressLine(terminal, "digits-cnn")
    line(STEP)
    line.close()
    return terminal.lines


def test_long_gate_on_a_terminal_shows_and_erases_the_line(monkeypatch) -> None:
    lines = run(FakeTerminal(isatty=True, verbosity=0), monkeypatch, seconds=4.0)
    assert lines == [
        "<newline>",
        "onepixel digits-cnn: 40/96 images, 12 successes, 5,000 queries/s",
        "",
    ]


def test_short_gate_quiet_run_and_logs_show_nothing(monkeypatch) -> None:
    assert run(FakeTerminal(isatty=True, verbosity=0), monkeypatch, seconds=0.5) == []
    assert run(FakeTerminal(isatty=True, verbosity=-1), monkeypatch, seconds=4.0) == []
    assert run(FakeTerminal(isatty=False, verbosity=0), monkeypatch, seconds=4.0) == []


def test_progress_text() -> None:
    assert (
        progress_text("g", STEP, 2.0) == "onepixel g: 40/96 images, 12 successes, 10,000 queries/s"
    )
