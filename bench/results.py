"""Strength and speed side by side: our engine against the anchor algorithm and exhaustive search.

Run from the repo root: `python bench/results.py` (about 5 minutes on 2 cores). It prints
markdown tables and writes bench/RESULTS.md.

For each model (the example's digits CNN, 8x8x1; the CIFAR-size photos CNN, 32x32x3) the same
correctly classified held-out images are attacked at budgets 100, 400 and 1000 by: our engine
(default preset and the paper's preset), the anchor algorithm (scipy's DE per image with the
settings today's one-pixel attack libraries use, anchor.py), and exhaustive search over
positions x values (positions x the 8 corner colours for 8-bit RGB) as the strength limit.
Speeds are ratios measured in the same run: queries/s over the raw batched model throughput,
and the anchor's wall time over ours.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from anchor import anchor_attack
from digits_model import correctly_classified, digits_onnx
from measure import exhaustive_success, machine, raw_throughput
from photos_model import photos_onnx

from pytest_onepixel import attack, default_popsize, load_model
from pytest_onepixel.gate.statistics import interval

BUDGETS = (100, 400, 1000)
IMAGES = 300
SEED = 0
OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
CORNERS = [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]


@dataclass(frozen=True)
class Bench:
    """One model under test and how to enumerate its exhaustive one-pixel limit."""

    name: str
    load: Callable[[], tuple[Path, np.ndarray, np.ndarray]]
    pixel_range: tuple[int, int]
    colours: list[list[int]]
    colours_text: str


BENCHES = (
    Bench(
        "digits CNN, 8x8x1 (load_digits)",
        digits_onnx,
        (0, 16),
        [[v] for v in range(17)],
        "64 positions x 17 values",
    ),
    Bench(
        "photos CNN, 32x32x3 (CIFAR-size stand-in)",
        photos_onnx,
        (0, 255),
        CORNERS,
        "1024 positions x 8 corner colours",
    ),
)


@dataclass(frozen=True)
class Row:
    method: str
    successes: int
    attacked: int
    queries: int
    seconds: float

    def cells(self, raw: float, anchor_seconds: float | None) -> list[str]:
        low, high = interval(self.successes, self.attacked)
        rate = self.successes / self.attacked
        qps = self.queries / self.seconds
        speedup = f"{anchor_seconds / self.seconds:.1f}x" if anchor_seconds else "-"
        return [
            self.method,
            f"{rate:.3f} [{low:.3f}, {high:.3f}]",
            f"{self.queries / self.attacked:.0f}",
            f"{self.seconds:.2f}",
            f"{qps:,.0f}",
            f"{raw:,.0f}",
            f"{qps / raw:.2f}",
            speedup,
        ]


def ours(model, x, y, bench: Bench, budget: int, preset: str) -> Row:
    """Our engine on all images at once; the median of three runs (it is deterministic)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = attack(
            model, x, y, budget=budget, pixel_range=bench.pixel_range, seed=SEED, preset=preset
        )
        times.append(time.perf_counter() - start)
    name = "ours, default" if preset == "default" else "ours, paper preset"
    return Row(name, result.successes, result.attacked, result.queries_used, min(times))


def anchor(model, x, y, bench: Bench, budget: int) -> Row:
    """scipy DE one image at a time, population sized like ours (budget / 5)."""
    start = time.perf_counter()
    runs = [
        anchor_attack(
            model.predict,
            x[i],
            int(y[i]),
            budget=budget,
            popsize=default_popsize(budget),
            pixel_range=bench.pixel_range,
            seed=np.random.SeedSequence(SEED, spawn_key=(i,)),
        )
        for i in range(len(x))
    ]
    seconds = time.perf_counter() - start
    return Row(
        "anchor (scipy DE per image)",
        sum(r.success for r in runs),
        len(x),
        sum(r.queries for r in runs),
        seconds,
    )


