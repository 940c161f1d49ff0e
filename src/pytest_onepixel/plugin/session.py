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
from ..settings.table import GATE_OPTION_KEYS, SETTINGS
from ..version import __version__
from .ledger import GateLedger
from .options import cli_layer, ini_layer, option_path
from .output_paths import check_output_file, check_output_folder

if TYPE_CHECKING:
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
    cli: dict[str, Any]  # --onepixel-* options given, validated
    ini: dict[str, Any]  # onepixel_* ini keys set, validated
    report_path: Path | None  # where the JSON report goes (None: not written)
    full: bool  # attack every image even once a verdict is settled
    baseline: dict[str, GateOutcome] | None  # --onepixel-compare's gates, by node id and name
    save_name: str | None  # keep the report under .onepixel/ (None: no; "": name it by commit)
    compare_tolerance: float | None  # largest accepted rise (None: the new rate's interval)
    heartbeat: float  # seconds between progress lines when the output is not a terminal
    cache_mode: str  # use, refresh or off (the result cache)
    shard: tuple[int, int] | None  # --onepixel-shard K/N: attack that shard of every gate
    executor: str  # local or ray
    ledger: GateLedger = field(default_factory=GateLedger)  # every gate and what became of it
    stopped_by: str | None = None  # the signal that interrupted the run, if one did
    saved_to: Path | None = None  # where this run's report was saved, once it was
    gallery_dir: Path | None = None  # --onepixel-gallery: a folder of gallery and curve files
    html_path: Path | None = None  # --onepixel-html: one self-contained HTML report
    written: list[str] = field(default_factory=list)  # summary lines of the files written

    @classmethod
    def install(cls, config: pytest.Config) -> OnePixelSession:
        """Read and validate the session's options (usage errors stop pytest before any gate)."""
        cli, ini = cli_layer(config), ini_layer(config)
        session_options = {**ini, **cli}
        save = session_options.get("save")
        session = cls(
            config=config,
            cli={k: v for k, v in cli.items() if k in GATE_OPTION_KEYS},
            ini={k: v for k, v in ini.items() if k in GATE_OPTION_KEYS},
            report_path=check_output_file(option_path(config, "report"), "report"),
            full=bool(session_options.get("full")),
            baseline=_baseline(config),
            save_name="" if save is None and session_options.get("autosave") else save,
            compare_tolerance=session_options.get("compare_tolerance"),
            heartbeat=session_options.get("heartbeat", SETTINGS["heartbeat"].default),
            cache_mode=session_options.get("cache", SETTINGS["cache"].default),
            shard=session_options.get("shard"),
            executor=session_options.get("executor", SETTINGS["executor"].default),
        )
        session.gallery_dir = check_output_folder(option_path(config, "gallery_dir"), "gallery_dir")
        session.html_path = check_output_file(option_path(config, "html"), "html")
        config.stash[_SESSION_KEY] = session
        return session

    @classmethod
    def of(cls, config: pytest.Config) -> OnePixelSession:
        return config.stash[_SESSION_KEY]

    def result_store(self) -> PytestCacheStore | None:
        """Where gate outcomes are cached (None: the cache is off, or pytest has none)."""
        cache = getattr(self.config, "cache", None)
        if self.cache_mode == "off" or cache is None:
            return None
        return PytestCacheStore(cache)

    @property
    def is_worker(self) -> bool:
        """True in a pytest-xdist worker, whose controller writes the table and the report."""
        return hasattr(self.config, "workerinput")

    @property
    def writes_report(self) -> bool:
        """This process writes a JSON report: to --onepixel-report, to the saved runs, or both."""
        return not self.is_worker and (self.report_path is not None or self.save_name is not None)

    @property
    def outcomes(self) -> list[GateOutcome]:
        """One entry per gate known so far, with its status."""
        return self.ledger.final()

    def terminal_summary(self, terminal: Any) -> None:
        outcomes = self.outcomes
        if self.is_worker or not outcomes or terminal.verbosity < -1:
            return
        from ..reports.text import compare_lines, table_lines

        terminal.write_sep("=", "onepixel gates")
        for line in table_lines(outcomes):
            terminal.write_line(line)
        if self.baseline is not None:
            terminal.write_line(f"compared with {self.config.getoption('onepixel_compare')}:")
            for line in compare_lines(outcomes):
                terminal.write_line(line)
        for line in self.written:
            terminal.write_line(line)
        if self.report_path is not None:
            terminal.write_line(f"JSON report: {self.report_path}")
        if self.saved_to is not None:
            terminal.write_line(f"saved run: {self.saved_to}")

    def write_report(self, interrupted: bool) -> None:
        """The JSON report of every gate (and its saved copy under .onepixel/); an interrupted
        run says so, and which signal stopped it."""
        if not self.writes_report:
            return
        from ..reports.history import next_path
        from ..reports.json_report import report_document, write_atomically

        options = {**self.ini, **self.cli, "full": self.full, "report": str(self.report_path)}
        document = report_document(self.outcomes, options, __version__)
        document["interrupted"] = interrupted or self.stopped_by is not None
        document["signal"] = self.stopped_by
        if self.shard is not None:
            document["shard"] = {"index": self.shard[0], "count": self.shard[1]}
        if self.report_path is not None:
            write_atomically(self.report_path, document)
        if self.save_name is not None:
            self.saved_to = next_path(self.config.rootpath, self.save_name)
            write_atomically(self.saved_to, document)

    def write_visuals(self) -> None:
        """The gallery folder and the HTML report, when asked for (not in xdist workers)."""
        if self.is_worker:
            return
        from datetime import datetime, timezone

        from ..reports.visuals import write_pictures

        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.written += write_pictures(self.outcomes, self.gallery_dir, self.html_path, created)


def _baseline(config: pytest.Config) -> dict[str, GateOutcome] | None:
    """--onepixel-compare's report by gate: a path, or `last`, the newest run saved under
    .onepixel/ (a usage error when there is none)."""
    given = config.getoption("onepixel_compare") or config.getini("onepixel_compare")
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
