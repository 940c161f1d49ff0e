"""A PyTorch model's ONNX Runtime twin: the same network exported in memory to run the search.

On a CPU the same network often runs 2.5x to 3.5x faster in ONNX Runtime than in PyTorch, and
the search is nearly all of a gate's model calls. So a PyTorch model is exported once (the
legacy TorchScript-based exporter, dynamic batch axis) to bytes that never touch the disk, and
the export's output is the class-score tensor `select_scores` picks from the model's output.
The twin is only a faster search: whether it may be used is decided by comparing it with the
real model on the clean pass (backends.py), and every success is confirmed on the real model.

A TorchScript module cannot be entered by the exporter's tracer from an eager wrapper ("not part
of the active trace"), so it is exported itself when it returns the class-score tensor, and
otherwise through `torch.jit.trace` of the wrapper (the tracer records a scripted submodule's
graph). A failed attempt is made cheap: the packages the export needs are imported before
anything is traced (the export and the twin need them anyway), and an export that failed is
not tried again for the same model in this process (`_FAILED`, keyed by its content hash).
Nor is one that worked done twice in a row: a model that torch.fx cannot trace (TorchScript) is
guided through the graph of its export (guiding.py), right after the search's twin was
exported; the last export's bytes are kept for the same module object with the same content
hash (`_LAST_EXPORT`, one model's: the object, since the hash does not cover an in-memory
module's code; the hash, since a module trained further in place is another network). On the
colour bench model's TorchScript file (200 images, budget 400) the gate took 1.73 s against
1.89.

Imported only when a twin is requested; it imports torch at module level.
"""

from __future__ import annotations

import importlib
import io
import warnings
import weakref

import numpy as np
import torch

from ..errors import ModelLoadError
from ..importing import first_line
from .onnx_model import OnnxModel
from .torch_model import TorchModel
from .torch_outputs import is_tensor, select_scores

#: The packages an in-memory export and its twin need (the legacy exporter needs `onnx`, not
#: onnxscript).
TWIN_PACKAGES = ("onnx", "onnxruntime")
#: Why the export failed, by (content hash, output, device): a model's export is not retried.
_FAILED: dict[tuple[str, str, str], str] = {}
#: The last export, by the same key: a weak reference to its module, and its bytes.
_LAST_EXPORT: dict[tuple[str, str, str], tuple[weakref.ref, bytes]] = {}


class _ScoresOnly(torch.nn.Module):
    """The module with its class scores as the only output (what the export traces)."""

    def __init__(self, module: object, output: str | int | None) -> None:
        super().__init__()
        self.module = module
        self.output = output

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return select_scores(self.module(pixels), self.output)


def onnx_twin(model: TorchModel, example: np.ndarray, threads: int | None) -> OnnxModel:
    """`model` exported to ONNX in memory and loaded in ONNX Runtime (its CUDA provider when the
    model runs on CUDA); an ImportError names a missing package, a ModelLoadError says why the
    export failed."""
    for package in TWIN_PACKAGES:  # both are needed anyway: looked up before any tracing
        try:
            importlib.import_module(package)
        except ImportError:
            raise ImportError(f"{package} is not installed", name=package) from None
    key = (model.content_hash, repr(model.output), str(model.device))
    if key in _FAILED:
        raise ModelLoadError(_FAILED[key])
    module, graph = _LAST_EXPORT.get(key, (None, None))
    if graph is None or module() is not model.module:  # not this very module's export
        inputs = torch.from_numpy(np.ascontiguousarray(example[:2], dtype=np.float32))
        try:
            graph = _exported(model, inputs.to(model.device))
        except Exception as error:
            _FAILED[key] = f"the ONNX export failed ({first_line(error)})"
            raise ModelLoadError(_FAILED[key]) from None
        _LAST_EXPORT.clear()
        _LAST_EXPORT[key] = (weakref.ref(model.module), graph)
    twin = OnnxModel(
        f"{model.description} (ONNX twin)",
        graph=graph,
        threads=threads,
        device=str(model.device),
    )
    twin.description = f"ONNX Runtime twin of {model.description}"
    return twin


def _exported(model: TorchModel, inputs: torch.Tensor) -> bytes:
    """The ONNX graph of the model's class scores, as bytes."""
    module: torch.nn.Module = _ScoresOnly(model.module, model.output)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(model.module, torch.jit.ScriptModule):
            plain = is_tensor(model.module(inputs)) and model.output in (None, 0)
            module = model.module if plain else torch.jit.trace(module, inputs, check_trace=False)
        buffer = io.BytesIO()
        torch.onnx.export(
            module,
            (inputs,),
            buffer,
            dynamo=False,
            # The model was put in eval mode when loaded; a torch.export module refuses
            # train(), which the exporter's default would call.
            training=torch.onnx.TrainingMode.PRESERVE,
            opset_version=17,
            input_names=["pixels"],
            output_names=["scores"],
            dynamic_axes={"pixels": {0: "n"}, "scores": {0: "n"}},
        )
    return buffer.getvalue()
