"""Model adapters: each predicts like its source model and attacks like the plain callable."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from tinynet import ChannelsLast, TinyNet, make

from pytest_onepixel import InputError, ModelCallError, ModelLoadError, attack, load_model
from pytest_onepixel.models.preprocess import PreprocessedModel

pytestmark = pytest.mark.smoke  # CI's lowest-versions job runs this file
RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 17, size=(12, 1, 6, 6)).astype(np.uint8)


def torch_callable(net: torch.nn.Module):
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(batch)).numpy()

    return predict


def export_onnx(net: torch.nn.Module, example: np.ndarray, path: Path, dynamic: bool = True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.from_numpy(example.astype(np.float32)),),
            str(path),
            dynamo=False,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "n"}, "logits": {0: "n"}} if dynamic else None,
        )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Every kind of model file, made from the same exact-arithmetic network."""
    folder = tmp_path_factory.mktemp("models")
    net = make()
    example = torch.from_numpy(IMAGES[:2].astype(np.float32))
    made = {
        "onnx": export_onnx(net, IMAGES[:2], folder / "nchw.onnx"),
        "onnx_nhwc": export_onnx(
            ChannelsLast(net), IMAGES[:2].transpose(0, 2, 3, 1), folder / "nhwc.onnx"
        ),
        "onnx_fixed": export_onnx(net, IMAGES[:5], folder / "fixed.onnx", dynamic=False),
    }
    torch.jit.save(torch.jit.trace(net, example), folder / "script.pt")
    made["torchscript"] = folder / "script.pt"
    batch = torch.export.Dim("n")
    dynamic = torch.export.export(net, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(dynamic, folder / "dynamic.pt2")
    made["pt2"] = folder / "dynamic.pt2"
    torch.export.save(torch.export.export(net, (example,)), folder / "static.pt2")
    made["pt2_static"] = folder / "static.pt2"
    torch.save(net.state_dict(), folder / "weights.pt")
    made["weights"] = folder / "weights.pt"
    torch.save(net, folder / "pickled.pt")
    made["pickled"] = folder / "pickled.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), folder / "wrong_weights.pt")
    made["wrong_weights"] = folder / "wrong_weights.pt"
    return made


def sources(files: dict[str, Path]) -> dict[str, tuple[object, dict, np.ndarray]]:
    nhwc = IMAGES.transpose(0, 2, 3, 1)
    return {
        "onnx": (files["onnx"], {}, IMAGES),
        "onnx_nhwc": (files["onnx_nhwc"], {}, nhwc),
        "onnx_fixed": (files["onnx_fixed"], {}, IMAGES),
        "torchscript": (files["torchscript"], {}, IMAGES),
        "pt2": (files["pt2"], {}, IMAGES),
        "pt2_static": (files["pt2_static"], {}, IMAGES),
        "factory": ("tinynet:make", {}, IMAGES),
        "factory_weights": ("tinynet:TinyNet", {"weights": files["weights"]}, IMAGES),
        "module": (make(), {}, IMAGES),
        "trusted_pickle": (files["pickled"], {"trust_pickle": True}, IMAGES),
    }


KINDS = [
    "onnx",
    "onnx_nhwc",
    "onnx_fixed",
    "torchscript",
    "pt2",
    "pt2_static",
    "factory",
    "factory_weights",
    "module",
    "trusted_pickle",
]


@pytest.mark.parametrize("kind", KINDS)
def test_adapter_predicts_like_the_source_model(files, kind) -> None:
    source, options, images = sources(files)[kind]
    model = load_model(source, **options)
    expected = torch_callable(make())(IMAGES.astype(np.float32))
    got = model.predict(images.astype(np.float32))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert model.description and len(model.content_hash) == 64


@pytest.mark.parametrize("kind", KINDS)
def test_attack_through_adapter_equals_attack_through_plain_callable(files, kind) -> None:
    """Black-box (a plain callable has no gradient), every adapter gives the callable's
    records."""
    source, options, images = sources(files)[kind]
    labels = torch_callable(make())(IMAGES.astype(np.float32)).argmax(axis=1)
    settings = {"budget": 40, "pixel_range": (0, 16), "seed": 1, "guidance": "none"}
    layout = "NHWC" if kind == "onnx_nhwc" else "NCHW"
    expected = attack(torch_callable(make()), IMAGES, labels, **settings)
    got = attack(load_model(source, **options), images, labels, layout=layout, **settings)
    assert got.records == expected.records
    assert expected.successes > 0


@pytest.fixture(scope="module")
def guided_reference(files) -> object:
    source, options, _ = sources(files)["module"]
    labels = torch_callable(make())(IMAGES.astype(np.float32)).argmax(axis=1)
    return attack(load_model(source, **options), IMAGES, labels, **GUIDED)


GUIDED = {"budget": 60, "pixel_range": (0, 16), "seed": 1, "guidance": "gradient"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_format_is_guided_alike(files, kind, guided_reference) -> None:
    """Guided by the gradient (TorchScript through its ONNX export's graph), every adapter of
    one network gives the eager module's records."""
    source, options, images = sources(files)[kind]
    labels = torch_callable(make())(IMAGES.astype(np.float32)).argmax(axis=1)
    layout = "NHWC" if kind == "onnx_nhwc" else "NCHW"
    got = attack(load_model(source, **options), images, labels, layout=layout, **GUIDED)
    assert got.measured.guidance["used"] == "gradient"
    assert got.records == guided_reference.records
    assert guided_reference.successes > 0


def test_onnx_detects_layout_and_chunks_a_fixed_batch(files) -> None:
    assert load_model(files["onnx"]).layout == "NCHW"
    assert load_model(files["onnx_nhwc"]).layout == "NHWC"
    fixed = load_model(files["onnx_fixed"])
    assert fixed.batch_size == 5 and fixed.num_classes == 3
    assert fixed.predict(IMAGES[:7].astype(np.float32)).shape == (7, 3)


def test_attack_takes_the_layout_from_an_onnx_model(files) -> None:
    nhwc = IMAGES.transpose(0, 2, 3, 1)
    labels = torch_callable(make())(IMAGES.astype(np.float32)).argmax(axis=1)
    result = attack(files["onnx_nhwc"], nhwc, labels, budget=10, pixel_range=(0, 16))
    assert result.measured.layout == "NHWC"


def test_onnx_threads_and_providers_are_settable(files) -> None:
    model = load_model(files["onnx"], threads=1, providers=["CPUExecutionProvider"])
    assert model.predict(IMAGES[:2].astype(np.float32)).shape == (2, 3)


def test_torch_model_runs_in_eval_mode_without_autograd() -> None:
    net = make().train()
    model = load_model(net, threads=1)
    assert not net.training
    assert model.predict(IMAGES[:2].astype(np.float32)).dtype == np.float32


def test_preprocessing_is_applied_before_the_model() -> None:
    seen = []

    def model(batch: np.ndarray) -> np.ndarray:
        seen.append(batch.copy())
        return np.zeros((len(batch), 2))

    images = np.full((1, 2, 2, 3), 255, dtype=np.uint8)
    wrapped = PreprocessedModel(
        load_model(model), {"scale": 1 / 255, "mean": [0.5, 0, 0], "std": [0.5, 1, 2]}, "NHWC"
    )
    wrapped.predict(images.astype(np.float32))
    np.testing.assert_allclose(seen[0][0, 0, 0], [1.0, 1.0, 0.5], rtol=1e-6)
    attack(model, images, [0], budget=4, preprocess={"scale": 1 / 255, "mean": [0, 0, 0.5]})
    assert seen[-1].max() <= 1.0 and seen[-1][..., 2].max() <= 0.5


@pytest.mark.parametrize(
    ("preprocess", "error", "message"),
    [
        ({"scale": [1, 2]}, InputError, "scale is a positive number"),
        ({"mean": "abc"}, InputError, "mean is a number or a list of numbers"),
        ({"mean": [0.5, float("nan")]}, InputError, "mean is a number or a list of numbers"),
        ({"std": [0.5, 0]}, InputError, "std values are > 0"),
        ({"shift": 1}, InputError, r"unknown: \['shift'\]"),
        ({"mean": [0.5, 0.5]}, ModelLoadError, "mean has 2 values but the images have 3 channel"),
    ],
)
def test_bad_preprocessing_is_a_clear_error(preprocess, error, message) -> None:
    images = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    with pytest.raises(error, match=message):
        attack(lambda b: np.zeros((len(b), 2)), images, [0], budget=4, preprocess=preprocess)


def test_cuda_without_a_gpu_is_a_clear_error(files) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    with pytest.raises(ModelLoadError, match="no CUDA device"):
        load_model(make(), device="cuda")
    with pytest.raises(ModelLoadError, match="needs onnxruntime's CUDAExecutionProvider"):
        load_model(files["onnx"], device="cuda")


def two_input_graph(path: Path) -> Path:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 3])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["out"])], "two", [a, b], [out])
    onnx.save(helper.make_model(graph), path)
    return path


