"""ONNX models through onnxruntime, imported only when an .onnx file is used.

The adapter reads what the graph says about itself: which input and output to use (picked
automatically when there is one, by name otherwise), whether the batch axis is dynamic or fixed
(a fixed batch is served by chunking and zero-padding), the layout (NCHW or NHWC from where the
1- or 3-sized channel axis sits) and, where the output shape is static, the class count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ImageFitError, ModelLoadError
from .base import existing_file, predict_in_fixed_batches
from .identity import onnx_hash

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


class OnnxModel:
    """An ONNX image classifier served by an onnxruntime InferenceSession (CPU by default)."""

    def __init__(
        self,
        path: str | Path,
        *,
        input_name: str | None = None,
        output_name: str | None = None,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        device: str = "cpu",
        graph: bytes | None = None,
    ) -> None:
        """`path` names the model (and is read unless `graph`, the serialized model itself,
        is given: an in-memory export such as a PyTorch model's twin)."""
        ort = _onnxruntime()
        self.path = Path(path) if graph is not None else existing_file(path, "ONNX model")
        self.graph, self.device, self.threads = graph, device, threads
        self.providers = list(providers or _providers_for(device, ort.get_available_providers()))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.log_severity_level = 3
        source = graph if graph is not None else str(self.path)
        try:
            self._session = ort.InferenceSession(source, options, providers=self.providers)
        except Exception as error:
            detail = str(error).strip().splitlines()[0][:300]
            raise ModelLoadError(
                f"{self.path} is not a readable ONNX model ({detail}). Re-export it, and check "
                "that the file was copied whole (a truncated download or a Git LFS pointer "
                "looks like this)."
            ) from None
        graph_input = _pick("input", self._session.get_inputs(), input_name, self.path)
        graph_output = _pick("output", self._session.get_outputs(), output_name, self.path)
        if graph_input.type not in _DTYPES:
            raise ModelLoadError(
                f"{self.path}: input {graph_input.name!r} has type {graph_input.type}; the "
                "attack feeds float pixels, so the model needs a float input."
            )
        self._input = self.input_name = graph_input.name
        self._output = self.output_name = graph_output.name
        self._dtype = _DTYPES[graph_input.type]
        self.input_shape = tuple(
            d if isinstance(d, int) and d > 0 else None for d in graph_input.shape
        )
        self.batch_size = self.input_shape[0] if self.input_shape else None
        self.layout = _layout_of(self.input_shape)
        classes = graph_output.shape[-1] if graph_output.shape else None
        self.num_classes = classes if isinstance(classes, int) and classes > 0 else None
        self.description = (
            f"ONNX {self.path.name} (input {self._input} {_shape_text(graph_input.shape)}, "
            f"output {self._output})"
        )
        self.content_hash = (
            hashlib.sha256(graph).hexdigest() if graph is not None else onnx_hash(self.path)
        )

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if batch.ndim == 3 and len(self.input_shape) == 4:
            batch = batch[:, None] if self.layout != "NHWC" else batch[..., None]
        batch = batch.astype(self._dtype, copy=False)
        if self.batch_size is not None:
            return predict_in_fixed_batches(self._run, batch, self.batch_size)
        return self._run(batch)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([self._output], {self._input: batch})[0]

    def check_fits(self, image_shape: tuple[int, ...], layout: str) -> None:
        """Fail before the first query when the images cannot be this graph's input."""
        wanted = self.input_shape
        rank = len(image_shape) + 1
        per_image = tuple(image_shape)
        if rank == 3 and len(wanted) == 4:  # one-channel images; predict() adds the axis
            per_image = (*per_image, 1) if self.layout == "NHWC" else (1, *per_image)
        if len(wanted) != len(per_image) + 1:
            raise ImageFitError(
                f"{self.path} takes rank-{len(wanted)} input {_shape_text(wanted)} but the "
                f"images are rank {rank} with shape (N, {', '.join(map(str, image_shape))}). "
                "Reshape the data or export the model for this shape."
            )
        for axis, (want, have) in enumerate(zip(wanted[1:], per_image, strict=True), start=1):
            if want is not None and want != have:
                channel_axis = len(wanted) == 4 and axis == (1 if layout == "NCHW" else 3)
                what = "channel count" if channel_axis else "size"
                raise ImageFitError(
                    f"{self.path} takes input {_shape_text(wanted)} but the images have shape "
                    f"(N, {', '.join(map(str, per_image))}) in layout {layout}: the {what} on "
                    f"axis {axis} is {have}, the model wants {want}. Check `layout` and that "
                    "the data are the ones this model was trained on."
                )


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ModelLoadError(
            "ONNX models need onnxruntime, which is not installed: "
            "pip install 'pytest-onepixel[onnx]'."
        ) from None
    return onnxruntime


def _providers_for(device: str, available: Sequence[str]) -> list[str]:
    """CPU by default; `cuda` asks for onnxruntime's CUDA provider, which must be installed."""
    if not device.startswith("cuda"):
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in available:
        raise ModelLoadError(
            f"device {device!r} needs onnxruntime's CUDAExecutionProvider, which this "
            f"onnxruntime does not have (it has {list(available)}); install onnxruntime-gpu "
            "or use device 'cpu'."
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def _pick(kind: str, nodes: Sequence, name: str | None, path: Path):
    names = [node.name for node in nodes]
    if name is None:
        if len(nodes) == 1:
            return nodes[0]
        if kind == "output":
            return nodes[0]
        raise ModelLoadError(
            f"{path} has {len(nodes)} inputs {names}; say which one takes the images with "
            f"input_name (YAML key `input_name`)."
        )
    for node in nodes:
        if node.name == name:
            return node
    raise ModelLoadError(f"{path} has no {kind} named {name!r}; its {kind}s are {names}.")


def _layout_of(shape: tuple[int | None, ...]) -> str | None:
    """NCHW or NHWC from where a 1- or 3-channel axis sits; None when the graph cannot tell."""
    if len(shape) != 4:
        return None
    first, last = shape[1] in (1, 3, 4), shape[3] in (1, 3, 4)
    if first and not last:
        return "NCHW"
    if last and not first:
        return "NHWC"
    return None


def _shape_text(shape: Sequence) -> str:
    dims = [
        "N" if i == 0 else str(d) if isinstance(d, int) and d > 0 else "?"
        for i, d in enumerate(shape)
    ]
    return "(" + ", ".join(dims) + ")"
