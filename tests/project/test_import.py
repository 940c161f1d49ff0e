"""Importing the package (and so starting pytest with the plugin) must stay light: no numpy,
scipy, yaml, torch or onnxruntime until a gate runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "yaml", "torch", "onnxruntime")


def heavy_after(code: str, cwd=None) -> list[str]:
    script = f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=cwd
    )
    return eval(out.stdout.strip().splitlines()[-1])


def test_import_loads_nothing_heavy() -> None:
    assert heavy_after("import pytest_onepixel") == []


def test_pytest_start_up_with_the_plugin_loads_nothing_heavy(tmp_path) -> None:
    (tmp_path / "test_trivial.py").write_text("def test_one():\n    pass\n")
    code = (
        "import pytest\n"
        "assert pytest.main(['-q', '-p', 'no:cacheprovider', 'test_trivial.py']) == 0\n"
        "import sys; assert 'pytest_onepixel.plugin' in sys.modules"
    )
    assert heavy_after(code, cwd=tmp_path) == []


def test_public_names_load_on_first_use() -> None:
    code = "import pytest_onepixel as p\nassert callable(p.attack) and p.AttackResult"
    assert heavy_after(code) == ["numpy"]


def test_unknown_names_raise_attribute_error_and_dir_lists_the_public_api() -> None:
    import pytest_onepixel

    with pytest.raises(AttributeError, match="no attribute 'atack'"):
        pytest_onepixel.atack  # noqa: B018
    assert {"attack", "load_model", "load_data", "sample", "AttackResult"} <= set(
        dir(pytest_onepixel)
    )
    assert set(pytest_onepixel.__all__) == set(dir(pytest_onepixel))


def test_import_of_the_api_module_gives_a_module() -> None:
    """`attack` (the function) and the engine no longer share a name."""
    import importlib
    import types

    assert isinstance(importlib.import_module("pytest_onepixel.api"), types.ModuleType)
    assert isinstance(importlib.import_module("pytest_onepixel.engine.search"), types.ModuleType)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("pytest_onepixel.attack")
