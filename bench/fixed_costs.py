"""Fixed costs on a small model (issue 21.4): the digits model's whole attack through ONNX
against its raw batched throughput and against torchattacks' OnePixel, in one run.

- raw: ONNX Runtime images/s at the gate's ladder of batch sizes (best kept);
- ours: `attack()` on the loaded .onnx model (2 threads), budget 400, the correctly
  classified digits;
- torchattacks: its OnePixel on the same network (PyTorch), same images and budget.

Printed: queries/s of each, ours over the raw best (the share of the wall time the model would
take at its best batch) and ours over torchattacks. `--profile` adds a cProfile of ours.

    python bench/fixed_costs.py [--images 60] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
BUDGET = 400


def main() -> None:
    from anchors import torchattacks_onepixel
    from speed import DEFAULT_SIZES, bench_of, rates

    from pytest_onepixel import attack, load_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    bench = bench_of("digits")
    model = load_model(bench.onnx, threads=2)
    correct = model.predict(bench.images.astype(np.float32)).argmax(1) == bench.labels
    x, y = bench.images[correct][: args.images], bench.labels[correct][: args.images]
    raw = max(rates(model.predict, bench.images, DEFAULT_SIZES).values())
    theirs = torchattacks_onepixel(bench.module(), x, y, BUDGET, bench.high, seed=0)
    profile = cProfile.Profile() if args.profile else None
    start = time.perf_counter()
    if profile:
        profile.enable()
    ours = attack(model, x, y, budget=BUDGET, pixel_range=bench.pixel_range)
    if profile:
        profile.disable()
    seconds = time.perf_counter() - start
    ours_rate = ours.queries_used / seconds
    theirs_rate = sum(theirs.queries) / theirs.seconds
    print(f"images {len(x)}, budget {BUDGET}; raw ONNX best {raw:,.0f} img/s")
    print(f"ours {ours.queries_used} queries in {seconds:.3f} s = {ours_rate:,.0f} q/s")
    print(f"torchattacks {sum(theirs.queries)} queries in {theirs.seconds:.2f} s")
    print(
        f"ours / raw best {ours_rate / raw:.2f}; ours / torchattacks {ours_rate / theirs_rate:.1f}x"
    )
    if profile:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(30)
        print(text.getvalue())


if __name__ == "__main__":
    main()
