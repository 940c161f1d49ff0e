"""pytest-onepixel: the one-pixel attack (Su, Vargas & Sakurai, arXiv:1710.08864) as a release gate.

The public names load on first use (PEP 562 module `__getattr__`): importing the package, and
so registering the pytest plugin, imports no numpy, scipy, yaml, torch or onnxruntime.
Frameworks load only when a model of that kind is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

#: Public name -> the module (relative to this package) that defines it.
_PUBLIC = {
    "attack": "api",
    "AttackProgress": "api",
    "AttackResult": "result",
    "ImageRecord": "result",
    "load_model": "models",
    "Model": "models",
    "load_data": "data",
    "sample": "data",
    "Dataset": "data",
    "Sample": "data",
    "PRESETS": "engine.presets",
    "Preset": "engine.presets",
    "default_popsize": "engine.presets",
    "GateOutcome": "gate.outcome",
    "OnePixelError": "errors",
    "InputError": "errors",
    "ModelLoadError": "errors",
    "ModelCallError": "errors",
    "ModelOutputError": "errors",
    "DataError": "errors",
    "ConfigError": "errors",
    "OnePixelWarning": "errors",
    "UnstableModelError": "errors",
}

__all__ = [
    "PRESETS",
    "AttackProgress",
    "AttackResult",
    "ConfigError",
    "DataError",
    "Dataset",
    "GateOutcome",
    "ImageRecord",
    "InputError",
    "Model",
    "ModelCallError",
    "ModelLoadError",
    "ModelOutputError",
    "OnePixelError",
    "OnePixelWarning",
    "Preset",
    "Sample",
    "UnstableModelError",
    "__version__",
    "attack",
    "default_popsize",
    "load_data",
    "load_model",
    "sample",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .api import AttackProgress, attack
    from .data import Dataset, Sample, load_data, sample
    from .engine.presets import PRESETS, Preset, default_popsize
    from .errors import (
        ConfigError,
        DataError,
        InputError,
        ModelCallError,
        ModelLoadError,
        ModelOutputError,
        OnePixelError,
        OnePixelWarning,
        UnstableModelError,
    )
    from .gate.outcome import GateOutcome
    from .models import Model, load_model
    from .result import AttackResult, ImageRecord
