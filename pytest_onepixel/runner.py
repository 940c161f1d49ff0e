"""Run one gate from merged settings: load the model and data, sample, attack, judge.

The outcome is a plain JSON-ready dict: the same object goes into the pytest report (so it
crosses from pytest-xdist workers to the controller), the terminal table and the JSON report.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .api import AttackProgress, attack
from .data import load_data, sample
from .gate import EarlyVerdict, GateSpec, interval, robustness_curve
from .imageset import convert_layout
from .models import Model, load_model
from .result import AttackResult
from .settings import gate_spec

Progress = Callable[[AttackProgress], None]

#: Images attacked at once while an early verdict may stop the gate: small enough that few
#: images are still in flight when it settles, large enough to keep model batches full.
EARLY_VERDICT_WAVE = 16


def run_yaml_gate(
    name: str, settings: Mapping[str, Any], *, full: bool, progress: Progress | None = None
) -> tuple[AttackResult, dict[str, Any]]:
    """A YAML gate: everything comes from the merged settings."""
    spec = gate_spec(settings, name)
    model = load_model(
        settings["model"],
        weights=settings["weights"],
        trust_pickle=settings["trust_pickle"],
        input_name=settings["input_name"],
        output_name=settings["output_name"],
        threads=settings["threads"],
        device=settings["device"],
    )
    dataset = load_data(settings["data"], x_key=settings["x_key"], y_key=settings["y_key"])
    drawn = sample(
        dataset, settings["samples"], settings["seed"], stratified=settings["stratified"]
    )
    # `layout` is the model's input layout; data that fix their own (image folders load as
    # NHWC) are transposed to it.
    layout = settings["layout"] or model.layout or dataset.layout
    images = drawn.images
    if dataset.layout and layout:
        images = convert_layout(images, dataset.layout, layout)
    return run_gate(
        name,
        model,
        images,
        drawn.labels,
        settings={**settings, "layout": layout},
        spec=spec,
        full=full,
        indices=drawn.indices,
        data_source=dataset.source,
        progress=progress,
    )


def run_gate(
    name: str,
    model: Model,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    settings: Mapping[str, Any],
    spec: GateSpec,
    full: bool,
    indices: np.ndarray | None = None,
    data_source: str = "arrays passed to onepixel.check()",
    progress: Progress | None = None,
) -> tuple[AttackResult, dict[str, Any]]:
    """Attack with the merged settings, stopping at an exact early verdict unless `full`:
    the result, and the gate's outcome as a JSON-ready dict."""
    start = time.perf_counter()
    images, labels = np.asarray(images), np.asarray(labels)
    targets = None
    if settings["targeted"]:
        classes = (
            model.num_classes or np.asarray(model.predict(images[:1].astype(np.float32))).shape[-1]
        )
        targets = (labels.astype(np.int64) + 1) % classes
    result = attack(
        model,
        images,
        labels,
        budget=settings["budget"],
        pixels=settings["pixels"],
        targets=targets,
        seed=settings["seed"],
        popsize=settings["popsize"],
        max_batch=settings["max_batch"],
        layout=settings["layout"],
        pixel_range=settings["pixel_range"],
        preprocess=settings["preprocess"],
        preset=settings["preset"],
        indices=indices,
        progress=progress,
        stop_when=None if full else EarlyVerdict(spec),
        max_active=None if full else EARLY_VERDICT_WAVE,
    )
    verdict = spec.judge(result)
    report = result.to_dict()
    low, high = interval(result.successes, result.attacked, spec.level)
    per_image = result.queries_used / result.attacked if result.attacked else 0.0
    return result, {
        "name": name,
        "passed": verdict.passed,
        "reason": verdict.reason,
        "reasons": list(verdict.reasons),
        "threshold": spec.threshold,
        "gate": {
            "mode": spec.mode,
            "confidence": spec.level,
            "threshold": spec.threshold,
            "min_clean_accuracy": spec.min_clean_accuracy,
            "max_success_rate_at": {str(b): r for b, r in spec.max_success_rate_at.items()},
        },
        "seconds": round(time.perf_counter() - start, 3),
        "model": {"description": model.description, "hash": model.content_hash},
        "data": {"source": data_source, "hash": data_hash(images, labels)},
        "settings": {**json_ready(settings), **report["settings"], "full": full},
        "summary": {
            **report["summary"],
            "interval": [low, high],
            "settled_after": result.attacked if result.skipped else None,
            "queries_saved_estimate": round(result.skipped * per_image),
        },
        "curve": robustness_curve(result, spec.level),
        "records": report["records"],
    }


def data_hash(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the sampled images and labels: two reports compare only if this matches."""
    digest = hashlib.sha256()
    for array in (images, labels):
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def json_ready(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a report shows: plain values only (paths as strings)."""
    plain = (str, int, float, bool, type(None), list, dict)
    return {k: v if isinstance(v, plain) else str(v) for k, v in settings.items()}
