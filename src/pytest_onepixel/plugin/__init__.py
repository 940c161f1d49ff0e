"""pytest hooks only: each is a few lines handing off to the session (plugin/session.py), the
gate runner (plugin/gates.py) or the YAML items (plugin/items.py).

This is the only package that imports pytest. Registering it imports no numpy, scipy, yaml,
torch or onnxruntime: a session without gates stays as fast as one without the plugin, and
heavy modules load when a gate runs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs, interrupts, report_file
from .ledger import REPORT_ATTRIBUTE
from .options import add_options

WORKER_GATES = "onepixel_gates"
WORKER_DESELECTED = "onepixel_deselected"

MARKER_HELP = (
    "onepixel(max_success_rate=..., budget=..., samples=..., pixels=..., seed=..., ...): "
    "settings of the one-pixel gate run by the `onepixel` fixture in this test"
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """pytest_onepixel_load_model and pytest_onepixel_gate_finished (plugin/hookspecs.py)."""
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The `onepixel` option group and ini keys, generated from the settings table."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, validate options and ini keys, and create the session."""
    from .session import OnePixelSession

    config.addinivalue_line("markers", MARKER_HELP)
    session = OnePixelSession.install(config)
    config.pluginmanager.register(_OutcomeCollector(session), "onepixel-outcomes")
    if session.writes_report:
        interrupts.install(session)
    gate_file = session.settings.config
    if gate_file is not None:
        if not gate_file.is_file():
            raise pytest.UsageError(f"--onepixel-config: no such file: {gate_file}")
        covered = any(
            _is_within(gate_file, Path(config.invocation_params.dir, a)) for a in config.args
        )
        if not covered:
            config.args.append(str(gate_file))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect onepixel YAML files (or only the one --onepixel-config names)."""
    from .session import OnePixelSession

    settings = OnePixelSession.of(parent.config).settings
    if settings.config is not None:
        wanted = file_path.resolve() == settings.config.resolve()
    else:
        wanted = any(fnmatch.fnmatch(file_path.name, p) for p in settings.files)
    if wanted:
        from .items import OnePixelFile

        return OnePixelFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note every gate collected (YAML items; tests using the fixture or marker), so the report
    lists each one even if it never produces an outcome."""
    from .session import OnePixelSession

    ledger = OnePixelSession.of(session.config).ledger
    for item in session.items:
        if _is_gate(item):
            item.keywords[REPORT_ATTRIBUTE] = True
            ledger.expect(item.nodeid, item.name)


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Note the gates a -k/-m/--deselect/--lf run leaves out: the report lists them as such."""
    if items:
        from .session import OnePixelSession

        ledger = OnePixelSession.of(items[0].config).ledger
        for item in items:
            if _is_gate(item):
                ledger.deselect(item.nodeid, item.name)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Before the first gate: the report says "running", so no older report outlives this run
    (plugin/report_file.py)."""
    from .session import OnePixelSession

    report_file.start(OnePixelSession.of(session.config))


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """One line at the top of the log saying what the gates run with (as pytest-randomly's
    header says its seed), when there are gates. pytest_report_header would print before
    collection, when nobody knows yet whether the run has a gate."""
    from .session import OnePixelSession

    if not any(_is_gate(item) for item in items):
        return []
    return [OnePixelSession.of(config).header()]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A bad @pytest.mark.onepixel key or value fails the test that carries it at setup."""
    if item.get_closest_marker("onepixel") is not None:
        from .gates import check_marker

        check_marker(item)


@pytest.hookimpl(trylast=True)
def pytest_onepixel_load_model(source: object, options: Mapping[str, Any]) -> Any:
    """The built-in adapters, asked last: a project's own loader wins for what it accepts."""
    from ..gate.run import default_loader

    return default_loader(source, options)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Carry the item's gate outcomes on its report, so they reach the controller under xdist."""
    from .session import OUTCOME_KEY

    report = yield
    outcomes = item.stash.get(OUTCOME_KEY, None)
    if call.when == "call" and outcomes:
        report.onepixel = [outcome.to_json() for outcome in outcomes]
        if getattr(item.config.option, "htmlpath", None):  # pytest-html is writing a page
            from .html_extras import pytest_html_extras

            report.extras = [*getattr(report, "extras", []), *pytest_html_extras(outcomes)]
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One table, a row per gate."""
    from .session import OnePixelSession

    OnePixelSession.of(config).terminal_summary(terminalreporter)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON report once every gate has finished, or the run was interrupted (then it
    says so); nothing for a run that runs no test. A pytest-xdist worker instead sends the
    controller the gates it collected and deselected."""
    from .session import OnePixelSession

    state = OnePixelSession.of(session.config)
    if state.is_worker:
        session.config.workeroutput[WORKER_GATES] = state.ledger.expected
        session.config.workeroutput[WORKER_DESELECTED] = state.ledger.deselected
        return
    if report_file.runs_no_test(session.config) or exitstatus == pytest.ExitCode.USAGE_ERROR:
        return  # no gate ran (a usage error is marked in pytest_unconfigure)
    changed = report_file.finish(state, exitstatus) if state.writes_report else None
    if changed is not None:
        session.exitstatus = changed
    try:
        state.write_visuals()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while drawing: the JSON report is complete
        state.written.append("onepixel: interrupted while drawing the gallery and HTML report")
        session.exitstatus = pytest.ExitCode.INTERRUPTED


def pytest_unconfigure(config: pytest.Config) -> None:
    """Mark the report when pytest stops on a usage error; give SIGTERM back its handler."""
    from .session import OnePixelSession

    report_file.after_usage_error(config, OnePixelSession.installed(config))
    interrupts.uninstall()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under pytest-xdist: the YAML gates a worker collected (by their files' names)."""
    from .session import OnePixelSession

    config = node.config
    session = OnePixelSession.of(config)
    session.ledger.expect_ids(ids, session.settings.files)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Under pytest-xdist: every gate a worker collected, sent when it finished."""
    from .session import OnePixelSession

    output = getattr(node, "workeroutput", {})
    ledger = OnePixelSession.of(node.config).ledger
    for nodeid, name in output.get(WORKER_GATES, {}).items():
        ledger.expect(nodeid, name)
    for nodeid, name in output.get(WORKER_DESELECTED, {}).items():
        ledger.deselect(nodeid, name)


@pytest.fixture
def onepixel(request: pytest.FixtureRequest) -> Any:
    """Run a one-pixel gate on your own model and data: `onepixel.check(model, images, labels)`
    fails the test when the success rate exceeds max_success_rate (from the marker, ini or
    command line) and returns the AttackResult otherwise."""
    from .fixture import OnePixelFixture

    return OnePixelFixture(request.node)


class _OutcomeCollector:
    """Gathers gate outcomes from reports, whether made here or by pytest-xdist workers
    (pytest_runtest_logreport has no config argument, so it lives on an object)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._session.ledger.collect(report)


def _is_gate(item: pytest.Item) -> bool:
    """A YAML gate (without importing yaml to ask), or a test using the fixture or marker."""
    uses_fixture = "onepixel" in getattr(item, "fixturenames", ())
    yaml_gate = getattr(item, "is_onepixel_gate", False)
    return yaml_gate or uses_fixture or item.get_closest_marker("onepixel") is not None


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents
