"""Every PyTorch format through `backend: auto` (the verified ONNX Runtime twin) against
`backend: torch` (issue 21.1), before and after the TorchScript twin fix (commit 379ef22).

For the colour (32x32x3) and digits (8x8x1) bench models, each format is built from the same
weights in a temporary folder: the eager nn.Module, a `state_dict` + factory (colour only: the
digits model ships as a .pt2 with no factory), a TorchScript file (`torch.jit.trace`) and a
`torch.export` archive (.pt2). Each gate is the same sample, seed and budget 400; the two
backends are interleaved per repeat, and the ratio torch / auto of wall times is reported with
its spread over the repeats. Raw throughput: the twin's and the torch model's `predict` on one
batch of 256 images, interleaved. Records are hashed (sha256 of the records as JSON) to show they
are the same across formats and backends.

"Before" runs the same worker with the plugin source of the commit before the fix, taken with
`git archive 379ef22~1 src | tar -x -C /tmp/before` (the working tree is not touched), on
PYTHONPATH; "after" runs the working tree. Each side is one subprocess; ratios are within one.

    python bench/formats.py [--repeats 3] [--count 60]
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
FIX = "379ef22"


def option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def _formats(name: str, folder: Path) -> tuple[dict[str, object], object]:
    """Format name -> what `attack()` is given (a module, a path, or a loaded factory model)."""
    import torch
    from models import colour, digits

    from pytest_onepixel.models import load_model

    bench = {"colour": colour, "digits": digits}[name]()
    module = bench.module()
    example = torch.zeros((2, *bench.images.shape[1:]), dtype=torch.float32)
    out: dict[str, object] = {}
    if name == "colour":
        out["eager"] = module
        weights = bench.onnx.with_suffix(".pth")
        out["state_dict"] = load_model("networks:SmallCNN", weights=str(weights))
    else:
        out["eager (pt2 .module())"] = module
    with torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=False)
    torch.jit.save(traced, str(folder / "net.pt"))
    out["torchscript"] = str(folder / "net.pt")
    batch = torch.export.Dim("batch", min=1, max=4096)
    eager = module if name == "colour" else _eager_digits()
    program = torch.export.export(eager, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(folder / "net.pt2"))
    out["torch.export"] = str(folder / "net.pt2")
    return out, bench


def _eager_digits():
    """The digits .pt2 as an exportable module (its unlifted module re-exports dynamically)."""
    from models import digits

    return digits().module()


def _digest(records) -> str:
    rows = [asdict(r) for r in records]
    for row in rows:
        for key in ("outcome", "proof"):
            if row.get(key, 0) is None:
                row.pop(key)
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def _raw(model_arg, bench) -> dict[str, float] | None:
    """Images per second of torch and of the twin on one batch of 256 (after only)."""
    import numpy as np

    try:
        from pytest_onepixel.backends import twin_of
    except ImportError:
        return None
    from pytest_onepixel.models import load_model

    model = model_arg if hasattr(model_arg, "predict") else load_model(model_arg)
    images = np.resize(bench.images, (256, *bench.images.shape[1:])).astype(np.float32)
    try:
        twin = twin_of(model, images)
    except Exception as error:  # reported, not hidden
        return {"error": str(error).splitlines()[0]}
    speeds: dict[str, list[float]] = {"torch": [], "twin": []}
    for _ in range(5):
        for side, m in (("torch", model), ("twin", twin)):
            start = time.perf_counter()
            m.predict(images)
            speeds[side].append(256 / (time.perf_counter() - start))
    return {side: statistics.median(v) for side, v in speeds.items()}


def worker(repeats: int, count: int) -> None:
    from pytest_onepixel import attack

    rows = []
    for name in ("colour", "digits"):
        with tempfile.TemporaryDirectory() as tmp:
            formats, bench = _formats(name, Path(tmp))
            images, labels = bench.images[:count], bench.labels[:count]
            for fmt, model in formats.items():
                times: dict[str, list[float]] = {"auto": [], "torch": []}
                hashes, backends = set(), {}
                for _ in range(repeats):
                    for backend in ("auto", "torch"):
                        start = time.perf_counter()
                        result = attack(model, images, labels, budget=400, seed=0,
                                        pixel_range=bench.pixel_range, backend=backend)  # fmt: skip
                        times[backend].append(time.perf_counter() - start)
                        hashes.add(_digest(result.records))
                        backends[backend] = result.measured.backend
                ratios = [t / a for a, t in zip(times["auto"], times["torch"], strict=True)]
                rows.append({
                    "model": name, "format": fmt, "ratios": ratios, "backends": backends,
                    "hashes": sorted(hashes), "raw": _raw(model, bench),
                })  # fmt: skip
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps(rows))


def main() -> None:
    if "--worker" in sys.argv:
        worker(int(option("--repeats", "3")), int(option("--count", "60")))
        return
    before = Path(tempfile.mkdtemp(prefix="onepixel-before-"))
    archive = subprocess.run(["git", "archive", f"{FIX}~1", "src"], cwd=ROOT,
                             check=True, capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    results = {}
    for side, src in (("before", before / "src"), ("after", ROOT / "src")):
        env = dict(os.environ, PYTHONPATH=f"{src}{os.pathsep}{HERE}")
        out = subprocess.run([sys.executable, __file__, "--worker", *sys.argv[1:]], env=env,
                             check=True, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        results[side] = json.loads(out.stdout.strip().splitlines()[-1])
    print("| model | format | code | backend auto ran | torch/auto wall (median, min-max) "
          "| raw twin/torch | records |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    every = {}
    for side, rows in results.items():
        for row in rows:
            r = row["ratios"]
            raw = row["raw"]
            raw_text = ("n/a (no twin_of)" if raw is None else raw.get("error") if "error" in raw
                        else f"{raw['twin'] / raw['torch']:.2f}x")  # fmt: skip
            every.setdefault(row["model"], set()).update(row["hashes"])
            print(f"| {row['model']} | {row['format']} | {side} | {row['backends']['auto']} | "
                  f"{statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f}) | {raw_text} | "
                  f"{','.join(row['hashes'])} |")  # fmt: skip
    for model, hashes in every.items():
        print(f"\n{model}: {len(hashes)} distinct record hash(es) over every format, backend, code")


if __name__ == "__main__":
    main()
