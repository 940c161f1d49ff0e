"""The JSON report file through one run: it never describes an older run than the last one
started.

pytest rewrites `--junitxml` on every run, and a dashboard reads whatever file is there, so the
report is rewritten (or marked) by every run that starts, whichever way it ends. Its `state`:

- "running": written as the gates start (pytest_runtestloop), listing every collected gate as
  "not run". A run killed outright (SIGKILL, out of memory, a lost machine) leaves this file,
  never the previous run's verdicts.
- "finished": the run went to its end; every collected gate has its entry (gates a `-k`/`-m`
  subset left out are "deselected").
- "interrupted": Ctrl-C or SIGTERM (plugin/interrupts.py), or a collection error, stopped the
  run: the gates that finished are in, the others "not run". Interrupted while the report itself
  was being written, the file gets a short report with no gates and this state.
- "usage error": pytest stopped on a usage error before any gate ran (an onepixel option or ini
  key, a `-k`/`-m` expression, another plugin's); `usage_error` holds the message, `gates` is
  empty, and no run is saved under .onepixel/.

`interrupted` is true for every state but "finished". A run that runs no test (`--collect-only`,
`--setup-plan`, `--setup-only`) writes nothing: it does not start a run of the gates. An error
while writing (a full disk) is one message, the file is removed if it can be, and the run fails.

What the plugin cannot do: a value an option's argparse type rejects, or an unknown option,
stops pytest while it parses the command line, before any plugin hook runs. The file stays as it
was; the exit code (4) is what says this run did not happen.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..version import __version__
from .session import OnePixelSession, runs_no_test

if TYPE_CHECKING:
    from ..gate.outcome import GateOutcome

RUNNING, FINISHED, INTERRUPTED, USAGE_ERROR = "running", "finished", "interrupted", "usage error"
#: Set once this process has written (or chosen not to write) its report.
_SETTLED = pytest.StashKey[bool]()


def document(
    outcomes: list[GateOutcome],
    options: dict[str, Any],
    state: str,
    signal: str | None = None,
    usage_error: str | None = None,
) -> dict[str, Any]:
    """A report document marked with the run's `state`."""
    from ..reports.json_report import report_document

    marked = report_document(outcomes, options, __version__)
    marked.update(state=state, interrupted=state != FINISHED, signal=signal)
    if usage_error is not None:
        marked["usage_error"] = usage_error
    return marked


def session_document(
    session: OnePixelSession, state: str, outcomes: list[GateOutcome] | None = None
) -> dict[str, Any]:
    """The session's report in `state` (its outcomes, unless others are given)."""
    gates = session.outcomes if outcomes is None else outcomes
    marked = document(gates, session.report_options(), state, session.stopped_by)
    shard = session.settings.shard
    if shard is not None:
        marked["shard"] = {"index": shard[0], "count": shard[1]}
    return marked


def start(session: OnePixelSession) -> None:
    """As the gates start: the report says "running" and lists the gates to come."""
    path = session.settings.report
    if path is None or session.is_worker or runs_no_test(session.config):
        return
    _write_or_remove(path, session_document(session, RUNNING))


def finish(session: OnePixelSession, exitstatus: int) -> int | None:
    """The run's JSON report (and its saved copy under .onepixel/), marked with how the run
    ended; the exit status the run should end with, when
    writing changed it (interrupted while writing; an error while writing)."""
    _settle(session.config)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or session.stopped_by is not None
    state = INTERRUPTED if interrupted else FINISHED
    full = session_document(session, state)
    from ..reports.json_report import write_atomically

    try:
        if session.settings.report is not None:
            write_atomically(session.settings.report, full)
            session.reported_to = session.settings.report
    except KeyboardInterrupt:
        return _interrupted_while_writing(session)
    except OSError as error:
        return _write_failed(session, session.settings.report, error, exitstatus)
    return _save(session, full, exitstatus)


def _save(session: OnePixelSession, full: dict[str, Any], exitstatus: int) -> int | None:
    """The copy under .onepixel/ (--onepixel-save, onepixel_autosave)."""
    if session.settings.save_name is None:
        return None
    from ..reports.history import next_path
    from ..reports.json_report import write_atomically

    path = next_path(session.config.rootpath, session.settings.save_name)
    try:
        write_atomically(path, full)
    except KeyboardInterrupt:
        session.written.append("onepixel: interrupted while the run was saved; it was not saved")
        return pytest.ExitCode.INTERRUPTED
    except OSError as error:
        session.written.append(f"onepixel: could not save the run as {path} ({_why(error)}).")
        return pytest.ExitCode.TESTS_FAILED if exitstatus == pytest.ExitCode.OK else None
    session.saved_to = path
    return None


def _interrupted_while_writing(session: OnePixelSession) -> int:
    """Ctrl-C or SIGTERM while the report was written: a short report that says so."""
    path = session.settings.report
    _write_or_remove(path, session_document(session, INTERRUPTED, outcomes=[]))
    session.interrupted_writing = True
    session.written.append(
        f"onepixel: interrupted while the JSON report was written: {path} says so (state "
        '"interrupted", no gates); run again for the verdicts.'
    )
    return pytest.ExitCode.INTERRUPTED


def _write_failed(
    session: OnePixelSession, path: Path | None, error: OSError, exitstatus: int
) -> int | None:
    _remove(path)
    session.written.append(
        f"onepixel: could not write {path} ({_why(error)}); no report from an older run is left "
        "in its place. Free space or choose a writable --onepixel-report / onepixel_report path."
    )
    return pytest.ExitCode.TESTS_FAILED if exitstatus == pytest.ExitCode.OK else None


def after_usage_error(config: pytest.Config, session: OnePixelSession | None) -> None:
    """In pytest_unconfigure: when pytest is stopping on a usage error before this process
    wrote its report, the report says so, with the message (best effort: a report path that
    is itself the mistake cannot be written)."""
    error = sys.exc_info()[1]
    if not isinstance(error, pytest.UsageError) or config.stash.get(_SETTLED, False):
        return
    _settle(config)
    if hasattr(config, "workerinput") or runs_no_test(config):
        return
    path = session.settings.report if session is not None else _report_path(config)
    if path is None:
        return
    from ..reports.json_report import write_atomically

    with contextlib.suppress(OSError):  # the path is the mistake: pytest's message says so
        write_atomically(path, document([], {}, USAGE_ERROR, usage_error=str(error)))


def _report_path(config: pytest.Config) -> Path | None:
    """The report's path when the session was not set up: from the raw option or ini key (the
    usage error may be in another key)."""
    from .options import option_path

    try:
        return option_path(config, "report")
    except Exception:  # the report key itself is unreadable: nothing to mark
        return None


def _write_or_remove(path: Path | None, marked: dict) -> None:
    """Write `marked`; if that fails, at least remove the older report."""
    from ..reports.json_report import write_atomically

    if path is None:
        return
    try:
        write_atomically(path, marked)
    except OSError:
        _remove(path)


def _remove(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _settle(config: pytest.Config) -> None:
    config.stash[_SETTLED] = True


def _why(error: OSError) -> str:
    return error.strerror or str(error)
