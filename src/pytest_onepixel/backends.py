"""Which model runs the search: the model itself, or a PyTorch model's ONNX Runtime twin.

`backend="auto"` (the default) searches a PyTorch model through its ONNX Runtime twin
(models/twin.py) when onnxruntime is installed and the twin verifies: on the clean pass it must
predict every image's class as the real model does, with class probabilities within
`TWIN_TOLERANCE`. Otherwise the search runs on PyTorch and the report says why. `"torch"`
never builds a twin; `"onnxruntime"` requires one (an error says why it is refused). Whatever
runs the search, the clean pass and the confirmation of every success run on the real model,
so the verdict is always the real model's: a success the twin finds and the real model does
not reproduce is rejected, not counted.

Importing this module imports nothing heavy; numpy and the models load when a backend is
chosen. The backend names (`BACKENDS`) live with the settings (settings/setting.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InputError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

    from .models import Model

#: Largest difference in any class probability between the twin and the real model on the
#: clean pass (float32 arithmetic in two runtimes differs by ~1e-6).
TWIN_TOLERANCE = 1e-4


@dataclass(frozen=True)
class SearchBackend:
    """The model the search queries, and how it was chosen."""

    model: Model
    name: str  # "onnxruntime twin", "torch", or "model" (the model itself, not PyTorch)
    report: dict[str, Any] = field(default_factory=dict)


def search_backend(
    model: Model, requested: str, model_images: np.ndarray, clean: np.ndarray, stable: bool
) -> SearchBackend:
    """The backend for `requested`; `clean` holds the real model's probabilities on
    `model_images` (the clean pass), which a twin must reproduce."""
    from .models.preprocess import PreprocessedModel
    from .models.torch_model import TorchModel

    inner = model.inner if isinstance(model, PreprocessedModel) else model
    if not isinstance(inner, TorchModel):
        if requested == "torch":
            raise InputError(f"backend 'torch' needs a PyTorch model; {model.description} is not.")
        return SearchBackend(model, "model")
    if requested == "torch":
        return SearchBackend(model, "torch", {"twin": "not built (backend: torch)"})
    twin, report = _verified_twin(model, model_images, clean, stable)
    if twin is None and requested == "onnxruntime":
        raise ModelLoadError(
            f"backend 'onnxruntime' was asked for, but {model.description} has no usable ONNX "
            f"twin: {report['twin']}. Use backend 'auto' or 'torch'."
        )
    return (
        SearchBackend(twin, "onnxruntime twin", report)
        if twin
        else SearchBackend(model, "torch", report)
    )


def _verified_twin(
    model: Model, model_images: np.ndarray, clean: np.ndarray, stable: bool
) -> tuple[Model | None, dict[str, Any]]:
    if not stable:
        return None, {"twin": "not built: the model is unstable (see model_check)"}
    try:
        candidate = twin_of(model, model_images)
    except ImportError as error:
        return None, {"twin": f"not built: {error.name or 'onnxruntime'} is not installed"}
    except ModelLoadError as error:
        return None, {"twin": f"not built: {error}"}
    import numpy as np

    from .engine.batches import CHECK_BATCH
    from .engine.scoring import ScoreFunction

    score = ScoreFunction(candidate.predict)
    chunks = range(0, len(model_images), CHECK_BATCH)
    twin_clean = np.concatenate([score(model_images[i : i + CHECK_BATCH]) for i in chunks])
    difference = float(np.abs(twin_clean - clean).max())
    disagree = int((twin_clean.argmax(axis=1) != clean.argmax(axis=1)).sum())
    report = {"max_difference": difference, "disagreements": disagree, "images": len(clean)}
    if disagree or difference > TWIN_TOLERANCE:
        reason = (
            f"rejected: on the clean pass it predicted {disagree} of {len(clean)} images "
            f"differently and its probabilities differed by up to {difference:.3g} (tolerance "
            f"{TWIN_TOLERANCE:g})"
        )
        return None, {**report, "twin": reason}
    return candidate, {**report, "twin": "verified on the clean pass"}


def twin_of(model: Model, model_images: np.ndarray) -> Model:
    """The model's ONNX Runtime twin, with the model's preprocessing in front (a Ray actor
    rebuilds the twin the driver verified: the export is the same for the same model)."""
    from .models.preprocess import PreprocessedModel
    from .models.twin import onnx_twin

    inner = model.inner if isinstance(model, PreprocessedModel) else model
    twin = onnx_twin(inner, model_images, inner.threads)
    return model.around(twin) if isinstance(model, PreprocessedModel) else twin
