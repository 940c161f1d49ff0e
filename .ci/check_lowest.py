"""Fail unless the environment holds exactly the versions constraints-lowest.txt pins, with a
CPU build of torch; print them, so CI's log names the versions its lowest-versions job ran.

Usage: python .ci/check_lowest.py constraints-lowest.txt   (with the job's interpreter)
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return dict(line.split("==") for line in lines if line)


def main(path: str) -> int:
    wrong = []
    for name, pinned in pins(Path(path)).items():
        installed = version(name)
        print(f"lowest versions: {name} {installed}")
        if installed.split("+")[0] != pinned:
            wrong.append(f"{name} {installed} (pinned {pinned})")
    import torch

    if torch.version.cuda is not None:
        wrong.append(f"torch {torch.__version__} is a CUDA build (CUDA {torch.version.cuda})")
    for line in wrong:
        print(f"check_lowest: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
