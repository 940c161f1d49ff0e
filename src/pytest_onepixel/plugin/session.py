"""`OnePixelSession`: one pytest session's onepixel state, created in pytest_configure and kept
on the config. It holds the settings layers every gate shares and the gates' outcomes, and
renders the summary table and the JSON report; running a gate is plugin/gates.py's job.

Outcomes, comparisons and reports are imported when first needed, so a session without gates
pays only for reading the options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError
from ..settings.session_settings import SessionSettings
from ..settings.table import GATE_OPTION_KEYS
from .ledger import GateLedger
from .options import cli_layer, ini_layer, option_path, session_settings

if TYPE_CHECKING:
    from ..engine.batch_store import BatchStore
    from ..gate.outcome import GateOutcome

_SESSION_KEY = pytest.StashKey["OnePixelSession"]()
#: Where outcomes go in pytest's cache directory (.pytest_cache/v/onepixel/results/KEY).
CACHE_PREFIX = "onepixel/results/"


@dataclass(frozen=True)
class PytestCacheStore:
    """The result cache in pytest's cache directory (`config.cache`), keyed by gate/cache.py."""

    cache: Any

    def get(self, key: str) -> Any:
        return self.cache.get(CACHE_PREFIX + key, None)

    def set(self, key: str, value: Any) -> None:
        self.cache.set(CACHE_PREFIX + key, value)


#: The outcomes of the gates an item ran: one for a YAML gate, one per check() in a test.
OUTCOME_KEY = pytest.StashKey[list]()


