"""onepixel YAML files collected as test files, one test item per entry of `models:`.

Follows pytest's own non-Python test example (doc/en/example/nonpython): a `pytest.File` that
yields `pytest.Item`s whose `repr_failure` prints a short domain explanation, not a traceback.
YAML is read with a `yaml.SafeLoader` subclass that remembers the line of every key, so an
error names the file, the line and the key.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from .errors import OnePixelError
from .importing import looks_like_spec
from .settings import (
    ENTRY_ONLY,
    REQUIRED_IN_YAML,
    SETTINGS,
    ConfigError,
    parse_layer,
    unknown_key_text,
)

TOP_LEVEL_KEYS = ("defaults", "models")
ENTRY_KEYS = tuple(SETTINGS)
DEFAULT_KEYS = tuple(k for k in SETTINGS if k not in ENTRY_ONLY)
PATH_KEYS = ("model", "weights", "data")


class LineMap(dict):
    """A YAML mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) that returns LineMaps for mappings."""


def _construct_line_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    mapping = LineMap(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_line_map)


def read_gate_file(path: Path, shown: Path) -> tuple[LineMap, list[Any]]:
    """(defaults, model entries) of a gate file; file-level problems raise ConfigError naming
    the file as `shown`."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{shown}{line}: not valid YAML ({problem}).") from None
    if not isinstance(document, LineMap):
        raise ConfigError(
            f"{shown}: a onepixel file is a mapping with `models:` (a list of gates) and optional "
            f"`defaults:`; found {type(document).__name__}."
        )
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            line = document.key_lines.get(str(key), document.line)
            raise ConfigError(f"{shown}:{line}: {unknown_key_text(key, TOP_LEVEL_KEYS)}")
    defaults = document.get("defaults") or LineMap()
    if not isinstance(defaults, LineMap):
        raise ConfigError(
            f"{shown}:{document.key_lines['defaults']}: `defaults` must be a mapping."
        )
    models = document.get("models")
    if not isinstance(models, list) or not models:
        line = document.key_lines.get("models", document.line)
        raise ConfigError(
            f"{shown}:{line}: `models` must be a non-empty list of gates, each with name, "
            "model and data."
        )
    return defaults, models


class OnePixelFile(pytest.File):
    """A onepixel*.yaml file: one item per model entry."""

    @property
    def shown_path(self) -> Path:
        """The path as a user typed it: relative to where pytest was started, when inside."""
        start = self.config.invocation_params.dir
        return self.path.relative_to(start) if self.path.is_relative_to(start) else self.path

    def collect(self) -> Iterator[OnePixelItem]:
        try:
            defaults, entries = read_gate_file(self.path, self.shown_path)
            parsed_defaults = parse_layer(defaults, self._where(defaults, "defaults"), DEFAULT_KEYS)
        except ConfigError as error:
            raise self.CollectError(str(error)) from None
        seen: set[str] = set()
        for position, entry in enumerate(entries):
            yield self._item(position, entry, parsed_defaults, seen)

    def _item(self, position: int, entry: object, defaults: dict, seen: set[str]) -> OnePixelItem:
        label = f"models[{position}]"
        if not isinstance(entry, LineMap):
            error = ConfigError(
                f"{self.shown_path}: {label} must be a mapping with name, model, data."
            )
            return OnePixelItem.from_parent(self, name=label, entry={}, defaults={}, error=error)
        name = entry.get("name")
        name = name if isinstance(name, str) and name else label
        try:
            parsed = parse_layer(entry, self._where(entry, f"{label} {name!r}"), ENTRY_KEYS)
            missing = [key for key in REQUIRED_IN_YAML if key not in {**defaults, **parsed}]
            if missing:
                raise ConfigError(
                    f"{self.shown_path}:{entry.line}: {label}: missing required key {missing[0]!r} "
                    "(each gate needs name, model and data)."
                )
            if name in seen:
                raise ConfigError(
                    f"{self.shown_path}:{entry.key_lines['name']}: gate name {name!r} is used "
                    "twice; names must be unique within a file."
                )
            seen.add(name)
            error = None
            parsed = {**self._resolve_paths(parsed)}
        except ConfigError as problem:
            parsed, error = {}, problem
        item = OnePixelItem.from_parent(
            self, name=name, entry=parsed, defaults=self._resolve_paths(defaults), error=error
        )
        item.line = entry.line
        for marker in parsed.get("markers") or ():
            try:
                item.add_marker(marker)
            except pytest.fail.Exception:
                item.error = ConfigError(
                    f"{self.shown_path}:{entry.key_lines['markers']}: {label} {name!r}: marker "
                    f"{marker!r} is not registered; add it to the `markers` ini option "
                    "(--strict-markers is on)."
                )
        return item

    def _where(self, mapping: LineMap, label: str):
        return lambda key: f"{self.shown_path}:{mapping.key_lines.get(key, mapping.line)}: {label}"

    def _resolve_paths(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Paths are relative to the YAML file; 'pkg.mod:name' strings import with the YAML
        file's folder on sys.path, as a conftest.py beside it would."""
        folder = self.path.parent
        resolved = dict(settings)
        for key in PATH_KEYS:
            value = resolved.get(key)
            if isinstance(value, dict):
                resolved[key] = {k: str(folder / v) for k, v in value.items()}
            elif isinstance(value, str):
                if looks_like_spec(value):
                    if str(folder) not in sys.path:
                        sys.path.insert(0, str(folder))
                else:
                    resolved[key] = str(folder / value)
        return resolved


class OnePixelItem(pytest.Item):
    """One gate of a YAML file; runs through the session so reports and tables see it."""

    def __init__(
        self,
        *,
        entry: dict[str, Any],
        defaults: dict[str, Any],
        error: ConfigError | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.defaults = defaults
        self.error = error
        self.line = 0

    def runtest(self) -> None:
        if self.error is not None:
            raise self.error
        from .session import OnePixelSession

        OnePixelSession.of(self.config).run_yaml_item(self)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, (GateFailed, OnePixelError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.line - 1, 0), f"onepixel gate: {self.name}"


class GateFailed(Exception):
    """Raised by a gate whose verdict is fail; its text is the failure report."""
