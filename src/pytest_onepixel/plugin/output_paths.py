"""Output paths checked when the session starts, so a bad one stops the run before any gate
has spent its attack time (and not after, with a traceback and no report)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from ..settings.table import ini_name, option_name


def check_output_folder(path: Path | None, key: str) -> Path | None:
    """`path` if it is (or can be made) a folder files can be written in; else a usage error."""
    if path is None:
        return None
    where = f"{option_name(key)} / ini key {ini_name(key)}"
    if path.exists() and not path.is_dir():
        raise pytest.UsageError(f"{where}: {path} is a file; give a folder for the pictures.")
    check_output_file(path / ".onepixel-probe", key)
    return path


def check_output_file(path: Path | None, key: str) -> Path | None:
    """`path` if a file can be written there (its folder is created); else a usage error naming
    the option and saying what is wrong."""
    if path is None:
        return None
    where = f"{option_name(key)} / ini key {ini_name(key)}"
    if path.is_dir():
        raise pytest.UsageError(
            f"{where}: {path} is a directory; give a file path such as "
            f"{path / 'onepixel-report.json'}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise pytest.UsageError(
            f"{where}: cannot write {path} ({error.strerror or error}); choose a writable path."
        ) from None
    return path
