"""Speed and memory on real classifiers: what a gate costs through ONNX Runtime, through a
PyTorch model's ONNX twin, and through PyTorch alone.

For each bench model (digits, colour, resnet, resnet224), each measurement in a fresh process
so that its peak memory is its own:

- raw: the bare model's batched throughput (images/s at a few batch sizes), for ONNX Runtime and
  PyTorch, measured in the same process;
- gate: a 100-image gate (20 images for resnet224; threshold 0.3, point mode, early verdict
  on, defaults otherwise) at budgets 100 and 400, for `onnx` (the .onnx file), `twin` (the
  PyTorch module, backend auto: searched by its verified ONNX Runtime twin) and `torch`
  (backend torch; budget 100 only for the ResNets): wall time, queries,
  queries/s over the best raw throughput of the runtime that searched, peak RSS, and the batch
  size the gate measured against the best raw batch;
- torchattacks: its OnePixel on the same PyTorch module, one image at a time, at budget 400,
  against our `torch` backend on the same images: queries/s of each.

Ratios are what to compare: the machine is shared and absolute speeds move by 20% between runs.

    python bench/speed.py [--models digits colour resnet resnet224] [--budgets 100 400]
    (writes bench/speed.md; rows accumulate in bench/.cache/speed.jsonl)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROWS = HERE / ".cache" / "speed.jsonl"
OUTPUT = HERE / "speed.md"
GATE_IMAGES = 100
#: The 224x224 ResNet runs at ~25 images/s here: its gates use 20 images (a 100-image gate at
#: budget 400 is about five times as long; queries/s and memory do not depend on the count).
GATE_IMAGES_OF = {"resnet224": 20}
#: The torch-only path of the ResNets is timed at budget 100 alone: it is the slowest row, and
#: its ratio to the twin does not depend on the budget.
TORCH_BUDGETS_OF = {"resnet": (100,), "resnet224": (100,)}
TORCHATTACKS_IMAGES = {"digits": 60, "colour": 40, "resnet": 6, "resnet224": 2}
SIZES = {"resnet224": (16, 32, 64), "resnet": (16, 32, 64, 128)}
DEFAULT_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048)  # the gate's ladder (engine/batch_size)
#: The small models' gates at budgets 100 and 400 last a second or two, mostly fixed costs
#: (exporting the twin, measuring the batch); budget 1000 shows them nearer steady state.
EXTRA_BUDGETS_OF = {"digits": (1000,), "colour": (1000,)}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_of(name: str):
    import models

    if name in ("resnet", "resnet224"):
        return getattr(models, name)(GATE_IMAGES_OF.get(name, GATE_IMAGES))
    return getattr(models, name)()


def rates(predict, images: np.ndarray, sizes: tuple[int, ...]) -> dict[int, float]:
    """Images/s of `predict` at each batch size (a warm-up call, then at least 1 s)."""
    found = {}
    for size in sizes:
        batch = np.resize(images, (size, *images.shape[1:])).astype(np.float32)
        predict(batch)
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < 1.0 or calls < 2:
            predict(batch)
            calls += 1
        found[size] = calls * size / elapsed
    return found


def raw(name: str) -> dict:
    from pytest_onepixel import load_model

    bench = bench_of(name)
    sizes = SIZES.get(name, DEFAULT_SIZES)
    onnx = rates(load_model(bench.onnx, threads=2).predict, bench.images, sizes)
    torched = rates(load_model(bench.module(), threads=2).predict, bench.images, sizes)
    return {"kind": "raw", "model": name, "onnx": onnx, "torch": torched, "peak_mb": peak_mb()}


def gate(name: str, path: str, budget: int) -> dict:
    """One 100-image gate through `path` (onnx, twin or torch), as the plugin runs it."""
    from pytest_onepixel.gate.run import GateRequest, run_gate
    from pytest_onepixel.settings.layers import Layers

    bench = bench_of(name)
    source = str(bench.onnx) if path == "onnx" else bench.module()
    settings = Layers(
        entry={
            "budget": budget,
            "max_success_rate": 0.3,
            "pixel_range": list(bench.pixel_range),
            "backend": "torch" if path == "torch" else "auto",
            "threads": 2,
        }
    ).merged()
    count = GATE_IMAGES_OF.get(name, GATE_IMAGES)
    images, labels = bench.images[:count], bench.labels[:count]
    start = time.perf_counter()
    run = run_gate(GateRequest(name, settings, source, images, labels, draw_sample=False))
    seconds = time.perf_counter() - start
    used = run.outcome.settings
    return {
        "kind": "gate", "model": name, "path": path, "budget": budget, "seconds": seconds,
        "queries": run.outcome.summary.queries_used, "attacked": run.outcome.summary.attacked,
        "skipped": run.outcome.summary.skipped, "status": run.outcome.status,
        "backend": used["backend"], "batch": used["max_batch"],
        "batch_choice": used["batch_choice"], "peak_mb": peak_mb(),
    }  # fmt: skip


def torchattacks_row(name: str) -> dict:
    """torchattacks' OnePixel and our torch backend on the same module and images, budget 400."""
    from anchors import torchattacks_onepixel

    from pytest_onepixel import attack, load_model

    bench = bench_of(name)
    module = bench.module()
    model = load_model(module, threads=2)
    correct = model.predict(bench.images.astype(np.float32)).argmax(1) == bench.labels
    count = TORCHATTACKS_IMAGES[name]
    x, y = bench.images[correct][:count], bench.labels[correct][:count]
    theirs = torchattacks_onepixel(module, x, y, 400, bench.high, seed=0)
    start = time.perf_counter()
    ours = attack(model, x, y, budget=400, backend="torch", pixel_range=bench.pixel_range)
    seconds = time.perf_counter() - start
    return {
        "kind": "torchattacks", "model": name, "images": len(x),
        "theirs_queries": int(sum(theirs.queries)), "theirs_seconds": theirs.seconds,
        "ours_queries": ours.queries_used, "ours_seconds": seconds,
    }  # fmt: skip


def child(argv: list[str]) -> None:
    kind, name, *rest = argv
    if kind == "raw":
        row = raw(name)
    elif kind == "gate":
        row = gate(name, rest[0], int(rest[1]))
    else:
        row = torchattacks_row(name)
    ROWS.parent.mkdir(exist_ok=True)
    with ROWS.open("a") as stream:
        stream.write(json.dumps(row) + "\n")
    print(json.dumps(row)[:300], flush=True)


def run_all(names: list[str], budgets: list[int], timeout: float) -> None:
    jobs = [["raw", name] for name in names]
    jobs += [
        ["gate", n, p, str(b)]
        for n in names
        for b in (*budgets, *EXTRA_BUDGETS_OF.get(n, ()))
        for p in ("onnx", "twin", "torch")
        if p != "torch" or b in TORCH_BUDGETS_OF.get(n, (*budgets, *EXTRA_BUDGETS_OF.get(n, ())))
    ]
    jobs += [["torchattacks", name] for name in names]
    for job in jobs:
        command = [sys.executable, __file__, "--child", *job]
        try:
            subprocess.run(command, cwd=HERE, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"timed out after {timeout:.0f} s: {' '.join(job)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=["digits", "colour", "resnet", "resnet224"])
    parser.add_argument("--budgets", nargs="*", type=int, default=[100, 400])
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--child", nargs="*")
    parser.add_argument("--report", action="store_true", help="only write speed.md from rows")
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    if not arguments.report:
        run_all(arguments.models, arguments.budgets, arguments.timeout)
    from speed_report import write_report

    write_report(ROWS, OUTPUT)


if __name__ == "__main__":
    main()
