"""A PyTorch model's search runs through its ONNX Runtime twin only when the twin agrees with the
model on the clean pass; successes are confirmed on the real model either way."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from tinynet import make

from pytest_onepixel import ModelLoadError, attack, load_model
from pytest_onepixel.models import twin as twin_module

REAL_EXPORT = twin_module.onnx_twin
IMAGES = np.random.default_rng(0).integers(0, 17, size=(30, 1, 6, 6)).astype(np.uint8)


def labels_of(net: torch.nn.Module) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(IMAGES.astype(np.float32))).argmax(1).numpy()


def test_a_faithful_twin_is_verified_and_gives_the_models_records() -> None:
    net = make()
    labels = labels_of(net)
    options = {"budget": 40, "pixel_range": (0, 16)}
    twin = attack(net, IMAGES, labels, backend="auto", **options)
    torch_only = attack(net, IMAGES, labels, backend="torch", **options)
    assert twin.measured.backend == "onnxruntime twin"
    assert twin.measured.twin["twin"] == "verified on the clean pass"
    assert torch_only.measured.backend == "torch"
    assert twin.records == torch_only.records  # TinyNet's arithmetic is exact in both runtimes


def other_twin(model, example, threads):
    """A twin of a different network: what a broken export would look like."""
    torch.manual_seed(1)
    different = load_model(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3)))
    return REAL_EXPORT(different, example, threads)


def test_a_different_twin_is_rejected_and_the_search_runs_on_torch(monkeypatch) -> None:
    monkeypatch.setattr(twin_module, "onnx_twin", other_twin)
    net = make()
    result = attack(net, IMAGES, labels_of(net), budget=20, pixel_range=(0, 16))
    assert result.measured.backend == "torch"
    assert result.measured.twin["twin"].startswith("rejected: on the clean pass")
    with pytest.raises(ModelLoadError, match=r"backend 'onnxruntime'.*no usable ONNX twin"):
        attack(net, IMAGES, labels_of(net), budget=20, pixel_range=(0, 16), backend="onnxruntime")


class Constant(torch.nn.Module):
    """Always class 0: no pixel can fool it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([5.0, 0.0]).expand(len(x), 2)


class LyingTwin:
    """Agrees with the real model on the (all-zero) clean images, so it verifies, but claims
    class 1 for any image with a bright pixel: its successes are not the real model's."""

    layout, num_classes, description, content_hash = "NCHW", 2, "lying twin", "x"

    def predict(self, batch: np.ndarray) -> np.ndarray:
        scores = np.tile([5.0, 0.0], (len(batch), 1))
        scores[(batch.reshape(len(batch), -1) > 128).any(axis=1)] = [0.0, 5.0]
        return scores


def test_a_success_found_by_the_twin_but_not_the_model_is_not_counted(monkeypatch) -> None:
    monkeypatch.setattr(twin_module, "onnx_twin", lambda *args: LyingTwin())
    images = np.zeros((10, 1, 4, 4), np.uint8)
    result = attack(Constant(), images, np.zeros(10, int), budget=40, popsize=10)
    assert result.measured.backend == "onnxruntime twin"
    assert result.successes == 0
    assert result.counts.rejected == 10


def test_backend_torch_is_refused_for_a_model_that_is_not_pytorch() -> None:
    with pytest.raises(Exception, match="backend 'torch' needs a PyTorch model"):
        attack(lambda b: np.zeros((len(b), 2)), IMAGES, np.zeros(30, int), backend="torch")


class TwoHeads(torch.nn.Module):
    """TinyNet's scores with its features, as a tuple: `output: 1` names the scores."""

    def __init__(self) -> None:
        super().__init__()
        self.net = make()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.flatten(1), self.net(x)


