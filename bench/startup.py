"""pytest start-up with and without the plugin: the cost of having pytest-onepixel installed.

Runs `python -m pytest -q` on one trivial test in a temporary folder, whole processes,
alternating with and without `-p no:onepixel` so both see the same machine load, and prints the
median of each and the difference (the issue's target: under 50 ms added). Also checks that
start-up leaves numpy, scipy, yaml, torch and onnxruntime unimported.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "yaml", "torch", "onnxruntime")


def one_run(folder: Path, with_plugin: bool) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_trivial.py"]
    if not with_plugin:
        command[4:4] = ["-p", "no:onepixel"]
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - start


def heavy_modules_at_startup(folder: Path) -> list[str]:
    code = (
        "import sys, pytest; pytest.main(['-q', '-p', 'no:cacheprovider', 'test_trivial.py']); "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True)
    return eval(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "test_trivial.py").write_text("def test_one():\n    pass\n")
        one_run(folder, True), one_run(folder, False)  # warm the file cache
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(runs):
            for with_plugin in (True, False):
                times[with_plugin].append(one_run(folder, with_plugin))
        heavy = heavy_modules_at_startup(folder)
    with_plugin, without = (statistics.median(times[flag]) for flag in (True, False))
    print(f"runs: {runs} of each, alternating; python {sys.version.split()[0]}")
    print(f"median with the plugin:    {with_plugin * 1000:.0f} ms")
    print(f"median without the plugin: {without * 1000:.0f} ms")
    print(f"added: {(with_plugin - without) * 1000:+.0f} ms (ratio {with_plugin / without:.3f})")
    print(f"heavy modules imported at start-up: {heavy or 'none'}")


if __name__ == "__main__":
    main()
