"""Strength side by side, at equal queries counted the same way: our default, the paper's preset,
the scipy-DE anchor, torchattacks' OnePixel and Pixle, ART's PixelAttack, and the exhaustive
limit, on every bench model at budgets 100, 400 and 1000, over SEEDS.

Every method attacks the same correctly classified images, one model (ONNX Runtime: the
third-party attacks get it wrapped as a PyTorch module, so they pay for the same forward
passes), with queries counted per image by a wrapper (anchors.py) or exactly by the engine, and
successes confirmed on the image rounded to the data's integers with at most one pixel changed.
A cell is the mean success rate over seeds with the 95% Clopper-Pearson interval of the pooled
count, the mean over seeds of (rate / exhaustive limit), mean queries per attacked image, and
the mean wall seconds of one run.

    python bench/strength.py [--models digits photos colour resnet] [--images 200]
    (writes bench/strength.md)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from anchor import anchor_attack
from anchors import art_pixel_attack, torchattacks_onepixel, torchattacks_pixle
from limits import SLOW, attacked_set, limit
from measure import machine
from models import STRENGTH, Bench

from pytest_onepixel import attack, default_popsize, load_model
from pytest_onepixel.gate.statistics import interval

SEEDS = (0, 1, 2)
BUDGETS = (100, 400, 1000)
#: The slow models (limits.SLOW, ~100 images/s) get one budget and one seed: every method costs
#: minutes there, and the whole table would take hours.
SLOW_BUDGETS = (400,)
SLOW_SEEDS = (0,)
OUTPUT = Path(__file__).resolve().parent / "strength.md"
#: (successes, attacked, queries, seconds) of one run.
Run = tuple[int, int, int, float]


def onnx_module(path: Path):
    """The ONNX model as a PyTorch module (no gradients needed by these attacks)."""
    import torch

    model = load_model(path, threads=2)

    class OnnxModule(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.asarray(model.predict(x.detach().cpu().numpy())))

    return OnnxModule().eval()


def ours(preset: str) -> Callable[[Bench, np.ndarray, np.ndarray, int, int], Run]:
    def run(bench: Bench, x: np.ndarray, y: np.ndarray, budget: int, seed: int) -> Run:
        model = load_model(bench.onnx, threads=2)
        start = time.perf_counter()
        result = attack(model, x, y, budget=budget, seed=seed, preset=preset,
                        pixel_range=bench.pixel_range)  # fmt: skip
        seconds = time.perf_counter() - start
        return result.successes, result.attacked, result.queries_used, seconds

    return run


def scipy_anchor(bench: Bench, x: np.ndarray, y: np.ndarray, budget: int, seed: int) -> Run:
    model = load_model(bench.onnx, threads=2)
    start = time.perf_counter()
    runs = [
        anchor_attack(model.predict, x[i], int(y[i]), budget=budget,
                      popsize=default_popsize(budget), pixel_range=bench.pixel_range,
                      seed=np.random.SeedSequence(seed, spawn_key=(i,)))
        for i in range(len(x))
    ]  # fmt: skip
    seconds = time.perf_counter() - start
    return sum(r.success for r in runs), len(x), sum(r.queries for r in runs), seconds


def third_party(function: Callable) -> Callable[[Bench, np.ndarray, np.ndarray, int, int], Run]:
    def run(bench: Bench, x: np.ndarray, y: np.ndarray, budget: int, seed: int) -> Run:
        found = function(onnx_module(bench.onnx), x, y, budget, bench.high, seed)
        return found.successes, found.attacked, int(sum(found.queries)), found.seconds

    return run


METHODS = {
    "ours, default": ours("default"),
    "ours, 0.1 default (continuous)": ours("continuous"),
    "ours, paper preset": ours("paper"),
    "scipy DE per image (anchor)": scipy_anchor,
    "torchattacks OnePixel": third_party(torchattacks_onepixel),
    "torchattacks Pixle (1x1)": third_party(torchattacks_pixle),
    "ART PixelAttack (DE)": third_party(art_pixel_attack),
}


def cell(runs: list[Run], limit_count: int) -> str:
    successes = sum(r[0] for r in runs)
    attacked = sum(r[1] for r in runs)
    low, high = interval(successes, attacked)
    rate = successes / attacked
    ratio = f"{np.mean([r[0] / limit_count for r in runs]):.2f}" if limit_count else "-"
    queries = sum(r[2] for r in runs) / attacked
    seconds = np.mean([r[3] for r in runs])
    return f"{rate:.3f} [{low:.3f}, {high:.3f}]; {ratio}; {queries:.0f} q; {seconds:.1f} s"


def section(bench: Bench, images: int) -> list[str]:
    slow = bench.name in SLOW
    budgets, seeds = (SLOW_BUDGETS, SLOW_SEEDS) if slow else (BUDGETS, SEEDS)
    found = limit(bench)
    x, y = attacked_set(bench)
    x, y = x[:images], y[:images]
    corners = found["plugin"][:images]
    count = int(found["all_values"][:images].sum() if "all_values" in found else corners.sum())
    lines = [
        f"## {bench.title}",
        "",
        f"{len(x)} attacked images; exhaustive limit {count} ({count / len(x):.3f}: every "
        + ("position x every value" if "all_values" in found else "position x every corner colour")
        + f"; corner colours alone: {int(corners.sum())}). Seeds {seeds}.",
        "",
        "| method | " + " | ".join(f"budget {b}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for name, method in METHODS.items():
        cells = []
        for budget in budgets:
            runs = [method(bench, x, y, budget, seed) for seed in seeds]
            cells.append(cell(runs, count))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(bench.name, name, cells, flush=True)
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=list(STRENGTH))
    parser.add_argument("--images", type=int, default=200)
    arguments = parser.parse_args()
    start = time.perf_counter()
    lines = [
        "# Strength side by side, at equal queries",
        "",
        "Regenerate with `python bench/strength.py`. Each cell: mean success rate over seeds "
        f"{SEEDS} (the slow ResNet: one seed, budget 400) [95% interval of the pooled count]; "
        "the mean of rate / exhaustive limit; mean "
        "queries per attacked image; mean wall seconds of one run. The exhaustive limit is "
        "exact (limits.py): no one-pixel attack over the same colours can beat it.",
        "",
        f"Machine: {machine()}",
        "",
    ]
    for name in arguments.models:
        lines += section(STRENGTH[name](), arguments.images)
    lines.append(f"Wall time: {(time.perf_counter() - start) / 60:.0f} min.")
    OUTPUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
