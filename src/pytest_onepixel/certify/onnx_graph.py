"""ONNX files as provable graphs, through a small interpreter of our own over the onnx graph.

Initializers and Constant nodes are constants (onnx.numpy_helper); a node whose inputs are all
constants (shape arithmetic such as Shape -> Gather -> Concat before a Reshape) is folded with
onnx's reference evaluator; every other node maps to a kind of graph.py. Shapes are tracked by
running each new node's exact forward on a zero image, so Reshape and Flatten need no shape
inference of their own. A Softmax or LogSoftmax producing the output is dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .builder import Act, Builder
from .graph import Graph, unsupported
from .onnx_ops import OnnxOps, OnnxShapeOps

_ALIASES = ("Identity", "Dropout", "Cast")
_SOFTMAX = ("Softmax", "LogSoftmax")


def graph_of_onnx(source, image_shape: tuple[int, ...]) -> Graph:
    """The graph of an ONNX model (a path, serialized bytes or a ModelProto)."""
    import onnx

    if isinstance(source, bytes):
        proto = onnx.load_from_string(source)
    elif isinstance(source, (str, Path)):
        proto = onnx.load(str(source))
    else:
        proto = source
    return _OnnxConverter(proto.graph, tuple(image_shape)).convert()


class _OnnxConverter(OnnxOps, OnnxShapeOps):
    """One pass over the nodes (ONNX graphs are stored in topological order)."""

    def __init__(self, graph, image_shape: tuple[int, ...]) -> None:
        from onnx import numpy_helper

        self.onnx_graph = graph
        self.builder = Builder(image_shape)
        # constants keep their stored dtype (folding needs it); the ops read them as float64
        self.values: dict[str, object] = {
            t.name: numpy_helper.to_array(t) for t in graph.initializer
        }
        inputs = [i.name for i in graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise unsupported("graph", ",".join(inputs), "the model must take one image input")
        self.values[inputs[0]] = Act(0, image_shape)
        self.softmax: set[str] = set()

    def convert(self) -> Graph:
        for node in self.onnx_graph.node:
            outputs = self._node(node)
            for name, value in zip(node.output, outputs, strict=False):
                self.values[name] = value
        output = self.onnx_graph.output[0].name
        result = self.values[output]
        if not isinstance(result, Act):
            raise unsupported("output", output, "the output must be computed from the image")
        return self.builder.graph(result, output in self.softmax)

    def _input(self, node, position: int):
        if position >= len(node.input) or not node.input[position]:
            return None
        name = node.input[position]
        if name in self.softmax:
            raise unsupported("Softmax", node.name or name, "a softmax before the output")
        return self.values[name]

    def _node(self, node) -> list:
        args = [self._input(node, i) for i in range(len(node.input))]
        label = node.name or node.output[0]
        if node.op_type == "Constant":
            return [_constant(node)]
        if not any(isinstance(a, Act) for a in args):
            return _fold(node, args)
        if node.op_type in _ALIASES:
            return [args[0]]
        if node.op_type in _SOFTMAX:
            self.softmax.add(node.output[0])
            return [args[0]]
        rule = getattr(self, f"op_{node.op_type}", None)
        if rule is None:
            raise unsupported(node.op_type, label)
        return [rule(node, args, _attributes(node), label)]


def _attributes(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _constant(node) -> np.ndarray:
    from onnx import numpy_helper

    attrs = {a.name: a for a in node.attribute}
    if "value" in attrs:
        value = numpy_helper.to_array(attrs["value"].t)
    else:
        value = np.asarray(_attributes(node)[next(iter(attrs))])
    return value


def _fold(node, args: list) -> list:
    """A node on constants only, evaluated by onnx's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    feeds = {
        name: np.asarray(value)
        for name, value in zip(node.input, args, strict=True)
        if name and value is not None
    }
    return list(ReferenceEvaluator(node).run(None, feeds))


__all__ = ["Act", "graph_of_onnx"]
