"""PyTorch modules as provable graphs, through `torch.fx.symbolic_trace` in eval mode.

Shapes come from running the traced module once on zeros (`ShapeProp`), so flatten, view and
reshape need no arithmetic on sizes. Modules and functions map to the kinds of graph.py; a
softmax (or log-softmax) is dropped when it produces the output, since it keeps the order of
the scores the margin compares.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .builder import Act, Builder
from .fx_functions import FunctionRules, pair, sample_shape
from .graph import Graph, unsupported

_ALIASES = ("Identity", "Dropout", "Dropout2d", "contiguous", "clone", "detach", "float")
_SOFTMAX = ("Softmax", "LogSoftmax", "softmax", "log_softmax")


def graph_of_module(module, image_shape: tuple[int, ...]) -> Graph:
    """The graph of an nn.Module taking (N, *image_shape) batches."""
    import torch
    from torch.fx.passes.shape_prop import ShapeProp

    with contextlib.suppress(NotImplementedError, RuntimeError):
        module.eval()  # torch.export modules refuse .eval(): they run as they were exported
    traced = module if isinstance(module, torch.fx.GraphModule) else _traced(module)
    for batch in (2, 1):  # an exported module may be specialised to batch 1
        try:
            ShapeProp(traced).propagate(torch.zeros(batch, *image_shape))
            break
        except Exception as error:
            failure = error
    else:
        raise unsupported(type(module).__name__, "input", f"it does not run: {failure}")
    return _FxConverter(traced, image_shape, batch).convert()


def _traced(module):
    import torch

    try:
        return torch.fx.symbolic_trace(module)
    except Exception as error:
        name = type(module).__name__
        raise unsupported(name, name, f"torch.fx cannot trace it: {error}") from None


class _FxConverter(FunctionRules):
    """One pass over the fx nodes, in order, mapping each to graph nodes."""

    def __init__(self, traced, image_shape: tuple[int, ...], batch: int) -> None:
        self.traced = traced
        self.batch = batch
        self.modules = dict(traced.named_modules())
        self.builder = Builder(tuple(image_shape))
        self.values: dict = {}
        self.softmax: set = set()

    def convert(self) -> Graph:
        for node in self.traced.graph.nodes:
            if node.op == "placeholder":
                self.values[node] = Act(0, self.builder.input_shape)
            elif node.op == "get_attr":
                self.values[node] = _attribute(self.traced, node.target)
            elif node.op == "output":
                return self._output(node)
            else:
                self.values[node] = self._call(node)
        raise unsupported("graph", "output", "the traced graph has no output")

    def _output(self, node) -> Graph:
        source = node.args[0]
        if isinstance(source, (tuple, list)) and len(source) == 1:
            source = source[0]  # torch.export returns a tuple of outputs
        result = self.values.get(source) if hasattr(source, "op") else None
        if not isinstance(result, Act):
            raise unsupported("output", str(source), "the output must be one tensor of scores")
        return self.builder.graph(result, source in self.softmax)

    def _arg(self, arg, user):
        if hasattr(arg, "op"):
            if arg in self.softmax:
                raise unsupported("softmax", user.name, "a softmax before the output")
            return self.values[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self._arg(a, user) for a in arg)
        return arg

    def _call(self, node):
        args = [self._arg(a, node) for a in node.args]
        kwargs = {k: self._arg(v, node) for k, v in node.kwargs.items()}
        if node.op == "call_module":
            if node.target.startswith("_guards"):
                return None  # torch.export's shape guards
            module = self.modules[node.target]
            return self._module(type(module).__name__, module, args, node)
        name = node.target if isinstance(node.target, str) else node.target.__name__
        if node.op == "call_function" and not _has_act([args, kwargs]):
            return _fold(node.target, args, kwargs)
        return self.function(name.split(".")[0], args, kwargs, node)

    def _module(self, kind: str, module, args: list, node):
        x, b = args[0], self.builder
        if kind in _ALIASES:
            return x
        if kind in _SOFTMAX:
            self.softmax.add(node)
            return x
        if kind == "Conv2d":
            return self._conv(module, x, node)
        if kind == "Linear":
            attrs = _weights(module)
            return b.emit("linear", (x,), attrs, node.name, sample_shape(node))
        if kind.startswith("BatchNorm"):
            return self._batchnorm(module, x, node)
        if kind in ("ReLU", "LeakyReLU", "ReLU6", "Hardtanh"):
            return self._activation(kind, module, x, node)
        if kind in ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten"):
            return self._pool(kind, vars(module), x, node)
        raise unsupported(kind, node.name)

    def _conv(self, module, x: Act, node) -> Act:
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise unsupported("Conv2d", node.name, "padding other than explicit zeros")
        attrs = _weights(module)
        attrs.update(
            stride=module.stride,
            padding=module.padding,
            dilation=module.dilation,
            groups=module.groups,
        )
        return self.builder.emit("conv", (x,), attrs, node.name, sample_shape(node))

    def _batchnorm(self, module, x: Act, node) -> Act:
        if module.running_mean is None:
            raise unsupported(type(module).__name__, node.name, "no running statistics")
        var = module.running_var.double().numpy()
        factor = 1 / np.sqrt(var + module.eps)
        if module.weight is not None:
            factor = factor * module.weight.detach().double().numpy()
        shift = -module.running_mean.double().numpy() * factor
        if module.bias is not None:
            shift = shift + module.bias.detach().double().numpy()
        extra = (1,) * (len(x.shape) - 1)
        factor, shift = factor.reshape(-1, *extra), shift.reshape(-1, *extra)
        return self.builder.affine(x, factor, shift, node.name, fan_in=4)

    def _activation(self, kind: str, module, x: Act, node) -> Act:
        b = self.builder
        if kind == "ReLU":
            return b.emit("relu", (x,), {}, node.name, x.shape)
        if kind == "LeakyReLU":
            return self._leaky(module.negative_slope, x, node)
        low, high = (0.0, 6.0) if kind == "ReLU6" else (module.min_val, module.max_val)
        return b.emit("clip", (x,), {"low": low, "high": high}, node.name, x.shape)

    def _leaky(self, slope: float, x: Act, node) -> Act:
        if not 0 <= slope <= 1:
            raise unsupported("LeakyReLU", node.name, f"negative slope {slope} outside [0, 1]")
        return self.builder.emit("leaky_relu", (x,), {"slope": slope}, node.name, x.shape)

    def _pool(self, kind: str, a: dict, x: Act, node) -> Act:
        b, shape = self.builder, sample_shape(node)
        if kind == "Flatten" or kind == "reshape":
            return b.emit("reshape", (x,), {"shape": shape}, node.name, shape)
        if kind == "AdaptiveAvgPool2d":
            attrs = {"output_size": pair(a["output_size"])}
            return b.emit("adaptive_avgpool", (x,), attrs, node.name, shape)
        attrs = {
            "kernel": pair(a["kernel_size"]),
            "stride": pair(a.get("stride") or a["kernel_size"]),
            "padding": pair(a.get("padding", 0)),
            "ceil_mode": a.get("ceil_mode", False),
        }
        if kind == "MaxPool2d":
            attrs["dilation"] = pair(a.get("dilation", 1))
            return b.emit("maxpool", (x,), attrs, node.name, shape)
        if a.get("divisor_override"):
            raise unsupported("AvgPool2d", node.name, "divisor_override")
        attrs["count_include_pad"] = a.get("count_include_pad", True)
        return b.emit("avgpool", (x,), attrs, node.name, shape)


def _weights(module) -> dict:
    bias = module.bias
    return {
        "weight": module.weight.detach().double().numpy(),
        "bias": None if bias is None else bias.detach().double().numpy(),
    }


def _attribute(traced, target: str) -> np.ndarray:
    value = traced
    for part in target.split("."):
        value = getattr(value, part)
    return value.detach().double().numpy()


def _has_act(value) -> bool:
    if isinstance(value, Act):
        return True
    if isinstance(value, dict):
        return _has_act(list(value.values()))
    return isinstance(value, (list, tuple)) and any(_has_act(v) for v in value)


def _fold(target, args: list, kwargs: dict) -> object:
    """A call on constants only (sizes, weights), run with torch tensors for numpy arrays."""
    import torch

    def to_torch(value):
        if isinstance(value, np.ndarray):
            return torch.from_numpy(value)
        if isinstance(value, (list, tuple)):
            return type(value)(to_torch(v) for v in value)
        return value

    result = target(*to_torch(args), **{k: to_torch(v) for k, v in kwargs.items()})
    return result.numpy() if isinstance(result, torch.Tensor) else result
