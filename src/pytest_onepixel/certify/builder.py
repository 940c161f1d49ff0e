"""What both converters share: a node list under construction, constants folded as they come,
and the binary ops (an activation with a constant, or with another activation).

A value is an activation (the index of the node that computes it) or a constant (a numpy array
or a number); a constant meeting an activation becomes an `affine` node, two activations become
`add`, `sub`, `square` (x * x) or `div`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .graph import Graph, Node, unsupported


@dataclass(frozen=True)
class Act:
    """An activation: the node index and its per-sample shape."""

    index: int
    shape: tuple[int, ...]


@dataclass
class Builder:
    """The graph under construction."""

    input_shape: tuple[int, ...]
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes.append(Node("input", (), {}, "input"))

    def emit(self, kind: str, inputs: tuple[Act, ...], attrs: dict, name: str, shape) -> Act:
        self.nodes.append(Node(kind, tuple(a.index for a in inputs), attrs, name))
        return Act(len(self.nodes) - 1, tuple(shape))

    def graph(self, output: Act, softmax_dropped: bool) -> Graph:
        return Graph(tuple(self.nodes), output.index, softmax_dropped)

    def per_sample(self, value: object, act: Act, name: str) -> np.ndarray:
        """A constant broadcast against an activation, its batch axis (if any) dropped."""
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == len(act.shape) + 1:
            if array.shape[0] != 1:
                raise unsupported("constant", name, f"shape {array.shape} varies over the batch")
            array = array[0]
        np.broadcast_shapes(array.shape, act.shape)
        return array

    def binary(self, op: str, left: object, right: object, name: str) -> object:
        """left op right for op in add, sub, mul, div (either side an Act or a constant)."""
        if not isinstance(left, Act) and not isinstance(right, Act):
            return _fold(op, left, right)
        if isinstance(left, Act) and isinstance(right, Act):
            return self._both_active(op, left, right, name)
        if isinstance(left, Act):
            c = self.per_sample(right, left, name)
            factor, shift = {
                "add": (1.0, c),
                "sub": (1.0, -c),
                "mul": (c, 0.0),
                "div": (1.0 / c, 0.0),
            }[op]
            return self.affine(left, factor, shift, name)
        c = self.per_sample(left, right, name)
        if op == "div":
            raise unsupported("Div", name, "a constant divided by an activation")
        factor, shift = {"add": (1.0, c), "sub": (-1.0, c), "mul": (c, 0.0)}[op]
        return self.affine(right, factor, shift, name)

    def affine(self, act: Act, factor: object, shift: object, name: str, fan_in: int = 2) -> Act:
        factor, shift = np.asarray(factor, np.float64), np.asarray(shift, np.float64)
        shape = np.broadcast_shapes(act.shape, factor.shape, shift.shape)
        attrs = {"factor": factor, "shift": shift, "fan_in": fan_in}
        return self.emit("affine", (act,), attrs, name, shape)

    def _both_active(self, op: str, left: Act, right: Act, name: str) -> Act:
        shape = np.broadcast_shapes(left.shape, right.shape)
        if op in ("add", "sub"):
            return self.emit(op, (left, right), {}, name, shape)
        if op == "mul" and left.index == right.index:
            return self.emit("square", (left,), {}, name, shape)
        if op == "div":  # the bound needs a positive denominator (else the box is unproven)
            return self.emit("div", (left, right), {}, name, shape)
        raise unsupported(op.capitalize(), name, "of two activations")

    def standard_deviation(self, act: Act, dims, keepdim: bool, correction, name: str, root=True):
        """std (or var, root=False) over per-sample `dims`, as mean, sub, square, mean, sqrt:
        each with its own bound, so per-image standardisation needs no special op."""
        dims = tuple(sorted(dims))
        count = int(np.prod([act.shape[d] for d in dims]))
        kept = tuple(1 if d in dims else s for d, s in enumerate(act.shape))
        mean = self.emit("mean", (act,), {"dims": dims, "keepdim": True}, f"{name}.mean", kept)
        centred = self.emit("sub", (act, mean), {}, f"{name}.centred", act.shape)
        squared = self.emit("square", (centred,), {}, f"{name}.squared", act.shape)
        spread = self.emit("mean", (squared,), {"dims": dims, "keepdim": True}, name, kept)
        if correction:
            spread = self.affine(spread, count / (count - correction), 0.0, f"{name}.correction")
        result = self.emit("sqrt", (spread,), {}, name, kept) if root else spread
        if keepdim:
            return result
        shape = tuple(s for d, s in enumerate(act.shape) if d not in dims)
        return self.emit("reshape", (result,), {"shape": shape}, f"{name}.squeeze", shape)


def _fold(op: str, left: object, right: object) -> object:
    a, b = np.asarray(left, np.float64), np.asarray(right, np.float64)
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op]
