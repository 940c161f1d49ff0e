"""A model's hash covers everything it loads: ONNX external-data weights, a factory's
state_dict, and an in-memory module's parameters and buffers, non-persistent ones included."""

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
