"""Third-party one-pixel attacks, run at equal queries counted the same way as our engine.

`anchor.py` re-implements the scipy-DE recipe the libraries use; this module runs the libraries
themselves, so a benchmark can put their published code next to our engine on the same images:

- `torchattacks_onepixel`: torchattacks' `OnePixel` (its own copy of scipy's DE).
- `torchattacks_pixle`: torchattacks' `Pixle` with 1x1 patches (random pixel rearrangement).
- `art_pixel_attack`: ART's `PixelAttack` with DE (`es=1`).

Why the wrappers: each library sizes its search in its own units (steps x population, restarts x
iterations, a population fixed at 400), spends extra model calls in callbacks and final checks,
and works on its own pixel scale ([0, 1] for torchattacks, [0, 255] for ART). To compare at an
equal number of queries, every image the model is asked to score during one image's attack is
counted by a wrapper around the model (callbacks and final checks included), and each method's
parameters are derived from the budget with formulas that keep that count at or below it (the
functions' docstrings and `notes` give them). As in our engine, the population is about
budget / 5. Every claimed adversarial image is then confirmed the way our engine confirms its
own: rounded to the data's integer values in [0, high], at most one pixel position (any channel)
may differ from the original, and a re-query (not counted, like the engine's confirmation) must
give a label other than the true one.

Images are attacked one at a time, the libraries' natural use. Image i (its position in the
arrays passed) draws its randomness from ``SeedSequence(seed, spawn_key=(i,))``, as `anchor.py`
does; the libraries draw from numpy's global RNG, which is seeded per image and restored after.

Run `python bench/anchors.py` for a smoke run on the example's digits model.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pytest_onepixel.engine.scoring import to_probabilities

Predict = Callable[[np.ndarray], np.ndarray]
#: Population size relative to the budget, as our engine's `default_popsize` (about budget / 5).
POPULATION_SHARE = 5
#: How far from budget / 5 the population may move to spend more of the budget (+-20%).
POPULATION_SLACK = 0.2
#: A raw pixel counts as changed when it moves by more than this (in data units): the libraries'
#: round trips through [0, 1] or [0, 255] leave float noise on untouched pixels.
CHANGE_TOLERANCE = 1e-3


@dataclass
class AnchorResult:
    """One third-party attack over a set of images, at one budget.

    `queries` holds, per attacked image, every image the model scored during that image's attack
    (callbacks and final checks included; the confirmation re-query excluded). `multi_pixel`
    counts raw successes (the method's own adversarial image, unrounded, misclassified) that
    changed more than one pixel position: not one-pixel successes, so never in `successes`.
    `seconds` is the wall time of the attack calls alone.
    """

    method: str
    successes: int
    attacked: int
    queries: list[int]
    seconds: float
    multi_pixel: int = 0
    notes: str = ""

    @property
    def rate(self) -> float:
        """Share of the attacked images fooled by a confirmed one-pixel change."""
        return self.successes / self.attacked if self.attacked else 0.0

    @property
    def mean_queries(self) -> float:
        """Mean model queries per attacked image."""
        return float(np.mean(self.queries)) if self.queries else 0.0

    @property
    def max_queries(self) -> int:
        """The most queries one image took (to check against the budget)."""
        return max(self.queries, default=0)


@dataclass(frozen=True)
class DEPlan:
    """A scipy-style DE sized to a budget: `multiplier` x genes = `population` (at least 5, as
    scipy's solver enforces), `generations` after the initial population, `max_queries` the
    most queries one image can take."""

    multiplier: int
    population: int
    generations: int
    max_queries: int


def de_plan(budget: int, genes: int, fixed: int = 0) -> DEPlan:
    """Size a DE whose image costs ``P + G * (P + 1) + fixed`` queries at most: P for the initial
    population, then per generation P trials plus the one image the success callback scores,
    plus `fixed` final checks. P = max(5, m * genes) for the library's population multiplier m.

    Among the m whose P lies within +-20% of budget / 5 (our engine's population), the one that
    spends the most of the budget is chosen (ties: P nearest budget / 5), then G is as large as
    the budget allows. With no such m (tiny budgets), the feasible P nearest budget / 5.
    """
    target = budget / POPULATION_SHARE

    def plan(m: int) -> DEPlan | None:
        population = max(5, m * genes)
        room = budget - fixed - population
        if room < 0:
            return None
        steps = room // (population + 1)
        return DEPlan(m, population, steps, population + steps * (population + 1) + fixed)

    feasible = [p for m in range(1, budget // genes + 2) if (p := plan(m)) is not None]
    if not feasible:
        raise ValueError(f"budget {budget} is below one DE population (5) plus {fixed} check(s)")
    near = [p for p in feasible if abs(p.population - target) <= POPULATION_SLACK * target]
    if near:
        return max(near, key=lambda p: (p.max_queries, -abs(p.population - target)))
    return min(feasible, key=lambda p: (abs(p.population - target), -p.max_queries))


class _CountingModule(nn.Module):
    """Multiplies its [0, 1] input by `high` and calls the wrapped module, counting every image
    it scores. The wrapped module is kept out of `_modules`, so the libraries' `eval()` calls do
    not reach it (an exported `torch.export` module raises on `train()`); a zero-size parameter
    on the module's device tells torchattacks where to put tensors."""

    def __init__(self, module: nn.Module, high: float) -> None:
        super().__init__()
        object.__setattr__(self, "inner", module)
        self.high = float(high)
        self.queries = 0
        device = next(iter(module.parameters()), torch.zeros(0)).device
        self.device_marker = nn.Parameter(torch.zeros(0, device=device), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.queries += int(x.shape[0])
        return self.inner(x * self.high)


def _module_predict(module: nn.Module) -> Predict:
    """The module as a numpy function on raw pixels (float32 NCHW) returning its scores."""
    device = next(iter(module.parameters()), torch.zeros(0)).device

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
            return module(tensor).detach().cpu().numpy()

    return predict


@contextmanager
def _global_numpy_seed(seed: np.random.SeedSequence) -> Iterator[None]:
    """Seed numpy's global RNG (which torchattacks draws from) and restore it afterwards."""
    saved = np.random.get_state()
    np.random.seed(int(seed.generate_state(1)[0]))
    try:
        yield
    finally:
        np.random.set_state(saved)


def _image_seed(seed: int, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(index,))


def _check_inputs(
    predict: Predict, images: np.ndarray, labels: np.ndarray, budget: int, high: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate shapes and ranges, and assert the model classifies every image correctly (the
    caller passes the attacked set only). Returns float32 images, int labels, class count."""
    if images.ndim != 4:
        raise ValueError(f"images must be NCHW, got shape {images.shape}")
    if budget < 1:
        raise ValueError(f"budget must be positive, got {budget}")
    x = images.astype(np.float32)
    if x.min() < 0 or x.max() > high or not np.array_equal(x, np.rint(x)):
        raise ValueError(f"images must hold integer pixel values in [0, {high}]")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    scores = np.asarray(predict(x))
    wrong = np.flatnonzero(scores.argmax(axis=1) != y)
    assert wrong.size == 0, f"images {wrong.tolist()} are misclassified: pass the attacked set"
    return x, y, int(scores.shape[1])


@dataclass
class _Tally:
    """Per-image outcomes, turned into an `AnchorResult` at the end."""

    successes: int = 0
    multi_pixel: int = 0
    raw_successes: int = 0
    lost_to_rounding: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.queries: list[int] = []

    def confirm(
        self, predict: Predict, original: np.ndarray, raw: np.ndarray, label: int, high: float
    ) -> None:
        """Judge one image's claimed adversarial `raw` (data scale, (C, H, W)): a success iff,
        rounded to integers in [0, high], it changes at most one pixel position and the model
        (re-queried, uncounted) no longer predicts `label`."""
        raw = raw.astype(np.float32)
        raw_changed = int((np.abs(raw - original) > CHANGE_TOLERANCE).any(axis=0).sum())
        if raw_changed == 0:
            return
        rounded = np.clip(np.rint(raw), 0, high).astype(np.float32)
        changed = int((rounded != original).any(axis=0).sum())
        raw_fooled, rounded_fooled = (
            np.asarray(predict(np.stack([raw, rounded]))).argmax(axis=1) != label
        )
        if raw_fooled:
            self.raw_successes += 1
            self.multi_pixel += raw_changed > 1
        success = bool(changed <= 1 and rounded_fooled)
        self.successes += success
        self.lost_to_rounding += bool(raw_fooled and raw_changed <= 1 and not success)

    def result(self, method: str, budget: int, plan: str) -> AnchorResult:
        over = [q for q in self.queries if q > budget]
        notes = [plan, f"raw successes {self.raw_successes}"]
        if self.multi_pixel:
            notes.append(f"{self.multi_pixel} raw successes changed more than one pixel")
        if self.lost_to_rounding:
            notes.append(f"{self.lost_to_rounding} one-pixel raw successes lost to rounding")
        if over:
            notes.append(
                f"EXCEEDED the budget {budget} on {len(over)} image(s), at most {max(over)}"
            )
        return AnchorResult(
            method,
            self.successes,
            len(self.queries),
            list(self.queries),
            self.seconds,
            self.multi_pixel,
            "; ".join(notes),
        )


def _run_torchattacks(
    attack: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    counter: _CountingModule,
    predict: Predict,
    x: np.ndarray,
    y: np.ndarray,
    high: float,
    seed: int,
) -> _Tally:
    """Run a torchattacks attack image by image on [0, 1] images (numpy's global RNG seeded per
    image), counting each image's queries and confirming what it returns."""
    tally = _Tally()
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        counter.queries = 0
        scaled = torch.from_numpy(image[None] / np.float32(high))
        with _global_numpy_seed(_image_seed(seed, i)):
            start = time.perf_counter()
            adversarial = attack(scaled, torch.tensor([int(label)]))
            tally.seconds += time.perf_counter() - start
        tally.queries.append(counter.queries)
        raw = adversarial[0].detach().cpu().numpy() * np.float32(high)
        tally.confirm(predict, image, raw, int(label), high)
    return tally


def torchattacks_onepixel(
    module: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    budget: int,
    high: float,
    seed: int,
) -> AnchorResult:
    """torchattacks' `OnePixel(pixels=1)` at a budget, one image at a time.

    Its DE (a copy of scipy's, `init="random"`, `recombination=1`, `polish=False`, tolerances
    that never stop it) scores the initial population P = max(5, m * (2 + C)) with
    m = int(popsize / (2 + C)), then each of `steps` generations scores P trials plus one image
    in the success callback (which stops the search once the best candidate fools the model):
    at most P + steps * (P + 1) queries. `de_plan` picks m (P within +-20% of budget / 5,
    spending the most of the budget) and steps = (budget - P) // (P + 1); popsize = m * (2 + C)
    and inf_batch = P (one batch per generation). Candidates are continuous: positions are
    floored, values are not rounded (the confirmation rounds them). The module sees
    ``x * high`` for torchattacks' x in [0, 1].
    """
    import torchattacks

    predict = _module_predict(module)
    x, y, _ = _check_inputs(predict, images, labels, budget, high)
    genes = 2 + x.shape[1]
    plan = de_plan(budget, genes)
    counter = _CountingModule(module, high)
    attack = torchattacks.OnePixel(
        counter,
        pixels=1,
        steps=plan.generations,
        popsize=plan.multiplier * genes,
        inf_batch=plan.population,
    )
    tally = _run_torchattacks(attack, counter, predict, x, y, high, seed)
    text = (
        f"popsize={plan.population} (m={plan.multiplier} x {genes} genes), "
        f"steps={plan.generations}: at most {plan.population} + {plan.generations} x "
        f"({plan.population} + 1) = {plan.max_queries} queries/image"
    )
    return tally.result("torchattacks.OnePixel", budget, text)


def pixle_plan(budget: int, restarts: int) -> tuple[int, int]:
    """(max_iterations, most queries per image) for Pixle at a budget: one query for the clean
    image, then two per iteration (the candidate's loss and the success callback, which scores
    it again): 1 + 2 * restarts * max_iterations <= budget."""
    iterations = (budget - 1) // 2 // restarts
    if iterations < 1:
        raise ValueError(f"budget {budget} pays for no Pixle iteration with {restarts} restarts")
    return iterations, 1 + 2 * restarts * iterations


def torchattacks_pixle(
    module: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    budget: int,
    high: float,
    seed: int,
    restarts: int = 1,
) -> AnchorResult:
    """torchattacks' `Pixle` with 1x1 patches (`pixel_mapping="random"`), one image at a time.

    Each iteration copies one random source pixel onto one random destination of the restart's
    base image and costs two queries (loss, then success callback); the clean image costs one:
    max_iterations = ((budget - 1) // 2) // restarts, at most 1 + 2 * restarts * max_iterations
    queries. Within a restart every candidate differs from the base in one pixel; the next
    restart's base is the best (or last) candidate, so with restarts > 1 changes accumulate and
    later candidates change two pixels or more. restarts=1 (the default) is therefore Pixle's
    strongest one-pixel setting: every query is a one-pixel candidate. Raw successes that change
    more than one pixel are counted in `multi_pixel`, never as successes. Pixle only copies
    values already present in the image, and (its `int(u * (w - 1))` draws) never picks the last
    row or column as source or destination.
    """
    import torchattacks

    predict = _module_predict(module)
    x, y, _ = _check_inputs(predict, images, labels, budget, high)
    iterations, most = pixle_plan(budget, restarts)
    counter = _CountingModule(module, high)
    attack = torchattacks.Pixle(
        counter,
        x_dimensions=(1, 1),
        y_dimensions=(1, 1),
        pixel_mapping="random",
        restarts=restarts,
        max_iterations=iterations,
        update_each_iteration=False,
    )
    tally = _run_torchattacks(attack, counter, predict, x, y, high, seed)
    text = (
        f"restarts={restarts}, max_iterations={iterations}: at most 1 + 2 x {restarts} x "
        f"{iterations} = {most} queries/image"
    )
    name = "torchattacks.Pixle" + (f" (restarts={restarts})" if restarts != 1 else "")
    return tally.result(name, budget, text)


@contextmanager
def art_de_sized(multiplier: int, generations: int, rng: np.random.RandomState) -> Iterator[None]:
    """Make ART's PixelAttack run a DE of our size: replaces the `differential_evolution` that
    `art.attacks.evasion.pixel_threshold` calls (ART hard-codes popsize = 400 // len(bounds))
    by one that overrides popsize, maxiter and seed and keeps every other argument ART passes;
    the original is restored on exit."""
    from art.attacks.evasion import pixel_threshold

    original = pixel_threshold.differential_evolution

    def sized(*args: object, **kwargs: object) -> object:
        kwargs.update(popsize=multiplier, maxiter=generations, seed=rng)
        return original(*args, **kwargs)

    pixel_threshold.differential_evolution = sized
    try:
        yield
    finally:
        pixel_threshold.differential_evolution = original


def art_pixel_attack(
    module_or_predict: nn.Module | Predict,
    images: np.ndarray,
    labels: np.ndarray,
    budget: int,
    high: float,
    seed: int,
) -> AnchorResult:
    """ART's `PixelAttack(th=1, es=1)` (scipy-style DE; es=0 needs the absent `cma`), one image
    at a time, through a `BlackBoxClassifierNeuralNetwork` (no gradients) with
    clip_values=(0, high), channels first.

    ART's DE (its copy of scipy's: latin-hypercube init, `recombination=1`, `polish=False`,
    tolerances that never stop it) has its population hard-coded to 400 // len(bounds) x
    len(bounds). To compare at equal queries, `art_de_sized` patches the `differential_evolution`
    that `art.attacks.evasion.pixel_threshold` calls, for the duration of this function only,
    to popsize = m and maxiter = G from `de_plan`: P = max(5, m * (2 + C)) initial candidates,
    G generations of P trials plus one success-callback image, plus one final check ART makes
    after the DE: at most P + G * (P + 1) + 1 queries. The fitness is the true class's
    probability (a softmax is applied to logits, as ART expects probabilities). ART searches
    values in [0, 255] truncated to integers; for high != 255 it maps them onto [0, high]
    (x * high / 255), so its candidates there are not the data's integer values: the
    confirmation rounds them.
    """
    from art.attacks.evasion import PixelAttack
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    if isinstance(module_or_predict, nn.Module):
        base = _module_predict(module_or_predict)
    else:
        base = module_or_predict
    x, y, classes = _check_inputs(base, images, labels, budget, high)
    genes = 2 + x.shape[1]
    plan = de_plan(budget, genes, fixed=1)
    queries = [0]

    def counted(batch: np.ndarray) -> np.ndarray:
        queries[0] += len(batch)
        return to_probabilities(np.asarray(base(batch.astype(np.float32))))

    classifier = BlackBoxClassifierNeuralNetwork(
        counted, x.shape[1:], classes, channels_first=True, clip_values=(0, high)
    )
    attack = PixelAttack(classifier, th=1, es=1, max_iter=plan.generations, verbose=False)
    tally = _Tally()
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        queries[0] = 0
        rng = np.random.RandomState(_image_seed(seed, i).generate_state(1)[0])
        with art_de_sized(plan.multiplier, plan.generations, rng), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # ART divides by a 0 convergence
            start = time.perf_counter()
            adversarial = attack.generate(image[None], np.array([label]))
            tally.seconds += time.perf_counter() - start
        tally.queries.append(queries[0])
        tally.confirm(base, image, np.asarray(adversarial[0]), int(label), high)
    text = (
        f"popsize={plan.population} (m={plan.multiplier} x {genes} genes, patched), "
        f"max_iter={plan.generations}: at most {plan.population} + {plan.generations} x "
        f"({plan.population} + 1) + 1 = {plan.max_queries} queries/image"
    )
    return tally.result("ART PixelAttack (DE)", budget, text)


def _smoke() -> None:
    """The example's digits model (PyTorch export), its first 20 correctly classified held-out
    images, each anchor at budgets 100 and 400."""
    torch.set_num_threads(1)  # a shared 2-core machine; the smoke run is about correctness
    example = Path(__file__).resolve().parent.parent / "example_project"
    module = torch.export.load(example / "models" / "digits.pt2").module()
    data = np.load(example / "data" / "holdout.npz")
    images, labels = data["x"].reshape(-1, 1, 8, 8), data["y"].astype(np.int64)
    predicted = _module_predict(module)(images.astype(np.float32)).argmax(axis=1)
    keep = np.flatnonzero(predicted == labels)[:20]
    images, labels = images[keep], labels[keep]
    runs: list[tuple[Callable[..., AnchorResult], dict[str, int]]] = [
        (torchattacks_onepixel, {}),
        (torchattacks_pixle, {}),
        (torchattacks_pixle, {"restarts": 10}),  # shows the multi-pixel count
        (art_pixel_attack, {}),
    ]
    print(f"{'method':<34} {'budget':>6} {'rate':>6} {'mean q':>7} {'max q':>6} {'s':>6}  notes")
    for budget in (100, 400):
        for run, extra in runs:
            result = run(module, images, labels, budget, 16, 0, **extra)
            print(
                f"{result.method:<34} {budget:>6} {result.rate:>6.3f} "
                f"{result.mean_queries:>7.1f} {result.max_queries:>6} {result.seconds:>6.2f}  "
                f"{result.notes}"
            )


if __name__ == "__main__":
    _smoke()
