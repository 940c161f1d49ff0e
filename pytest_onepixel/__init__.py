"""pytest-onepixel: the one-pixel attack (Su, Vargas & Sakurai, arXiv:1710.08864) as a release gate.

The public API is importable without torch or onnxruntime; frameworks load only when a model of
that kind is used.
"""

from __future__ import annotations

from .api import attack
from .choices import PRESETS, Preset, default_popsize
from .data import Dataset, Sample, load_data, sample
from .errors import (
    DataError,
    InputError,
    ModelCallError,
    ModelLoadError,
    ModelOutputError,
    OnePixelError,
    OnePixelWarning,
)
from .models import Model, load_model
from .result import AttackResult, ImageRecord

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "AttackResult",
    "DataError",
    "Dataset",
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
    "__version__",
    "attack",
    "default_popsize",
    "load_data",
    "load_model",
    "sample",
]