def flat_input_graph(path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 36])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 36])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "mlp", [x], [y])
    onnx.save(helper.make_model(graph), path)
    return path


def test_model_errors(files, tmp_path) -> None:
    def fails(message: str, source: object, **options) -> None:
        with pytest.raises(ModelLoadError, match=message):
            load_model(source, **options)

    fails(r"ONNX model file .*missing.onnx does not exist", tmp_path / "missing.onnx")
    fails(r"PyTorch model file .*missing.pt does not exist", tmp_path / "missing.pt")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(files["onnx"].read_bytes()[:200])
    fails(r"truncated.onnx is not a readable ONNX model", truncated)
    fails(
        r"has 2 inputs \['a', 'b'\]; say which one .* input_name",
        two_input_graph(tmp_path / "two.onnx"),
    )
    fails(
        r"has no input named 'c'; its inputs are \['a', 'b'\]",
        tmp_path / "two.onnx",
        input_name="c",
    )
    fails(r"whole pickled module.*trust_pickle=True", files["pickled"])
    fails(r"cannot import 'no_such_package.models'", "no_such_package.models:build")
    fails(r"module 'tinynet' has no attribute 'build'", "tinynet:build")
    fails(
        r"state_dict in .*wrong_weights.pt does not fit the model built by tinynet:make",
        "tinynet:make",
        weights=files["wrong_weights"],
    )
    fails(r"holds a OrderedDict, not a model \(a state_dict\?\)", files["weights"])
    fails(r"from its suffix '.h5'", tmp_path / "model.h5")
    fails(r"found a int", 3)


