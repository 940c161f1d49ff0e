"""The batch size the gate chooses on a busy runner (issue 21.3), against the best raw batch
measured in the same conditions.

The machine is loaded by LOADERS other processes, each attacking the ResNet-18 (CIFAR variant,
`models.resnet`) in a loop, as a second and third gate would. Meanwhile, in this process, for
the PyTorch module and for its .onnx file (2 threads each, as speed.py loads them), each repeat
interleaves:

- the new ladder (engine/batch_size.py as it is) choosing a size, and the old one (the same
  file at git `BEFORE`, loaded from `git show`) choosing another;
- raw throughput at every ladder size up to 512, one call per size per round, ROUNDS rounds in
  turn; each size's rate is its median over the rounds.

Printed and written to batch_choice.md: per repeat the sizes chosen and raw[chosen] / best raw,
then the median and range over the repeats. Ratios only: absolute speeds move with the load.

    python bench/batch_choice.py [--repeats 3] [--paths torch onnx]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "batch_choice.md"
BEFORE = "d982ebb"  # engine/batch_size.py before issue 21.3 (one slow call stopped the ladder)
LOADERS = 2
ROUNDS = 3
SIZES = (16, 32, 64, 128, 256, 512)
PLANNED = 100 * 400  # a 100-image gate at budget 400
IN_FLIGHT = 100 * 80
LOADER = """
import os, sys, numpy as np
parent = os.getppid()
sys.path.insert(0, {here!r})
from models import resnet
from pytest_onepixel import attack, load_model
bench = resnet(40)
model = load_model(str(bench.onnx) if {path!r} == "onnx" else bench.module(), threads=2)
while os.getppid() == parent:  # ends with the bench
    attack(model, bench.images, bench.labels, budget=200, backend="auto" if {path!r} == "onnx"
           else "torch")
"""


def old_ladder():
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:src/pytest_onepixel/engine/batch_size.py"],
        cwd=HERE, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    spec = importlib.util.spec_from_loader("batch_size_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, "batch_size_before.py", "exec"), module.__dict__)
    return module.choose_batch_size


def raw_rates(predict, images: np.ndarray) -> dict[int, float]:
    """Median images/s per size over ROUNDS rounds, sizes in turn within a round."""
    seen: dict[int, list[float]] = {size: [] for size in SIZES}
    batches = {size: np.resize(images, (size, *images.shape[1:])) for size in SIZES}
    for size in SIZES:  # warm every shape once
        predict(batches[size])
    for _ in range(ROUNDS):
        for size in SIZES:
            start = time.perf_counter()
            predict(batches[size])
            seen[size].append(size / (time.perf_counter() - start))
    return {size: statistics.median(rates) for size, rates in seen.items()}


def measure(path: str, repeats: int) -> list[dict]:
    from models import resnet

    from pytest_onepixel import load_model
    from pytest_onepixel.engine.batch_size import choose_batch_size

    bench = resnet(40)
    model = load_model(str(bench.onnx) if path == "onnx" else bench.module(), threads=2)
    images = bench.images.astype(np.float32)
    before = old_ladder()
    rows = []
    for repeat in range(repeats):
        new = choose_batch_size(model.predict, images, None, PLANNED, IN_FLIGHT)
        old = before(model.predict, images, None, PLANNED, IN_FLIGHT)
        raw = raw_rates(model.predict, images)
        best = max(raw.values())
        row = {
            "path": path,
            "repeat": repeat,
            "new": new.size,
            "new_ratio": raw[new.size] / best if new.size in raw else float("nan"),
            "new_reason": new.reason,
            "old": old.size,
            "old_ratio": raw[old.size] / best if old.size in raw else float("nan"),
            "old_reason": old.reason,
            "best": max(raw, key=raw.get),
            "raw": {size: round(rate / best, 2) for size, rate in raw.items()},
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def write(rows: list[dict], loaders: int) -> None:
    lines = [
        "# Batch choice on a busy runner (issue 21.3)",
        "",
        f"`python bench/batch_choice.py`: ResNet-18 (CIFAR variant), {loaders} other processes "
        "attacking it in a loop while this one chooses and measures. raw[chosen] / best raw: "
        f"raw throughput per size measured in the same repeat, sizes in turn, median of "
        f"{ROUNDS} rounds. `before` is engine/batch_size.py at {BEFORE}.",
        "",
        "| path | repeat | chosen (new) | new / best | chosen (before) | before / best | "
        "best raw | raw / best by size | why the new ladder stopped | why the old one stopped |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        raw = ", ".join(f"{size}: {ratio}" for size, ratio in r["raw"].items())
        lines.append(
            f"| {r['path']} | {r['repeat']} | {r['new']} | {r['new_ratio']:.2f} | {r['old']} | "
            f"{r['old_ratio']:.2f} | {r['best']} | {raw} | {r['new_reason']} | "
            f"{r['old_reason']} |"
        )
    lines += ["", "| path | new / best, median (range) | before / best, median (range) |"]
    lines += ["|---|---|---|"]
    for path in dict.fromkeys(r["path"] for r in rows):
        mine = [r for r in rows if r["path"] == path]
        new = spread([r["new_ratio"] for r in mine])
        old = spread([r["old_ratio"] for r in mine])
        lines.append(f"| {path} | {new} | {old} |")
    OUTPUT.write_text("\n".join(lines) + "\n")


def main() -> None:
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paths", nargs="+", default=["torch", "onnx"])
    parser.add_argument("--loaders", type=int, default=LOADERS)
    args = parser.parse_args()
    rows = []
    for path in args.paths:
        code = LOADER.format(here=str(HERE), path=path)
        loaders = [
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
            for _ in range(args.loaders)
        ]
        try:
            time.sleep(8)  # the loaders load the model and start attacking
            rows += measure(path, args.repeats)
        finally:
            for loader in loaders:
                loader.terminate()
                loader.wait()
    write(rows, args.loaders)


if __name__ == "__main__":
    main()
