"""`SessionSettings`: one pytest run's onepixel options (report paths, comparison, cache, shard,
executor, progress), merged from the ini file and the command line once, when pytest starts.

The command line beats the ini file; a path given on the command line is relative to where
pytest was started (like --junitxml), one in the ini file relative to the ini file's folder, so
plugin/options.py resolves them before building this object and nothing later looks at the
raw options again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import validators as v
from .setting import CACHE_MODES, EXECUTORS, setting, settings_of

#: The gate files collected by default.
GATE_FILES = ("onepixel*.yaml", "onepixel*.yml")
#: Most session settings are an option and an ini key.
OPTION = {"scope": "session", "option": True}


@dataclass(frozen=True)
class SessionSettings:
    """The run's options, validated and with paths resolved."""

    config: Path | None = setting(
        None,
        v.text,
        "run only this onepixel YAML file (default: every onepixel*.yaml)",
        path=True,
        **OPTION,
    )
    files: list[str] = setting(
        list(GATE_FILES),
        v.names,
        "glob patterns of onepixel gate files",
        scope="session",
        spelled="args",
    )
    report: Path | None = setting(
        None, v.text, "write the JSON report of every gate here", path=True, **OPTION
    )
    full: bool = setting(
        False,
        v.boolean,
        "attack every sampled image even once a verdict is settled",
        spelled="flag",
        **OPTION,
    )
    compare: str | None = setting(
        None,
        v.text,
        "compare every gate with a previous JSON report, or the 'last' saved run",
        **OPTION,
    )
    gallery_dir: Path | None = setting(
        None,
        v.text,
        "write each gate's gallery of adversarial examples, and its robustness curve, here",
        path=True,
        flag="gallery",
        **OPTION,
    )
    html: Path | None = setting(
        None, v.text, "write one self-contained HTML report of every gate here", path=True, **OPTION
    )
    save: str | None = setting(
        None,
        v.save_name,
        "keep this run's report under .onepixel/ (optionally named)",
        spelled="optional",
        **OPTION,
    )
    autosave: bool = setting(
        False,
        v.boolean,
        "keep every run's report under .onepixel/",
        scope="session",
        spelled="flag",
    )
    shard: tuple[int, int] | None = setting(
        None,
        v.shard,
        "attack only shard K/N of every gate (merge the N reports to judge)",
        **OPTION,
    )
    executor: str = setting(
        "local", v.choice(*EXECUTORS), "who searches a gate's images: local or ray", **OPTION
    )
    cache: str = setting(
        "use", v.choice(*CACHE_MODES), "result cache: use (default), refresh or off", **OPTION
    )
    heartbeat: float = setting(
        30.0,
        v.positive_number,
        "seconds between progress lines in logs (not a terminal)",
        spelled="float",
        **OPTION,
    )
    compare_tolerance: float | None = setting(
        None,
        v.tolerance,
        "largest acceptable rise of a success rate over the baseline (default: the interval)",
        spelled="float",
        **OPTION,
    )

    @property
    def save_name(self) -> str | None:
        """Keep the report under .onepixel/ (None: no; "": name it after the git commit)."""
        return "" if self.save is None and self.autosave else self.save

    def header(self) -> str:
        """pytest's header line for a run with gates: what a CI log needs to replay it."""
        parts = [f"executor {self.executor}", f"cache {self.cache}"]
        if self.full:
            parts.append("full")
        if self.shard is not None:
            parts.append(f"shard {self.shard[0]}/{self.shard[1]}")
        for key in ("report", "html", "gallery_dir", "compare"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key.replace('_dir', '')} {value}")
        return ", ".join(parts)


SESSION_SETTINGS = settings_of(SessionSettings)
