"""Saved runs: each run's JSON report kept under `.onepixel/` in the project, as pytest-benchmark
keeps its runs under `.benchmarks/`.

A saved run is named `NNNN_LABEL_TIME.json`: a counter (so the newest sorts last), the name the
user gave with `--onepixel-save=NAME` or else the short git commit (when the project is a git
checkout), and the UTC time. `--onepixel-compare last` compares with the newest.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

FOLDER = ".onepixel"
_SAVED = re.compile(r"^(\d{4})_.*\.json$")


def saved_runs(root: Path) -> list[Path]:
    """The saved reports under `root/.onepixel`, oldest first."""
    folder = root / FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _SAVED.match(p.name))


def newest(root: Path) -> Path | None:
    runs = saved_runs(root)
    return runs[-1] if runs else None


def next_path(root: Path, name: str | None) -> Path:
    """Where the next saved run goes."""
    runs = saved_runs(root)
    counter = int(_SAVED.match(runs[-1].name).group(1)) + 1 if runs else 1
    label = _safe(name) if name else git_commit(root) or "run"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / FOLDER / f"{counter:04d}_{label}_{stamp}.json"


def git_commit(root: Path) -> str | None:
    """The short commit id of the checkout at `root`, or None outside git (or without git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
