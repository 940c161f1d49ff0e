"""Which model runs the search: the model itself, or a PyTorch model's ONNX Runtime twin.

`backend="auto"` (the default) searches a PyTorch model through its ONNX Runtime twin
(models/twin.py) when onnxruntime is installed and the twin verifies: on the clean pass it must
predict every image's class as the real model does, with class probabilities within
`TWIN_TOLERANCE`. Otherwise the search runs on PyTorch and the report says why. `"torch"`
never builds a twin; `"onnxruntime"` requires one (an error says why it is refused). Whatever
runs the search, the clean pass and the confirmation of every success run on the real model,
so the verdict is always the real model's: a success the twin finds and the real model does
not reproduce is rejected, not counted.

A search that ran a slower path than it could have (no twin, a batch held back by a bound, an
unstable model attacked without the early verdict) gets one note each (`slower_path_notes`),
with the reason and the fix: api.py puts them in `measured.notes` and warns, so the terminal
summary says so, as it does when a budget leaves no DE generation.

Importing this module imports nothing heavy; numpy and the models load when a backend is
chosen. The backend names (`BACKENDS`) live with the settings (settings/setting.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InputError, ModelLoadError, OnePixelWarning

if TYPE_CHECKING:
    import numpy as np

    from .engine.batch_size import BatchChoice
    from .engine.consistency import ConsistencyReport
    from .models import Model
    from .settings.gate_settings import GateSettings

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
    model: Model,
    settings: GateSettings,
    model_images: np.ndarray,
    clean: np.ndarray,
    stable: bool,
) -> SearchBackend:
    """The backend `settings.backend` asks for; `clean` holds the real model's probabilities on
    `model_images` (the clean pass), which a twin, its scores read the same way
    (`settings.scores`), must reproduce."""
    from .models.preprocess import PreprocessedModel
    from .models.torch_model import TorchModel

    requested = settings.backend

    inner = model.inner if isinstance(model, PreprocessedModel) else model
    if not isinstance(inner, TorchModel):
        if requested == "torch":
            raise InputError(f"backend 'torch' needs a PyTorch model; {model.description} is not.")
        return SearchBackend(model, "model")
    if requested == "torch":
        return SearchBackend(model, "torch", {"twin": "not built (backend: torch)"})
    twin, report = _verified_twin(model, model_images, clean, stable, settings.scores)
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
    model: Model, model_images: np.ndarray, clean: np.ndarray, stable: bool, scores: str | None
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

    score = ScoreFunction(candidate.predict, scores, candidate.description)
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


def slower_path_notes(
    requested: str,
    chosen: SearchBackend,
    batch: BatchChoice,
    check: ConsistencyReport,
    early_verdict: bool,
) -> tuple[str, ...]:
    """One line for each slower path the search took, with why and what to do: no ONNX twin
    for a PyTorch model under `backend: auto`, a batch a bound held back while larger ones ran
    faster, an unstable model attacked without the early verdict (`early_verdict`: the caller
    asked for one). Each is also warned (OnePixelWarning), as the zero-generation note is."""
    notes = []
    no_twin = requested == "auto" and chosen.name == "torch"
    if no_twin and check.stable:
        notes.append(_no_twin_text(chosen.report.get("twin", "")))
    rising = batch.rising_at_limit()
    if rising is not None:
        notes.append(_held_back_text(batch.limited_by, *rising))
    if not check.stable and (early_verdict or no_twin):
        lost = " and ".join(
            [*(["the early verdict"] if early_verdict else []), *(["its twin"] if no_twin else [])]
        )
        notes.append(
            f"unstable model attacked anyway (allow_unstable_model), without {lost}: its "
            f"scores differ by up to {check.max_difference:.3g} when images are scored "
            f"{check.differs} (likely {check.cause}). Fix: put the model in eval mode before "
            "saving it and remove randomness from forward(), then drop `allow_unstable_model`"
        )
    for note in notes:
        warnings.warn(note, OnePixelWarning, 3)
    return tuple(notes)


def _no_twin_text(reason: str) -> str:
    if " is not installed" in reason:
        fix = "pip install onnx onnxruntime (the export needs onnx, the twin onnxruntime)"
    elif reason.startswith("rejected"):
        fix = "set `backend: torch` to skip the export and its check (records are the same)"
    else:
        fix = (
            "export the model to ONNX yourself (torch.onnx.export) and gate the .onnx file, or "
            "set `backend: torch` to skip the attempt"
        )
    return (
        "searched on PyTorch without its ONNX Runtime twin (2.5-3.5x faster on a CPU): the twin "
        f"was {reason}. Fix: {fix}"
    )


def _held_back_text(bound: str, smaller: int, slow: float, size: int, fast: float) -> str:
    from .engine.batch_size import MEMORY_BUDGET

    speeds = f"{slow:,.0f} images/s at {smaller}, {fast:,.0f} at {size}"
    if bound == "max_batch":
        return (
            f"max_batch {size} held the search's batch back while larger batches still ran "
            f"faster ({speeds}). Fix: raise `max_batch` or remove it (the batch is measured, "
            "within a memory budget), unless memory is why it is set"
        )
    return (
        f"the memory budget ({MEMORY_BUDGET // 2**20} MB a batch) held the search's batch at "
        f"{size} while larger batches still ran faster ({speeds}). Nothing to set: this is "
        "expected for large inputs; a GPU, or smaller inputs, runs larger batches"
    )
