"""The images' layout and the model's input layout are separate: NHWC data gates an NCHW model
(ONNX, PyTorch, from YAML or check()) with no extra keys, and records stay the data's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write_gates
from tinynet import make

from pytest_onepixel import attack, load_model


@pytest.fixture
def nchw_and_nhwc(gate_assets, tmp_path):
    (tmp_path / "tiny.onnx").write_bytes(gate_assets["tiny.onnx"])
    (tmp_path / "holdout.npz").write_bytes(gate_assets["holdout.npz"])
    data = np.load(tmp_path / "holdout.npz")
    return tmp_path / "tiny.onnx", data["x"], data["x"].transpose(0, 2, 3, 1), data["y"]


@pytest.mark.parametrize("kind", ["onnx", "torch"])
def test_nhwc_images_attack_an_nchw_model_with_the_same_records(nchw_and_nhwc, kind) -> None:
    onnx_path, nchw, nhwc, labels = nchw_and_nhwc
    model = load_model(onnx_path) if kind == "onnx" else load_model(make())
    options = {"budget": 30, "pixel_range": (0, 16)}
    reference = attack(model, nchw, labels, **options)
    channel_last = attack(model, nhwc, labels, **options)
    assert channel_last.measured.data_layout == "NHWC"
    assert channel_last.measured.layout == "NCHW"
    assert channel_last.records == reference.records
    _, adversarial = channel_last.adversarial_images()
    assert adversarial.shape[1:] == nhwc.shape[1:]  # in the data's own layout


def test_three_dimensional_images_gain_the_channel_axis_a_torch_model_wants(nchw_and_nhwc):
    _, nchw, _, labels = nchw_and_nhwc
    reference = attack(make(), nchw, labels, budget=20, pixel_range=(0, 16))
    flat = attack(make(), nchw[:, 0], labels, budget=20, pixel_range=(0, 16))
    assert flat.records == reference.records


def test_an_nhwc_npz_gates_nchw_onnx_and_torch_models_from_yaml(repo, gate_assets) -> None:
    data = np.load(repo.path / "data" / "holdout.npz")
    np.savez(repo.path / "data" / "nhwc.npz", x=data["x"].transpose(0, 2, 3, 1), y=data["y"])
    (repo.path / "tinynet.py").write_text((Path(__file__).parent.parent / "tinynet.py").read_text())
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 20, max_success_rate: 1.0}
        models:
          - {name: onnx-nchw, model: models/tiny.onnx, data: data/holdout.npz}
          - {name: onnx-nhwc, model: models/tiny.onnx, data: data/nhwc.npz}
          - {name: torch-nhwc, model: "tinynet:make", data: data/nhwc.npz}
        """,
    )
    result = repo.runpytest_subprocess("--onepixel-report=r.json")
    result.assert_outcomes(passed=3)
    gates = {g["name"]: g for g in json.loads((repo.path / "r.json").read_text())["gates"]}
    assert gates["onnx-nhwc"]["records"] == gates["onnx-nchw"]["records"]
    assert gates["torch-nhwc"]["measured"]["data_layout"] == "NHWC"
    assert [r["success"] for r in gates["torch-nhwc"]["records"]] == [
        r["success"] for r in gates["onnx-nchw"]["records"]
    ]


def test_check_accepts_nhwc_arrays_for_a_torch_model(pytester) -> None:
    pytester.makepyfile(
        test_nhwc="""
        import numpy as np, pytest, torch

        net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten(),
                                  torch.nn.LazyLinear(2))
        net(torch.zeros(1, 3, 5, 5))
        IMAGES = np.random.default_rng(0).integers(0, 256, (6, 5, 5, 3)).astype(np.uint8)

        @pytest.mark.onepixel(max_success_rate=1.0, budget=20)
        def test_gate(onepixel):
            with torch.no_grad():
                labels = net(torch.from_numpy(IMAGES.transpose(0, 3, 1, 2).astype("float32")))
            result = onepixel.check(net, IMAGES, labels.argmax(1).numpy())
            assert result.measured.data_layout == "NHWC"
            assert result.measured.layout == "NCHW"
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