def test_model_that_does_not_fit_the_data(files, tmp_path) -> None:
    labels = np.zeros(4, dtype=int)
    rgb = np.zeros((4, 3, 6, 6), dtype=np.uint8)
    with pytest.raises(
        ModelLoadError, match=r"the channel count on axis 1 is 3, the model wants 1"
    ):
        attack(files["onnx"], rgb, labels)
    with pytest.raises(ModelLoadError, match=r"the size on axis 2 is 5"):
        attack(files["onnx"], np.zeros((4, 1, 5, 6), np.uint8), labels)
    with pytest.raises(
        ModelLoadError, match=r"takes rank-2 input \(N, 36\) but the images are rank 4"
    ):
        attack(flat_input_graph(tmp_path / "mlp.onnx"), np.zeros((4, 1, 6, 6), np.uint8), labels)
    with pytest.raises(ModelCallError, match=r"model raised RuntimeError.*shape \(4, 3, 6, 6\)"):
        attack(make(), rgb, labels)


def test_one_channel_images_without_channel_axis_feed_a_4d_onnx_model(files) -> None:
    labels = torch_callable(make())(IMAGES.astype(np.float32)).argmax(axis=1)
    flat = attack(files["onnx"], IMAGES[:, 0], labels, budget=20, pixel_range=(0, 16))
    full = attack(files["onnx"], IMAGES, labels, budget=20, pixel_range=(0, 16))
    assert flat.records == full.records


def test_tinynet_is_the_factory_class() -> None:
    assert isinstance(make(), TinyNet)
