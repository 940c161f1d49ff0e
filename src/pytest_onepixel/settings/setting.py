"""`Setting`: what one key means (its parser, help and where it may be set), attached to the
field of the typed settings object that holds it, with that field's default.

A setting is declared once, as a dataclass field of `GateSettings`, `GateSource` or
`SessionSettings`: ``budget: int = setting(400, v.integer(1), "queries per attacked image",
option=True, spelled="int")``. The field's default is the setting's only default, and
settings/table.py builds the options, ini keys, YAML schema and marker keywords from the fields.

The names that some settings choose among (gate modes, cache modes, backends, executors) live
here too: this module imports nothing that is slow or above the engine, so the plugin can read
them at start-up and the layers that act on them (gate, backends, executors) import them from
here.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Gate modes (gate/spec.py gives their rules).
GATE_MODES = ("point", "strict", "lenient")
#: Result cache modes (gate/cache.py).
CACHE_MODES = ("use", "refresh", "off")
#: What runs the search of a PyTorch model (backends.py).
BACKENDS = ("auto", "torch", "onnxruntime")
#: Who searches a gate's attacked set (executors/).
EXECUTORS = ("local", "ray")

#: How the command line and ini files spell a value, and the pytest ini type that reads it.
SPELLINGS = {
    "str": "string",
    "optional": "string",  # --onepixel-KEY[=VALUE]
    "int": "int",
    "float": "float",
    "flag": "bool",
    "args": "args",
}


@dataclass(frozen=True)
class Setting:
    """One setting: how to validate it, its default, its help, and where it may be set.

    `scope` is ``gate`` (a YAML entry or `defaults`, the marker, `check()`, and with `option`
    ``--onepixel-KEY`` and the ini key ``onepixel_KEY``), ``entry`` (a YAML entry only),
    ``source`` (YAML only: the model and data a Python test passes itself) or ``session``
    (``--onepixel-KEY`` and ``onepixel_KEY`` only)."""

    parse: Callable[[object], Any]
    default: object
    help: str
    scope: str = "gate"
    option: bool = False
    spelled: str = "str"
    path: bool = False
    flag: str | None = None  # the option's and ini key's name when not the key's own


def setting(
    default: object,
    parse: Callable[[object], Any],
    help: str,
    *,
    scope: str = "gate",
    option: bool = False,
    spelled: str = "str",
    path: bool = False,
    flag: str | None = None,
) -> Any:
    """A dataclass field that carries its `Setting` (in its metadata) and its default."""
    described = Setting(parse, default, help, scope, option, spelled, path, flag)
    metadata = {"setting": described}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def settings_of(cls: type) -> dict[str, Setting]:
    """The `Setting` of every field of a settings dataclass, in declaration order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls)}


def parse_values(
    values: Mapping[str, object],
    table: Mapping[str, Setting],
    where: Callable[[str], str],
    allowed: Iterable[str],
    error: type[Exception],
) -> dict[str, Any]:
    """Validate `values` (one layer, or `attack()`'s keywords) with their settings' parsers:
    the one validation every value goes through. `where(key)` says where a key was set
    (file:line, option, ini key, marker, keyword) so every error names it; a typo gets the
    closest valid key; `error` is the exception a bad value raises (ConfigError for settings
    files, InputError for `attack()`)."""
    allowed = tuple(allowed)
    parsed = {}
    for key, value in values.items():
        if key not in allowed:
            raise error(f"{where(str(key))}: {unknown_key_text(key, allowed)}")
        try:
            parsed[key] = table[key].parse(value)
        except ValueError as expected:
            raise error(
                f"{where(key)}: {key!r} must be {expected}; found {shorten(value)}."
            ) from None
    return parsed


def unknown_key_text(key: object, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(allowed)}."
    return f"unknown key {shorten(key)}; {hint}"


def shorten(value: object, limit: int = 80) -> str:
    """repr(value) cut to a readable length: messages echo what a user wrote, not 7 MB of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text):,} characters)"