@dataclass
class OnePixelSession:
    """Everything the hooks delegate to."""

    config: pytest.Config
    settings: SessionSettings  # the run's options (report paths, cache, shard, executor, ...)
    cli: dict[str, Any]  # --onepixel-* gate options given, validated (the gates' `cli` layer)
    ini: dict[str, Any]  # onepixel_* gate ini keys set, validated (the gates' `ini` layer)
    baseline: dict[str, GateOutcome] | None  # --onepixel-compare's gates, by node id and name
    ledger: GateLedger = field(default_factory=GateLedger)  # every gate and what became of it
    stopped_by: str | None = None  # the signal that interrupted the run, if one did
    reported_to: Path | None = None  # where this run's JSON report was written, once it was
    saved_to: Path | None = None  # where this run's report was saved, once it was
    written: list[str] = field(default_factory=list)  # summary lines of the files written
    interrupted_writing: bool = False  # Ctrl-C or SIGTERM came while the report was written

    @classmethod
    def install(cls, config: pytest.Config) -> OnePixelSession:
        """Read and validate the session's options (usage errors stop pytest before any gate)."""
        cli, ini = cli_layer(config), ini_layer(config)
        settings = session_settings(config, cli, ini)
        session = cls(
            config=config,
            settings=settings,
            cli={k: v for k, v in cli.items() if k in GATE_OPTION_KEYS},
            ini={k: v for k, v in ini.items() if k in GATE_OPTION_KEYS},
            baseline=_baseline(config, settings.compare),
        )
        config.stash[_SESSION_KEY] = session
        return session

    def header(self) -> str:
        """The log's line about the gates: the budget and seed every gate starts from (the
        command line, else the ini file, else the default; a YAML entry or marker may set its
        own) and the run's options."""
        from ..settings.gate_settings import GateSettings

        layer = {**self.ini, **self.cli}
        budget = layer.get("budget", GateSettings.budget)
        seed = layer.get("seed", GateSettings.seed)
        return f"onepixel: budget {budget}, seed {seed}, {self.settings.header()}"

    @classmethod
    def of(cls, config: pytest.Config) -> OnePixelSession:
        return config.stash[_SESSION_KEY]

    @classmethod
    def installed(cls, config: pytest.Config) -> OnePixelSession | None:
        """The session, or None when pytest stopped before it was set up (a usage error)."""
        return config.stash.get(_SESSION_KEY, None)

    def result_store(self) -> PytestCacheStore | None:
        """Where gate outcomes are cached (None: the cache is off, or pytest has none)."""
        cache = getattr(self.config, "cache", None)
        if self.settings.cache == "off" or cache is None:
            return None
        return PytestCacheStore(cache)

    def batch_store(self) -> BatchStore | None:
        """Where measured batch sizes are remembered per model and machine
        (engine/batch_store.py), beside the result cache and off with it."""
        cache = getattr(self.config, "cache", None)
        if self.settings.cache == "off" or cache is None:
            return None
        from ..engine.batch_store import PrefixedStore  # numpy: not at start-up

        return PrefixedStore(cache)

    @property
    def is_worker(self) -> bool:
        """True in a pytest-xdist worker, whose controller writes the table and the report."""
        return hasattr(self.config, "workerinput")

    @property
    def writes_report(self) -> bool:
        """This process writes a JSON report: to --onepixel-report, to the saved runs, or both."""
        report, save = self.settings.report, self.settings.save_name
        return not self.is_worker and (report is not None or save is not None)

    @property
    def outcomes(self) -> list[GateOutcome]:
        """One entry per gate known so far, with its status."""
        return self.ledger.final()

    def terminal_summary(self, terminal: Any) -> None:
        """The table of the gates this run selected; a line counting the deselected ones."""
        from ..gate.status import GateStatus

        outcomes = [o for o in self.outcomes if o.status != GateStatus.DESELECTED]
        quiet = self.is_worker or terminal.verbosity < -1 or runs_no_test(self.config)
        if quiet or not (outcomes or self.written):
            return
        from ..reports.text import compare_lines, table_lines

        terminal.write_sep("=", "onepixel gates")
        for line in table_lines(outcomes) if outcomes else []:
            terminal.write_line(line)
        deselected = len(self.ledger.deselected.keys() - {o.nodeid for o in outcomes})
        if deselected:
            where = ' (listed as "deselected" in the JSON report)' if self.writes_report else ""
            terminal.write_line(f"{deselected} gate{'s' * (deselected > 1)} deselected{where}")
        if self.baseline is not None:
            terminal.write_line(f"compared with {self.settings.compare}:")
            for line in compare_lines(outcomes):
                terminal.write_line(line)
        for line in self.written:
            terminal.write_line(line)
        if self.reported_to is not None:
            terminal.write_line(f"JSON report: {self.reported_to}")
        if self.saved_to is not None:
            terminal.write_line(f"saved run: {self.saved_to}")

    def report_options(self) -> dict[str, Any]:
        """The report's `options`: the gate options given, and the run's."""
        settings = self.settings
        return {**self.ini, **self.cli, "full": settings.full, "report": str(settings.report)}

    def write_visuals(self) -> None:
        """The gallery folder and the HTML report, when asked for (not in xdist workers)."""
        if self.is_worker or self.interrupted_writing:
            return
        from datetime import datetime, timezone

        from ..reports.visuals import write_pictures

        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        pictures = self.settings.gallery_dir, self.settings.html
        self.written += write_pictures(self.outcomes, *pictures, created)


def runs_no_test(config: pytest.Config) -> bool:
    """--collect-only, --setup-plan or --setup-only: no gate runs, so there is no table and no
    report is written (plugin/report_file.py)."""
    names = ("collectonly", "setupplan", "setuponly")
    return any(getattr(config.option, name, False) for name in names)


def _baseline(config: pytest.Config, given: str | None) -> dict[str, GateOutcome] | None:
    """--onepixel-compare's report by gate: a path, or `last`, the newest run saved under
    .onepixel/ (a usage error when there is none)."""
    if not given:
        return None
    from ..gate.compare import load_baseline
    from ..reports.history import FOLDER, newest

    if given == "last":
        path = newest(config.rootpath)
        if path is None:
            raise pytest.UsageError(
                f"--onepixel-compare last: no run is saved under {config.rootpath / FOLDER}; "
                "save one first with --onepixel-save (or the ini key onepixel_autosave = true)."
            )
    else:
        path = option_path(config, "compare")
    try:
        return load_baseline(path)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
