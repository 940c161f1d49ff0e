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

from . import hookspecs
from .options import add_options, option_path

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
    gate_file = option_path(config, "config")
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
    gate_file = option_path(parent.config, "config")
    if gate_file is not None:
        wanted = file_path.resolve() == gate_file.resolve()
    else:
        patterns = parent.config.getini("onepixel_files")
        wanted = any(fnmatch.fnmatch(file_path.name, p) for p in patterns)
    if wanted:
        from .items import OnePixelFile

        return OnePixelFile.from_parent(parent, path=file_path)
    return None


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
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One table, a row per gate."""
    from .session import OnePixelSession

    OnePixelSession.of(config).terminal_summary(terminalreporter)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the JSON report once every gate has finished."""
    from .session import OnePixelSession

    OnePixelSession.of(session.config).write_report()


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
        self._session.collect(report)


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents
