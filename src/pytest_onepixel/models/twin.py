"""A PyTorch model's ONNX Runtime twin: the same network exported in memory to run the search.

On a CPU the same network often runs 2.5x to 3.5x faster in ONNX Runtime than in PyTorch, and
the search is nearly all of a gate's model calls. So a PyTorch model is exported once (the
legacy TorchScript-based exporter, dynamic batch axis) to bytes that never touch the disk, and
the export's output is the class-score tensor `select_scores` picks from the model's output.
The twin is only a faster search: whether it may be used is decided by comparing it with the
real model on the clean pass (backends.py), and every success is confirmed on the real model.

Imported only when a twin is requested; it imports torch at module level.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from ..errors import ModelLoadError
from ..importing import first_line
from .onnx_model import OnnxModel
from .torch_model import TorchModel
from .torch_outputs import select_scores


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
    model runs on CUDA); a ModelLoadError says why when the export fails."""
    wrapper = _ScoresOnly(model.module, model.output)
    inputs = torch.from_numpy(np.ascontiguousarray(example[:2], dtype=np.float32))
    buffer = io.BytesIO()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                (inputs.to(model.device),),
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
    except Exception as error:
        raise ModelLoadError(f"the ONNX export failed ({first_line(error)})") from None
    twin = OnnxModel(
        f"{model.description} (ONNX twin)",
        graph=buffer.getvalue(),
        threads=threads,
        device=str(model.device),
    )
    twin.description = f"ONNX Runtime twin of {model.description}"
    return twin
