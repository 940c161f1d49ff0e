"""Running a gate inside a test item: merge its settings layers, hand a `GateRequest` to
`run_gate`, and turn the outcome into what pytest shows (failure, warnings, JUnit properties,
the outcome carried on the test report)."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from ..errors import ConfigError, GateFailed, OnePixelError, OnePixelWarning
from ..gate.compare import compare, rule_for
from ..gate.outcome import GateOutcome
from ..gate.run import GateRequest, GateRun, run_gate
from ..gate.status import GateStatus
from ..reports.text import failure_text
from ..reports.visuals import examples_for
from ..settings.gate_settings import GateSettings
from ..settings.layers import Layers
from ..settings.table import MARKER_KEYS, parse_layer
from .progress_line import ProgressLine
from .session import OUTCOME_KEY, OnePixelSession

#: The AttackResults of the check() calls a test made, failed ones included.
RESULTS_KEY = pytest.StashKey[list]()


class GateCheckFailed(pytest.fail.Exception):
    """A failed `onepixel.check()`: pytest's failure (the verdict text, no traceback) that
    still hands the test the gate's AttackResult as `.result`."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message, pytrace=False)
        self.result = result


#: Attacked sets smaller than this get a warning: their interval is too wide to mean much.
SMALL_SAMPLE = 30


#: The validated marker layer of an item, kept from its setup (`check_marker`) for its gates.
MARKER_LAYER_KEY = pytest.StashKey[dict]()


def marker_layer(node: pytest.Item) -> dict[str, Any]:
    """kwargs of @pytest.mark.onepixel, the closest marker winning over outer ones; validated
    once per item (at its setup, or at its first gate) and kept."""
    if MARKER_LAYER_KEY in node.stash:
        return node.stash[MARKER_LAYER_KEY]
    merged: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers("onepixel"))):
        if mark.args:
            raise ConfigError(
                f"{node.nodeid}: @pytest.mark.onepixel takes keyword arguments only, e.g. "
                f"@pytest.mark.onepixel(max_success_rate=0.3); found {mark.args!r}."
            )
        merged.update(mark.kwargs)
    layer = parse_layer(
        merged, lambda key: f"{node.nodeid}: @pytest.mark.onepixel({key}=...)", MARKER_KEYS
    )
    node.stash[MARKER_LAYER_KEY] = layer
    return layer


def check_marker(node: pytest.Item) -> None:
    """At the setup of a test that carries @pytest.mark.onepixel: an unknown key or a bad
    value fails it there, whether or not the test calls `check()` (a typo would otherwise go
    unnoticed in a test that forgot to)."""
    if node.get_closest_marker("onepixel") is None:
        return
    try:
        marker_layer(node)
        return
    except ConfigError as error:
        message = str(error)
    record_error(node, node.name, message)
    pytest.fail(message, pytrace=False)  # outside `except`: no "during handling" chain


