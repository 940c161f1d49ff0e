"""Which converter reads a model: the plugin's adapters (TorchModel, OnnxModel, either behind a
PreprocessedModel, whose scale and mean/std become the graph's first node), or a bare nn.Module
or ONNX model."""

from __future__ import annotations

import numpy as np

from .graph import Graph, unsupported
from .node import Node


def graph_of(model: object, image_shape: tuple[int, ...]) -> Graph:
    """The provable graph of one of the plugin's models (TorchModel, OnnxModel, either behind a
    PreprocessedModel), or an nn.Module / ONNX ModelProto directly, for images of
    `image_shape` (per sample, in the layout the model's predict takes)."""
    from ..models.onnx_model import OnnxModel
    from ..models.preprocess import PreprocessedModel
    from ..models.torch_model import TorchModel

    if isinstance(model, PreprocessedModel):
        inner = graph_of(model.inner, image_shape)
        return _prepend(_preprocess_nodes(model, image_shape), inner)
    if isinstance(model, TorchModel):
        from .fx_graph import graph_of_module

        return graph_of_module(model.module, image_shape)
    if isinstance(model, OnnxModel):
        from .onnx_graph import graph_of_onnx

        return graph_of_onnx(model.graph if model.graph is not None else model.path, image_shape)
    if type(model).__name__ == "ModelProto" or isinstance(model, (bytes, str)):
        from .onnx_graph import graph_of_onnx

        return graph_of_onnx(model, image_shape)
    if hasattr(model, "forward") and hasattr(model, "named_modules"):
        from .fx_graph import graph_of_module

        return graph_of_module(model, image_shape)
    raise unsupported(type(model).__name__, "model", "not a PyTorch or ONNX model")


def _preprocess_nodes(model: object, image_shape: tuple[int, ...]) -> list[Node]:
    """(x * scale - mean) / std as one per-channel affine node."""
    scale = float(model.scale)
    mean = np.asarray(model.mean, dtype=np.float64).ravel()
    std = np.asarray(model.std, dtype=np.float64).ravel()
    factor, shift = scale / std, -mean / std
    if max(factor.size, shift.size) > 1:
        shape = [1] * len(image_shape)
        shape[0 if model.layout == "NCHW" else len(image_shape) - 1] = -1
        factor, shift = np.broadcast_arrays(factor, shift)
        factor, shift = factor.reshape(shape), shift.reshape(shape)
    else:
        factor, shift = factor[0], shift[0]
    attrs = {"factor": np.asarray(factor), "shift": np.asarray(shift), "fan_in": 3}
    return [Node("affine", (0,), attrs, "preprocess")]


def _prepend(first: list[Node], graph: Graph) -> Graph:
    """`first` (reading node 0) in front of `graph`, whose indices shift past them."""
    offset = len(first)

    def moved(index: int) -> int:
        return offset if index == 0 else index + offset

    nodes = [graph.nodes[0], *first]
    for node in graph.nodes[1:]:
        nodes.append(Node(node.kind, tuple(moved(i) for i in node.inputs), node.attrs, node.name))
    return Graph(tuple(nodes), moved(graph.output), graph.softmax_dropped)
