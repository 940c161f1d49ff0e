"""Fixed costs on a small model (issue 21.4): the digits model's whole attack through ONNX
against its raw batched throughput and against torchattacks' OnePixel, in one run.

- raw: ONNX Runtime images/s at batch sizes 32-512 (best kept), measured again in each repeat;
- ours: `attack()` on the loaded .onnx model (2 threads), budget 400, the correctly
  classified digits. The first attack in the process (cold: ONNX Runtime's first calls at each
  new batch shape, in the batch ladder) is printed alone; then, warm, four variants run
  interleaved in each repeat:
  `alone`     confirmations one image per call (as before batched confirmations),
  `batched`   confirmations of one search step in one call (the model is bit-exact: the default),
  `no-timing` batched, with `max_batch` set to the raw best size (the batch ladder times one size),
  `progress`  batched, with a progress callback (the plugin always passes one);
- torchattacks: its OnePixel on the same network (PyTorch), same images and budget.

Printed per repeat: each variant's seconds (median of `--inner` runs), ours over the raw best
(queries/s over raw images/s: the share of the wall time the model would take at its best batch)
and ours over torchattacks; then the spread over repeats, with each variant's wall time over
`batched`'s in the same inner round (the least load-sensitive comparison), and one breakdown of
where the wall time of `batched` goes (model calls by size, the rest). `--profile` adds a
cProfile of `batched`.

    python bench/fixed_costs.py [--images 60] [--repeats 5] [--inner 3] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
BUDGET = 400
RAW_SIZES = (32, 64, 128, 256, 512)
VARIANTS = ("alone", "batched", "no-timing", "progress")


def run_variant(variant: str, model, x, y, pixel_range, best_size: int):
    """One attack in `variant`; (seconds, queries)."""
    from pytest_onepixel import api, attack
    from pytest_onepixel.engine import batches

    options = {"budget": BUDGET, "pixel_range": pixel_range}
    if variant == "no-timing":
        options["max_batch"] = best_size
    if variant == "progress":
        options["progress"] = lambda progress: None
    saved = api.confirm_batch
    if variant == "alone":
        api.confirm_batch = lambda exact, max_batch: batches.CONFIRM_BATCH
    try:
        start = time.perf_counter()
        result = attack(model, x, y, **options)
        return time.perf_counter() - start, result.queries_used
    finally:
        api.confirm_batch = saved


def breakdown(model, x, y, pixel_range) -> str:
    """Model seconds by call size in one `batched` attack, against its wall time."""
    from pytest_onepixel import attack

    seconds: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    predict = model.predict

    def timed(batch):
        start = time.perf_counter()
        scores = predict(batch)
        seconds[len(batch)] += time.perf_counter() - start
        calls[len(batch)] += 1
        return scores

    model.predict = timed
    try:
        start = time.perf_counter()
        attack(model, x, y, budget=BUDGET, pixel_range=pixel_range)
        wall = time.perf_counter() - start
    finally:
        model.predict = predict
    model_seconds = sum(seconds.values())
    sizes = ", ".join(f"{size}: {calls[size]}" for size in sorted(calls))
    return (
        f"breakdown of one `batched` attack: wall {wall:.3f} s, model calls {model_seconds:.3f} s "
        f"({model_seconds / wall:.2f} of the wall), {sum(calls.values())} calls by size {{{sizes}}}"
    )


def main() -> None:
    from anchors import torchattacks_onepixel
    from speed import bench_of, rates

    from pytest_onepixel import attack, load_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--inner", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # `no-timing` at a small best size notes the max_batch cap
    bench = bench_of("digits")
    model = load_model(bench.onnx, threads=2)
    correct = model.predict(bench.images.astype(np.float32)).argmax(1) == bench.labels
    x, y = bench.images[correct][: args.images], bench.labels[correct][: args.images]
    raw_rates = rates(model.predict, bench.images, RAW_SIZES)
    start = time.perf_counter()
    cold = attack(model, x, y, budget=BUDGET, pixel_range=bench.pixel_range)  # the warm-up
    seconds = time.perf_counter() - start
    share = cold.queries_used / seconds / max(raw_rates.values())
    print(f"cold (first attack in this process, batch ladder on new shapes): {seconds:.3f} s, "
          f"ours/raw {share:.2f}")  # fmt: skip
    ratios: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    paired: dict[str, list[float]] = {v: [] for v in VARIANTS}  # each variant's wall / batched's
    print(f"images {len(x)}, budget {BUDGET}; per repeat: seconds, ours/raw, ours/torchattacks")
    for repeat in range(args.repeats):
        raw_rates = rates(model.predict, bench.images, RAW_SIZES)
        best_size = max(raw_rates, key=raw_rates.get)
        raw = raw_rates[best_size]
        theirs = torchattacks_onepixel(bench.module(), x, y, BUDGET, bench.high, seed=repeat)
        theirs_rate = sum(theirs.queries) / theirs.seconds
        seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
        queries = {}
        for _ in range(args.inner):
            for variant in VARIANTS:
                spent, queries[variant] = run_variant(
                    variant, model, x, y, bench.pixel_range, best_size
                )
                seconds[variant].append(spent)
        cells = []
        for variant in VARIANTS:
            median = statistics.median(seconds[variant])
            rate = queries[variant] / median
            ratios[variant].append((rate / raw, rate / theirs_rate))
            cells.append(f"{variant} {median:.3f} s {rate / raw:.2f} {rate / theirs_rate:.1f}x")
        for variant in VARIANTS:  # wall over batched's, run by run (interleaved: same load)
            pairs = zip(seconds[variant], seconds["batched"], strict=True)
            paired[variant].append(statistics.median(a / b for a, b in pairs))
        print(
            f"repeat {repeat + 1}: raw best {raw:,.0f} img/s at {best_size}, torchattacks "
            f"{theirs.seconds:.2f} s | " + " | ".join(cells)
        )
    print("spread over repeats (min-max):")
    for variant in VARIANTS:
        share = [r[0] for r in ratios[variant]]
        speedup = [r[1] for r in ratios[variant]]
        print(
            f"  {variant:10s} ours/raw {min(share):.2f}-{max(share):.2f} (median "
            f"{statistics.median(share):.2f}); ours/torchattacks {min(speedup):.1f}-"
            f"{max(speedup):.1f}x (median {statistics.median(speedup):.1f}x); wall / batched's "
            f"{min(paired[variant]):.3f}-{max(paired[variant]):.3f}"
        )
    print(breakdown(model, x, y, bench.pixel_range))
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        attack(model, x, y, budget=BUDGET, pixel_range=bench.pixel_range)
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue())


if __name__ == "__main__":
    main()
