"""`run_gate(request)`: the one path every gate runs through, from a YAML file or from
`onepixel.check()`: load the model, load and sample the data, attack, judge.

A `GateRequest` says what to gate (a model source and a data source, or arrays a test passes)
and with which merged settings; the model loader is passed in, so the pytest layer can route it
through its `pytest_onepixel_load_model` hook without this module knowing pytest.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..api import AttackProgress, RunOptions, run_attack
from ..data import Dataset, load_data, sample
from ..engine.batch_store import BatchStore
from ..errors import DataError, ImageFitError, InputError, ModelCallError, OnePixelWarning
from ..models import Model, load_model
from ..models.identity import cache_identity, loaded_identity
from ..result import AttackResult
from ..settings.gate_settings import GateSettings, GateSource
from ..version import __version__
from .cache import Expected, ResultStore, cache_key, read_entry, write_entry
from .cache_entry import Entry
from .early import EarlyVerdict
from .outcome import GateOutcome
from .spec import GateSpec
from .status import GateStatus

ModelLoader = Callable[[object, Mapping[str, Any]], Model]
Progress = Callable[[AttackProgress], None]

ARRAYS_SOURCE = "arrays passed to onepixel.check()"
#: Rejected successes above this share of the attacked images earn a warning and a note.
REJECTED_FRACTION = 0.01


def default_loader(source: object, options: Mapping[str, Any]) -> Model:
    """The built-in adapters (models/): ONNX, PyTorch, callables."""
    return load_model(source, **options)


@dataclass(frozen=True)
class GateRequest:
    """Everything one gate needs, whoever asks for it.

    A YAML gate names its model and `data` in its `source`; `onepixel.check()` passes `model`,
    `images` and `labels` (and `indices`), and draws `samples` of them only when `draw_sample`
    is set.
    """

    name: str
    settings: GateSettings
    model: object
    source: GateSource = field(default_factory=GateSource)
    images: Any = None
    labels: Any = None
    indices: Any = None
    draw_sample: bool = True
    full: bool = False
    load_model: ModelLoader = default_loader
    progress: Progress | None = None
    cache: ResultStore | None = None  # None: no result cache
    batch_store: BatchStore | None = None  # remembered batch sizes; None: timed every run
    refresh: bool = False  # attack even on a cache hit (and store the new outcome)
    shard: tuple[int, int] | None = None  # attack only shard K of N (see `merge`)
    executor: str = "local"  # who searches: local or ray

    def model_options(self) -> dict[str, Any]:
        """What the model loader is told: the settings' model options and a factory's weights."""
        return {**self.settings.model_options(), "weights": self.source.weights}


@dataclass(frozen=True)
class GateRun:
    """A gate's result with its images (for the caller) and its outcome (for every report)."""

    result: AttackResult
    outcome: GateOutcome


def run_gate(request: GateRequest) -> GateRun:
    """Attack with the gate's settings, stopping at an exact early verdict unless `full`; or
    read the outcome back from the result cache when everything it depends on is unchanged."""
    start = time.perf_counter()
    settings = request.settings
    spec = GateSpec.from_settings(settings, request.name)
    dataset, drawn = _held_out(request)
    model, key, note = _cache_key(request, drawn)
    if key is not None and not request.refresh:
        shape = tuple(drawn.images.shape[1:])
        expected = Expected(
            drawn.labels, _indices(drawn), shape, settings, spec, request.full, request.shard
        )
        found = read_entry(request.cache, key, expected)
        if found.entry is not None:
            return _from_cache(request, spec, found.entry, dataset, drawn, start)
        if found.rejected:
            note = f"cache entry {key[:12]} rejected: {found.rejected}; attacked again"
    model = model or request.load_model(request.model, request.model_options())
    try:
        result = _attack(request, spec, model, dataset, drawn)
    except InputError as error:
        # The arrays came from the data source: say which one.
        raise DataError(f"{dataset.source}: {error}") from None
    except (ImageFitError, ModelCallError) as error:
        # The model is named already; the images that do not fit it come from the data source.
        raise type(error)(f"{error} (the images come from {dataset.source})") from None
    if dataset.files is not None:  # records name the image files they came from
        files = dataset.files
        records = tuple(replace(r, file=files[r.index]) for r in result.records)
        result = replace(result, records=records)
    model_block = {"description": model.description, "hash": model.content_hash}
    outcome = _judged(request, spec, result, model_block, (dataset, drawn), start)
    if note:
        outcome = replace(outcome, notes=(*outcome.notes, note))
    if key is not None:
        write_entry(request.cache, key, outcome)
    return GateRun(result, outcome)


def as_shard(outcome: GateOutcome, result: AttackResult, drawn: _Drawn) -> GateOutcome:
    """A shard's outcome: its records, marked as one part of the whole (no verdict of its own),
    with what `merge` needs to check the parts belong together and to order their union."""
    indices = np.arange(len(drawn.labels)) if drawn.indices is None else drawn.indices
    shard = {**(result.measured.shard or {}), "sample_order": [int(i) for i in indices]}
    index, count = shard["index"], shard["count"]
    reason = f"shard {index}/{count}: the verdict comes from `pytest-onepixel merge`"
    return replace(outcome, status=GateStatus.SHARD, reasons=(reason,), shard=shard)


