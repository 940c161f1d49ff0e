"""Engine benchmark: attack strength against the exhaustive limit, and speed against the model's.

Run from the repo root: `python bench/engine.py`.

Two questions a user of the gate cares about, both measured in one run on one machine:

- Strength. On the 8x8 digits (pixel values 0..16) every one-pixel image can be enumerated:
  64 positions x 17 values = 1088 images per test image. An image the exhaustive search cannot
  fool, no one-pixel attack can, so the exhaustive success rate is the ceiling, and the ratio
  of the engine's success rate to it says how much of the achievable strength a 400-query budget
  captures.
- Speed. The engine's queries/s over the whole `attack()` call (including the clean pass and the
  confirmation re-query) divided by the model's own images/s on 4096-image batches: how much the
  search bookkeeping costs on top of inference. This tiny model is about the worst case for that
  ratio, as inference is cheap relative to the engine's per-query work.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from digits_model import correctly_classified, digits_onnx
from measure import exhaustive_success, machine, raw_throughput

from pytest_onepixel import AttackResult, Model, attack, load_model

BUDGET = 400
PIXEL_RANGE = (0, 16)
REPEATS = 3  # timed runs per attack; the median is reported
DIGIT_VALUES = [[v] for v in range(PIXEL_RANGE[0], PIXEL_RANGE[1] + 1)]


def timed_attack(
    model: Model, images: np.ndarray, labels: np.ndarray, **kwargs: object
) -> tuple[AttackResult, float]:
    """`attack()` with the benchmark's fixed settings, and its median wall time in seconds.

    A run takes well under a second here, so one timing is noisy; the attack is deterministic
    (fixed seed), so repeating it only repeats the same work.
    """
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = attack(
            model, images, labels, budget=BUDGET, pixel_range=PIXEL_RANGE, seed=0, **kwargs
        )
        times.append(time.perf_counter() - start)
    return result, float(np.median(times))


def main() -> None:
    path, images, labels = digits_onnx()
    model = load_model(path, threads=2)  # the adapter the plugin uses, on 2 threads
    correct = correctly_classified(model.predict, images, labels)
    x, y = images[correct], labels[correct]

    default, default_s = timed_attack(model, x, y)
    paper, paper_s = timed_attack(model, x, y, preset="paper")
    start = time.perf_counter()
    limit = exhaustive_success(model.predict, x, y, DIGIT_VALUES)
    exhaustive_s = time.perf_counter() - start
    raw = raw_throughput(model.predict, images.shape[1:], PIXEL_RANGE[1])

    exhaustive_rate = limit.mean()
    engine_qps = default.queries_used / default_s
    found = np.array([r.success for r in default.records])
    beyond = int((found & ~limit).sum())  # must be 0: exhaustive search is the ceiling

    rows = [
        ("attacked images (correctly classified test images)", f"{default.attacked}"),
        ("clean test accuracy", f"{correct.mean():.4f} ({correct.sum()}/{len(correct)})"),
        (f"success rate, default preset, budget {BUDGET}", f"{default.success_rate:.4f}"),
        (f"success rate, paper preset, budget {BUDGET}", f"{paper.success_rate:.4f}"),
        ("exhaustive success rate (64 x 17 one-pixel images)", f"{exhaustive_rate:.4f}"),
        ("ratio default / exhaustive", f"{default.success_rate / exhaustive_rate:.4f}"),
        ("ratio paper / exhaustive", f"{paper.success_rate / exhaustive_rate:.4f}"),
        ("default-preset successes the exhaustive search missed", f"{beyond}"),
        ("default preset: queries used, median wall s", f"{default.queries_used}, {default_s:.2f}"),
        ("paper preset: queries used, median wall s", f"{paper.queries_used}, {paper_s:.2f}"),
        ("attack queries/s (default preset)", f"{engine_qps:,.0f}"),
        ("raw model throughput, best batch of 256/1024/4096 (images/s)", f"{raw:,.0f}"),
        ("ratio engine / raw throughput", f"{engine_qps / raw:.3f}"),
        (
            "exhaustive search: images, wall s",
            f"{limit.size * 64 * 17:,}, {exhaustive_s:.2f}",
        ),
    ]
    print(f"machine: {machine()}")
    print(f"command: python bench/engine.py (model {path.name}, onnxruntime, 2 threads)\n")
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    if beyond:
        print(f"\nWARNING: {beyond} engine successes beyond the exhaustive limit", file=sys.stderr)


if __name__ == "__main__":
    main()
