"""Parsers for setting values: each returns the value in its canonical type or raises
ValueError whose text completes "'key' must be ...", so every layer, and `attack()`, reports a
bad value the same way (settings/setting.py `parse_values` adds where it was set). A base
module: it imports nothing of the package, so every layer may validate with it."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

Parser = Callable[[object], Any]


def integer(minimum: int) -> Parser:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(f"an integer >= {minimum}")
        return int(value)

    return check


def rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError("a number between 0 and 1")
    return float(value)


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a non-empty string")
    return value


def choice(*options: str) -> Parser:
    def check(value: object) -> str:
        if value not in options:
            raise ValueError(f"one of {', '.join(options)}")
        return str(value)

    return check


def device(value: object) -> str:
    """cpu, cuda or cuda:N: a typo such as 'gpu' is caught here, before any model loads."""
    if not isinstance(value, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", value):
        raise ValueError("cpu, cuda or cuda:N (e.g. cuda:0)")
    return value


def pair(value: object) -> tuple[float, float]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
        or not value[0] < value[1]
    ):
        raise ValueError("a list [low, high] of two numbers with low < high")
    return float(value[0]), float(value[1])


def preprocess(value: object) -> dict:
    """{scale: number > 0, mean: number(s), std: number(s) > 0}, checked here so a YAML mistake
    names its line rather than surfacing when the model first runs (the one check: the model's
    preprocessing later only matches the values to the images' channels)."""
    if not isinstance(value, Mapping):
        raise ValueError("a mapping such as {scale: 0.00392, mean: [0.5], std: [0.5]}")
    unknown = sorted(str(key) for key in set(value) - {"scale", "mean", "std"})
    if unknown:
        raise ValueError(f"a mapping with the keys scale, mean and std (unknown: {unknown})")
    scale = value.get("scale", 1.0)
    if not _is_number(scale) or not scale > 0:
        raise ValueError("a mapping whose scale is a positive number")
    for key in ("mean", "std"):
        entries = value.get(key, 1.0)
        entries = entries if isinstance(entries, list) else [entries]
        if not entries or not all(_is_number(v) for v in entries):
            raise ValueError(f"a mapping whose {key} is a number or a list of numbers")
        if key == "std" and not all(v > 0 for v in entries):
            raise ValueError("a mapping whose std values are > 0")
    return dict(value)


def _is_number(value: object) -> bool:
    """A finite real number (not a bool, which Python counts as one)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def level(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError("a confidence level between 0 and 1, such as 0.95")
    return float(value)


def rates_at(value: object) -> dict[int, float]:
    message = "a mapping of budgets to thresholds, such as {100: 0.1, 400: 0.3}"
    if not isinstance(value, Mapping):
        raise ValueError(message)
    try:  # a JSON report spells the budgets as strings ("100"), YAML as numbers
        return {
            integer(1)(int(b) if isinstance(b, str) and b.isdigit() else b): rate(limit)
            for b, limit in value.items()
        }
    except ValueError:
        raise ValueError(message) from None


def data_source(value: object) -> object:
    if isinstance(value, str) and value:
        return value
    if (
        isinstance(value, Mapping)
        and set(value) == {"x", "y"}
        and all(isinstance(v, str) and v for v in value.values())
    ):
        return dict(value)
    raise ValueError("a path, 'package.module:function', or {x: images.npy, y: labels.npy}")


def names(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("a list of names such as [slow]")
    return list(value)


def output_key(value: object) -> str | int:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise ValueError("an output's name (such as logits) or index (such as 0)")


def positive_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError("a number > 0")
    return float(value)


def save_name(value: object) -> str:
    """A saved run's name; empty means "name it after the git commit"."""
    if not isinstance(value, str):
        raise ValueError("a name for the saved run, such as before-retraining")
    return value


def shard(value: object) -> tuple[int, int]:
    """K/N (a string, as the command line and ini spell it) with 1 <= K <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError("K/N with 1 <= K <= N, such as 2/4")
    return int(match[1]), int(match[2])


def tolerance(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError("a rise of the success rate between 0 and 1, such as 0.05")
    return float(value)


def classes(value: object) -> list[str] | dict[str, int]:
    """An image folder's classes: the sub-folder names in class-index order, or a mapping of
    sub-folder name to class index (each index once)."""
    message = (
        "the sub-folder names in class order, such as [cat, dog], or a mapping such as "
        "{cat: 0, dog: 1} (each name and index once)"
    )
    if isinstance(value, list):
        if value and all(isinstance(v, str) and v for v in value) and len(set(value)) == len(value):
            return list(value)
    elif isinstance(value, Mapping) and value:
        names_ok = all(isinstance(k, str) and k for k in value)
        indices = list(value.values())
        indices_ok = all(
            isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 0 for i in indices
        )
        if names_ok and indices_ok and len(set(indices)) == len(indices):
            return {str(k): int(i) for k, i in value.items()}
    raise ValueError(message)