def model_section(bench: Bench) -> list[str]:
    path, images, labels = bench.load()
    model = load_model(path, threads=2)
    correct = np.flatnonzero(correctly_classified(model.predict, images, labels))
    chosen = np.sort(np.random.default_rng(SEED).permutation(correct)[:IMAGES])
    x, y = images[chosen], labels[chosen]
    raw = raw_throughput(model.predict, images.shape[1:], bench.pixel_range[1])
    start = time.perf_counter()
    limit = exhaustive_success(model.predict, x, y, bench.colours)
    exhaustive_seconds = time.perf_counter() - start
    per_image = images.shape[2] * images.shape[3] * len(bench.colours)
    exhaustive = Row(
        f"exhaustive ({bench.colours_text})",
        int(limit.sum()),
        len(x),
        per_image * len(x),
        exhaustive_seconds,
    )
    lines = [
        f"## {bench.name}",
        "",
        f"Model {path.name}; held-out accuracy {len(correct) / len(labels):.3f}; {len(x)} "
        f"correctly classified held-out images attacked by every method (seed {SEED}); raw "
        f"batched throughput {raw:,.0f} images/s (best of batches 256, 1024, 4096; 2 threads).",
        "",
        "| budget | method | success rate [95% CI] | mean queries | wall s | queries/s "
        "| raw images/s | overhead ratio | speed-up vs anchor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for budget in BUDGETS:
        anchor_row = anchor(model, x, y, bench, budget)
        rows = [
            ours(model, x, y, bench, budget, "default"),
            ours(model, x, y, bench, budget, "paper"),
            anchor_row,
        ]
        lines += [
            f"| {budget} | " + " | ".join(r.cells(raw, anchor_row.seconds)) + " |" for r in rows
        ]
        print(f"  {bench.name}: budget {budget} done", file=sys.stderr)
    lines.append("| all | " + " | ".join(exhaustive.cells(raw, None)) + " |")
    lines += ["", *population_check(model, x, y, bench), ""]
    return lines


def population_check(model, x, y, bench: Bench, budget: int = 400) -> list[str]:
    """Is `default_popsize(budget)` still the right population on this model? Compare it with
    half and double, and say which won (results within one image are a tie)."""
    chosen = default_popsize(budget)
    sizes = (chosen // 2, chosen, chosen * 2)
    found = {
        size: attack(
            model, x, y, budget=budget, popsize=size, pixel_range=bench.pixel_range, seed=SEED
        ).successes
        for size in sizes
    }
    best = max(found.values())
    verdict = (
        f"the default population {chosen} is at or within one image of the best, so it stays"
        if found[chosen] >= best - 1
        else f"population {max(found, key=found.get)} beat the default {chosen}: revisit "
        "`default_popsize`"
    )
    shown = ", ".join(f"P = {size}: {found[size]} successes" for size in sizes)
    return [f"Population check at budget {budget} (default preset): {shown}; {verdict}."]


def startup_ratio(repeats: int = 7) -> tuple[float, float, float]:
    """Median wall time of `pytest` on one trivial test with the plugin and with
    `-p no:onepixel`, and their ratio (other installed plugins load in both)."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_trivial.py").write_text("def test_it():\n    pass\n")

        def timed(*extra: str) -> float:
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
            start = time.perf_counter()
            subprocess.run(command, cwd=folder, capture_output=True, check=True)
            return time.perf_counter() - start

        timed()  # warm the file cache
        with_plugin = statistics.median(timed() for _ in range(repeats))
        without = statistics.median(timed("-p", "no:onepixel") for _ in range(repeats))
    return with_plugin, without, with_plugin / without


def main() -> None:
    started = time.perf_counter()
    lines = [
        "# Benchmark results: strength and speed side by side",
        "",
        "Regenerate with `python bench/results.py` from the repo root (needs the `bench` extra; "
        "this file is overwritten).",
        "",
        f"Machine: {machine()}.",
        "",
        "Columns: success rate with its 95% Clopper-Pearson interval; mean queries per attacked "
        "image; wall seconds for all images; queries/s; the raw batched throughput of the same "
        "model measured in the same run; overhead ratio = queries/s over raw throughput (1.0 "
        "would mean the attack costs nothing beyond the model); speed-up = the anchor's wall "
        "time over the method's at the same budget.",
        "",
    ]
    for bench in BENCHES:
        lines += model_section(bench)
    with_plugin, without, ratio = startup_ratio()
    lines += [
        "## pytest start-up",
        "",
        f"`pytest` on one trivial test, median of 7: {with_plugin:.3f} s with the plugin, "
        f"{without:.3f} s with `-p no:onepixel`: ratio {ratio:.2f} (the plugin imports neither "
        "torch nor onnxruntime at start-up).",
        "",
        f"Total benchmark time: {time.perf_counter() - started:.0f} s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    OUTPUT.write_text(text)


if __name__ == "__main__":
    main()
