"""What the gradient guide costs (issue 22, point 2): its real cost in queries next to the
stated charge, and the wall time of a guided gate next to the black-box one at equal budget.

- **cost**: per bench model, the guide's ranking of a wave of images (the gradient of both
  margins through the float64 graph, plus the ranking) in chunks of 16 (an early-verdict wave)
  and 64 (GRADIENT_CHUNK), per image, over the time of one query at the model's best raw batch
  through ONNX Runtime (2 threads). Interleaved, `--repeats` times; median [min-max]. The
  charge (guiding.GRADIENT_CHARGE) should not be below it, or a guided "budget 400" would
  spend more model time than an unguided one.
- **wall**: `attack()` with `preset="default"` (guided) and `preset="blackbox"` on the same
  images at budgets 100 and 400, interleaved, `--repeats` times (torch imported beforehand, as
  in a session where a PyTorch gate ran; the first guided gate of a session without torch pays
  its import, ~1-2 s, once): the guided wall time over the black-box one.

    python bench/guidance.py [--models digits colour photos] [--images 100] [--repeats 3]
    (writes bench/guidance.md's table; its "## Notes" section is kept)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from limits import attacked_set
from measure import RAW_BATCH, machine
from models import STRENGTH

from pytest_onepixel import attack, load_model
from pytest_onepixel.engine.pixels import ImageSet
from pytest_onepixel.guiding import GRADIENT_CHARGE, GRADIENT_CHUNK, GradientGuide

OUTPUT = Path(__file__).resolve().parent / "guidance.md"
#: Where the hand-written part of guidance.md begins: kept as it is when the table is rewritten.
NOTES = "## Notes"


def spread(values: list[float], digits: int = 1) -> str:
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{middle:.{digits}f} [{low:.{digits}f}-{high:.{digits}f}]"


def query_seconds(model, images: np.ndarray) -> float:
    batch = np.resize(images, (RAW_BATCH, *images.shape[1:])).astype(np.float32)
    model.predict(batch)
    start = time.perf_counter()
    model.predict(batch)
    return (time.perf_counter() - start) / RAW_BATCH


def guide_seconds(guide: GradientGuide, image_set: ImageSet, labels, chunk: int) -> float:
    owners = np.arange(min(len(labels), 128))
    targets = np.full(len(owners), -1)
    start = time.perf_counter()
    for first in range(0, len(owners), chunk):
        part = owners[first : first + chunk]
        guide.ranked(image_set, part, labels[part], targets[: len(part)], 400)
    return (time.perf_counter() - start) / len(owners)


def cost_rows(name: str, images: int, repeats: int) -> tuple[str, list[str]]:
    bench = STRENGTH[name]()
    x, y = attacked_set(bench)
    x, y = x[:images], y[:images]
    model = load_model(bench.onnx, threads=2)
    from pytest_onepixel.certify import graph_of

    image_set = ImageSet.from_user(x, "NCHW", bench.pixel_range)
    guide = GradientGuide(graph_of(model, x.shape[1:]), "NCHW", exact=True)
    ratios: dict[int, list[float]] = {16: [], GRADIENT_CHUNK: []}
    walls: dict[int, list[float]] = {100: [], 400: []}
    options = {"pixel_range": bench.pixel_range, "seed": 0}
    for _ in range(repeats):
        query = query_seconds(model, x)
        for chunk in ratios:
            ratios[chunk].append(guide_seconds(guide, image_set, y, chunk) / query)
        for budget in walls:
            start = time.perf_counter()
            attack(model, x, y, budget=budget, preset="default", **options)
            guided = time.perf_counter() - start
            start = time.perf_counter()
            attack(model, x, y, budget=budget, preset="blackbox", **options)
            walls[budget].append(guided / (time.perf_counter() - start))
        print(name, {k: v[-1] for k, v in ratios.items()}, {k: v[-1] for k, v in walls.items()})
    row = (
        f"| {bench.title} | {len(x)} | {spread(ratios[16])} | {spread(ratios[GRADIENT_CHUNK])} "
        f"| {GRADIENT_CHARGE} | {spread(walls[100], 2)} | {spread(walls[400], 2)} |"
    )
    covered = max(ratios[GRADIENT_CHUNK]) <= GRADIENT_CHARGE
    verdict = (
        f"- {name}: gradient {spread(ratios[GRADIENT_CHUNK])} queries at chunk {GRADIENT_CHUNK}"
        f" against the charge {GRADIENT_CHARGE}: {'covered' if covered else 'NOT covered'}"
    )
    return row, [verdict]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=["digits", "colour", "photos"])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    import torch  # noqa: F401  (imported before timing: see the docstring)

    rows, verdicts = [], []
    for name in arguments.models:
        row, found = cost_rows(name, arguments.images, arguments.repeats)
        rows.append(row)
        verdicts += found
    lines = [
        "# What the gradient guide costs",
        "",
        f"Regenerate with `python bench/guidance.py --models {' '.join(arguments.models)} "
        f"--images {arguments.images} --repeats {arguments.repeats}`. Gradient cost: the "
        "guide's ranking per image (both margins' gradients through the float64 graph, and the "
        "ranking) over one query at the best raw batch through ONNX Runtime, in chunks of 16 "
        f"and {GRADIENT_CHUNK}; median [min-max] over repeats, interleaved. Wall: a guided gate "
        "(`preset: default`) over a black-box one (`preset: blackbox`) on the same images and "
        "budget, interleaved.",
        "",
        f"Machine: {machine()}",
        "",
        "| model | images | gradient, chunk 16 (queries) | gradient, chunk 64 (queries) "
        "| charge | wall guided / blackbox, budget 100 | budget 400 |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        *verdicts,
        "",
    ]
    kept = OUTPUT.read_text().partition(NOTES)[1:] if OUTPUT.exists() else ("", "")
    OUTPUT.write_text("\n".join(lines) + ("\n" if kept[0] else "") + "".join(kept))


if __name__ == "__main__":
    main()
