"""Models become provable graphs that compute what the models compute: PyTorch modules through
torch.fx, ONNX files through the interpreter, the plugin's preprocessing in front; anything else
is refused with the op, the node and the advice to use `search: de`."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from pytest_onepixel.certify.convert import graph_of
from pytest_onepixel.errors import UnsupportedOpError
from pytest_onepixel.models.preprocess import PreprocessedModel
from pytest_onepixel.models.torch_model import TorchModel

F = torch.nn.functional


class Standardised(torch.nn.Module):
    """Per-image standardisation, (x - mean) / (std + eps), then every module kind."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, stride=1, padding=2, dilation=2)
        self.grouped = torch.nn.Conv2d(6, 6, 3, padding=1, groups=3)
        self.norm = torch.nn.BatchNorm2d(6)
        self.pool = torch.nn.MaxPool2d(2)
        self.average = torch.nn.AvgPool2d(3, stride=1, padding=1)
        self.adaptive = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(12, 4)
        self.act = torch.nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / (x.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        h = torch.relu(self.conv(x))
        h = self.act(self.norm(self.grouped(h))) + h
        h = torch.cat([F.hardtanh(h), torch.clamp(h * 0.5 - 1, min=0.0, max=2.0)], dim=1)
        h = self.pool(self.average(h))
        h = self.adaptive(h).view(h.size(0), -1)
        return torch.softmax(self.fc(1 - h / 3), dim=-1)


class VarianceForm(torch.nn.Module):
    """(x - mean) / sqrt(var + eps), biased variance, then ReLU6 and a Flatten module."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, stride=2, padding=1)
        self.flat = torch.nn.Flatten()
        self.drop = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        h = F.relu6(self.conv(centred / torch.sqrt(var + 1e-3)))
        return self.fc(self.drop(self.flat(h)))


def prepared(module: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    for name, buffer in module.named_buffers():
        if "running" in name:
            buffer.uniform_(0.5, 1.5)
    return module.eval()


IMAGES = np.random.default_rng(1).uniform(0, 255, (4, 3, 4, 4)).astype(np.float32)


@pytest.mark.parametrize("build", [Standardised, VarianceForm])
def test_fx_graph_computes_the_module(build) -> None:
    module = prepared(build())
    graph = graph_of(TorchModel(module, description="m", content_hash="h"), (3, 4, 4))
    exact = graph.run(IMAGES)
    if graph.softmax_dropped:
        exact = torch.softmax(exact, -1)
    expected = module.double()(torch.as_tensor(IMAGES).double())
    assert torch.allclose(exact, expected, atol=1e-10)


def exported(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, torch.zeros(1, 3, 4, 4), buffer, dynamo=False, input_names=["x"],
            dynamic_axes={"x": {0: "n"}},
        )  # fmt: skip
    return buffer.getvalue()


def onnx_scores(proto: bytes, images: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(proto, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: images})[0]


@pytest.mark.parametrize("build", [Standardised, VarianceForm])
def test_onnx_graph_of_an_exported_module_computes_it(build) -> None:
    proto = exported(prepared(build()))
    graph = graph_of(proto, (3, 4, 4))
    exact = graph.run(IMAGES)
    if graph.softmax_dropped:
        exact = torch.softmax(exact, -1)
    assert np.allclose(exact.numpy(), onnx_scores(proto, IMAGES), rtol=1e-4, atol=1e-5)


def handmade_onnx() -> bytes:
    """Ops the exporter above does not write: Gemm with transB/alpha/beta, MatMul,
    BatchNormalization, Clip with inputs, AveragePool without padded zeros, GlobalAveragePool,
    Transpose, Pow, Reshape from Shape arithmetic, Concat, Add of two branches, a final
    LogSoftmax."""
    rng = np.random.default_rng(2)
    init = {
        "w": rng.normal(size=(4, 3, 3, 3)), "b": rng.normal(size=4),
        "scale": rng.uniform(0.5, 2, 4), "bias": rng.normal(size=4),
        "mean": rng.normal(size=4), "var": rng.uniform(0.5, 2, 4),
        "lo": np.array(-0.5), "hi": np.array(1.5), "two": np.array(2.0),
        "gw": rng.normal(size=(5, 32)), "gc": rng.normal(size=5),
        "mm": rng.normal(size=(5, 3)), "mg": rng.normal(size=(8, 3)),
        "minus1": np.array([-1]), "zero": np.array(0),
    }  # fmt: skip
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        n("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["bn"], name="bn"),
        n("Clip", ["bn", "lo", "hi"], ["clip"], name="clip"),
        n("LeakyRelu", ["bn"], ["leaky"], alpha=0.1, name="leaky"),
        n("Pow", ["leaky", "two"], ["sq"], name="pow"),
        n("Concat", ["clip", "sq"], ["cat"], axis=1, name="cat"),
        n("MaxPool", ["cat"], ["mp"], kernel_shape=[2, 2], strides=[2, 2], name="mp"),
        n("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], pads=[1, 1, 1, 1], name="ap"),
        n("GlobalAveragePool", ["ap"], ["gap"], name="gap"),
        n("Transpose", ["mp"], ["tr"], perm=[0, 2, 3, 1], name="tr"),
        n("Shape", ["tr"], ["shape"], name="shape"),
        n("Gather", ["shape", "zero"], ["batch"], axis=0, name="gather"),
        n("Unsqueeze", ["batch", "zero"], ["batch1"], name="unsq"),
        n("Concat", ["batch1", "minus1"], ["target"], axis=0, name="target"),
        n("Reshape", ["tr", "target"], ["flat"], name="reshape"),
        n("Slice", ["flat", "zero", "minus1"], ["unused"], name="unused"),
        n("Gemm", ["flat", "gw", "gc"], ["g"], transB=1, alpha=0.5, beta=2.0, name="gemm"),
        n("Relu", ["g"], ["r"], name="relu"),
        n("MatMul", ["r", "mm"], ["head"], name="matmul"),
        n("Flatten", ["gap"], ["pooled"], name="flatten"),
        n("MatMul", ["pooled", "mg"], ["side"], name="side"),
        n("Add", ["head", "side"], ["logits"], name="add"),
        n("LogSoftmax", ["logits"], ["y"], axis=1, name="out"),
    ]
    nodes = [node for node in nodes if node.name != "unused"]
    inits = [
        numpy_helper.from_array(v.astype(np.int64 if k in ("minus1", "zero") else np.float32), k)
        for k, v in init.items()
    ]
    graph = helper.make_graph(
        nodes, "handmade", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_onnx_interpreter_covers_the_ops_exporters_write() -> None:
    proto = handmade_onnx()
    graph = graph_of(proto, (3, 4, 4))
    images = IMAGES / 255
    assert graph.softmax_dropped
    exact = torch.log_softmax(graph.run(images), -1).numpy()
    assert np.allclose(exact, onnx_scores(proto, images), rtol=1e-4, atol=1e-5)


def test_preprocessing_is_part_of_the_graph() -> None:
    module = prepared(VarianceForm())
    inner = TorchModel(module, description="m", content_hash="h")
    model = PreprocessedModel(
        inner, {"scale": 1 / 255, "mean": [0.4, 0.5, 0.6], "std": 0.25}, "NCHW"
    )
    graph = graph_of(model, (3, 4, 4))
    assert graph.nodes[1].kind == "affine"
    assert np.allclose(graph.run(IMAGES).numpy(), model.predict(IMAGES), rtol=1e-4, atol=1e-5)


class Sigmoidal(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(48, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.sigmoid(x).flatten(1))


class EarlySoftmax(Sigmoidal):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.softmax(x.flatten(1), -1))


@pytest.mark.parametrize(("build", "op"), [(Sigmoidal, "sigmoid"), (EarlySoftmax, "softmax")])
def test_an_unsupported_op_is_named_with_its_node(build, op: str) -> None:
    with pytest.raises(UnsupportedOpError, match=rf"op {op} at node '\w+'.*search: de"):
        graph_of(build().eval(), (3, 4, 4))


def test_an_unsupported_onnx_op_is_named_with_its_node() -> None:
    node = helper.make_node("Sigmoid", ["x"], ["y"], name="squash")
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node],
        "g",
        [value("x", TensorProto.FLOAT, [1, 3])],
        [value("y", TensorProto.FLOAT, [1, 3])],
    )
    with pytest.raises(UnsupportedOpError, match=r"op Sigmoid at node 'squash'.*search: de"):
        graph_of(helper.make_model(graph), (3,))


def test_importing_the_plugin_does_not_import_certify() -> None:
    code = "import sys, pytest_onepixel; print('pytest_onepixel.certify' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("build", [Standardised, VarianceForm])
def test_torch_export_programs_are_read_from_their_aten_graph(build) -> None:
    module = prepared(build())
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(module, (torch.zeros(2, 3, 4, 4),), dynamic_shapes=(batch,))
    model = TorchModel(program.module(), description="pt2", content_hash="p")
    graph = graph_of(model, (3, 4, 4))
    exact = graph.run(IMAGES)
    if graph.softmax_dropped:
        exact = torch.softmax(exact, -1)
    assert np.allclose(exact.numpy(), model.predict(IMAGES), rtol=1e-4, atol=1e-5)


def test_a_log_softmax_model_passes_the_graph_check() -> None:
    """The proof drops a final LogSoftmax and still recognises the model's own scores."""
    from pytest_onepixel.certify import certify_images
    from pytest_onepixel.models.onnx_model import OnnxModel

    model = OnnxModel("handmade.onnx", graph=handmade_onnx())
    images = IMAGES / 255
    labels = model.predict(images).argmax(1)
    records = certify_images(model, images, labels, (0.0, 1.0), integer=False, certify_budget=1)
    assert [r.outcome for r in records] == ["undecided"] * len(images)
