"""pytest hooks only: each is a few lines handing off to OnePixelSession (session.py).

Nothing here imports torch or onnxruntime: a session without gates stays as fast as without
the plugin. Heavy modules load when a gate runs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Generator
from pathlib import Path

import pytest

from .settings import SETTINGS

DEFAULT_FILES = ["onepixel*.yaml", "onepixel*.yml"]
MARKER_HELP = (
    "onepixel(max_success_rate=..., budget=..., samples=..., pixels=..., seed=..., ...): "
    "settings of the one-pixel gate run by the `onepixel` fixture in this test"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The `onepixel` option group; every option has an ini key of the same name."""
    group = parser.getgroup("onepixel", "one-pixel attack robustness gates")
    for key, setting in SETTINGS.items():
        if setting.cli:
            default = f" (default: {setting.default})" if setting.default is not None else ""
            group.addoption(
                "--onepixel-" + key.replace("_", "-"),
                dest="onepixel_" + key,
                type=setting.cli_type,
                metavar=key.upper(),
                help=f"{setting.help}{default}; overrides YAML, markers and ini",
            )
            parser.addini("onepixel_" + key, f"{setting.help}{default}", default=None)
    group.addoption(
        "--onepixel-config",
        dest="onepixel_config",
        metavar="PATH",
        help="the onepixel YAML file to run (default: onepixel*.yaml files found "
        "under the test paths)",
    )
    group.addoption(
        "--onepixel-report",
        dest="onepixel_report",
        metavar="PATH",
        help="write the JSON report of every gate to PATH",
    )
    group.addoption(
        "--onepixel-full",
        dest="onepixel_full",
        action="store_true",
        default=None,
        help="attack every sampled image even once a gate's verdict is settled",
    )
    group.addoption(
        "--onepixel-compare",
        dest="onepixel_compare",
        metavar="PATH",
        help="compare every gate with a previous JSON report and fail gates whose "
        "success rate rose",
    )
    group.addoption(
        "--onepixel-compare-tolerance",
        dest="onepixel_compare_tolerance",
        type=float,
        metavar="RISE",
        help="largest acceptable rise of the success "
        "rate against the baseline (default: the new rate's confidence interval)",
    )
    parser.addini("onepixel_compare", "a previous JSON report to compare with", default=None)
    parser.addini("onepixel_compare_tolerance", "largest acceptable rise", default=None)
    parser.addini("onepixel_config", "the onepixel YAML file to run", default=None)
    parser.addini("onepixel_report", "path of the JSON report", default=None)
    parser.addini("onepixel_full", "attack every sampled image", type="bool", default=False)
    parser.addini(
        "onepixel_files", "glob patterns of onepixel gate files", type="args", default=DEFAULT_FILES
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, validate options and ini keys, and create the session."""
    from .session import OnePixelSession

    config.addinivalue_line("markers", MARKER_HELP)
    session = OnePixelSession.install(config)
    config.pluginmanager.register(_OutcomeCollector(session), "onepixel-outcomes")
    gate_file = _gate_file(config)
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
    gate_file = _gate_file(parent.config)
    if gate_file is not None:
        wanted = file_path.resolve() == gate_file.resolve()
    else:
        patterns = parent.config.getini("onepixel_files")
        wanted = any(fnmatch.fnmatch(file_path.name, p) for p in patterns)
    if wanted:
        from .yamlfile import OnePixelFile

        return OnePixelFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Carry the item's gate outcomes on its report, so they reach the controller under xdist."""
    from .session import OUTCOME_KEY

    report = yield
    outcomes = item.stash.get(OUTCOME_KEY, None)
    if call.when == "call" and outcomes:
        report.onepixel = outcomes
    return report


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """One table, a row per gate."""
    from .session import OnePixelSession

    OnePixelSession.of(config).terminal_summary(terminalreporter)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the JSON report once every gate has finished."""
    from .session import OnePixelSession

    OnePixelSession.of(session.config).write_report()


@pytest.fixture
def onepixel(request: pytest.FixtureRequest):
    """Run a one-pixel gate on your own model and data: `onepixel.check(model, images, labels)`
    fails the test when the success rate exceeds max_success_rate (from the marker, ini or
    command line) and returns the AttackResult otherwise."""
    from .fixture import OnePixelFixture

    return OnePixelFixture(request.node)


class _OutcomeCollector:
    """Gathers gate outcomes from reports, whether made here or by pytest-xdist workers
    (pytest_runtest_logreport has no config argument, so it lives on an object)."""

    def __init__(self, session) -> None:
        self._session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._session.collect(report)


def _gate_file(config: pytest.Config) -> Path | None:
    from .session import option_path

    return option_path(config, "onepixel_config")


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents
