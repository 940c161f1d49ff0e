"""`attack()`: the plain Python entry point that notebooks, scripts and the pytest gates share.

It validates the arguments, finds the attacked set with one clean pass, drives the engine's
`SearchPool` to the end, and confirms every result with a final re-query of the stored
adversarial image, so a reported success is one the model really gets wrong. (Not named like
the engine: `pytest_onepixel.attack` is this function, `pytest_onepixel.engine` the engine.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .backends import SearchBackend, search_backend, slower_path_notes
from .engine.batch_size import BatchChoice
from .engine.batch_store import BatchStore, remembered_batch_size
from .engine.batches import BatchEvaluator, check_batch, confirm_batch
from .engine.consistency import ConsistencyReport, check_consistency, unstable_text
from .engine.layouts import guess_layout
from .engine.pixels import ImageSet
from .engine.presets import Preset, generations
from .engine.schedule import shard_positions
from .engine.scoring import ScoreFunction
from .engine.search import Job, SearchSettings
from .errors import InputError, UnstableModelError
from .executors.common import AttackProgress, StopRule
from .executors.local import LocalSearch
from .guiding import guide_plan
from .models import Model, load_model
from .models.preprocess import PreprocessedModel
from .planning import search_plan
from .proving import proven
from .result import AttackResult, ImageRecord, Measured
from .settings.gate_settings import GateSettings
from .settings.session_settings import SESSION_SETTINGS, SessionSettings
from .settings.setting import parse_values

__all__ = ["AttackProgress", "RunOptions", "attack", "run_attack"]
SHARD_KEYS = ("index", "count", "attacked")


def attack(
    model: object,
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    budget: int = GateSettings.budget,
    pixels: int = GateSettings.pixels,
    targets: Sequence[int] | np.ndarray | int | None = None,
    seed: int = GateSettings.seed,
    popsize: int | None = GateSettings.popsize,
    max_batch: int | None = GateSettings.max_batch,
    layout: str | None = GateSettings.layout,
    data_layout: str | None = GateSettings.data_layout,
    pixel_range: tuple[float, float] | None = GateSettings.pixel_range,
    preprocess: Mapping[str, object] | None = GateSettings.preprocess,
    preset: str | Preset = GateSettings.preset,
    indices: Sequence[int] | np.ndarray | None = None,
    progress: Callable[[AttackProgress], None] | None = None,
    stop_when: StopRule | None = None,
    allow_unstable_model: bool = GateSettings.allow_unstable_model,
    backend: str = GateSettings.backend,
    shard: tuple[int, int] | None = None,
    executor: str = SessionSettings.executor,
    search: str = GateSettings.search,
    certify_budget: int = GateSettings.certify_budget,
    guidance: str = GateSettings.guidance,
    scores: str | None = GateSettings.scores,
) -> AttackResult:
    """Attack every correctly classified image with a k-pixel DE search of at most `budget` queries.

    Parameters
    ----------
    model : Model, path, "package.module:factory", nn.Module or callable
        Anything `load_model()` takes. A callable maps a float32 batch (the model's layout, pixel
        values as stored) to class scores (batch, classes): logits or probabilities (`scores`).
    images : array
        (N, C, H, W) or (N, H, W, C) per `data_layout`, or (N, H, W) for one channel; uint8
        or float.
    labels : sequence of int
        True class of each image.
    budget : int, default 400
        The most model queries spent on one image; never exceeded.
    pixels : int, default 1
        k, the number of pixels one candidate may change.
    targets : int or sequence of int, optional
        Targeted attack: success means the model predicts this label (one per image, or one for
        all). Images already predicted as their target are not attacked.
    seed : int, default 0
        Image i draws from ``SeedSequence(seed, spawn_key=(indices[i],))``.
    popsize : int, optional
        DE population size (>= 4); default from the preset, or `default_popsize(budget)`. A
        budget below twice the population runs no DE generation (a `OnePixelWarning` says so).
    max_batch : int, optional
        The most images sent to the model in one call. The search's batch size is measured
        (engine/batch_size.py: the fastest of 16, 32, ... within a memory budget) and capped by
        this (default cap 4096); records do not depend on it.
    layout : {"NCHW", "NHWC"}, optional
        The model's input layout: by default the one the model reports (ONNX reads it from the
        graph; PyTorch models take NCHW), else the images' own. Batches are transposed to it;
        3-D (N, H, W) images gain a channel axis for a model that names its layout.
    data_layout : {"NCHW", "NHWC"}, optional
        The images' own layout: by default guessed from their shape (a last axis of 1, 3 or 4
        and no such axis 1 means NHWC, the opposite NCHW), and when the shape cannot tell, the
        model's layout. Records and adversarial images stay in it.
    pixel_range : (low, high), optional
        Range of pixel values; (0, 255) for integer dtypes and (0, 1) for floats by default.
    preprocess : {"scale": s, "mean": [...], "std": [...]}, optional
        Applied to each perturbed raw batch, ``(x * scale - mean) / std`` per channel, just
        before the model: the attack itself stays in pixel space.
    preset : {"default", "blackbox", "paper", "continuous"} or Preset
        "default" (chosen by measurement, bench/strategy.md): DE/best/1 whose colour genes sit
        at the corners of the colour cube, no candidate queried twice for an image, and a
        population sized to the budget (bench/popsize.md), guided per `guidance`. "blackbox"
        is the same DE never guided (the model's scores only). "paper" is Su et al.'s setting
        (population 400, DE/rand/1, F = 0.5, no crossover, values from N(mid, half-range)):
        at budgets below 800 it runs no DE generation, only its random initial population (the
        paper ran up to 100 generations). "continuous" is version 0.1's default (DE/rand/1,
        continuous colours). A `Preset` object sets mutation, crossover and seeding itself
        (the result's `measured.preset` names it; its settings keep "default").
    indices : sequence of int, optional
        Sample index of each image (default 0..N-1): reported in the records and used as the
        image's RNG key, so a shard of a sample reproduces the full run's records.
    progress : callable, optional
        Called after every batch the search scores and every generation with an
        `AttackProgress` (for live progress lines).
    stop_when : callable, optional
        ``stop_when(finished_records, attacked_set_size, clean_accuracy) -> bool``. The attacked
        set is searched in waves of 16 images in sample order (engine/schedule.py); each time
        the finished waves form a longer prefix, it is asked with the records of that prefix,
        in order. Once it says True no new image is started, the images already under attack
        finish, and the rest are recorded as `skipped`. Which images are attacked then depends
        only on the records, never on `max_batch` or timing, and they are a prefix of the
        sample order, so their rate stays an unbiased estimate.
    allow_unstable_model : bool, default False
        Before attacking, a few images are scored alone, in other batches and twice; a model
        whose scores differ (BatchNorm or dropout in training mode, noise) raises
        `UnstableModelError`. With True it is attacked anyway, without `stop_when` (no early
        stop), and `measured.model_check` reports the instability.
    backend : {"auto", "torch", "onnxruntime"}, default "auto"
        What runs the search of a PyTorch model: "auto" uses its ONNX Runtime twin (exported
        in memory) when onnxruntime is installed and the twin agrees with the model on the
        clean pass (backends.py), else PyTorch; successes are always confirmed on the model
        itself. Other models run as they are.
    shard : (K, N), optional
        Attack only shard K of N of the attacked set (every N-th attacked image from the K-th,
        and every N-th of the others): the result holds those images' records only, identical
        to a full run's for the same images, and `measured.shard` says which. No stop rule
        (no shard sees the whole set); merging the N shards' records gives the full run's.
    search : {"de", "exhaustive", "certify"}, default "de"; and certify_budget : int
        "exhaustive": every position x corner colour, k = 1 (engine/exhaustive.py; fits budget).
        "certify": DE, then a proof per image it did not fool, each within `certify_budget`.
    guidance : {"auto", "gradient", "none"}, default "auto"
        "auto": the default preset ranks each image's (position, corner colour) candidates by
        the model's margin gradient and starts DE from the best (guiding.py), at a charge of
        `GRADIENT_CHARGE` queries per image, where the model's graph converts (else black-box;
        `measured.guidance` says which and why). "gradient": the same, or an error. "none".
    scores : {"logits", "probabilities"}, optional
        What the model returns; by default told per row (engine/scoring.py says how).
    executor : {"local", "ray"}, default "local"
        Who searches: this process, or Ray actors (executors/ray_search.py; `ray.init()`
        honours RAY_ADDRESS), each loading the model once from its bytes; same records.
    """
    keywords = {
        "budget": budget, "pixels": pixels, "seed": seed, "popsize": popsize,
        "max_batch": max_batch, "layout": layout, "data_layout": data_layout,
        "pixel_range": pixel_range, "preprocess": preprocess, "backend": backend,
        "preset": GateSettings.preset if isinstance(preset, Preset) else preset,
        "allow_unstable_model": allow_unstable_model, "search": search, "scores": scores,
        "certify_budget": certify_budget, "guidance": guidance,
    }  # fmt: skip
    where = lambda key: f"attack({key}=...)"  # noqa: E731
    settings = GateSettings.from_keywords(
        where,
        targeted=targets is not None,
        **{key: value for key, value in keywords.items() if value is not None},
    )
    parse_values({"executor": executor}, SESSION_SETTINGS, where, ["executor"], InputError)
    custom = preset if isinstance(preset, Preset) else None
    run = RunOptions(targets, indices, progress, stop_when, shard, executor, custom)
    return run_attack(model, images, labels, settings, run)


@dataclass(frozen=True)
class RunOptions:
    """How to run an attack, apart from its settings: the images' targets and RNG keys, who
    watches and may stop it, which shard, who searches, a custom Preset object, the images'
    layout when their source fixes it (image folders are NHWC; the `data_layout` setting, when
    set, wins), and where batch choices are remembered (engine/batch_store.py; None: timed)."""

    targets: Sequence[int] | np.ndarray | int | None = None
    indices: Sequence[int] | np.ndarray | None = None
    progress: Callable[[AttackProgress], None] | None = None
    stop_when: StopRule | None = None
    shard: tuple[int, int] | None = None
    executor: str = SessionSettings.executor
    preset: Preset | None = None
    data_layout: str | None = None
    batch_store: BatchStore | None = None


def run_attack(
    model: object,
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    settings: GateSettings,
    run: RunOptions,
) -> AttackResult:
    """`attack()` with its settings already validated (the gates build them from their
    layers): nothing here validates or defaults a setting again."""
    plan, notes = search_plan(settings, run.preset)
    problem = _prepare(model, images, settings, run.data_layout)
    n = len(problem.images.images)
    labels = _integer_vector("labels", labels, n)
    indices = _indices(run.indices, n)
    targets = None if run.targets is None else _integer_vector("targets", run.targets, n)

    score, checks, model_check = _checked_model(problem, settings)
    # No early verdict on scores that change between calls, nor in a shard (`merge` judges)
    stop_when = run.stop_when if model_check.stable and run.shard is None else None
    clean = checks.probabilities(np.arange(n))
    correct, attacked = _attacked_set(clean, labels, targets, score.num_classes)
    kept = shard_positions(attacked, run.shard)
    jobs = [
        Job(int(i), int(indices[i]), int(labels[i]), _target(targets, i))
        for i in kept
        if attacked[i]
    ]
    plan, guidance, unguided = guide_plan(plan, problem.model, problem.images, jobs, settings)
    context = _SearchContext(
        problem, score, clean, float(correct.mean()), model_check.stable, model_check.exact
    )
    records, chosen, batch, proofs = proven(_search, context, jobs, plan, settings, run, stop_when)
    early = run.stop_when is not None and run.shard is None  # the caller asked for it
    slower = slower_path_notes(settings.backend, chosen, batch, model_check, early)  # warned
    for i in set(kept.tolist()) - set(records):
        records[i] = ImageRecord.unattacked(
            int(indices[i]),
            int(labels[i]),
            bool(correct[i]),
            _target(targets, i),
            bool(attacked[i]),
        )
    measured = Measured(
        batch=batch.to_json(),
        backend=chosen.name,
        twin=chosen.report,
        model_check=model_check.to_json(),
        preset=plan.preset.name,
        popsize=plan.popsize,
        generations=generations(plan.budget, plan.popsize),
        layout=problem.images.model_layout,
        data_layout=problem.images.layout,
        pixel_range=tuple(problem.images.pixel_range),
        shard=None
        if run.shard is None
        else dict(zip(SHARD_KEYS, (*run.shard, int(attacked.sum())), strict=True)),
        notes=(*notes, *unguided, *slower, *proofs),
        guidance=guidance,
    )
    ordered = tuple(records[i] for i in kept)
    return AttackResult(ordered, settings, measured, problem.images.images[kept])


def _checked_model(
    problem: _Problem, settings: GateSettings
) -> tuple[ScoreFunction, BatchEvaluator, ConsistencyReport]:
    """The real model's scorer and evaluator (consistency probe, clean pass) and its
    consistency check; an unstable model is refused unless allowed."""
    score = ScoreFunction(problem.model.predict, settings.scores, problem.model.description)
    checks = BatchEvaluator(problem.images, score, check_batch(settings.max_batch))
    model_check = check_consistency(checks)
    if not model_check.stable and not settings.allow_unstable_model:
        raise UnstableModelError(unstable_text(problem.model.description, model_check))
    return score, checks, model_check


@dataclass(frozen=True)
class _SearchContext:
    """What the search needs from the checks before it: the model and images, the real model's
    scorer (for confirmations), its clean-pass probabilities, clean accuracy, bit-exactness."""

    problem: _Problem
    score: ScoreFunction
    clean: np.ndarray
    accuracy: float
    stable: bool
    exact: bool = False


def _search(
    context: _SearchContext,
    jobs: list[Job],
    plan: SearchSettings,
    settings: GateSettings,
    run: RunOptions,
    stop_when: StopRule | None,
) -> tuple[dict[int, ImageRecord], SearchBackend, BatchChoice]:
    """Pick what runs the search (the model or its verified twin) and its batch size by
    measurement, then search the attacked set and confirm on the real model."""
    problem = context.problem
    images = problem.images.model_images
    chosen = search_backend(problem.model, settings, images, context.clean, context.stable)
    planned, in_flight = len(jobs) * plan.budget, len(jobs) * plan.popsize
    timing = (chosen.model.predict, images, settings.max_batch, planned, in_flight)
    batch = remembered_batch_size(run.batch_store, (problem.model, chosen), *timing)
    searcher = context.score
    if chosen.model is not problem.model:
        searcher = ScoreFunction(chosen.model.predict, settings.scores, chosen.model.description)
    confirm = confirm_batch(context.exact, settings.max_batch)  # 1 unless bit-identical
    if run.executor == "ray":
        from .executors.ray_search import RaySearch, RaySetup
        from .models.package import ModelPackage

        twin = chosen.model is not problem.model
        package = ModelPackage.of(problem.model)
        setup = RaySetup(package, problem.images, twin, batch.size, settings.scores, confirm)
        runner = RaySearch(setup, jobs, plan, context.accuracy, stop_when)
    else:
        evaluators = (
            BatchEvaluator(problem.images, searcher, batch.size),
            BatchEvaluator(problem.images, context.score, confirm),
        )
        runner = LocalSearch(evaluators, jobs, plan, context.accuracy, stop_when)
    return runner.run(run.progress), chosen, batch


@dataclass(frozen=True)
class _Problem:
    """The model (with its preprocessing) and the validated images."""

    model: Model
    images: ImageSet


def _prepare(
    model: object, images: object, settings: GateSettings, source_layout: str | None
) -> _Problem:
    """Load the model, settle both layouts, validate the images against the model."""
    resolved = load_model(model)
    model_layout = settings.layout or resolved.layout
    data_layout = (
        settings.data_layout or source_layout or guess_layout(np.shape(images), prefer=model_layout)
    )
    if settings.preprocess:
        resolved = PreprocessedModel(resolved, settings.preprocess, model_layout or data_layout)
    image_set = ImageSet.from_user(images, data_layout, settings.pixel_range, model_layout)
    check_fits = getattr(resolved, "check_fits", None)
    if check_fits is not None:
        check_fits(image_set.model_images.shape[1:], image_set.model_layout)
    if settings.pixels > image_set.height * image_set.width:
        raise InputError(
            f"pixels must be at most the {image_set.height * image_set.width} pixels of an "
            f"image; found {settings.pixels}."
        )
    return _Problem(resolved, image_set)


def _attacked_set(
    clean: np.ndarray, labels: np.ndarray, targets: np.ndarray | None, num_classes: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(correct, attacked) masks from the clean pass's probabilities: the attacked set is the
    correctly classified images (and, targeted, not already predicted as their target)."""
    predicted = clean.argmax(axis=1)
    _check_classes("labels", labels, num_classes or clean.shape[1])
    if targets is not None:
        _check_classes("targets", targets, num_classes or clean.shape[1])
    correct = predicted == labels
    attacked = correct if targets is None else correct & (predicted != targets)
    return correct, attacked


def _indices(indices: object, n: int) -> np.ndarray:
    index_array = np.arange(n) if indices is None else _integer_vector("indices", indices, n)
    if len(np.unique(index_array)) != n or (index_array < 0).any():
        raise InputError(
            "indices must be distinct non-negative integers: each image needs its own RNG key."
        )
    return index_array


def _integer_vector(name: str, values: object, n: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 0 and name == "targets":
        array = np.full(n, array)
    if array.ndim != 1 or len(array) != n:
        raise InputError(
            f"{name} must hold one integer per image: {n} values; found shape {array.shape}."
        )
    integral = array.dtype.kind in "ui" or (
        array.dtype.kind == "f" and np.array_equal(array, np.round(array))
    )
    if not integral:
        raise InputError(f"{name} must be integers; found dtype {array.dtype}.")
    return array.astype(np.int64)


def _check_classes(name: str, values: np.ndarray, num_classes: int) -> None:
    bad = np.flatnonzero((values < 0) | (values >= num_classes))
    if bad.size:
        raise InputError(
            f"{name} must lie in 0..{num_classes - 1} (the model scores {num_classes} classes); "
            f"found {values[bad[0]]} at position {bad[0]} ({bad.size} out of range in all)."
        )


def _target(targets: np.ndarray | None, i: int) -> int | None:
    return None if targets is None else int(targets[i])
