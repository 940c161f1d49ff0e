"""`SETTINGS`: every setting in one table, driving options, ini keys, YAML keys and keywords.

A key means the same everywhere. Its `scope` says where it may be set:

- ``gate``: a YAML entry or `defaults`, `@pytest.mark.onepixel(...)`, `onepixel.check(...)`,
  and, when `option` is set, ``--onepixel-KEY`` and the ini key ``onepixel_KEY``;
- ``entry``: a YAML entry only (its name and pytest markers);
- ``source``: YAML only (the model and data a Python test passes itself);
- ``session``: ``--onepixel-KEY`` and ``onepixel_KEY`` only (report paths, comparison, ...).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..backends import BACKENDS
from ..engine.layouts import LAYOUTS
from ..engine.presets import PRESETS, SEARCH_METHODS
from ..errors import ConfigError
from ..executors import EXECUTORS
from ..gate import CACHE_MODES, GATE_MODES
from . import values as v

#: How the command line and ini files spell a value, and the pytest ini type that reads it.
GATE_FILES = ("onepixel*.yaml", "onepixel*.yml")
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
    """One setting: how to validate it, its default, its help, and where it may be set."""

    parse: Callable[[object], Any]
    default: object
    help: str
    scope: str = "gate"
    option: bool = False
    spelled: str = "str"
    path: bool = False
    flag: str | None = None  # the option's and ini key's name when not the key's own


def _option(parse: Callable[[object], Any], default: object, help: str, spelled: str = "str"):
    return Setting(parse, default, help, option=True, spelled=spelled)


def _session(parse, default: object, help: str, spelled: str = "str", path: bool = False):
    return Setting(parse, default, help, "session", option=True, spelled=spelled, path=path)


SETTINGS: dict[str, Setting] = {
    "budget": _option(v.integer(1), 400, "queries per attacked image", "int"),
    "samples": _option(v.integer(1), 100, "held-out images drawn per gate", "int"),
    "pixels": _option(v.integer(1), 1, "pixels a candidate may change (k)", "int"),
    "seed": _option(v.integer(0), 0, "seed of the sample and of the attack", "int"),
    "max_success_rate": _option(v.rate, None, "the gate fails above this success rate", "float"),
    "gate": _option(v.choice(*GATE_MODES), "point", "gate mode: point, strict or lenient"),
    "confidence": _option(v.level, 0.95, "confidence level of the intervals", "float"),
    "min_clean_accuracy": _option(v.rate, None, "the gate fails below this accuracy", "float"),
    "device": _option(v.device, "cpu", "device for PyTorch/ONNX models: cpu, cuda or cuda:N"),
    "max_batch": _option(v.integer(1), None, "cap of the measured batch size (4096)", "int"),
    "threads": _option(v.integer(1), None, "CPU threads for the model", "int"),
    "preset": _option(v.choice(*PRESETS), "default", "DE preset: default or paper"),
    "search": _option(
        v.choice(*SEARCH_METHODS), "de", "de, or exhaustive (every position x corner colour)"
    ),
    "backend": _option(
        v.choice(*BACKENDS), "auto", "what searches a PyTorch model: auto, torch or onnxruntime"
    ),
    "popsize": _option(v.integer(4), None, "DE population (default: budget / 5)", "int"),
    "max_success_rate_at": Setting(v.rates_at, None, "thresholds at smaller budgets"),
    "layout": Setting(v.choice(*LAYOUTS), None, "the model's input layout, NCHW or NHWC"),
    "data_layout": Setting(v.choice(*LAYOUTS), None, "the images' layout, NCHW or NHWC"),
    "pixel_range": Setting(v.pair, None, "[low, high] of the pixel values"),
    "preprocess": Setting(v.preprocess, None, "{scale, mean, std} applied before the model"),
    "targeted": Setting(v.boolean, False, "targeted attack towards the next class (label + 1)"),
    "stratified": Setting(v.boolean, False, "sample every class in proportion"),
    "input_name": Setting(v.text, None, "ONNX input to feed (when there are several)"),
    "output_name": Setting(v.text, None, "ONNX output to read"),
    "output": Setting(v.output_key, None, "which output holds the class scores: a name or index"),
    "trust_pickle": Setting(v.boolean, False, "allow loading a whole pickled PyTorch module"),
    "gallery": Setting(v.boolean, True, "show this gate in galleries and HTML reports"),
    "examples": Setting(v.integer(1), 16, "adversarial examples in a gate's gallery"),
    "allow_unstable_model": Setting(
        v.boolean, False, "attack a model whose scores change with the batch or between calls"
    ),
    "name": Setting(v.text, None, "the gate's test name", "entry"),
    "markers": Setting(v.names, None, "pytest markers applied to the YAML item", "entry"),
    "model": Setting(v.text, None, "model file, or 'package.module:factory'", "source"),
    "weights": Setting(v.text, None, "state_dict file for a factory model", "source"),
    "data": Setting(v.data_source, None, "held-out images and labels", "source"),
    "x_key": Setting(v.text, "x", "name of the image array in an .npz", "source"),
    "y_key": Setting(v.text, "y", "name of the label array in an .npz", "source"),
    "config": _session(
        v.text, None, "run only this onepixel YAML file (default: every onepixel*.yaml)", path=True
    ),
    "files": Setting(
        v.names, list(GATE_FILES), "glob patterns of onepixel gate files", "session", spelled="args"
    ),
    "report": _session(v.text, None, "write the JSON report of every gate here", path=True),
    "full": _session(
        v.boolean, False, "attack every sampled image even once a verdict is settled", "flag"
    ),
    "compare": _session(
        v.text, None, "compare every gate with a previous JSON report, or the 'last' saved run"
    ),
    "gallery_dir": Setting(
        v.text,
        None,
        "write each gate's gallery of adversarial examples, and its robustness curve, here",
        "session",
        option=True,
        path=True,
        flag="gallery",
    ),
    "html": _session(v.text, None, "write one self-contained HTML report of every gate here"),
    "save": _session(
        v.save_name, None, "keep this run's report under .onepixel/ (optionally named)", "optional"
    ),
    "autosave": Setting(
        v.boolean, False, "keep every run's report under .onepixel/", "session", spelled="flag"
    ),
    "shard": _session(
        v.shard, None, "attack only shard K/N of every gate (merge the N reports to judge)"
    ),
    "executor": _session(
        v.choice(*EXECUTORS), "local", "who searches a gate's images: local or ray"
    ),
    "cache": _session(v.choice(*CACHE_MODES), "use", "result cache: use (default), refresh or off"),
    "heartbeat": _session(
        v.positive_number, 30.0, "seconds between progress lines in logs (not a terminal)", "float"
    ),
    "compare_tolerance": _session(
        v.tolerance,
        None,
        "largest acceptable rise of a success rate over the baseline (default: the interval)",
        "float",
    ),
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
    parsed = {}
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(f"{where(str(key))}: {unknown_key_text(key, allowed)}")
        try:
            parsed[key] = SETTINGS[key].parse(value)
        except ValueError as expected:
            raise ConfigError(
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
