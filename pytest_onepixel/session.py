"""Run state of one pytest session: settings from the command line and ini, the gates' outcomes,
the summary table and the JSON report. Created in pytest_configure and kept on the config."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from . import __version__
from .compare import compare, compare_lines, load_baseline
from .data import Dataset, sample
from .errors import OnePixelWarning
from .models import load_model
from .progress import ProgressLine
from .report import failure_text, report_document, table_lines, write_atomically
from .result import AttackResult
from .runner import run_gate, run_yaml_gate
from .settings import (
    NOT_FOR_MARKERS,
    SETTINGS,
    ConfigError,
    gate_spec,
    merge_layers,
    parse_layer,
)
from .yamlfile import GateFailed, OnePixelItem

CLI_KEYS = tuple(key for key, setting in SETTINGS.items() if setting.cli)
MARKER_KEYS = tuple(key for key in SETTINGS if key not in NOT_FOR_MARKERS)
#: Attacked sets smaller than this get a warning: their interval is too wide to mean much.
SMALL_SAMPLE = 30

_SESSION_KEY = pytest.StashKey["OnePixelSession"]()


def option_name(key: str) -> str:
    return "--onepixel-" + key.replace("_", "-")


class OnePixelSession:
    """Everything the hooks delegate to."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cli = self._cli_layer()
        self.ini = self._ini_layer()
        self.report_path = option_path(config, "onepixel_report")
        self.full = bool(config.getoption("onepixel_full") or config.getini("onepixel_full"))
        self.is_worker = hasattr(config, "workerinput")
        self.baseline, self.compare_tolerance = self._baseline()
        self.outcomes: list[dict[str, Any]] = []

    @classmethod
    def install(cls, config: pytest.Config) -> OnePixelSession:
        config.stash[_SESSION_KEY] = session = cls(config)
        return session

    @classmethod
    def of(cls, config: pytest.Config) -> OnePixelSession:
        return config.stash[_SESSION_KEY]

    def _cli_layer(self) -> dict[str, Any]:
        given = {key: self.config.getoption("onepixel_" + key) for key in CLI_KEYS}
        given = {key: value for key, value in given.items() if value is not None}
        return _usage(given, lambda key: option_name(key), CLI_KEYS)

    def _ini_layer(self) -> dict[str, Any]:
        values = {}
        for key in CLI_KEYS:
            raw = self.config.getini("onepixel_" + key)
            if raw in (None, ""):
                continue
            try:
                values[key] = SETTINGS[key].cli_type(raw)
            except ValueError:
                raise pytest.UsageError(
                    f"ini key onepixel_{key}: expected a {SETTINGS[key].cli_type.__name__}; "
                    f"found {raw!r}."
                ) from None
        return _usage(values, lambda key: f"ini key onepixel_{key}", CLI_KEYS)

    def _baseline(self) -> tuple[dict | None, float | None]:
        tolerance = self.config.getoption("onepixel_compare_tolerance")
        raw = self.config.getini("onepixel_compare_tolerance")
        if tolerance is None and raw:
            try:
                tolerance = float(raw)
            except ValueError:
                raise pytest.UsageError(
                    f"ini key onepixel_compare_tolerance: expected a number such as 0.05; "
                    f"found {raw!r}."
                ) from None
        if tolerance is not None and not 0 <= tolerance <= 1:
            raise pytest.UsageError(
                f"--onepixel-compare-tolerance must be between 0 and 1; found {tolerance}."
            )
        path = option_path(self.config, "onepixel_compare")
        if path is None:
            return None, tolerance
        try:
            return load_baseline(path), tolerance
        except ConfigError as error:
            raise pytest.UsageError(str(error)) from None

    def marker_layer(self, node: pytest.Item) -> dict[str, Any]:
        """kwargs of @pytest.mark.onepixel, the closest marker winning over outer ones."""
        merged: dict[str, Any] = {}
        for mark in reversed(list(node.iter_markers("onepixel"))):
            if mark.args:
                raise ConfigError(
                    f"{node.nodeid}: @pytest.mark.onepixel takes keyword arguments only, e.g. "
                    f"@pytest.mark.onepixel(max_success_rate=0.3); found {mark.args!r}."
                )
            merged.update(mark.kwargs)
        where = lambda key: f"{node.nodeid}: @pytest.mark.onepixel({key}=...)"  # noqa: E731
        return parse_layer(merged, where, MARKER_KEYS)

    def run_yaml_item(self, item: OnePixelItem) -> None:
        settings = merge_layers(
            self.cli, self.marker_layer(item), item.entry, item.defaults, self.ini
        )
        with self._running(item) as progress:
            _, outcome = run_yaml_gate(item.name, settings, full=self.full, progress=progress)
        if not self._finish(item, outcome):
            raise GateFailed(failure_text(outcome, self.report_path))

    def check(
        self,
        node: pytest.Item,
        model: object,
        images: object,
        labels: object,
        indices: object,
        **options: Any,
    ) -> AttackResult:
        """The `onepixel` fixture's check(): the test's own model and data, merged settings."""
        call = parse_layer(
            options, lambda key: f"{node.nodeid}: onepixel.check({key}=...)", MARKER_KEYS
        )
        marker = self.marker_layer(node)
        settings = merge_layers(self.cli, marker, call, {}, self.ini)
        spec = gate_spec(settings, node.nodeid)
        resolved = load_model(
            model,
            device=settings["device"],
            threads=settings["threads"],
            input_name=settings["input_name"],
            output_name=settings["output_name"],
            trust_pickle=settings["trust_pickle"],
        )
        images, labels = np.asarray(images), np.asarray(labels)
        indices = None if indices is None else np.asarray(indices)
        with self._running(node) as progress:
            # The test passes its images; `samples` draws from them only when a layer sets it.
            if any("samples" in layer for layer in (self.cli, marker, call, self.ini)):
                drawn = sample(
                    Dataset(images, labels),
                    settings["samples"],
                    settings["seed"],
                    stratified=settings["stratified"],
                )
                images, labels = drawn.images, drawn.labels
                indices = drawn.indices if indices is None else indices[drawn.indices]
            earlier = len(node.stash.get(OUTCOME_KEY, []))
            result, outcome = run_gate(
                f"{node.name}#{earlier + 1}" if earlier else node.name,
                resolved,
                images,
                labels,
                settings=settings,
                spec=spec,
                full=self.full,
                indices=indices,
                progress=progress,
            )
        if not self._finish(node, outcome):
            pytest.fail(failure_text(outcome, self.report_path), pytrace=False)
        return result

    def _finish(self, node: pytest.Item, outcome: dict[str, Any]) -> bool:
        """Compare with the baseline, warn about small samples, attach the outcome to the item
        (for the report hook) and its JUnit properties; True when the gate passed."""
        outcome["nodeid"] = node.nodeid
        summary = outcome["summary"]
        if self.baseline is not None:
            outcome["compare"] = compare(outcome, self.baseline, self.compare_tolerance)
            if not outcome["compare"]["passed"]:
                outcome["passed"] = False
                outcome["reasons"].append(outcome["compare"]["reason"])
                outcome["reason"] = "; ".join(outcome["reasons"])
        attacked_set = summary["attacked"] + summary["skipped"]
        if attacked_set < SMALL_SAMPLE:
            _warn_at(
                node,
                f"gate {outcome['name']!r} has only {attacked_set} attacked images (fewer "
                f"than {SMALL_SAMPLE}): its success rate is a coarse estimate; raise "
                "`samples` for a verdict worth trusting.",
            )
        node.user_properties.extend(
            [
                ("onepixel_success_rate", summary["success_rate"]),
                ("onepixel_threshold", outcome["threshold"]),
                ("onepixel_attacked", summary["attacked"]),
                ("onepixel_successes", summary["successes"]),
                ("onepixel_interval_low", summary["interval"][0]),
                ("onepixel_interval_high", summary["interval"][1]),
            ]
        )
        node.stash.setdefault(OUTCOME_KEY, []).append(outcome)
        return outcome["passed"]

    def collect(self, report: pytest.TestReport) -> None:
        self.outcomes.extend(getattr(report, "onepixel", ()))

    def terminal_summary(self, terminal: Any) -> None:
        if self.is_worker or not self.outcomes or terminal.verbosity < -1:
            return
        terminal.write_sep("=", "onepixel gates")
        for line in table_lines(self.outcomes):
            terminal.write_line(line)
        if self.baseline is not None:
            terminal.write_line(f"compared with {self.config.getoption('onepixel_compare')}:")
            for line in compare_lines(self.outcomes):
                terminal.write_line(line)
        if self.report_path is not None:
            terminal.write_line(f"JSON report: {self.report_path}")

    def write_report(self) -> None:
        if self.is_worker or self.report_path is None:
            return
        options = {
            **self.ini,
            **self.cli,
            "full": self.full,
            "report": str(self.report_path),
            "config": self.config.getoption("onepixel_config"),
        }
        write_atomically(self.report_path, report_document(self.outcomes, options, __version__))

    @contextlib.contextmanager
    def _running(self, node: pytest.Item) -> Iterator[ProgressLine]:
        """A gate's progress line, with its OnePixelWarnings reported at the gate (YAML line or
        test) rather than at the plugin line that raised them."""
        progress = ProgressLine(self._terminal(), node.name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", OnePixelWarning)
            try:
                yield progress
            finally:
                progress.close()
        for warning in caught:
            if issubclass(warning.category, OnePixelWarning):
                _warn_at(node, str(warning.message))
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )

    def _terminal(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")


#: The outcomes of the gates an item ran: one for a YAML gate, one per check() in a test.
OUTCOME_KEY = pytest.StashKey[list]()


def _warn_at(node: pytest.Item, message: str) -> None:
    path, line, _ = node.reportinfo()
    warnings.warn_explicit(message, OnePixelWarning, filename=str(path), lineno=(line or 0) + 1)


def option_path(config: pytest.Config, name: str) -> Path | None:
    """A path option: on the command line relative to where pytest started (like --junitxml),
    as an ini key relative to the ini file's folder, so a project's setting works from any
    directory."""
    if config.getoption(name):
        return Path(config.invocation_params.dir, config.getoption(name))
    if config.getini(name):
        folder = config.inipath.parent if config.inipath else config.rootpath
        return Path(folder, config.getini(name))
    return None


def _usage(values: Mapping[str, Any], where, allowed: tuple[str, ...]) -> dict[str, Any]:
    try:
        return parse_layer(values, where, allowed)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
