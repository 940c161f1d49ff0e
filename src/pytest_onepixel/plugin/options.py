"""Command-line options and ini keys, all generated from the settings table; reading them back
as the gates' `cli` and `ini` layers, and as the run's one `SessionSettings`."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from ..errors import ConfigError
from ..settings.session_settings import SessionSettings
from ..settings.table import (
    GATE_OPTION_KEYS,
    SESSION_KEYS,
    SETTINGS,
    SPELLINGS,
    command_line_type,
    ini_name,
    option_name,
    parse_layer,
)

OPTION_KEYS = tuple(key for key in (*GATE_OPTION_KEYS, *SESSION_KEYS) if SETTINGS[key].option)
INI_KEYS = (*GATE_OPTION_KEYS, *SESSION_KEYS)


def add_options(parser: pytest.Parser) -> None:
    """The `onepixel` option group; every option has an ini key of the same name."""
    group = parser.getgroup("onepixel", "one-pixel attack robustness gates")
    for key in OPTION_KEYS:
        setting = SETTINGS[key]
        default = f" (default: {setting.default})" if setting.default not in (None, False) else ""
        overrides = "; overrides YAML, markers and ini" if setting.scope == "gate" else ""
        kind: dict[str, Any] = {"type": command_line_type(key), "metavar": key.upper()}
        if setting.spelled == "flag":
            kind = {"action": "store_true", "default": None}
        elif setting.spelled == "optional":
            kind = {**kind, "nargs": "?", "const": ""}
        group.addoption(
            option_name(key), dest=ini_name(key), help=f"{setting.help}{default}{overrides}", **kind
        )
    for key in INI_KEYS:
        setting = SETTINGS[key]
        default = setting.default if setting.spelled == "args" else None
        _add_ini(parser, ini_name(key), setting.help, setting.spelled, default)


#: ini types as unions with str (pytest >= 9.2): native TOML numbers and booleans are read as
#: such, and a string that is not one reaches our parser, whose message names what it must be.
_UNION_TYPES = {"int": int | str, "float": float | str, "flag": bool | str}


def _add_ini(parser: pytest.Parser, name: str, help: str, spelled: str, default: Any) -> None:
    parser.addini(name, help, type=_ini_type(spelled), default=default)


def _ini_type(spelled: str) -> Any:
    """The `addini` type this pytest takes, chosen by its version (each older pytest refuses
    the newer types with an AssertionError, which `python -O` would not even raise): a union
    from 9.2, the "int"/"float" tags from 8.4, and before that "string", which `_spelled`
    turns into a number."""
    if spelled in _UNION_TYPES and pytest.version_tuple[:2] >= (9, 2):
        return _UNION_TYPES[spelled]
    tag = SPELLINGS[spelled]
    if tag in ("int", "float") and pytest.version_tuple[:2] < (8, 4):
        return "string"
    return tag


def _spelled(key: str, raw: Any) -> Any:
    """An ini value read as text (pytest < 8.4, or a string in a union) spelled as the
    setting's number; text that is not one reaches the validator, whose message names it."""
    spell = {"int": int, "float": float}.get(SETTINGS[key].spelled)
    if spell is None or not isinstance(raw, str):
        return raw
    try:
        return spell(raw.strip())
    except ValueError:
        return raw


def session_settings(
    config: pytest.Config, cli: dict[str, Any], ini: dict[str, Any]
) -> SessionSettings:
    """The run's options, once: the command line over the ini file over the defaults (`cli`
    and `ini` hold the values already validated where they were read), paths resolved
    (`option_path`). An unusable output path is a usage error before any gate runs."""
    from .output_paths import check_output_file, check_output_folder

    given = {k: v for k, v in {**ini, **cli}.items() if k in SESSION_KEYS}
    for key in SESSION_KEYS:
        if SETTINGS[key].path and key in given:
            given[key] = option_path(config, key)
    for key in ("report", "html"):
        given[key] = check_output_file(given.get(key), key)
    given["gallery_dir"] = check_output_folder(given.get("gallery_dir"), "gallery_dir")
    return SessionSettings(**{k: v for k, v in given.items() if v is not None})


def cli_layer(config: pytest.Config) -> dict[str, Any]:
    """Options given on the command line (already validated by their argparse types)."""
    given = {key: config.getoption(ini_name(key)) for key in OPTION_KEYS}
    return {key: value for key, value in given.items() if value is not None}


def ini_layer(config: pytest.Config) -> dict[str, Any]:
    """onepixel_* ini keys that are set, validated; native TOML numbers and booleans work under
    pytest 9's [tool.pytest], strings under [pytest] and [tool.pytest.ini_options]."""
    check_unknown_ini_keys(config)
    values = {}
    for key in INI_KEYS:
        try:
            raw = config.getini(ini_name(key))
        except (pytest.UsageError, ValueError, TypeError) as error:
            raise pytest.UsageError(f"ini key {ini_name(key)}: {error}") from None
        if raw not in (None, "", []) and raw != SETTINGS[key].default:
            values[key] = _spelled(key, raw)
    try:
        return parse_layer(values, lambda key: f"ini key {ini_name(key)}", INI_KEYS)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None


def check_unknown_ini_keys(config: pytest.Config) -> None:
    """An unknown onepixel_* ini key is a usage error with a did-you-mean (a typo would
    otherwise silently leave a setting at its default)."""
    unknown_keys = getattr(config, "_get_unknown_ini_keys", lambda: set())()
    known = [ini_name(key) for key in INI_KEYS]
    for key in sorted(unknown_keys):
        if key.startswith("onepixel_"):
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}."
            raise pytest.UsageError(f"unknown ini key {key!r}; {hint}")


def option_path(config: pytest.Config, key: str) -> Path | None:
    """A path setting: on the command line relative to where pytest started (like --junitxml),
    as an ini key relative to the ini file's folder, so a project's setting works from any
    directory."""
    name = ini_name(key)
    if config.getoption(name):
        return Path(config.invocation_params.dir, config.getoption(name))
    if config.getini(name):
        folder = config.inipath.parent if config.inipath else config.rootpath
        return Path(folder, config.getini(name))
    return None