def saved(kind: str, folder) -> tuple[str, dict]:
    """TinyNet saved as `kind`: TorchScript (scripted or traced, plain or two outputs), or a
    torch.export archive; with the keywords the model needs."""
    example = torch.from_numpy(IMAGES[:2].astype(np.float32))
    if kind == "pt2":
        batch = torch.export.Dim("batch")
        program = torch.export.export(make(), (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, folder / "net.pt2")
        return str(folder / "net.pt2"), {}
    net = TwoHeads().eval() if kind == "script-two-heads" else make()
    module = torch.jit.trace(net, example) if kind == "trace" else torch.jit.script(net)
    torch.jit.save(module, folder / "net.pt")
    return str(folder / "net.pt"), {"output": 1} if kind == "script-two-heads" else {}


@pytest.mark.parametrize("kind", ["script", "trace", "script-two-heads", "pt2"])
def test_torchscript_and_exported_models_get_the_verified_twin(kind, tmp_path) -> None:
    from pytest_onepixel.models.torch_model import load_torch_file

    path, keywords = saved(kind, tmp_path)
    model = load_torch_file(path)
    model.output = keywords.get("output")
    labels = labels_of(make())
    options = {"budget": 40, "pixel_range": (0, 16)}
    twin = attack(model, IMAGES, labels, backend="auto", **options)
    torch_only = attack(model, IMAGES, labels, backend="torch", **options)
    assert twin.measured.backend == "onnxruntime twin", twin.measured.twin
    assert twin.measured.twin["twin"] == "verified on the clean pass"
    assert twin.records == torch_only.records


def test_without_the_onnx_package_no_export_is_tried(monkeypatch) -> None:
    """The packages are looked up before anything is traced: a missing one costs nothing."""
    monkeypatch.setitem(sys.modules, "onnx", None)  # what `import onnx` does when it is absent
    monkeypatch.setattr(twin_module, "_exported", pytest.fail)
    net = make()
    result = attack(net, IMAGES, labels_of(net), budget=20, pixel_range=(0, 16))
    assert result.measured.backend == "torch"
    assert result.measured.twin["twin"] == "not built: onnx is not installed"


def test_an_export_that_failed_is_not_tried_again_for_the_same_model(monkeypatch) -> None:
    calls = []

    def failing(model, inputs):
        calls.append(model)
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(twin_module, "_exported", failing)
    monkeypatch.setattr(twin_module, "_FAILED", {})
    net = make()
    for _ in range(2):
        result = attack(net, IMAGES, labels_of(net), budget=20, pixel_range=(0, 16))
        assert result.measured.twin["twin"] == (
            "not built: the ONNX export failed (RuntimeError: unsupported operator)"
        )
    assert len(calls) == 1


def test_a_module_is_exported_once_for_its_search_and_its_guide(monkeypatch) -> None:
    """A TorchScript module is guided through the graph of its export (torch.fx cannot trace
    it): the search's twin export is reused, not made again; another module, or the same one
    with changed weights, is exported anew."""
    calls = []
    real = twin_module._exported

    def counted(model, inputs):
        calls.append(model.module)
        return real(model, inputs)

    monkeypatch.setattr(twin_module, "_exported", counted)
    monkeypatch.setattr(twin_module, "_LAST_EXPORT", {})
    scripted = torch.jit.script(make())
    labels = labels_of(scripted)
    result = attack(scripted, IMAGES, labels, budget=60, pixel_range=(0, 16))
    assert result.measured.backend == "onnxruntime twin"
    assert result.measured.guidance["used"] == "gradient"
    assert calls == [scripted]
    other = torch.jit.script(make())
    attack(other, IMAGES, labels_of(other), budget=60, pixel_range=(0, 16))
    assert calls == [scripted, other]
    attack(other, IMAGES, labels_of(other), budget=60, pixel_range=(0, 16))
    assert calls == [scripted, other]
    with torch.no_grad():  # trained further in place: the same object, another network
        next(other.parameters()).mul_(1.5)
    attack(other, IMAGES, labels_of(other), budget=60, pixel_range=(0, 16))
    assert calls == [scripted, other, other]
