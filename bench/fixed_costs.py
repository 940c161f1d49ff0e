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
  `before`    batched, with the per-query modules (engine/scoring.py, pixels.py, batches.py) as
              they were at git `--before REF` (only with that option: a paired before/after of
              a change to them, in the same process and the same rounds);
- torchattacks: its OnePixel on the same network (PyTorch), same images and budget.

Printed per repeat: each variant's seconds (median of `--inner` runs), ours over the raw best
(queries/s over raw images/s: the share of the wall time the model would take at its best batch)
and ours over torchattacks; then the spread over repeats, with each variant's wall time over
`batched`'s in the same inner round (the least load-sensitive comparison). Then where the wall
time of `batched` (and `before`) goes, at `max_batch` `--breakdown-batch` (256, the ladder's
pick on an idle machine), median of 2 x `--inner` interleaved attacks (`Clocks`): the model's
calls (search, checks and confirmations; the batch ladder's), the ladder's own work, reading
the scores, writing the batches, the rest (search engine, bookkeeping, setup), and what the
model would take at its raw best rate; the per-query parts also as this thread's CPU seconds,
and `before` over `batched` round by round. `--profile` adds a cProfile of `batched`.

    python bench/fixed_costs.py [--images 60] [--repeats 5] [--inner 3] [--profile]
        [--before REF] [--breakdown-batch 256]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import importlib.util
import io
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
BUDGET = 400
RAW_SIZES = (32, 64, 128, 256, 512)
VARIANTS = ("alone", "batched", "no-timing", "progress")
#: The modules that do the numpy work of every query (issue 21.4), swapped as a whole by `before`.
PER_QUERY = ("scoring", "pixels", "batches")
#: Where api.py takes what each of them gives it.
PER_QUERY_NAMES = {"scoring": "ScoreFunction", "pixels": "ImageSet", "batches": "BatchEvaluator"}


def modules_at(ref: str) -> dict[str, object]:
    """engine/scoring.py, pixels.py and batches.py as they were at git `ref`, imported beside
    the current ones (as pytest_onepixel.engine._before_<name>: their relative imports resolve
    to the current package)."""
    root = Path(__file__).resolve().parent.parent
    modules = {}
    with tempfile.TemporaryDirectory(prefix="fixed_costs_") as temporary:
        for name in PER_QUERY:
            text = subprocess.run(
                ["git", "show", f"{ref}:src/pytest_onepixel/engine/{name}.py"],
                cwd=root, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            path = Path(temporary) / f"{name}.py"
            path.write_text(text)
            spec = importlib.util.spec_from_file_location(
                f"pytest_onepixel.engine._before_{name}", path
            )
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up
            spec.loader.exec_module(module)
            modules[name] = module
    return modules


@contextlib.contextmanager
def swapped(variant: str, before=None):
    """api.py set up for `variant`: confirmations alone for `alone`, the per-query modules
    of `before` (see `modules_at`) for `before`."""
    from pytest_onepixel import api
    from pytest_onepixel.engine import batches

    saved = api.confirm_batch, {name: getattr(api, name) for name in PER_QUERY_NAMES.values()}
    if variant == "alone":
        api.confirm_batch = lambda exact, max_batch: batches.CONFIRM_BATCH
    if variant == "before":
        for module, name in PER_QUERY_NAMES.items():
            setattr(api, name, getattr(before[module], name))
    try:
        yield
    finally:
        api.confirm_batch = saved[0]
        for name, value in saved[1].items():
            setattr(api, name, value)


def run_variant(variant: str, model, x, y, pixel_range, best_size: int, before=None):
    """One attack in `variant`; (seconds, queries). `before`: the modules of `modules_at`."""
    from pytest_onepixel import attack

    options = {"budget": BUDGET, "pixel_range": pixel_range}
    if variant == "no-timing":
        options["max_batch"] = best_size
    if variant == "progress":
        options["progress"] = lambda progress: None
    with swapped(variant, before):
        start = time.perf_counter()
        result = attack(model, x, y, **options)
        return time.perf_counter() - start, result.queries_used


class Clocks:
    """Seconds spent in each part of an attack, by wrapping what does each part: the model's
    `predict` (by call size; inside the batch ladder or not), ScoreFunction's reading of what
    it returns (its call less the model's), ImageSet's `write_batch`. Each part is kept as wall
    seconds (`seconds`) and as this thread's CPU seconds (`cpu`, time.thread_time: what the
    numpy work itself costs, less sensitive to other processes than the wall)."""

    PARTS = ("model (search, checks, confirmations)", "model (batch ladder)", "ladder, not model",
             "reading scores", "writing batches")  # fmt: skip

    def __init__(self) -> None:
        self.seconds: collections.Counter = collections.Counter()
        self.cpu: collections.Counter = collections.Counter()
        self.calls: collections.Counter = collections.Counter()
        self.model_in: list[list[float]] = [[0.0, 0.0]]  # model wall, CPU inside each part
        self.laddering = False

    def predict(self, predict):
        def timed(batch):
            start, start_cpu = time.perf_counter(), time.thread_time()
            scores = predict(batch)
            spent, spent_cpu = time.perf_counter() - start, time.thread_time() - start_cpu
            self.model_in[-1][0] += spent
            self.model_in[-1][1] += spent_cpu
            part = self.PARTS[1] if self.laddering else self.PARTS[0]
            self.seconds[part] += spent
            self.cpu[part] += spent_cpu
            self.calls[len(batch)] += 1
            return scores

        return timed

    def around(self, function, part: str, ladder: bool = False):
        """`function` timed as `part`, less the model's seconds inside it."""

        def timed(*args, **kwargs):
            self.model_in.append([0.0, 0.0])
            self.laddering = ladder or self.laddering
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent, spent_cpu = time.perf_counter() - start, time.thread_time() - start_cpu
                inside, inside_cpu = self.model_in.pop()
                self.model_in[-1][0] += inside
                self.model_in[-1][1] += inside_cpu
                self.seconds[part] += spent - inside
                self.cpu[part] += spent_cpu - inside_cpu
                self.laddering = self.laddering and not ladder

        return timed


def breakdown(model, x, y, pixel_range, variant: str, before, max_batch: int | None):
    """Where the wall time of one attack in `variant` goes (`Clocks`): (wall, seconds by part,
    model calls by size, queries)."""
    from pytest_onepixel import attack
    from pytest_onepixel.engine import batch_store, pixels, scoring

    modules = before if variant == "before" else {"scoring": scoring, "pixels": pixels}
    score_class, image_class = modules["scoring"].ScoreFunction, modules["pixels"].ImageSet
    clocks = Clocks()
    saved = (model.predict, score_class.__call__, image_class.write_batch)
    saved_ladder = batch_store.choose_batch_size
    model.predict = clocks.predict(model.predict)
    score_class.__call__ = clocks.around(score_class.__call__, Clocks.PARTS[3])
    image_class.write_batch = clocks.around(image_class.write_batch, Clocks.PARTS[4])
    batch_store.choose_batch_size = clocks.around(saved_ladder, Clocks.PARTS[2], ladder=True)
    try:
        with swapped(variant, before):
            start = time.perf_counter()
            result = attack(
                model, x, y, budget=BUDGET, pixel_range=pixel_range, max_batch=max_batch
            )
            wall = time.perf_counter() - start
    finally:
        model.predict, score_class.__call__, image_class.write_batch = saved
        batch_store.choose_batch_size = saved_ladder
    clocks.seconds["the rest (search engine, bookkeeping, setup)"] = wall - sum(
        clocks.seconds.values()
    )
    return wall, clocks.seconds, clocks.calls, result.queries_used, clocks.cpu


def print_breakdowns(model, x, y, pixel_range, raw: float, best: int, rounds: int, before):
    """Each part's seconds (median of `rounds` attacks, variants interleaved) at `max_batch`
    `best` (the ladder times that one size), as a share of the wall; and the model's time had
    every query run at the raw best rate `raw` (images/s)."""
    variants = ("batched", "before") if before else ("batched",)
    found: dict[str, list] = {v: [] for v in variants}
    for variant in variants:  # a first attack of each at this max_batch: its shapes seen
        breakdown(model, x, y, pixel_range, variant, before, best)
    for _ in range(rounds):
        for variant in variants:
            found[variant].append(breakdown(model, x, y, pixel_range, variant, before, best))
    for variant in variants:
        runs = found[variant]
        wall = statistics.median(run[0] for run in runs)
        parts = [*Clocks.PARTS, "the rest (search engine, bookkeeping, setup)"]
        cells = []
        for part in parts:
            spent = statistics.median(run[1][part] for run in runs)
            cells.append(f"{part} {spent:.4f} s ({spent / wall:.2f})")
        ideal = runs[-1][3] / raw
        calls = runs[-1][2]
        sizes = ", ".join(f"{size}: {calls[size]}" for size in sorted(calls))
        print(
            f"breakdown of `{variant}` at max_batch {best} (median of {rounds}): wall "
            f"{wall:.3f} s; " + "; ".join(cells) + f"; the queries at the raw best rate "
            f"{ideal:.4f} s ({ideal / wall:.2f}); {sum(calls.values())} model calls by size "
            f"{{{sizes}}}"
        )
    for variant in variants:  # this thread's CPU seconds in the per-query parts
        cpu = [run[4][Clocks.PARTS[3]] + run[4][Clocks.PARTS[4]] for run in found[variant]]
        print(
            f"`{variant}` reading + writing, CPU seconds of this thread: median "
            f"{statistics.median(cpu):.4f} ({min(cpu):.4f}-{max(cpu):.4f})"
        )
    if before:
        pairs = list(zip(found["before"], found["batched"], strict=True))
        per_query = [
            (a[1][Clocks.PARTS[3]] + a[1][Clocks.PARTS[4]])
            / (b[1][Clocks.PARTS[3]] + b[1][Clocks.PARTS[4]])
            for a, b in pairs
        ]
        per_query_cpu = [
            (a[4][Clocks.PARTS[3]] + a[4][Clocks.PARTS[4]])
            / (b[4][Clocks.PARTS[3]] + b[4][Clocks.PARTS[4]])
            for a, b in pairs
        ]
        walls = [a[0] / b[0] for a, b in pairs]
        print(
            f"before / batched, round by round: reading + writing wall {min(per_query):.2f}-"
            f"{max(per_query):.2f} (median {statistics.median(per_query):.2f}), CPU "
            f"{min(per_query_cpu):.2f}-{max(per_query_cpu):.2f} (median "
            f"{statistics.median(per_query_cpu):.2f}); attack wall {min(walls):.3f}-"
            f"{max(walls):.3f} (median {statistics.median(walls):.3f})"
        )


@contextlib.contextmanager
def fixed_batch(size: int):
    """The search's batch fixed at `size`: the ladder (engine/batch_size.py) times nothing, so
    both sides of an A/B send the same calls."""
    from pytest_onepixel.engine import batch_store
    from pytest_onepixel.engine.batch_size import BatchChoice

    saved = batch_store.choose_batch_size
    batch_store.choose_batch_size = lambda *args: BatchChoice(size, {}, {}, 0, "fixed_costs.py")
    try:
        yield
    finally:
        batch_store.choose_batch_size = saved


def cpu_rate(predict, images: np.ndarray, size: int, seconds: float = 0.5) -> float:
    """Images per CPU second of this thread (`predict` on one ONNX Runtime thread)."""
    batch = np.resize(images, (size, *images.shape[1:])).astype(np.float32)
    predict(batch)
    calls, start = 0, time.thread_time()
    while (spent := time.thread_time() - start) < seconds or calls < 2:
        predict(batch)
        calls += 1
    return calls * size / spent


def cpu_ab(bench, x, y, before, sizes: tuple[int, ...], rounds: int) -> None:
    """`before` against `batched` in this thread's CPU seconds, which other processes move far
    less than the wall: the model on one ONNX Runtime thread (all its work then runs in this
    thread), the batch fixed at each of `sizes` (`fixed_batch`), variants interleaved, median of
    `rounds`. Printed per size: the attack's CPU seconds, its per-query parts (reading the
    scores, writing the batches), the model's share, and the queries' CPU at the model's raw
    rate at that size over the attack's CPU (the CPU form of "model time over the wall")."""
    from pytest_onepixel import load_model

    model = load_model(bench.onnx, threads=1)
    variants = ("batched", "before")
    for size in sizes:
        raw = cpu_rate(model.predict, bench.images, size)
        found: dict[str, list[tuple[float, float, float, int]]] = {v: [] for v in variants}
        with fixed_batch(size):
            for _ in range(rounds + 1):  # the first round: shapes seen, not kept
                for variant in variants:
                    start = time.thread_time()
                    _, _, _, queries, cpu = breakdown(
                        model, x, y, bench.pixel_range, variant, before, size
                    )
                    total = time.thread_time() - start
                    model_cpu = cpu[Clocks.PARTS[0]] + cpu[Clocks.PARTS[1]]
                    per_query = cpu[Clocks.PARTS[3]] + cpu[Clocks.PARTS[4]]
                    found[variant].append((total, model_cpu, per_query, queries))
        for variant in variants:
            runs = found[variant][1:]
            total, model_cpu, per_query = (
                statistics.median(run[n] for run in runs) for n in range(3)
            )
            ideal = runs[-1][3] / raw
            print(
                f"CPU, batch {size}, `{variant}`: attack {total:.4f} s, model {model_cpu:.4f} s "
                f"({model_cpu / total:.2f}), reading + writing {per_query:.4f} s "
                f"({per_query / total:.2f}); queries at the raw rate {ideal / total:.2f} of it"
            )
        pairs = list(zip(found["before"][1:], found["batched"][1:], strict=True))
        whole = [a[0] / b[0] for a, b in pairs]
        parts = [a[2] / b[2] for a, b in pairs]
        print(
            f"CPU, batch {size}, before / batched round by round: attack {min(whole):.3f}-"
            f"{max(whole):.3f} (median {statistics.median(whole):.3f}), reading + writing "
            f"{min(parts):.2f}-{max(parts):.2f} (median {statistics.median(parts):.2f})"
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
    parser.add_argument("--before", metavar="REF", help="add the `before` variant at git REF")
    parser.add_argument(
        "--breakdown-batch", type=int, default=256, help="max_batch of the breakdowns (the "
        "size the ladder picks on an idle machine; a loaded one's raw best moves from 32 to 512)"
    )  # fmt: skip
    args = parser.parse_args()
    before = modules_at(args.before) if args.before else None
    variants = (*VARIANTS, "before") if before else VARIANTS
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
    ratios: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    paired: dict[str, list[float]] = {v: [] for v in variants}  # each variant's wall / batched's
    print(f"images {len(x)}, budget {BUDGET}; per repeat: seconds, ours/raw, ours/torchattacks")
    for repeat in range(args.repeats):
        raw_rates = rates(model.predict, bench.images, RAW_SIZES)
        best_size = max(raw_rates, key=raw_rates.get)
        raw = raw_rates[best_size]
        theirs = torchattacks_onepixel(bench.module(), x, y, BUDGET, bench.high, seed=repeat)
        theirs_rate = sum(theirs.queries) / theirs.seconds
        seconds: dict[str, list[float]] = {v: [] for v in variants}
        queries = {}
        for _ in range(args.inner):
            for variant in variants:
                spent, queries[variant] = run_variant(
                    variant, model, x, y, bench.pixel_range, best_size, before
                )
                seconds[variant].append(spent)
        cells = []
        for variant in variants:
            median = statistics.median(seconds[variant])
            rate = queries[variant] / median
            ratios[variant].append((rate / raw, rate / theirs_rate))
            cells.append(f"{variant} {median:.3f} s {rate / raw:.2f} {rate / theirs_rate:.1f}x")
        for variant in variants:  # wall over batched's, run by run (interleaved: same load)
            pairs = zip(seconds[variant], seconds["batched"], strict=True)
            paired[variant].append(statistics.median(a / b for a, b in pairs))
        print(
            f"repeat {repeat + 1}: raw best {raw:,.0f} img/s at {best_size}, torchattacks "
            f"{theirs.seconds:.2f} s | " + " | ".join(cells)
        )
    print("spread over repeats (min-max):")
    for variant in variants:
        share = [r[0] for r in ratios[variant]]
        speedup = [r[1] for r in ratios[variant]]
        print(
            f"  {variant:10s} ours/raw {min(share):.2f}-{max(share):.2f} (median "
            f"{statistics.median(share):.2f}); ours/torchattacks {min(speedup):.1f}-"
            f"{max(speedup):.1f}x (median {statistics.median(speedup):.1f}x); wall / batched's "
            f"{min(paired[variant]):.3f}-{max(paired[variant]):.3f}"
        )
    batch = args.breakdown_batch
    print_breakdowns(model, x, y, bench.pixel_range, raw, batch, args.inner * 2, before)
    if before:
        cpu_ab(bench, x, y, before, (32, 256), args.inner * 2)
    if args.profile:
        cpu_profile(bench, x, y, args.breakdown_batch)


def cpu_profile(bench, x, y, size: int, attacks: int = 5) -> None:
    """cProfile of `attacks` attacks timed in this thread's CPU seconds (the model on one ONNX
    Runtime thread, the batch fixed at `size`): own time by source file (numpy's and builtins'
    time counted to the files that call them), then the top 25 functions."""
    from pytest_onepixel import attack, load_model

    model = load_model(bench.onnx, threads=1)
    profile = cProfile.Profile(time.thread_time)
    with fixed_batch(size):
        attack(model, x, y, budget=BUDGET, pixel_range=bench.pixel_range)
        profile.enable()
        for _ in range(attacks):
            attack(model, x, y, budget=BUDGET, pixel_range=bench.pixel_range)
        profile.disable()
    stats = pstats.Stats(profile)
    by_file: collections.Counter = collections.Counter()

    def home(path: str, function: str) -> str | None:
        if "onnxruntime" in path or "onnxruntime" in function:
            return "onnxruntime (the model)"
        return path.split("pytest_onepixel/")[1] if "pytest_onepixel" in path else None

    def shares(entry, depth: int = 0) -> dict[str, float]:
        """Which of our files `entry`'s time belongs to: its own, or (numpy, builtins) its
        callers', shared by call count, up the call graph."""
        key = home(entry[0], entry[2])
        callers = stats.stats[entry][4] if entry in stats.stats else {}
        if key is not None or not callers or depth > 8:
            return {key or "numpy and builtins (no caller of ours)": 1.0}
        found: collections.Counter = collections.Counter()
        calls = sum(count[0] for count in callers.values()) or 1
        for caller, count in callers.items():
            for name, share in shares(caller, depth + 1).items():
                found[name] += share * count[0] / calls
        return found

    for entry, (_, _, own, _, _) in stats.stats.items():
        for name, share in shares(entry).items():
            by_file[name] += own / attacks * share
    total = sum(by_file.values())
    print(f"CPU profile, batch {size}, one ONNX Runtime thread: {total:.4f} s per attack")
    for key, own in by_file.most_common(16):
        print(f"  {own:.4f} s ({own / total:.2f})  {key}")
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
    print(text.getvalue())


if __name__ == "__main__":
    main()
