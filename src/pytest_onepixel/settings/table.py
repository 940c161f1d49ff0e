"""`SETTINGS`: every setting in one table, driving options, ini keys, YAML keys and keywords.

The table is read off the fields of the typed settings objects (settings/gate_settings.py,
settings/session_settings.py), where each setting is declared once with its default; only the
two keys that name a YAML entry (`name`, `markers`) are declared here. A key means the same
everywhere. Its `scope` says where it may be set:

- ``gate``: a YAML entry or `defaults`, `@pytest.mark.onepixel(...)`, `onepixel.check(...)`,
  and, when `option` is set, ``--onepixel-KEY`` and the ini key ``onepixel_KEY``;
- ``entry``: a YAML entry only (its name and pytest markers);
- ``source``: YAML only (the model and data a Python test passes itself);
- ``session``: ``--onepixel-KEY`` and ``onepixel_KEY`` only (report paths, comparison, ...).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from .. import validators as v
from ..errors import ConfigError
from .gate_settings import GATE_SETTINGS, SOURCE_SETTINGS
from .session_settings import GATE_FILES, SESSION_SETTINGS
from .setting import SPELLINGS, Setting, parse_values, shorten, unknown_key_text

__all__ = ["GATE_FILES", "SETTINGS", "SPELLINGS", "Setting", "shorten", "unknown_key_text"]

#: The keys that name a YAML entry: they have no default and belong to no settings object.
ENTRY_SETTINGS = {
    "name": Setting(v.text, None, "the gate's test name", "entry"),
    "markers": Setting(v.names, None, "pytest markers applied to the YAML item", "entry"),
}

SETTINGS: dict[str, Setting] = {
    **GATE_SETTINGS,
    **ENTRY_SETTINGS,
    **SOURCE_SETTINGS,
    **SESSION_SETTINGS,
}

#: Keys of a YAML entry, of YAML `defaults`, of the marker and check(), and of the options.
ENTRY_KEYS = tuple(k for k, s in SETTINGS.items() if s.scope != "session")
DEFAULT_KEYS = tuple(k for k, s in SETTINGS.items() if s.scope in ("gate", "source"))
MARKER_KEYS = tuple(k for k, s in SETTINGS.items() if s.scope == "gate")
GATE_OPTION_KEYS = tuple(k for k, s in SETTINGS.items() if s.scope == "gate" and s.option)
SESSION_KEYS = tuple(k for k, s in SETTINGS.items() if s.scope == "session")
#: Keys that must be set (somewhere) for a YAML gate.
REQUIRED_IN_YAML = ("name", "model", "data")


def option_name(key: str) -> str:
    return "--onepixel-" + _spelled_name(key).replace("_", "-")


def ini_name(key: str) -> str:
    return "onepixel_" + _spelled_name(key)


def _spelled_name(key: str) -> str:
    setting = SETTINGS.get(key)
    return setting.flag if setting is not None and setting.flag else key


def parse_layer(
    values: Mapping[str, object], where: Callable[[str], str], allowed: tuple[str, ...]
) -> dict[str, Any]:
    """Validate one layer's keys and values. `where(key)` says where a key was set (file:line,
    option, ini key or marker) so every error can name it; a typo gets the closest valid key."""
    return parse_values(values, SETTINGS, where, allowed, ConfigError)


def command_line_type(key: str) -> Callable[[str], Any]:
    """argparse `type=` for --onepixel-KEY: spells the text as the setting's type and validates
    it at parse time, so a bad value is a usage error naming the option (as pytest-randomly
    validates its seed)."""
    setting = SETTINGS[key]
    spell = {"int": int, "float": float}.get(setting.spelled, str)

    def convert(text: str) -> Any:
        try:
            value = spell(text)
        except ValueError:
            value = text  # every numeric parser rejects a string with its own message
        try:
            return setting.parse(value)
        except ValueError as expected:
            raise argparse.ArgumentTypeError(f"must be {expected}; found {text!r}") from None

    convert.__name__ = key
    return convert
