"""Saved runs: each run's JSON report kept under `.onepixel/` in the project, as pytest-benchmark
keeps its runs under `.benchmarks/`.

A saved run is named `NNNN_LABEL_TIME.json`: a counter, the name the user gave with
`--onepixel-save=NAME` or else the short git commit (when the project is a git checkout), and the
UTC time. `--onepixel-compare last` compares with the newest.

Runs are ordered by the counter's value (not its text: `10000_` comes after `9999_`), then by
modification time and name, and a new run takes the highest counter plus one; so the run just
saved is always `last`, whatever numbers hand-made files already carry. The label is the name
cut to `LABEL_LENGTH` characters the file system accepts anywhere (a 300-character name would
otherwise exceed the 255-byte limit on a file name); a name cut short ends in a hash of the
whole name, and the counter keeps any two runs' files apart.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .names import HASH_DIGITS, key_hash

FOLDER = ".onepixel"
_SAVED = re.compile(r"^(\d+)_.*\.json$")
#: The longest label in a saved run's name (with its hash, when it has one).
LABEL_LENGTH = 64


def saved_runs(root: Path) -> list[Path]:
    """The saved reports under `root/.onepixel`, oldest first."""
    folder = root / FOLDER
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _SAVED.match(p.name)), key=_order)


def _order(path: Path) -> tuple[int, float, str]:
    """By counter value, then modification time, then name."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return int(_SAVED.match(path.name).group(1)), mtime, path.name


def newest(root: Path) -> Path | None:
    runs = saved_runs(root)
    return runs[-1] if runs else None


def next_path(root: Path, name: str | None) -> Path:
    """Where the next saved run goes."""
    runs = saved_runs(root)
    counter = int(_SAVED.match(runs[-1].name).group(1)) + 1 if runs else 1
    label_ = label(name) if name else git_commit(root) or "run"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / FOLDER / f"{counter:04d}_{label_}_{stamp}.json"


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


def label(name: str) -> str:
    """`name` as part of a file name: letters, digits, `.`, `_` and `-` only, at most
    LABEL_LENGTH characters; a name cut short ends in `-` and a hash of the whole name. (The
    counter already keeps files apart: `a/b` and `a b` both read `a-b`.)"""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"
    if len(safe) <= LABEL_LENGTH:
        return safe
    return f"{safe[: LABEL_LENGTH - HASH_DIGITS - 1].rstrip('-.')}-{key_hash(name)}"