def _cache_key(request: GateRequest, drawn: _Drawn) -> tuple[Model | None, str | None, str | None]:
    """The cache key (None without a cache, or for a model that cannot be hashed completely),
    the model if it had to be loaded to hash it (a source only a loader hook knows), and a
    note saying why the gate is not cached, for live Python code without a `cache_key`."""
    if request.cache is None:
        return None, None, None
    model = None
    options = request.model_options()
    identity = cache_identity(request.model, options, request.settings.cache_key)
    if identity.load:
        model = request.load_model(request.model, options)
        identity = loaded_identity(model)
    if identity.hash is None:
        return model, None, identity.reason or None
    sample = data_hash(drawn.images, np.stack([drawn.labels, _indices(drawn)]))
    settings = {**request.settings.to_json(), "shard": request.shard}
    key = cache_key(identity.hash, sample, settings, request.full, __version__)
    return model, key, None


def _indices(drawn: _Drawn) -> np.ndarray:
    return np.arange(len(drawn.labels)) if drawn.indices is None else drawn.indices


def _from_cache(
    request: GateRequest,
    spec: GateSpec,
    entry: Entry,
    dataset: Dataset,
    drawn: _Drawn,
    start: float,
) -> GateRun:
    """A cache hit as a run: the entry's records and Measured block (checked to fit this
    request by gate/cache_entry.py), judged again against this request's gate and settings as
    if just attacked; nothing the entry might say about a verdict is read."""
    records = entry.records
    if dataset.files is not None:  # records name the image files they came from
        records = tuple(replace(r, file=dataset.files[r.index]) for r in records)
    # A shard's records are some of the sample's images.
    images = drawn.images if request.shard is None else drawn.images[list(entry.positions)]
    result = AttackResult(records, request.settings, entry.measured, images)
    outcome = _judged(request, spec, result, entry.model, (dataset, drawn), start)
    return GateRun(result, replace(outcome, cached=True))


def _judged(
    request: GateRequest,
    spec: GateSpec,
    result: AttackResult,
    model: Mapping[str, Any],
    data: tuple[Dataset, _Drawn],
    start: float,
) -> GateOutcome:
    """The gate's outcome from its records, judged against this request (fresh or cached)."""
    dataset, drawn = data
    outcome = GateOutcome.judged(
        request.name,
        spec,
        result.records,
        settings=request.settings,
        measured=result.measured,
        model=model,
        data={
            "source": dataset.source,
            "hash": data_hash(drawn.images, drawn.labels),
            "class_names": list(dataset.class_names) if dataset.class_names else None,
        },
        notes=_notes(result),
        seconds=round(time.perf_counter() - start, 3),
        full=request.full or request.shard is not None,
    )
    return outcome if request.shard is None else as_shard(outcome, result, drawn)


def _attack(
    request: GateRequest, spec: GateSpec, model: Model, dataset: Dataset, drawn: _Drawn
) -> AttackResult:
    """run_attack() with the gate's settings and, unless `full`, its exact early verdict.
    `data_layout` is the images' own layout when the data source fixes it (image folders are
    NHWC); the settings' `data_layout`, when set, wins inside the attack."""
    targets = _targets(model, drawn.images, drawn.labels) if request.settings.targeted else None
    run = RunOptions(
        targets=targets,
        indices=drawn.indices,
        progress=request.progress,
        stop_when=None
        if request.full or request.shard
        else EarlyVerdict(spec, request.settings.search == "certify"),
        shard=request.shard,
        executor=request.executor,
        data_layout=dataset.layout,
        batch_store=request.batch_store,
    )
    return run_attack(model, drawn.images, drawn.labels, request.settings, run)


def _notes(result: AttackResult) -> list[str]:
    """What a reader of the verdict must know about how it was reached; the rejected-successes
    note is also a warning, since it means the model's answers are not repeatable."""
    notes = list(result.measured.notes)  # no generation, slower paths, an unstable model
    counts = result.counts
    if counts.rejected > max(REJECTED_FRACTION * counts.attacked, 0):
        text = (
            f"{counts.rejected} of {counts.attacked} attacked images had a success in the search "
            "that the confirming re-query did not reproduce (not counted as successes): the "
            "model's answers are not repeatable, so this rate is not either"
        )
        notes.append(text)
        warnings.warn(text, OnePixelWarning, stacklevel=2)
    return notes


@dataclass(frozen=True)
class _Drawn:
    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray | None


def _held_out(request: GateRequest) -> tuple[Dataset, _Drawn]:
    """The data set and the gate's sample of it: from the `data` source (YAML), or from the
    arrays `onepixel.check()` was given."""
    settings, source = request.settings, request.source
    if request.images is None:
        dataset = load_data(
            source.data, x_key=source.x_key, y_key=source.y_key, classes=source.classes
        )
        indices = None
    else:
        dataset = Dataset(
            np.asarray(request.images), np.asarray(request.labels), source=ARRAYS_SOURCE
        )
        indices = None if request.indices is None else np.asarray(request.indices)
        if not request.draw_sample:
            return dataset, _Drawn(dataset.images, dataset.labels, indices)
    drawn = sample(dataset, settings.samples, settings.seed, stratified=settings.stratified)
    if indices is not None:
        return dataset, _Drawn(drawn.images, drawn.labels, indices[drawn.indices])
    return dataset, _Drawn(drawn.images, drawn.labels, drawn.indices)


def _targets(model: Model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Targeted gates aim every image at the next class, (label + 1) mod classes."""
    classes = (
        model.num_classes or np.asarray(model.predict(images[:1].astype(np.float32))).shape[-1]
    )
    return (labels.astype(np.int64) + 1) % classes


def data_hash(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the sampled images and labels: two reports compare only if this matches."""
    digest = hashlib.sha256()
    for array in (images, labels):
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
