"""The ONNX op rules of the interpreter (a mixin of onnx_graph._OnnxConverter): one method per
op type, each mapping the node to graph kinds or raising UnsupportedOpError."""

from __future__ import annotations

import numpy as np

from .builder import Act
from .graph import unsupported


def _symmetric(pads, label: str, op: str) -> tuple[int, int]:
    pads = tuple(pads or (0, 0, 0, 0))
    if len(pads) != 4 or pads[:2] != pads[2:]:
        raise unsupported(op, label, f"asymmetric pads {pads}")
    return pads[0], pads[1]


def _auto_pad(attrs: dict, label: str, op: str) -> None:
    mode = attrs.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("NOTSET", "VALID"):
        raise unsupported(op, label, f"auto_pad {mode}")


def _per_sample_axes(axes, rank: int, label: str, op: str) -> tuple[int, ...]:
    picked = tuple(int(a) % (rank + 1) for a in axes)
    if 0 in picked:
        raise unsupported(op, label, "an op over the batch axis")
    return tuple(a - 1 for a in picked)


def _shaped(builder, kind: str, inputs: tuple[Act, ...], attrs: dict, label: str) -> Act:
    """Emit a node whose output shape is found by running its exact forward on zeros."""
    import torch

    from .forward import forward_node
    from .node import Node

    node = Node(kind, tuple(a.index for a in inputs), attrs, label)
    zeros = [torch.zeros(1, *a.shape, dtype=torch.float64) for a in inputs]
    shape = tuple(forward_node(node, zeros).shape[1:])
    return builder.emit(kind, inputs, attrs, label, shape)


class OnnxOps:
    """op_<OpType>(node, args, attrs, label) -> Act, for each op type the proof can bound
    (pooling and shape ops in OnnxShapeOps)."""

    def op_Conv(self, node, args, attrs, label) -> Act:
        x, weight, bias = args[0], args[1], args[2] if len(args) > 2 else None
        _auto_pad(attrs, label, "Conv")
        if isinstance(weight, Act) or isinstance(bias, Act) or np.ndim(weight) != 4:
            raise unsupported("Conv", label, "a 2-D convolution with constant weights")
        conv = {
            "weight": weight,
            "bias": bias,
            "stride": tuple(attrs.get("strides", (1, 1))),
            "padding": _symmetric(attrs.get("pads"), label, "Conv"),
            "dilation": tuple(attrs.get("dilations", (1, 1))),
            "groups": int(attrs.get("group", 1)),
        }
        return _shaped(self.builder, "conv", (x,), conv, label)

    def op_Gemm(self, node, args, attrs, label) -> Act:
        x, weight = args[0], args[1]
        bias = args[2] if len(args) > 2 else None
        if attrs.get("transA", 0) or isinstance(weight, Act) or isinstance(bias, Act):
            raise unsupported("Gemm", label, "transA, or weights that are activations")
        weight = np.asarray(weight) if attrs.get("transB", 0) else np.asarray(weight).T
        weight = attrs.get("alpha", 1.0) * weight
        if bias is not None:
            bias = np.broadcast_to(attrs.get("beta", 1.0) * np.asarray(bias), weight.shape[:1])
        return _shaped(self.builder, "linear", (x,), {"weight": weight, "bias": bias}, label)

    def op_MatMul(self, node, args, attrs, label) -> Act:
        x, weight = args
        if not isinstance(x, Act) or isinstance(weight, Act) or np.ndim(weight) != 2:
            raise unsupported("MatMul", label, "an activation times a constant matrix")
        return _shaped(
            self.builder, "linear", (x,), {"weight": np.asarray(weight).T, "bias": None}, label
        )

    def op_BatchNormalization(self, node, args, attrs, label) -> Act:
        x, scale, bias, mean, var = args[:5]
        factor = np.asarray(scale) / np.sqrt(np.asarray(var) + attrs.get("epsilon", 1e-5))
        shift = np.asarray(bias) - np.asarray(mean) * factor
        extra = (1,) * (len(x.shape) - 1)
        return self.builder.affine(
            x, factor.reshape(-1, *extra), shift.reshape(-1, *extra), label, fan_in=4
        )

    def op_Relu(self, node, args, attrs, label) -> Act:
        return self.builder.emit("relu", (args[0],), {}, label, args[0].shape)

    def op_LeakyRelu(self, node, args, attrs, label) -> Act:
        slope = float(attrs.get("alpha", 0.01))
        if not 0 <= slope <= 1:
            raise unsupported("LeakyRelu", label, f"alpha {slope} outside [0, 1]")
        return self.builder.emit("leaky_relu", (args[0],), {"slope": slope}, label, args[0].shape)

    def op_Clip(self, node, args, attrs, label) -> Act:
        low = args[1] if len(args) > 1 else attrs.get("min")
        high = args[2] if len(args) > 2 else attrs.get("max")
        if isinstance(low, Act) or isinstance(high, Act):
            raise unsupported("Clip", label, "bounds that are activations")
        low = None if low is None else float(low)
        high = None if high is None else float(high)
        attrs = {"low": low, "high": high}
        return self.builder.emit("clip", (args[0],), attrs, label, args[0].shape)

    def _binary(self, op: str, args, label) -> Act:
        return self.builder.binary(op, args[0], args[1], label)

    def op_Add(self, node, args, attrs, label) -> Act:
        return self._binary("add", args, label)

    def op_Sub(self, node, args, attrs, label) -> Act:
        return self._binary("sub", args, label)

    def op_Mul(self, node, args, attrs, label) -> Act:
        return self._binary("mul", args, label)

    def op_Div(self, node, args, attrs, label) -> Act:
        return self._binary("div", args, label)

    def op_Pow(self, node, args, attrs, label) -> Act:
        if isinstance(args[1], Act) or float(np.asarray(args[1])) != 2.0:
            raise unsupported("Pow", label, "an exponent other than the constant 2")
        return self.builder.emit("square", (args[0],), {}, label, args[0].shape)

    def op_Sqrt(self, node, args, attrs, label) -> Act:
        return self.builder.emit("sqrt", (args[0],), {}, label, args[0].shape)

    def op_Concat(self, node, args, attrs, label) -> Act:
        if not all(isinstance(a, Act) for a in args):
            raise unsupported("Concat", label, "a constant among the concatenated tensors")
        axis = _per_sample_axes([attrs["axis"]], len(args[0].shape), label, "Concat")[0]
        return _shaped(self.builder, "concat", tuple(args), {"axis": axis}, label)


