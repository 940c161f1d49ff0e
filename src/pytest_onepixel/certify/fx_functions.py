"""torch functions and tensor methods met in an fx trace, mapped to graph kinds."""

from __future__ import annotations

import numpy as np

from .builder import Act
from .graph import unsupported

_BINARY = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "div": "div"}
_INPLACE = {"iadd": "add", "isub": "sub", "imul": "mul", "itruediv": "div"}
_REVERSED = {"radd": "add", "rsub": "sub", "rmul": "mul", "rtruediv": "div", "rdiv": "div"}
_ALIASES = ("contiguous", "clone", "detach", "float", "dropout")
_RESHAPES = ("flatten", "view", "reshape", "squeeze", "unsqueeze")


def sample_shape(node) -> tuple[int, ...]:
    """A node's output shape without the batch axis (from ShapeProp)."""
    return tuple(node.meta["tensor_meta"].shape[1:])


def pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def sample_dims(dims, rank: int, name: str) -> tuple[int, ...]:
    """torch dims (batch axis 0) as per-sample dims; reducing over the batch is unsupported."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    picked = tuple(d % (rank + 1) for d in dims)
    if 0 in picked or not picked:
        raise unsupported("mean/std", name, "a reduction over the batch axis")
    return tuple(d - 1 for d in picked)


class FunctionRules:
    """The call_function / call_method half of the fx converter (a mixin of _FxConverter)."""

    def function(self, name: str, args: list, kwargs: dict, node):
        name = name.strip("_")
        b, x = self.builder, args[0]
        if name in ("size", "getattr", "sym_size"):
            full = (self.batch, *x.shape)  # the batch ShapeProp ran; only that axis is free
            return full[args[1]] if name != "getattr" and len(args) > 1 else full
        if name == "getitem" and isinstance(x, tuple):
            return x[args[1]]
        if name in _ALIASES:
            return x
        if name in ("softmax", "log_softmax"):
            self.softmax.add(node)
            return x
        op = _BINARY.get(name) or _INPLACE.get(name)
        if op:
            if "alpha" in kwargs:
                raise unsupported(name, node.name, "alpha")
            return b.binary(op, x, args[1] if len(args) > 1 else kwargs["other"], node.name)
        if name in _REVERSED:
            return b.binary(_REVERSED[name], args[1], x, node.name)
        if name in _RESHAPES:
            shape = sample_shape(node)
            return b.emit("reshape", (x,), {"shape": shape}, node.name, shape)
        return self._tensor_function(name, x, args[1:], kwargs, node)

    def _tensor_function(self, name: str, x: Act, rest: list, kwargs: dict, node):
        b = self.builder
        if name in ("conv2d", "linear", "batch_norm", "native_batch_norm_legit_no_training"):
            return self._aten_weighted(name, x, rest, node)
        if name in ("relu", "relu_"):
            return b.emit("relu", (x,), {}, node.name, x.shape)
        if name in ("leaky_relu", "leaky_relu_"):
            return self._leaky(rest[0] if rest else kwargs.get("negative_slope", 0.01), x, node)
        if name in ("clamp", "clip", "hardtanh", "relu6"):
            return self._clamp(name, x, rest, kwargs, node)
        if name in ("max_pool2d", "avg_pool2d"):
            keys = ("kernel_size", "stride", "padding")
            attrs = dict(zip(keys, rest, strict=False)) | kwargs
            tail = ("dilation", "ceil_mode") if name == "max_pool2d" else ("ceil_mode",)
            attrs |= dict(zip((*tail, "count_include_pad"), rest[3:], strict=False))
            return self._pool("MaxPool2d" if name[1] == "a" else "AvgPool2d", attrs, x, node)
        if name == "adaptive_avg_pool2d":
            attrs = {"output_size": rest[0] if rest else kwargs["output_size"]}
            return self._pool("AdaptiveAvgPool2d", attrs, x, node)
        if name == "cat":
            return self._cat(x, rest, kwargs, node)
        if name == "permute":
            dims = rest[0] if len(rest) == 1 and not isinstance(rest[0], int) else rest
            if dims[0] != 0:
                raise unsupported("permute", node.name, "a permutation moving the batch axis")
            perm = tuple(d - 1 for d in dims[1:])
            return b.emit("transpose", (x,), {"perm": perm}, node.name, sample_shape(node))
        return self._reduction(name, x, rest, kwargs, node)

    def _clamp(self, name: str, x: Act, rest: list, kwargs: dict, node) -> Act:
        if name == "relu6":
            low, high = 0.0, 6.0
        elif name == "hardtanh":
            low = rest[0] if rest else kwargs.get("min_val", -1.0)
            high = rest[1] if len(rest) > 1 else kwargs.get("max_val", 1.0)
        else:
            low = rest[0] if rest else kwargs.get("min")
            high = rest[1] if len(rest) > 1 else kwargs.get("max")
        if isinstance(low, Act) or isinstance(high, Act):
            raise unsupported(name, node.name, "bounds that are activations")
        attrs = {"low": low, "high": high}
        return self.builder.emit("clip", (x,), attrs, node.name, x.shape)

    def _cat(self, tensors, rest: list, kwargs: dict, node) -> Act:
        dim = rest[0] if rest else kwargs.get("dim", 0)
        if not all(isinstance(t, Act) for t in tensors):
            raise unsupported("cat", node.name, "a constant among the concatenated tensors")
        axis = sample_dims(dim, len(tensors[0].shape), node.name)[0]
        shape = sample_shape(node)
        return self.builder.emit("concat", tuple(tensors), {"axis": axis}, node.name, shape)

    def _reduction(self, name: str, x: Act, rest: list, kwargs: dict, node):
        b = self.builder
        if name in ("sqrt",):
            return b.emit("sqrt", (x,), {}, node.name, x.shape)
        if name in ("square",) or (name == "pow" and rest and rest[0] == 2):
            return b.emit("square", (x,), {}, node.name, x.shape)
        if name not in ("mean", "std", "var"):
            raise unsupported(name, node.name)
        dims = rest[0] if rest else kwargs.get("dim")
        if dims is None:
            raise unsupported(name, node.name, "a reduction over the batch axis")
        dims = sample_dims(dims, len(x.shape), node.name)
        if name == "mean":  # mean(x, dim, keepdim); std and var(x, dim, unbiased, keepdim)
            keepdim = bool(kwargs.get("keepdim", rest[1] if len(rest) > 1 else False))
            attrs = {"dims": dims, "keepdim": keepdim}
            return b.emit("mean", (x,), attrs, node.name, sample_shape(node))
        keepdim = bool(kwargs.get("keepdim", rest[2] if len(rest) > 2 else False))
        unbiased = kwargs.get("unbiased", rest[1] if len(rest) > 1 else True)
        correction = kwargs.get("correction", 1 if unbiased else 0)
        correction = 1 if correction is None else correction
        return b.standard_deviation(x, dims, keepdim, correction, node.name, name == "std")

    def _aten_weighted(self, name: str, x: Act, rest: list, node):
        """torch.export's functional forms, whose weights are constants (get_attr)."""
        if any(isinstance(r, Act) for r in rest):
            raise unsupported(name, node.name, "weights that are activations")
        b, shape = self.builder, sample_shape(node)
        if name == "linear":
            attrs = {"weight": rest[0], "bias": rest[1] if len(rest) > 1 else None}
            return b.emit("linear", (x,), attrs, node.name, shape)
        if name == "conv2d":
            options = [*rest[2:], *([None] * 4)][:4]
            stride, padding, dilation, groups = options
            if isinstance(padding, str):
                raise unsupported(name, node.name, f"padding {padding!r}")
            attrs = {
                "weight": rest[0],
                "bias": rest[1] if len(rest) > 1 else None,
                "stride": pair(stride or 1),
                "padding": pair(padding or 0),
                "dilation": pair(dilation or 1),
                "groups": int(groups or 1),
            }
            return b.emit("conv", (x,), attrs, node.name, shape)
        return self._aten_batch_norm(name, x, rest, node)

    def _aten_batch_norm(self, name: str, x: Act, rest: list, node):
        """Eval-mode batch norm as a per-channel affine node (the aten op's own argument order:
        batch_norm has `training` before momentum and eps; the no_training form does not)."""
        if name == "batch_norm":
            if rest[4]:
                raise unsupported(name, node.name, "batch statistics (training mode)")
            eps = rest[6]
        else:
            eps = rest[5]
        weight, bias, mean, var = rest[:4]
        factor = 1 / np.sqrt(np.asarray(var, np.float64) + eps)
        factor = factor * (1 if weight is None else np.asarray(weight, np.float64))
        shift = -np.asarray(mean, np.float64) * factor + (0 if bias is None else bias)
        extra = (1,) * (len(x.shape) - 1)
        b = self.builder
        out = b.affine(x, factor.reshape(-1, *extra), shift.reshape(-1, *extra), node.name, 4)
        return out if name == "batch_norm" else (out, None, None)
