"""A model's hash covers everything it loads: ONNX external-data weights, a factory's
state_dict and every repository module its package imports, and an in-memory module's
parameters and buffers, non-persistent ones included. Files are hashed by content (not path),
in fixed-size chunks; live Python code has no cache identity without a `cache_key`."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from tinynet import make

from pytest_onepixel import load_model
from pytest_onepixel.models.identity import external_data_files


def test_onnx_external_weights_change_the_hash(gate_assets, tmp_path) -> None:
    model = onnx.load_from_string(gate_assets["tiny.onnx"])
    path = tmp_path / "tiny.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="tiny.onnx.data", size_threshold=0
    )
    assert external_data_files(path) == [tmp_path / "tiny.onnx.data"]
    before = load_model(path)
    images = np.zeros((2, 1, 6, 6), np.float32)
    scores = before.predict(images)
    weights = bytearray((tmp_path / "tiny.onnx.data").read_bytes())
    weights[-4:] = np.float32(3.0).tobytes()  # change one weight, not the .onnx file
    (tmp_path / "tiny.onnx.data").write_bytes(bytes(weights))
    after = load_model(path)
    assert after.content_hash != before.content_hash
    assert not np.array_equal(after.predict(images), scores)


def test_a_model_without_external_data_has_none(gate_assets, tmp_path) -> None:
    (tmp_path / "tiny.onnx").write_bytes(gate_assets["tiny.onnx"])
    assert external_data_files(tmp_path / "tiny.onnx") == []


def test_module_hash_sees_parameters_and_non_persistent_buffers() -> None:
    net = make()
    reference = load_model(net).content_hash
    assert load_model(make()).content_hash == reference  # same weights, same hash
    with torch.no_grad():
        net.fc.bias[0] += 0.125
    assert load_model(net).content_hash != reference
    other = make()
    other.register_buffer("shift", torch.zeros(1), persistent=False)
    shifted = make()
    shifted.register_buffer("shift", torch.ones(1), persistent=False)
    assert load_model(other).content_hash != load_model(shifted).content_hash


def test_factory_hash_follows_its_weights(tmp_path) -> None:
    torch.save(make().state_dict(), tmp_path / "a.pt")
    changed = make()
    with torch.no_grad():
        changed.fc.weight[0, 0] += 1
    torch.save(changed.state_dict(), tmp_path / "b.pt")
    first = load_model("tinynet:make", weights=tmp_path / "a.pt").content_hash
    second = load_model("tinynet:make", weights=tmp_path / "b.pt").content_hash
    assert first != second


def test_a_factory_hash_follows_every_repository_module_it_imports(tmp_path, monkeypatch) -> None:
    """An architecture module the factory imports (absolute or relative, from its package or
    the repository root) changes the hash; an installed package it imports does not count."""
    from pytest_onepixel.models.identity import content_hash_of

    package = tmp_path / "zoo"
    (package / "nets").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "nets" / "__init__.py").write_text("")
    (package / "nets" / "factory.py").write_text(
        "import numpy\nimport archroot\nfrom . import blocks\nfrom ..layers import conv\n"
        "def make():\n    return None\n"
    )
    (package / "nets" / "blocks.py").write_text("DEPTH = 1\n")
    (package / "layers.py").write_text("def conv():\n    pass\n")
    (tmp_path / "archroot.py").write_text("WIDTH = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = "zoo.nets.factory:make"
    first = content_hash_of(spec, {})
    assert first is not None and content_hash_of(spec, {}) == first
    for path, text in [
        (tmp_path / "archroot.py", "WIDTH = 22\n"),
        (package / "nets" / "blocks.py", "DEPTH = 22\n"),
        (package / "layers.py", "def conv():\n    return 2\n"),
    ]:
        before = content_hash_of(spec, {})
        path.write_text(text)
        assert content_hash_of(spec, {}) != before, path.name


def test_live_python_code_has_no_content_hash_without_a_cache_key() -> None:
    from pytest_onepixel.models.identity import cache_identity

    uncached = cache_identity(lambda batch: batch, {}, None)
    assert uncached.hash is None and "cache_key" in uncached.reason
    module = cache_identity(make(), {}, None)
    assert module.hash is None and "nn.Module" in module.reason
    named = cache_identity(lambda batch: batch, {}, "v1")
    assert named.hash is not None and named.hash != cache_identity(len, {}, "v2").hash


def test_model_files_are_hashed_by_content_not_by_path(gate_assets, tmp_path) -> None:
    from pytest_onepixel.models.identity import content_hash_of

    (tmp_path / "a.onnx").write_bytes(gate_assets["tiny.onnx"])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.onnx").write_bytes(gate_assets["tiny.onnx"])
    assert content_hash_of(tmp_path / "a.onnx", {}) == content_hash_of(tmp_path / "sub/b.onnx", {})


def test_model_files_are_hashed_in_fixed_size_chunks(tmp_path) -> None:
    """A 512 MB sparse .onnx is hashed (and searched for external data) without reading it
    whole: the peak of Python allocations stays a few chunks."""
    import tracemalloc

    from pytest_onepixel.models.identity import content_hash_of

    path = tmp_path / "big.onnx"
    with path.open("wb") as stream:
        stream.truncate(512 << 20)
    tracemalloc.start()
    try:
        assert content_hash_of(path, {}) is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_external_data_is_found_across_chunk_boundaries(gate_assets, tmp_path, monkeypatch) -> None:
    from pytest_onepixel.models import identity

    model = onnx.load_from_string(gate_assets["tiny.onnx"])
    path = tmp_path / "tiny.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="tiny.onnx.data", size_threshold=0
    )
    for size in (3, 7, 16, 64):
        monkeypatch.setattr(identity, "CHUNK", size)
        assert identity.external_data_files(path) == [tmp_path / "tiny.onnx.data"], size
