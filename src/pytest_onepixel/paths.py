"""Saying what is wrong with a path a user named, whatever it turned out to be.

"Not found" is the wrong answer for a directory, a FIFO (reading one would block the run
forever), a device, a symbolic link loop or a file without read permission; every loader asks
`unreadable_reason` before opening a path and puts its answer in the error.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def unreadable_reason(path: Path) -> str | None:
    """None when `path` is a regular file this process can read; else what it is instead."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        if error.errno == errno.ENOENT:
            return "does not exist"
        return f"cannot be read ({error.strerror})"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        )
        return f"is {kind}, not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None
