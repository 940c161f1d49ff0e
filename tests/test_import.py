"""Importing the package (and so starting pytest with the plugin) must stay light."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_neither_torch_nor_onnxruntime() -> None:
    code = (
        "import sys, pytest_onepixel; "
        "print(sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
