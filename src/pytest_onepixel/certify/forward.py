"""The exact forward of each op kind, in float64 on a (N, *S) batch.

The bound transformers (bounds.py) reuse these for their linear parts, and `Graph.run` uses them
to tie a converted graph to its model in the tests.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .node import Node

Tensor = torch.Tensor


def const(value: object, like: Tensor) -> Tensor:
    """A constant attribute as a float64 tensor on the activation's device."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype=torch.float64, device=like.device)
    return torch.as_tensor(np.array(value, dtype=np.float64), device=like.device)


def pool_args(attrs: dict) -> dict:
    return {
        "kernel_size": attrs["kernel"],
        "stride": attrs["stride"],
        "padding": attrs["padding"],
        "ceil_mode": attrs.get("ceil_mode", False),
    }


def maxpool(x: Tensor, attrs: dict, return_indices: bool = False):
    """Max pooling over the last two axes (a (N, C, H, W) or (M, C, H, W) batch)."""
    return F.max_pool2d(
        x, dilation=attrs.get("dilation", 1), return_indices=return_indices, **pool_args(attrs)
    )


def avgpool(x: Tensor, attrs: dict) -> Tensor:
    return F.avg_pool2d(
        x, count_include_pad=attrs.get("count_include_pad", True), **pool_args(attrs)
    )


def linear_part(node: Node, x: Tensor) -> Tensor:
    """The op without its bias, for ops that are linear (kinds conv, linear, affine, mean,
    avgpool, adaptive_avgpool, reshape, transpose)."""
    a = node.attrs
    if node.kind == "conv":
        w = const(a["weight"], x)
        return F.conv2d(x, w, None, a["stride"], a["padding"], a["dilation"], a["groups"])
    if node.kind == "linear":
        return x @ const(a["weight"], x).T
    if node.kind == "affine":
        return x * const(a["factor"], x)
    if node.kind == "mean":
        return x.mean(dim=tuple(d + 1 for d in a["dims"]), keepdim=a["keepdim"])
    if node.kind == "avgpool":
        return avgpool(x, a)
    if node.kind == "adaptive_avgpool":
        return F.adaptive_avg_pool2d(x, a["output_size"])
    if node.kind == "reshape":
        return x.reshape(len(x), *a["shape"])
    if node.kind == "transpose":
        return x.permute(0, *(d + 1 for d in a["perm"]))
    raise KeyError(node.kind)


def bias_of(node: Node) -> object | None:
    """The constant an affine-like op adds after its linear part (None for none)."""
    return node.attrs.get("bias" if node.kind in ("conv", "linear") else "shift")


def forward_node(node: Node, xs: list[Tensor]) -> Tensor:
    """The exact value of `node` on its inputs' values."""
    a, x = node.attrs, xs[0]
    if node.kind in ("conv", "linear", "affine", "mean", "avgpool", "adaptive_avgpool"):
        out = linear_part(node, x)
        bias = bias_of(node)
        if bias is None:
            return out
        bias = const(bias, x)
        return out + (bias.reshape(-1, 1, 1) if node.kind == "conv" else bias)
    if node.kind in ("reshape", "transpose"):
        return linear_part(node, x)
    simple = {
        "relu": lambda: torch.relu(x),
        "leaky_relu": lambda: F.leaky_relu(x, a.get("slope", 0.01)),
        "clip": lambda: x.clamp(a["low"], a["high"]),
        "add": lambda: x + xs[1],
        "sub": lambda: x - xs[1],
        "square": lambda: x * x,
        "sqrt": lambda: x.clamp(min=0).sqrt(),
        "div": lambda: x / xs[1],
        "concat": lambda: torch.cat(xs, dim=a["axis"] + 1),
        "maxpool": lambda: maxpool(x, a),
    }
    return simple[node.kind]()
