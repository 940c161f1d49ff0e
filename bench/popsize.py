"""Population size and extreme-colour seeding: the measurement behind the default preset.

Run from the repo root: `python bench/popsize.py` (prints the tables and rewrites bench/popsize.md).

DE trades population size against generations: with budget B and population P the search runs
about B / P generations. On both digits CNNs (see digits_model.py) this sweep measures, averaged
over SEEDS, (1) the success rate of the default preset for each (budget, P), next to the paper
preset at the same P, and (2) at P = default_popsize(B), the share of the initial population
seeded with extreme colours (each channel at its min or max). The exhaustive one-pixel success
rate is the ceiling for every row.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from digits_model import DIGIT_VALUES, PIXEL_RANGE, correctly_classified, digits_onnx
from measure import exhaustive_success, machine

from pytest_onepixel import PRESETS, Preset, attack, default_popsize, load_model

BUDGETS = (100, 400, 1000)
POPSIZES = (10, 20, 40, 80, 160, 400)
EXTREME_FRACTIONS = (0.0, 0.5, 0.75, 1.0)
SEEDS = (0, 1, 2)
OUTPUT = Path(__file__).resolve().parent / "popsize.md"


def mean_rate(model, images, labels, budget: int, popsize: int, preset: Preset | str) -> tuple:
    """(mean success rate, mean queries per attacked image) over SEEDS."""
    results = [
        attack(
            model,
            images,
            labels,
            budget=budget,
            popsize=popsize,
            preset=preset,
            pixel_range=PIXEL_RANGE,
            seed=seed,
        )
        for seed in SEEDS
    ]
    rate = np.mean([r.success_rate for r in results])
    queries = np.mean([r.queries_used / r.attacked for r in results])
    return rate, queries


def popsize_rows(model, images, labels, limit: float) -> list[str]:
    """One row per (budget, popsize); popsize > budget is skipped (it would be cut to the
    budget). `default_popsize(budget)` is added to the grid and marked with *."""
    rows = []
    for budget in BUDGETS:
        sizes = sorted({*(p for p in POPSIZES if p <= budget), default_popsize(budget)})
        for popsize in sizes:
            ours, ours_q = mean_rate(model, images, labels, budget, popsize, "default")
            paper, _ = mean_rate(model, images, labels, budget, popsize, "paper")
            mark = "*" if popsize == default_popsize(budget) else ""
            rows.append(
                f"| {budget} | {popsize}{mark} | {ours:.4f} ({ours / limit:.3f}) "
                f"| {paper:.4f} ({paper / limit:.3f}) | {ours_q:.1f} |"
            )
    return rows


def extreme_rows(model, images, labels, limit: float) -> list[str]:
    """One row per (budget, extreme fraction) at the default population size."""
    rows = []
    chosen = PRESETS["default"].extreme_fraction
    for budget in BUDGETS:
        for fraction in EXTREME_FRACTIONS:
            preset = Preset(f"extreme {fraction}", popsize=None, extreme_fraction=fraction)
            rate, _ = mean_rate(model, images, labels, budget, default_popsize(budget), preset)
            mark = "*" if fraction == chosen else ""
            rows.append(f"| {budget} | {fraction}{mark} | {rate:.4f} ({rate / limit:.3f}) |")
    return rows


def model_section(kind: str) -> list[str]:
    """Both sweeps on one of the example project's digits models."""
    path, images, labels = digits_onnx(kind)
    model = load_model(path, threads=2)
    correct = correctly_classified(model.predict, images, labels)
    x, y = images[correct], labels[correct]
    limit = float(exhaustive_success(model.predict, x, y, DIGIT_VALUES).mean())
    return [
        f"## {kind} model ({path.name})",
        "",
        f"{len(x)} correctly classified held-out images attacked (clean accuracy "
        f"{correct.mean():.4f}); exhaustive one-pixel success rate (the ceiling for every row): "
        f"{limit:.4f}. Each rate is followed by its ratio to that ceiling; one image is worth "
        f"{1 / len(x):.4f}.",
        "",
        "### Population size (* = `default_popsize(budget)`)",
        "",
        "| budget | popsize | success, default preset | success, paper preset "
        "| mean queries, default |",
        "|---|---|---|---|---|",
        *popsize_rows(model, x, y, limit),
        "",
        "### Share of the initial population with extreme colours "
        "(* = the default preset's), popsize = `default_popsize(budget)`",
        "",
        "| budget | extreme fraction | success |",
        "|---|---|---|",
        *extreme_rows(model, x, y, limit),
        "",
    ]


def main() -> None:
    start = time.perf_counter()
    text = "\n".join(
        [
            "# Population size and extreme-colour seeding",
            "",
            "Regenerate with `python bench/popsize.py` from the repo root (overwrites this file).",
            "",
            f"Machine: {machine()}.",
            "",
            "Models: the example project's digits CNNs (example_project/train.py), untargeted, "
            f"one pixel, pixel values 0..16, mean over seeds {list(SEEDS)}.",
            "",
            *model_section("release"),
            *model_section("fragile"),
        ]
    )
    print(text)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
