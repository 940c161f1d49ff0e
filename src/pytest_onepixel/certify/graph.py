"""A model as a list of provable ops: the one shape both PyTorch and ONNX models take here.

A `Graph` is a topologically ordered list of `Node`s over one image (shapes are per sample, the
batch axis is implicit); node 0 is the input, in the layout the model's `predict` takes. The
converters (fx_graph.py for `torch.fx`, onnx_graph.py for ONNX files) map each op of the model to
one of the kinds below, or raise `UnsupportedOpError` naming the op and the node. The exact
forward in float64 (`run`) is how the tests tie a graph to its model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedOpError
from .forward import forward_node
from .node import Node

#: Every op kind a graph may hold; ops.py and bounds.py give each its forward and bound.
KINDS = (
    "input",
    "conv",
    "linear",
    "affine",
    "relu",
    "leaky_relu",
    "clip",
    "add",
    "sub",
    "square",
    "sqrt",
    "div",
    "mean",
    "concat",
    "maxpool",
    "avgpool",
    "adaptive_avgpool",
    "reshape",
    "transpose",
)


@dataclass(frozen=True)
class Graph:
    """Nodes in order, the output node (class scores before any softmax), and whether a softmax
    was dropped from the output (its float32 rounding then enters the safety margin)."""

    nodes: tuple[Node, ...]
    output: int
    softmax_dropped: bool = False

    def run(self, batch) -> object:
        """The exact forward in float64 on a (N, *S) batch (numpy or torch): scores (N, classes)."""
        import torch

        x = torch.as_tensor(np.asarray(batch), dtype=torch.float64)
        values: list = [x]
        for node in self.nodes[1:]:
            values.append(forward_node(node, [values[i] for i in node.inputs]))
        return values[self.output]


def unsupported(op: str, node: str, why: str = "") -> UnsupportedOpError:
    """The error for an op the proof cannot bound, naming it and pointing to `search: de`."""
    detail = f" ({why})" if why else ""
    return UnsupportedOpError(
        f"search 'certify' cannot bound op {op} at node {node!r}{detail}. The proof supports "
        "Conv, Linear/Gemm/MatMul with constant weights, BatchNorm (eval), ReLU, LeakyReLU, "
        "Clip/Hardtanh, Add/Sub/Mul/Div by constants, residual Add, Concat, MaxPool, AvgPool, "
        "(Adaptive/Global)AveragePool, Flatten/Reshape, Identity, a final softmax and per-image "
        "standardisation; use `search: de` (or `exhaustive`) for this model."
    )
