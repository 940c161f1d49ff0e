"""onepixel YAML gate files: read safely, every key's line kept, entries validated.

YAML is read with a `yaml.SafeLoader` subclass (no Python objects can be built from a file)
that remembers the line of every key, so an error names the file, the line and the key.
Reading a file gives its gate entries, each already validated or carrying the error that fails
that gate alone; only a file that cannot be read at all is a file-level error.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..importing import looks_like_spec
from .table import DEFAULT_KEYS, ENTRY_KEYS, REQUIRED_IN_YAML, parse_layer, unknown_key_text

TOP_LEVEL_KEYS = ("defaults", "models")
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


@dataclass(frozen=True)
class GateEntry:
    """One gate of a file: its validated settings (paths resolved), or the error that fails it."""

    name: str
    line: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    markers: tuple[str, ...] = ()
    markers_line: int = 0
    error: ConfigError | None = None


@dataclass(frozen=True)
class GateFile:
    """A parsed gate file: the `defaults:` layer and one entry per item of `models:`."""

    defaults: Mapping[str, Any]
    entries: tuple[GateEntry, ...]


def read_gate_file(path: Path, shown: Path) -> GateFile:
    """Parse and validate a gate file; file-level problems raise ConfigError naming the file as
    `shown`, problems of one entry become that entry's error."""
    document = _load(path, shown)
    where = _where_in(shown)
    defaults = document.get("defaults") or LineMap()
    if not isinstance(defaults, LineMap):
        raise ConfigError(
            f"{shown}:{document.key_lines['defaults']}: `defaults` must be a mapping."
        )
    parsed_defaults = _resolve_paths(
        parse_layer(defaults, where(defaults, "defaults"), DEFAULT_KEYS), path.parent
    )
    seen: set[str] = set()
    entries = tuple(
        _entry(position, entry, parsed_defaults, seen, shown, path.parent)
        for position, entry in enumerate(document["models"])
    )
    return GateFile(parsed_defaults, entries)


def _load(path: Path, shown: Path) -> LineMap:
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
    models = document.get("models")
    if not isinstance(models, list) or not models:
        line = document.key_lines.get("models", document.line)
        raise ConfigError(
            f"{shown}:{line}: `models` must be a non-empty list of gates, each with name, "
            "model and data."
        )
    return document


def _entry(
    position: int,
    entry: object,
    defaults: Mapping[str, Any],
    seen: set[str],
    shown: Path,
    folder: Path,
) -> GateEntry:
    label = f"models[{position}]"
    if not isinstance(entry, LineMap):
        error = ConfigError(f"{shown}: {label} must be a mapping with name, model, data.")
        return GateEntry(label, 0, error=error)
    name = entry.get("name")
    name = name if isinstance(name, str) and name else label
    try:
        parsed = parse_layer(entry, _where_in(shown)(entry, f"{label} {name!r}"), ENTRY_KEYS)
        missing = [key for key in REQUIRED_IN_YAML if key not in {**defaults, **parsed}]
        if missing:
            raise ConfigError(
                f"{shown}:{entry.line}: {label}: missing required key {missing[0]!r} "
                "(each gate needs name, model and data)."
            )
        if name in seen:
            raise ConfigError(
                f"{shown}:{entry.key_lines['name']}: gate name {name!r} is used twice; names "
                "must be unique within a file."
            )
    except ConfigError as problem:
        return GateEntry(name, entry.line, error=problem)
    seen.add(name)
    markers = tuple(parsed.pop("markers", None) or ())
    return GateEntry(
        name,
        entry.line,
        _resolve_paths(parsed, folder),
        markers,
        entry.key_lines.get("markers", entry.line),
    )


def _where_in(shown: Path):
    def where(mapping: LineMap, label: str):
        return lambda key: f"{shown}:{mapping.key_lines.get(key, mapping.line)}: {label}"

    return where


def _resolve_paths(settings: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """Paths are relative to the YAML file; 'pkg.mod:name' strings import with the YAML
    file's folder on sys.path, as a conftest.py beside it would."""
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
