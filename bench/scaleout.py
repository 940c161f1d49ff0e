"""One gate beyond one process: the local run, 2 shards run as two processes at once and
merged, and a local Ray instance with 2 workers, on this 2-core machine.

For the example's digits model and the colour-digits CNN: each way's report, with time fields
and the measured batch size removed, must be byte-identical to the local run's; the wall times
are reported as ratios to the local run's. Every run is `--onepixel-full` (shards have no early
verdict) with the result cache off.

    python bench/scaleout.py            (writes bench/scaleout.md)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import machine

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "scaleout.md"
COMMON = ["-p", "no:cacheprovider", "--onepixel-full", "--onepixel-cache=off", "-q"]


def body(path: Path) -> str:
    """The report without what may differ between equal runs: times and measured batch sizes."""
    document = json.loads(path.read_text())
    for key in ("created", "options", "interrupted", "signal", "shard"):
        document.pop(key, None)
    for gate in document["gates"]:
        for key in ("seconds", "examples"):
            gate.pop(key, None)
        gate["measured"].pop("batch", None)
    return json.dumps(document, sort_keys=True)


def project(folder: Path, name: str, model: Path, images: np.ndarray, labels: np.ndarray,
            pixel_range: tuple[int, int], samples: int) -> None:  # fmt: skip
    np.savez(folder / "data.npz", x=images, y=labels)
    (folder / "onepixel.yaml").write_text(
        f"defaults: {{samples: {samples}, budget: 400, pixel_range: {list(pixel_range)}}}\n"
        f"models:\n  - {{name: {name}, model: {model}, data: data.npz, max_success_rate: 0.3}}\n"
    )


def pytest(folder: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "pytest", *COMMON, *args]
    return subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def timed(*processes: subprocess.Popen) -> float:
    start = time.perf_counter()
    for process in processes:
        process.wait()
    return time.perf_counter() - start


def measure(folder: Path) -> dict[str, object]:
    start = time.perf_counter()
    local = timed(pytest(folder, "--onepixel-report=local.json"))
    start = time.perf_counter()
    shards = [
        pytest(folder, f"--onepixel-shard={k}/2", f"--onepixel-report=s{k}.json") for k in (1, 2)
    ]
    timed(*shards)
    merge = [sys.executable, "-m", "pytest_onepixel.cli", "merge", "s1.json", "s2.json",
             "--report", "merged.json"]  # fmt: skip
    subprocess.run(merge, cwd=folder, capture_output=True, check=False)
    sharded = time.perf_counter() - start
    distributed = timed(pytest(folder, "--onepixel-executor=ray", "--onepixel-report=ray.json"))
    reference = body(folder / "local.json")
    return {
        "local_s": local,
        "shards_s": sharded,
        "ray_s": distributed,
        "shards_equal": body(folder / "merged.json") == reference,
        "ray_equal": body(folder / "ray.json") == reference,
        "queries": json.loads((folder / "local.json").read_text())["gates"][0]["summary"][
            "queries_used"
        ],
    }


def models() -> list[tuple[str, Path, np.ndarray, np.ndarray, tuple[int, int], int]]:
    from digits_model import digits_onnx
    from workloads import colour_cnn

    path, images, labels = digits_onnx("release")
    onnx, _, colour_images, colour_labels = colour_cnn()
    return [
        ("digits", path, images, labels, (0, 16), 300),
        ("colour", onnx, colour_images, colour_labels, (0, 255), 200),
    ]


def main() -> None:
    lines = [
        "# One gate across processes: shards and Ray against the local run",
        "",
        "Regenerate with `python bench/scaleout.py`. Every run `--onepixel-full`, result cache "
        "off; wall times include each process's start-up (pytest, and Ray's for the Ray run).",
        "",
        f"Machine: {machine()}",
        "",
        "| model | queries | local s | 2 shards at once + merge s (ratio) | Ray, 2 workers s "
        "(ratio) | merged = local | Ray = local |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, model, images, labels, pixel_range, samples in models():
        with tempfile.TemporaryDirectory() as folder:
            project(Path(folder), name, model.resolve(), images, labels, pixel_range, samples)
            found = measure(Path(folder))
        local = found["local_s"]
        lines.append(
            f"| {name} | {found['queries']:,} | {local:.1f} | {found['shards_s']:.1f} "
            f"({found['shards_s'] / local:.2f}) | {found['ray_s']:.1f} "
            f"({found['ray_s'] / local:.2f}) | {found['shards_equal']} | {found['ray_equal']} |"
        )
        print(lines[-1], flush=True)
    OUTPUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
