"""`GateSettings`: one gate's requested settings as one frozen, typed object; `GateSource`: where
a YAML gate's model and data come from.

Every layer (ini keys, YAML `defaults` and entry, marker, `check()` keywords, command line) is
validated once where it is read (settings/table.py `parse_layer`, naming where each value was
set), and settings/layers.py merges them into one `GateSettings`; `attack()` builds the same
object from its keywords with `GateSettings.from_keywords`. Nothing downstream validates,
defaults or clamps a value again, and nothing passes settings as a dict.

A `GateSettings` holds exactly what was asked: every value is a valid input, so `to_json()`
pasted as a YAML gate entry (with the gate's name, model and data) asks for the same attack.
What the attack found out (the batch size it chose, the backend and twin it used, layouts it
resolved, the DE population) is `result.Measured`, never written over a requested value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import validators as v
from ..engine.layouts import LAYOUTS
from ..engine.presets import DEFAULT_CERTIFY_BUDGET, GUIDANCE_CHOICES, PRESETS, SEARCH_METHODS
from ..errors import InputError
from .setting import BACKENDS, GATE_MODES, parse_values, setting, settings_of


@dataclass(frozen=True)
class GateSettings:
    """What one gate asks for: the attack, the criteria, the model's options, the pictures."""

    budget: int = setting(
        400, v.integer(1), "queries per attacked image", option=True, spelled="int"
    )
    samples: int = setting(
        100, v.integer(1), "held-out images drawn per gate", option=True, spelled="int"
    )
    pixels: int = setting(
        1, v.integer(1), "pixels a candidate may change (k)", option=True, spelled="int"
    )
    seed: int = setting(
        0, v.integer(0), "seed of the sample and of the attack", option=True, spelled="int"
    )
    max_success_rate: float | None = setting(
        None, v.rate, "the gate fails above this success rate", option=True, spelled="float"
    )
    gate: str = setting(
        "point", v.choice(*GATE_MODES), "gate mode: point, strict or lenient", option=True
    )
    confidence: float = setting(
        0.95, v.level, "confidence level of the intervals", option=True, spelled="float"
    )
    min_clean_accuracy: float | None = setting(
        None,
        v.rate,
        "the gate fails below this clean accuracy (unset: below 0.5; 0 turns the floor off)",
        option=True,
        spelled="float",
    )
    device: str = setting(
        "cpu", v.device, "device for PyTorch/ONNX models: cpu, cuda or cuda:N", option=True
    )
    max_batch: int | None = setting(
        None,
        v.integer(1),
        "cap of the measured batch size (default cap 4096)",
        option=True,
        spelled="int",
    )
    threads: int | None = setting(
        None, v.integer(1), "CPU threads for the model", option=True, spelled="int"
    )
    preset: str = setting(
        "default", v.choice(*PRESETS), f"DE preset: {', '.join(PRESETS)}", option=True
    )
    guidance: str = setting(
        "auto",
        v.choice(*GUIDANCE_CHOICES),
        "auto (rank candidates by the model's gradient where the preset and model allow it), "
        "gradient (the same, or a usage error saying why not) or none (black-box)",
        option=True,
    )
    search: str = setting(
        "de",
        v.choice(*SEARCH_METHODS),
        "de, exhaustive (every position x corner colour), or certify (de, then a proof for "
        "every image it did not fool: fooled, certified or undecided)",
        option=True,
    )
    certify_budget: int = setting(
        DEFAULT_CERTIFY_BUDGET,
        v.integer(1),
        "search: certify's proof limit per image, in model-pass equivalents (an image whose "
        "proof would pass it is undecided)",
        option=True,
        spelled="int",
    )
    backend: str = setting(
        "auto",
        v.choice(*BACKENDS),
        "what searches a PyTorch model: auto, torch or onnxruntime",
        option=True,
    )
    popsize: int | None = setting(
        None,
        v.integer(4),
        "DE population (default: the preset's, else sized to the budget)",
        option=True,
        spelled="int",
    )
    max_success_rate_at: Mapping[int, float] | None = setting(
        None, v.rates_at, "thresholds at smaller budgets"
    )
    layout: str | None = setting(None, v.choice(*LAYOUTS), "the model's input layout, NCHW or NHWC")
    data_layout: str | None = setting(None, v.choice(*LAYOUTS), "the images' layout, NCHW or NHWC")
    pixel_range: tuple[float, float] | None = setting(
        None, v.pair, "[low, high] of the pixel values"
    )
    preprocess: Mapping[str, Any] | None = setting(
        None, v.preprocess, "{scale, mean, std} applied before the model"
    )
    targeted: bool = setting(False, v.boolean, "targeted attack towards the next class (label + 1)")
    stratified: bool = setting(False, v.boolean, "sample every class in proportion")
    input_name: str | None = setting(None, v.text, "ONNX input to feed (when there are several)")
    output_name: str | None = setting(None, v.text, "ONNX output to read")
    output: str | int | None = setting(
        None, v.output_key, "which output holds the class scores: a name or index"
    )
    scores: str | None = setting(
        None,
        v.choice("logits", "probabilities"),
        "what the model returns: logits (softmaxed) or probabilities (kept as given; each row "
        "must sum to 1). Unset: told per row, and rows in [0, 1] that do not sum to 1 (sigmoid, "
        "multi-label) are refused",
    )
    trust_pickle: bool = setting(False, v.boolean, "allow loading a whole pickled PyTorch module")
    cache_key: str | None = setting(
        None,
        v.text,
        "a name for a model given as live Python code (nn.Module, callable), which is otherwise "
        "never cached: it keys the result cache, so change it whenever the model changes",
    )
    gallery: bool = setting(True, v.boolean, "show this gate in galleries and HTML reports")
    examples: int = setting(16, v.integer(1), "adversarial examples in a gate's gallery")
    allow_unstable_model: bool = setting(
        False, v.boolean, "attack a model whose scores change with the batch or between calls"
    )

    @classmethod
    def from_keywords(cls, where: Callable[[str], str], **values: object) -> GateSettings:
        """Validated settings from keywords (`attack()`'s); a bad value raises InputError
        naming the keyword."""
        parsed = parse_values(values, GATE_SETTINGS, where, GATE_SETTINGS, InputError)
        return cls(**parsed)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: Callable[[str], str]) -> GateSettings:
        """Settings read back from a report: validated like any other input (a report is
        untrusted); a bad value raises InputError naming `where(key)`."""
        return cls(**parse_values(data, GATE_SETTINGS, where, GATE_SETTINGS, InputError))

    def to_json(self) -> dict[str, Any]:
        """Every value that is set, as JSON (and so YAML) spells it: a valid gate entry."""
        plain = {}
        for key, value in dataclasses.asdict(self).items():
            if value is None:
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif key == "max_success_rate_at":
                value = {int(budget): rate for budget, rate in value.items()}
            plain[key] = value
        return plain

    def changed(self) -> dict[str, Any]:
        """The values that differ from the built-in defaults (the HTML report's short table)."""
        defaults = GateSettings().to_json()
        return {k: v for k, v in self.to_json().items() if defaults.get(k, None) != v}

    def model_options(self) -> dict[str, Any]:
        """What a model loader needs to know (besides a factory's `weights`)."""
        return {key: getattr(self, key) for key in MODEL_OPTIONS}


#: The settings that say how to load a model (the loader's `options`, with `weights`).
MODEL_OPTIONS = ("trust_pickle", "input_name", "output_name", "output", "threads", "device")


@dataclass(frozen=True)
class GateSource:
    """Where a YAML gate's model and held-out data come from (a Python test passes its own)."""

    model: str | None = setting(
        None, v.text, "model file, or 'package.module:factory'", scope="source"
    )
    weights: str | None = setting(
        None, v.text, "state_dict file for a factory model", scope="source"
    )
    data: str | Mapping[str, str] | None = setting(
        None, v.data_source, "held-out images and labels", scope="source"
    )
    x_key: str = setting("x", v.text, "name of the image array in an .npz", scope="source")
    y_key: str = setting("y", v.text, "name of the label array in an .npz", scope="source")
    classes: list[str] | Mapping[str, int] | None = setting(
        None,
        v.classes,
        "an image folder's class order: the sub-folder names in class-index order, or "
        "{name: index} (default: the names sorted)",
        scope="source",
    )


GATE_SETTINGS = settings_of(GateSettings)
SOURCE_SETTINGS = settings_of(GateSource)
