"""The gradient's charge against strength and wall time (issue 22: the wall-time target against
the strength targets).

A guided image pays `guiding.GRADIENT_CHARGE` queries for its ranking before DE starts. A
charge below the gradient's real cost (bench/guidance.md measures it) buys model time that the
black-box search does not get, so the guided gate is slower at equal budget; a charge at the
real cost leaves DE fewer queries, so it finds less. This sweep measures both sides on the same
images, for each charge in `--charges`:

- **strength**: successes over the exhaustive corner limit, all attacked images, mean over
  seeds (0, 1, 2), at budgets 100 and 400. The limit is the plugin's exhaustive search over
  every (position, corner colour) (baselines.py cross-checks it by brute force);
- **wall**: guided `attack()` over black-box (`preset: blackbox`) on the first 100 attacked
  images, seed 0, interleaved with every charge, `--repeats` rounds, median.

The charge is swapped by wrapping guiding.py's `_gradient_guide` (bench only: the plugin has no
setting for it, so "budget 400" means one thing for every user).

    python bench/charge.py [--models digits colour photos] [--charges 20 30 33 36 40] [--repeats 5]
    (writes bench/charge.md)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch  # noqa: F401  (imported first, as in a session where a PyTorch gate ran)
from limits import attacked_set
from measure import machine
from models import STRENGTH

from pytest_onepixel import attack, guiding, load_model

OUTPUT = Path(__file__).resolve().parent / "charge.md"
SEEDS = (0, 1, 2)
BUDGETS = (100, 400)
#: The issue's strength targets (fraction of the corner limit), by model and budget.
TARGETS = {("colour", 100): 0.90, ("colour", 400): 0.97, ("digits", 100): 0.99}


@contextlib.contextmanager
def charged(charge: int) -> Iterator[None]:
    """Guides built inside charge `charge` queries per image."""
    build = guiding._gradient_guide

    def with_charge(*args, **kwargs):
        guide = build(*args, **kwargs)
        guide.charge = charge
        return guide

    guiding._gradient_guide = with_charge
    try:
        yield
    finally:
        guiding._gradient_guide = build


def corner_limit(model, x: np.ndarray, y: np.ndarray, pixel_range) -> int:
    space = x.shape[2] * x.shape[3] * 2 ** x.shape[1]
    result = attack(model, x, y, search="exhaustive", budget=space, popsize=min(space, 512),
                    pixel_range=pixel_range)  # fmt: skip
    return result.successes


def section(name: str, charges: list[int], repeats: int) -> list[str]:
    bench = STRENGTH[name]()
    x, y = attacked_set(bench)
    model = load_model(bench.onnx, threads=2)
    limit = corner_limit(model, x, y, bench.pixel_range)
    options = {"pixel_range": bench.pixel_range}
    strength: dict[tuple[int, int], float] = {}
    for charge in charges:
        with charged(charge):
            for budget in BUDGETS:
                found = [
                    attack(model, x, y, budget=budget, seed=seed, **options).successes
                    for seed in SEEDS
                ]
                strength[charge, budget] = float(np.mean(found)) / limit
                print(name, charge, budget, found, flush=True)
    walls: dict[tuple[int, int], list[float]] = {(c, b): [] for c in charges for b in BUDGETS}
    first = x[:100], y[:100]
    for budget in BUDGETS:
        attack(model, *first, budget=budget, preset="blackbox", seed=0, **options)  # warm
        for _ in range(repeats):
            start = time.perf_counter()
            attack(model, *first, budget=budget, preset="blackbox", seed=0, **options)
            blind = time.perf_counter() - start
            for charge in charges:
                with charged(charge):
                    start = time.perf_counter()
                    attack(model, *first, budget=budget, seed=0, **options)
                    walls[charge, budget].append((time.perf_counter() - start) / blind)
    lines = [
        f"## {bench.title}",
        "",
        f"{len(x)} attacked images, exhaustive corner limit {limit}.",
        "",
        "| charge | strength, budget 100 | budget 400 | wall guided / black-box, budget 100 "
        "| budget 400 |",
        "|---|---|---|---|---|",
    ]
    for charge in charges:
        cells = []
        for budget in BUDGETS:
            target = TARGETS.get((name, budget))
            mark = "" if target is None else (" (target met)" if strength[
                charge, budget] >= target else f" (below {target:.2f})")  # fmt: skip
            cells.append(f"{strength[charge, budget]:.3f}{mark}")
        for budget in BUDGETS:
            values = walls[charge, budget]
            cells.append(f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]")
        lines.append(f"| {charge} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=["digits", "colour", "photos"])
    parser.add_argument("--charges", nargs="*", type=int, default=[20, 30, 33, 36, 40])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    head = [
        "# The gradient's charge: strength against wall time",
        "",
        "Regenerate with `python bench/charge.py --models "
        + " ".join(arguments.models)
        + " --charges "
        + " ".join(map(str, arguments.charges))
        + f" --repeats {arguments.repeats}`. Strength: successes over the exhaustive corner "
        f"limit, mean over seeds {SEEDS}, all attacked images; the issue's targets are marked. "
        "Wall: guided over black-box on the first 100 attacked images, median [min-max] over "
        f"the repeats, interleaved. The plugin charges {guiding.GRADIENT_CHARGE}.",
        "",
        f"Machine: {machine()}",
        "",
    ]
    body: list[str] = []
    for name in arguments.models:
        body += section(name, arguments.charges, arguments.repeats)
        OUTPUT.write_text("\n".join(head + body) + "\n")


if __name__ == "__main__":
    main()
