"""Gate settings: what each key means, where it may be set, how layers merge, and validation.

One table (`SETTINGS`) drives the command-line options, the ini keys, the YAML schema and the
marker's keyword arguments, so a key means the same everywhere. Layers merge in one visible
line (`merge_layers`): CLI > marker > YAML model entry > YAML defaults > ini > built-in defaults.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .choices import GATE_MODES, LAYOUTS, PRESETS
from .errors import OnePixelError

if TYPE_CHECKING:
    from .gate import GateSpec


class ConfigError(OnePixelError):
    """A setting in YAML, an option, an ini key or a marker is missing, unknown or malformed."""


def _integer(minimum: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(f"an integer >= {minimum}")
        return int(value)

    return check


def _rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError("a number between 0 and 1")
    return float(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a non-empty string")
    return value


def _choice(*options: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in options:
            raise ValueError(f"one of {', '.join(options)}")
        return str(value)

    return check


def _pair(value: object) -> list[float]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
        or not value[0] < value[1]
    ):
        raise ValueError("a list [low, high] of two numbers with low < high")
    return [float(v) for v in value]


def _preprocess(value: object) -> dict:
    """{scale: number, mean: number(s), std: number(s)}, checked here so a YAML mistake names
    its line rather than surfacing when the model first runs."""
    message = "a mapping such as {scale: 0.00392, mean: [0.5], std: [0.5]} of numbers"
    if not isinstance(value, Mapping) or not set(value) <= {"scale", "mean", "std"}:
        raise ValueError(message)
    for key, entry in value.items():
        entries = entry if isinstance(entry, list) and key != "scale" else [entry]
        if not entries or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in entries
        ):
            raise ValueError(message)
    return dict(value)


def _level(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError("a confidence level between 0 and 1, such as 0.95")
    return float(value)


def _rates_at(value: object) -> dict[int, float]:
    message = "a mapping of budgets to thresholds, such as {100: 0.1, 400: 0.3}"
    if not isinstance(value, Mapping):
        raise ValueError(message)
    try:
        return {_integer(1)(budget): _rate(rate) for budget, rate in value.items()}
    except ValueError:
        raise ValueError(message) from None


def _data(value: object) -> object:
    if isinstance(value, str) and value:
        return value
    if (
        isinstance(value, Mapping)
        and set(value) == {"x", "y"}
        and all(isinstance(v, str) and v for v in value.values())
    ):
        return dict(value)
    raise ValueError("a path, 'package.module:function', or {x: images.npy, y: labels.npy}")


def _names(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("a list of marker names such as [slow]")
    return list(value)


@dataclass(frozen=True)
class Setting:
    """One gate setting. `cli` settings get a --onepixel-* option and an ini key."""

    parse: Callable[[object], Any]
    default: object
    help: str
    cli: bool = False
    cli_type: type = str  # how the command line and ini files spell it


SETTINGS: dict[str, Setting] = {
    "budget": Setting(_integer(1), 400, "queries per attacked image", cli=True, cli_type=int),
    "samples": Setting(_integer(1), 100, "held-out images drawn per gate", cli=True, cli_type=int),
    "pixels": Setting(_integer(1), 1, "pixels a candidate may change (k)", cli=True, cli_type=int),
    "seed": Setting(_integer(0), 0, "seed of the sample and of the attack", cli=True, cli_type=int),
    "max_success_rate": Setting(
        _rate, None, "the gate fails above this success rate", cli=True, cli_type=float
    ),
    "device": Setting(_text, "cpu", "device for PyTorch/ONNX models: cpu or cuda", cli=True),
    "gate": Setting(_choice(*GATE_MODES), "point", "gate mode: point, strict or lenient", cli=True),
    "confidence": Setting(
        _level, 0.95, "confidence level of the intervals", cli=True, cli_type=float
    ),
    "min_clean_accuracy": Setting(_rate, None, "the gate fails below this clean accuracy"),
    "max_success_rate_at": Setting(_rates_at, None, "thresholds at smaller budgets"),
    "name": Setting(_text, None, "the gate's test name"),
    "model": Setting(_text, None, "model file, or 'package.module:factory'"),
    "weights": Setting(_text, None, "state_dict file for a factory model"),
    "data": Setting(_data, None, "held-out data: .npz, {x, y} .npy pair, folder, or function"),
    "x_key": Setting(_text, "x", "name of the image array in an .npz"),
    "y_key": Setting(_text, "y", "name of the label array in an .npz"),
    "layout": Setting(_choice(*LAYOUTS), None, "NCHW or NHWC (default: from the model)"),
    "pixel_range": Setting(_pair, None, "[low, high] of the pixel values"),
    "preprocess": Setting(_preprocess, None, "{scale, mean, std} applied before the model"),
    "targeted": Setting(_boolean, False, "targeted attack towards the next class (label + 1)"),
    "stratified": Setting(_boolean, False, "sample every class in proportion"),
    "popsize": Setting(_integer(4), None, "DE population (default: budget / 5)"),
    "preset": Setting(_choice(*PRESETS), "default", "DE preset: default or paper"),
    "max_batch": Setting(_integer(1), 4096, "most images per model call"),
    "threads": Setting(_integer(1), None, "CPU threads for the model"),
    "input_name": Setting(_text, None, "ONNX input to feed (when there are several)"),
    "output_name": Setting(_text, None, "ONNX output to read"),
    "trust_pickle": Setting(_boolean, False, "allow loading a whole pickled PyTorch module"),
    "markers": Setting(_names, None, "pytest markers applied to the YAML item"),
}

#: Keys that describe one model entry rather than how hard to attack it.
ENTRY_ONLY = ("name", "markers")
#: Keys a marker cannot set: they name the model and data, which a Python test passes itself.
NOT_FOR_MARKERS = ("name", "markers", "model", "weights", "data", "x_key", "y_key")
#: Keys that must be set (somewhere) for a YAML gate.
REQUIRED_IN_YAML = ("name", "model", "data")


def parse_layer(
    values: Mapping[str, object], where: Callable[[str], str], allowed: tuple[str, ...]
) -> dict:
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
                f"{where(key)}: {key!r} must be {expected}; found {value!r}."
            ) from None
    return parsed


def unknown_key_text(key: object, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(allowed)}."
    return f"unknown key {key!r}; {hint}"


def merge_layers(
    cli: Mapping[str, object],
    marker: Mapping[str, object],
    entry: Mapping[str, object],
    defaults: Mapping[str, object],
    ini: Mapping[str, object],
) -> dict[str, object]:
    """CLI > marker > YAML model entry > YAML defaults > ini > built-in defaults."""
    builtin = {key: setting.default for key, setting in SETTINGS.items()}
    return {**builtin, **ini, **defaults, **entry, **marker, **cli}


def gate_spec(settings: Mapping[str, Any], gate: str) -> GateSpec:
    """The gate's criteria; a missing max_success_rate is an error that lists every place it
    can be set, and `max_success_rate_at` budgets must lie within the budget."""
    threshold = settings.get("max_success_rate")
    if threshold is None:
        raise ConfigError(
            f"gate {gate!r} has no max_success_rate: set it in its YAML entry or `defaults`, "
            "in @pytest.mark.onepixel(max_success_rate=...), with the ini key "
            "onepixel_max_success_rate, or with --onepixel-max-success-rate."
        )
    at = settings.get("max_success_rate_at") or {}
    beyond = [b for b in at if b > settings["budget"]]
    if beyond:
        raise ConfigError(
            f"gate {gate!r}: max_success_rate_at names budget {beyond[0]}, more than the "
            f"budget {settings['budget']} the gate runs with; raise `budget` or drop that entry."
        )
    from .gate import GateSpec

    return GateSpec(
        threshold=float(threshold),
        mode=settings["gate"],
        level=settings["confidence"],
        min_clean_accuracy=settings.get("min_clean_accuracy"),
        max_success_rate_at=at,
    )
