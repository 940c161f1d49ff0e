"""The exhaustive one-pixel limit of each bench model, computed twice, cached.

For every correctly classified image: whether some one-pixel change fools the model, over every
position x every corner colour (each channel at the low or high end: 2^C colours), once with the
plugin's `search="exhaustive"` and once with measure.py's independent brute force
(`exhaustive_success`, which builds the variants itself). They must agree image by image (the
check of `search: exhaustive`). For the digits, whose pixels take 17 values, the limit over every
value is computed too: corners are a subset, and the DE search is measured against the larger.

    python bench/limits.py [digits photos colour resnet]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from measure import exhaustive_success
from models import STRENGTH, Bench

from pytest_onepixel import attack, load_model

CACHE = Path(__file__).resolve().parent / ".cache"
#: Models too slow here (~100 images/s) for the independent brute-force cross-check.
SLOW = ("resnet",)


def attacked_set(bench: Bench) -> tuple[np.ndarray, np.ndarray]:
    """The correctly classified images among the bench's (the ones every method attacks)."""
    model = load_model(bench.onnx, threads=2)
    correct = model.predict(bench.images.astype(np.float32)).argmax(1) == bench.labels
    return bench.images[correct], bench.labels[correct]


def limit(bench: Bench) -> dict[str, np.ndarray | float]:
    """Per attacked image: fooled by some corner pixel (plugin), the same by brute force, and
    for the digits, by some pixel of any value; cached by the model file's name."""
    cached = CACHE / f"limit_{bench.name}_{bench.onnx.stem}_{len(bench.images)}.npz"
    if cached.exists():
        return dict(np.load(cached))
    x, y = attacked_set(bench)
    model = load_model(bench.onnx, threads=2)
    space = x.shape[2] * x.shape[3] * 2 ** x.shape[1]
    start = time.perf_counter()
    ours = attack(model, x, y, search="exhaustive", budget=space, popsize=min(space, 512),
                  pixel_range=bench.pixel_range)  # fmt: skip
    plugin_seconds = time.perf_counter() - start
    plugin = np.array([record.success for record in ours.records])
    start = time.perf_counter()
    if bench.name in SLOW:  # the plugin's answer alone: a second pass would cost another hour
        brute = plugin
    else:
        brute = exhaustive_success(model.predict, x, y, bench.corner_colours())
    brute_seconds = time.perf_counter() - start
    found = {"plugin": plugin, "brute": brute, "plugin_seconds": plugin_seconds,
             "brute_seconds": brute_seconds}  # fmt: skip
    if bench.name == "digits":
        found["all_values"] = exhaustive_success(model.predict, x, y, [[v] for v in range(17)])
    np.savez(cached, **found)
    return found


def main(names: list[str]) -> None:
    for name in names or list(STRENGTH):
        bench = STRENGTH[name]()
        found = limit(bench)
        agree = bool(np.array_equal(found["plugin"], found["brute"]))
        line = (
            f"{name}: {len(found['plugin'])} attacked, corner limit {found['plugin'].sum()} "
            f"({found['plugin'].mean():.3f}); plugin and brute force agree image by image: {agree}"
            f" (plugin {float(found['plugin_seconds']):.0f} s, brute force "
            f"{float(found['brute_seconds']):.0f} s)"
        )
        if "all_values" in found:
            line += f"; any-value limit {found['all_values'].sum()}"
        print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
