"""What the cache key covers: the content of what a gate loads (not its path), the plugin's own
code, and, for a model given as live Python code, only a `cache_key` the user names; such a
model without one is attacked every time, and the outcome says why and how to cache it."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CHECK_PREAMBLE, write_gates

from pytest_onepixel.gate import cache

CHECK = (
    CHECK_PREAMBLE
    + """
def test_gate(onepixel):
    onepixel.check({model}, IMAGES, LABELS, pixel_range=(0, 16), budget=20,
                   max_success_rate=1.0{extra})
"""
)
MODULE = """
import torch

class Linear(torch.nn.Module):
    def forward(self, x):
        return torch.stack([x.flatten(1).sum(1), x.flatten(1)[:, 0], x.flatten(1)[:, 1]], 1)

net = Linear()
"""


def gate(pytester, *args: str) -> dict:
    result = pytester.runpytest("--onepixel-report=r.json", *args)
    result.assert_outcomes(passed=1)
    return json.loads((pytester.path / "r.json").read_text())["gates"][0]


@pytest.mark.parametrize("model", ["model", "net"])
def test_live_code_is_not_cached_and_the_note_says_why(pytester, model) -> None:
    preamble = CHECK_PREAMBLE + (MODULE if model == "net" else "")
    pytester.makepyfile(
        test_gates=preamble + CHECK.replace(CHECK_PREAMBLE, "").format(model=model, extra="")
    )
    first, second = gate(pytester), gate(pytester)
    assert not first["cached"] and not second["cached"]
    (note,) = [n for n in second["notes"] if "not cached" in n]
    assert "cache_key" in note and "Python code" in note


def test_a_cache_key_names_live_code_and_caches_it(pytester) -> None:
    pytester.makepyfile(test_gates=CHECK.format(model="model", extra=", cache_key='linear-v1'"))
    first, second = gate(pytester), gate(pytester)
    assert not first["cached"] and second["cached"]
    assert not any("not cached" in n for n in second["notes"])
    pytester.makepyfile(test_gates=CHECK.format(model="model", extra=", cache_key='linear-v2'"))
    assert not gate(pytester)["cached"]  # a new name re-attacks


def test_the_same_model_bytes_at_another_path_hit(repo) -> None:
    write_gates(
        repo,
        """\
defaults: {samples: 20, pixel_range: [0, 16], budget: 20}
models:
  - {name: g, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}
""",
    )
    first = gate(repo)
    (repo.path / "released").mkdir()
    shutil.copy(repo.path / "models" / "tiny.onnx", repo.path / "released" / "v2.onnx")
    text = (repo.path / "onepixel.yaml").read_text().replace("models/tiny.onnx", "released/v2.onnx")
    (repo.path / "onepixel.yaml").write_text(text)
    moved = gate(repo)
    assert moved["cached"] and moved["records"] == first["records"]


def test_the_plugin_code_is_part_of_the_key(tmp_path) -> None:
    """An editable install changes code without changing __version__: the code's hash does."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
    before = cache.code_hash(tmp_path / "pkg")
    assert cache.code_hash(tmp_path / "pkg") == before
    (tmp_path / "pkg" / "b.py").write_text("y = 3\n")
    assert cache.code_hash(tmp_path / "pkg") != before
    key = cache.cache_key("m", "d", {"budget": 1}, False, "1.0")
    assert key == cache.cache_key("m", "d", {"budget": 1}, False, "1.0")
    assert (cache.PLUGIN_ROOT / "gate" / "cache.py").is_file()
    assert cache.plugin_code_hash() == cache.plugin_code_hash()  # computed once per process


def test_the_key_changes_with_the_plugin_code(monkeypatch) -> None:
    key = cache.cache_key("m", "d", {"budget": 1}, False, "1.0")
    monkeypatch.setattr(cache, "plugin_code_hash", lambda: "edited")
    assert cache.cache_key("m", "d", {"budget": 1}, False, "1.0") != key


def test_an_edited_architecture_module_re_attacks_a_factory(repo) -> None:
    """The factory's own file is unchanged; the module it imports its network from is not."""
    repo.syspathinsert()
    (repo.path / "zoo").mkdir()
    (repo.path / "zoo" / "__init__.py").write_text("")
    (repo.path / "zoo" / "factory.py").write_text(
        "from .arch import build\n\ndef make():\n    return build()\n"
    )
    (repo.path / "zoo" / "arch.py").write_text("from tinynet import make as build\n")
    write_gates(
        repo,
        """\
defaults: {samples: 20, pixel_range: [0, 16], budget: 20}
models:
  - {name: g, model: "zoo.factory:make", data: data/holdout.npz, max_success_rate: 1.0}
""",
    )
    assert not gate(repo)["cached"] and gate(repo)["cached"]
    (repo.path / "zoo" / "arch.py").write_text(
        "from tinynet import make as build  # the architecture, edited\n"
    )
    assert not gate(repo)["cached"]


def test_a_runtime_upgrade_changes_the_key(monkeypatch) -> None:
    """numpy, onnxruntime, torch and onnx decide the arithmetic: another version re-attacks."""
    from pytest_onepixel.gate import cache

    key = cache.cache_key("m", "d", {"budget": 10}, False, "0.2.0")
    assert cache.cache_key("m", "d", {"budget": 10}, False, "0.2.0") == key
    upgraded = {**cache.runtime_versions(), "onnxruntime": "99.0"}
    monkeypatch.setattr(cache, "runtime_versions", lambda: upgraded)
    assert cache.cache_key("m", "d", {"budget": 10}, False, "0.2.0") != key
