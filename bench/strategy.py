"""What each change to the default DE bought: the measurement behind the default preset.

Starting from version 0.1's default (preset `continuous`: DE/rand/1, continuous colours, three
quarters of the initial population at extreme colours), each row adds one change, and the last
row is today's default:

1. `+corners`: colour genes snapped to the corners of the colour cube, the whole initial
   population at corners;
2. `+best1`: DE/best/1 mutation (around the fittest member) instead of DE/rand/1;
3. `+distinct` (= `default`): no candidate queried twice for an image.

Each cell is the success rate over the exhaustive corner limit (limits.py), the mean over SEEDS,
on every bench model at budgets 100, 400 and 1000. A change is kept only if it wins (or ties)
on every model.

    python bench/strategy.py [--models digits photos colour resnet]   (writes bench/strategy.md)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from limits import SLOW, attacked_set, limit
from measure import machine
from models import STRENGTH

from pytest_onepixel import PRESETS, Preset, attack, load_model

SEEDS = (0, 1, 2)
BUDGETS = (100, 400, 1000)
OUTPUT = Path(__file__).resolve().parent / "strategy.md"
STEPS = {
    "continuous (0.1 default)": PRESETS["continuous"],
    "+corners": Preset("corners", None, extreme_fraction=1.0, corners=True),
    "+best1": Preset("best1", None, extreme_fraction=1.0, corners=True, strategy="best1"),
    "+distinct (default)": PRESETS["default"],
}


def ratios(bench, budget: int, preset: Preset, limit_count: int) -> list[float]:
    x, y = attacked_set(bench)
    model = load_model(bench.onnx, threads=2)
    found = []
    for seed in SEEDS:
        result = attack(model, x, y, budget=budget, preset=preset, seed=seed,
                        pixel_range=bench.pixel_range)  # fmt: skip
        found.append(result.successes / limit_count)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=list(STRENGTH))
    names = parser.parse_args().models
    start = time.perf_counter()
    lines = [
        "# What each change to the default DE bought",
        "",
        "Regenerate with `python bench/strategy.py` (from the repo root). Success rate over the "
        f"exhaustive corner limit, mean over seeds {SEEDS} (min-max in brackets).",
        "",
        f"Machine: {machine()}",
        "",
    ]
    for name in names:
        bench = STRENGTH[name]()
        found = limit(bench)
        count = int(found["all_values"].sum() if "all_values" in found else found["plugin"].sum())
        what = "any-value" if "all_values" in found else "corner"
        lines += [f"## {bench.title}", "",
                  f"{len(found['plugin'])} attacked images, {what} limit {count}.", "",
                  "| preset | " + " | ".join(f"budget {b}" for b in BUDGETS) + " |",
                  "|---|" + "---|" * len(BUDGETS)]  # fmt: skip
        for label, preset in STEPS.items():
            cells = []
            for budget in BUDGETS:
                if name in SLOW and budget != 400:
                    cells.append("-")
                    continue
                found_ratios = ratios(bench, budget, preset, count)
                cells.append(
                    f"{np.mean(found_ratios):.3f} [{min(found_ratios):.3f}-{max(found_ratios):.3f}]"
                )
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
            print(name, label, cells, flush=True)
        lines.append("")
    lines.append(f"Wall time: {(time.perf_counter() - start) / 60:.1f} min.")
    OUTPUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