def run_yaml_gate(item: pytest.Item, entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """A YAML gate: the model and data come from the merged layers' `source`."""
    session = OnePixelSession.of(item.config)

    def request(progress: ProgressLine) -> GateRequest:
        layers = Layers(
            cli=session.cli,
            marker=marker_layer(item),
            entry=entry,
            defaults=defaults,
            ini=session.ini,
        )
        source = layers.source()
        return _request(item, layers.settings(), source.model, progress, source=source)

    outcome = _finish(item, _run(item, item.name, request).outcome)
    if outcome.status == GateStatus.FAILED:
        raise GateFailed(failure_text(outcome, session.settings.report))


def run_check(
    node: pytest.Item,
    model: object,
    images: object,
    labels: object,
    indices: object,
    **options: Any,
) -> Any:
    """`onepixel.check()`: the test's own model and data, its keywords as the `call` layer."""
    session = OnePixelSession.of(node.config)
    earlier = len(node.stash.get(OUTCOME_KEY, []))
    name = f"{node.name}#{earlier + 1}" if earlier else node.name

    def request(progress: ProgressLine) -> GateRequest:
        where = lambda key: f"{node.nodeid}: onepixel.check({key}=...)"  # noqa: E731
        call = parse_layer(options, where, MARKER_KEYS)
        layers = Layers(cli=session.cli, call=call, marker=marker_layer(node), ini=session.ini)
        # The test passes its images; `samples` draws from them only when a layer sets it.
        return _request(
            node, layers.settings(), model, progress, images=images, labels=labels,
            indices=indices, draw_sample=layers.sets("samples"), name=name,
        )  # fmt: skip

    run = _run(node, name, request)
    node.stash.setdefault(RESULTS_KEY, []).append(run.result)
    outcome = _finish(node, run.outcome)
    if outcome.status == GateStatus.FAILED:
        raise GateCheckFailed(failure_text(outcome, session.settings.report), run.result)
    return run.result


def _request(
    node: pytest.Item,
    settings: GateSettings,
    model: object,
    progress: ProgressLine,
    **given: Any,
) -> GateRequest:
    run = OnePixelSession.of(node.config).settings
    return GateRequest(
        name=given.pop("name", node.name),
        settings=settings,
        model=model,
        full=run.full,
        cache=OnePixelSession.of(node.config).result_store(),
        batch_store=OnePixelSession.of(node.config).batch_store(),
        refresh=run.cache == "refresh",
        shard=run.shard,
        executor=run.executor,
        load_model=lambda source, options: node.ihook.pytest_onepixel_load_model(
            source=source, options=options
        ),
        progress=progress,
        **given,
    )


def _run(node: pytest.Item, name: str, make_request) -> GateRun:
    """Run a gate with its progress line; a user mistake becomes the gate's error outcome (in
    the report, and through pytest_onepixel_gate_finished) and then fails the test."""
    start = time.perf_counter()
    with _reporting_at(node) as progress:
        try:
            request = make_request(progress)
            run = run_gate(request)
        except OnePixelError as error:
            record_error(node, name, str(error), round(time.perf_counter() - start, 3))
            raise
    class_names = run.outcome.data.get("class_names")
    examples = examples_for(run.result, class_names)
    return replace(run, outcome=replace(run.outcome, examples=examples))


def record_error(node: pytest.Item, name: str, message: str, seconds: float = 0.0) -> None:
    """A gate that could not run: its error is its outcome, in the report and the hook."""
    _record(node, GateOutcome.errored(name, message, node.nodeid, seconds))


def _finish(node: pytest.Item, outcome: GateOutcome) -> GateOutcome:
    """Compare with the baseline, warn about small samples, attach the outcome to the item
    (for the report hook) and its JUnit properties; the outcome as compared."""
    session = OnePixelSession.of(node.config)
    outcome = replace(outcome, nodeid=node.nodeid)
    if session.baseline is not None:
        outcome = outcome.compared(
            compare(outcome, session.baseline, rule_for(session.settings.compare_tolerance))
        )
    summary = outcome.summary
    attacked_set = summary.attacked + summary.skipped
    if attacked_set < SMALL_SAMPLE:
        _warn_at(
            node,
            f"gate {outcome.name!r} has only {attacked_set} attacked images (fewer than "
            f"{SMALL_SAMPLE}): its success rate is a coarse estimate; raise `samples` for a "
            "verdict worth trusting.",
        )
    node.user_properties.extend(
        [
            ("onepixel_success_rate", summary.success_rate),
            ("onepixel_threshold", outcome.threshold),
            ("onepixel_attacked", summary.attacked),
            ("onepixel_successes", summary.successes),
            ("onepixel_interval_low", summary.interval[0]),
            ("onepixel_interval_high", summary.interval[1]),
            # an early verdict's rate is over fewer images than a full run's: say so
            ("onepixel_early_verdict", "true" if summary.early_verdict else "false"),
            ("onepixel_rate_over", summary.rate_over),
        ]
    )
    if summary.bracket is not None:  # search: certify: the exact bracket a dashboard charts
        node.user_properties.extend(
            [
                ("onepixel_certified", summary.certified),
                ("onepixel_undecided", summary.undecided),
                ("onepixel_bracket_low", summary.bracket[0]),
                ("onepixel_bracket_high", summary.bracket[1]),
            ]
        )
    _record(node, outcome)
    return outcome


def _record(node: pytest.Item, outcome: GateOutcome) -> None:
    """Keep the outcome for the test report (and so the controller under xdist), and tell the
    project's pytest_onepixel_gate_finished hooks."""
    node.stash.setdefault(OUTCOME_KEY, []).append(outcome)
    node.ihook.pytest_onepixel_gate_finished(outcome=outcome)


@contextlib.contextmanager
def _reporting_at(node: pytest.Item) -> Iterator[ProgressLine]:
    """A gate's progress line, with its OnePixelWarnings reported at the gate (YAML line or
    test) rather than at the plugin line that raised them."""
    plugins = node.config.pluginmanager
    heartbeat = OnePixelSession.of(node.config).settings.heartbeat
    progress = ProgressLine(
        plugins.get_plugin("terminalreporter"),
        node.name,
        heartbeat,
        plugins.get_plugin("capturemanager"),
    )
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


def _warn_at(node: pytest.Item, message: str) -> None:
    path, line, _ = node.reportinfo()
    warnings.warn_explicit(message, OnePixelWarning, filename=str(path), lineno=(line or 0) + 1)
