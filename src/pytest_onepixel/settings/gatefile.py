"""onepixel YAML gate files: read safely, every key's line kept, entries validated.

YAML is read with a `yaml.SafeLoader` subclass (no Python objects can be built from a file)
that remembers the line of every key, so an error names the file, the line and the key.
Reading a file gives its gate entries, each already validated or carrying the error that fails
that gate alone; only a file that cannot be read at all is a file-level error.

A gate file is review material that must not take CI down, so reading it is bounded: the file
must be UTF-8 and at most `MAX_FILE_BYTES`; after composing (linear in the file) and before
building any Python object, the document's size with every alias expanded is counted, so a
"billion laughs" file is refused in microseconds; no string may exceed `MAX_CHARS` nor list
`MAX_ITEMS`; and a key repeated in one mapping is an error naming both lines (YAML would keep
the last one silently, e.g. a looser `max_success_rate` further down).
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
from .table import (
    DEFAULT_KEYS,
    ENTRY_KEYS,
    REQUIRED_IN_YAML,
    parse_layer,
    shorten,
    unknown_key_text,
)

TOP_LEVEL_KEYS = ("defaults", "models")
PATH_KEYS = ("model", "weights", "data")
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000  # values in the document with every alias expanded
MAX_CHARS = 10_000  # characters in one string
MAX_ITEMS = 10_000  # entries in one list or mapping


class LineMap(dict):
    """A YAML mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) that returns LineMaps for mappings."""


class _DuplicateKey(Exception):
    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


def _construct_line_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                raise _DuplicateKey(key_node.value, seen[key_node.value], line)
            seen[key_node.value] = line
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
    document = _parse(_text(path, shown), shown)
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


def _text(path: Path, shown: Path) -> str:
    """The file's text: readable, not too large, UTF-8."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{shown}: the file is {size:,} bytes; a onepixel gate file is a short YAML list "
                f"of gates (limit {MAX_FILE_BYTES:,} bytes). Keep data and models in files of "
                "their own and name them by path."
            )
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{shown}: cannot be read ({error.strerror or error}).") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{shown}:{line}: the file must be UTF-8 text; byte 0x{raw[error.start]:02x} at "
            f"offset {error.start} is not UTF-8. Save the file as UTF-8."
        ) from None


def _parse(text: str, shown: Path) -> object:
    """YAML to Python objects, bounded: the composed document is measured before any object is
    built from it."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, shown)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = shorten(getattr(error, "problem", None) or str(error), 200)
        raise ConfigError(f"{shown}{line}: not valid YAML ({problem}).") from None
    except _DuplicateKey as duplicate:
        raise ConfigError(
            f"{shown}:{duplicate.second}: key {shorten(duplicate.key)} appears twice in one "
            f"mapping (lines {duplicate.first} and {duplicate.second}); YAML would silently keep "
            "only the last one. Remove one of them."
        ) from None
    except RecursionError:
        raise ConfigError(f"{shown}: the YAML is nested too deeply to be a gate file.") from None
    finally:
        loader.dispose()


def _check_size(root: yaml.Node, shown: Path) -> None:
    """Refuse a document whose alias-expanded size, or one of whose values, is out of bounds.

    Sizes are counted once per node (aliases share nodes), so the count is linear in the file
    even for an exponential expansion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            _check_length(len(node.value), MAX_CHARS, "a value of {:,} characters", shown, line)
            sizes[id(node)] = 1
            continue
        _check_length(len(node.value), MAX_ITEMS, "a list or mapping of {:,} entries", shown, line)
        children = _children(node)
        if not children_done:
            if id(node) in open_nodes:
                raise ConfigError(f"{shown}:{line}: an alias refers to itself (a cycle).")
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for child in children)
        if sizes[id(node)] > MAX_NODES:
            raise ConfigError(
                f"{shown}:{line}: with its aliases (*name) expanded this document holds more "
                f'than {MAX_NODES:,} values (a "billion laughs" file?); a gate file needs a '
                "handful. Write the values out instead of nesting aliases."
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return list(node.value)


def _check_length(length: int, limit: int, what: str, shown: Path, line: int) -> None:
    if length > limit:
        raise ConfigError(
            f"{shown}:{line}: {what.format(length)} (limit {limit:,}); a gate file holds "
            "settings, not data."
        )


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
