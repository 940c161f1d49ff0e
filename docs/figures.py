"""Regenerate the README's pictures: the example project's fragile gate, its gallery of
adversarial examples and its robustness curve, as the plugin draws them.

    python docs/figures.py      (from the repository root, with the `report` extra installed)

Runs `pytest example_project -m fragile --onepixel-gallery=...` in a temporary folder and copies
the gate's gallery grid and curve PNGs here (small files, a few tens of KB each).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "example_project"
STEM = "onepixel.yaml_digits-cnn-fragile"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        pictures = Path(folder) / "pictures"
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(EXAMPLE),
            "-m",
            "fragile",
            "-p",
            "no:cacheprovider",
            f"--onepixel-gallery={pictures}",
            f"--onepixel-report={Path(folder) / 'report.json'}",
        ]
        subprocess.run(command, check=False, cwd=HERE.parent)
        shutil.copyfile(pictures / f"{STEM}.png", HERE / "fragile-gallery.png")
        shutil.copyfile(pictures / f"{STEM}.curve.png", HERE / "fragile-curve.png")
    for name in ("fragile-gallery.png", "fragile-curve.png"):
        print(f"{HERE / name}: {(HERE / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