class OnnxShapeOps:
    """Pooling, reductions and shape ops (op_<OpType>, as in OnnxOps)."""

    def _pool_attrs(self, attrs, label, op) -> dict:
        _auto_pad(attrs, label, op)
        kernel = tuple(attrs["kernel_shape"])
        if len(kernel) != 2:
            raise unsupported(op, label, "a pooling that is not 2-D")
        return {
            "kernel": kernel,
            "stride": tuple(attrs.get("strides", (1, 1))),
            "padding": _symmetric(attrs.get("pads"), label, op),
            "ceil_mode": bool(attrs.get("ceil_mode", 0)),
        }

    def op_MaxPool(self, node, args, attrs, label) -> Act:
        if len(node.output) > 1 and node.output[1]:
            raise unsupported("MaxPool", label, "its indices output")
        pool = self._pool_attrs(attrs, label, "MaxPool")
        pool["dilation"] = tuple(attrs.get("dilations", (1, 1)))
        return _shaped(self.builder, "maxpool", (args[0],), pool, label)

    def op_AveragePool(self, node, args, attrs, label) -> Act:
        pool = self._pool_attrs(attrs, label, "AveragePool")
        pool["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
        return _shaped(self.builder, "avgpool", (args[0],), pool, label)

    def op_GlobalAveragePool(self, node, args, attrs, label) -> Act:
        return _shaped(self.builder, "adaptive_avgpool", (args[0],), {"output_size": (1, 1)}, label)

    def op_ReduceMean(self, node, args, attrs, label) -> Act:
        x = args[0]
        axes = args[1] if len(args) > 1 and args[1] is not None else attrs.get("axes")
        if axes is None:
            raise unsupported("ReduceMean", label, "a mean over the batch axis")
        dims = _per_sample_axes(np.atleast_1d(axes), len(x.shape), label, "ReduceMean")
        mean = {"dims": tuple(sorted(dims)), "keepdim": bool(attrs.get("keepdims", 1))}
        return _shaped(self.builder, "mean", (x,), mean, label)

    def op_Flatten(self, node, args, attrs, label) -> Act:
        if attrs.get("axis", 1) != 1:
            raise unsupported("Flatten", label, "an axis other than 1")
        shape = (int(np.prod(args[0].shape)),)
        return self.builder.emit("reshape", (args[0],), {"shape": shape}, label, shape)

    def op_Reshape(self, node, args, attrs, label) -> Act:
        x, target = args
        if isinstance(target, Act):
            raise unsupported("Reshape", label, "a shape computed from activations")
        target = [int(t) for t in np.asarray(target)[1:]]
        shape = [x.shape[i] if t == 0 else t for i, t in enumerate(target)]
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape[shape.index(-1)] = int(np.prod(x.shape)) // known
        shape = tuple(shape)
        if np.prod(shape) != np.prod(x.shape):
            raise unsupported("Reshape", label, "a reshape that mixes images of the batch")
        return self.builder.emit("reshape", (x,), {"shape": shape}, label, shape)

    def op_Transpose(self, node, args, attrs, label) -> Act:
        perm = tuple(attrs["perm"])
        if perm[0] != 0:
            raise unsupported("Transpose", label, "a permutation moving the batch axis")
        attrs = {"perm": tuple(p - 1 for p in perm[1:])}
        return _shaped(self.builder, "transpose", (args[0],), attrs, label)

    def op_Shape(self, node, args, attrs, label) -> np.ndarray:
        return np.asarray((1, *args[0].shape), dtype=np.int64)
