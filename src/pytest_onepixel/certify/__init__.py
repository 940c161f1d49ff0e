"""Exact one-pixel verdicts (`search: certify`): prove that no value of any single pixel changes
an image's class, or find one that does, by bound propagation and colour-box splitting.

Loaded lazily (it needs torch): `from pytest_onepixel.certify import certify_images`.
Modules, one job each: node.py and graph.py (the op list of a model), convert.py (which
converter reads a model: fx_graph.py with fx_functions.py for PyTorch, onnx_graph.py with
onnx_ops.py for ONNX, builder.py shared), forward.py (each op's exact forward), ops.py (each op's
bound as a pure function), floats.py (float32 error and the safety margin), bounds.py (dense
propagation), cone.py (the receptive-field saving), margins.py (the margin's lower bound per
box), boxes.py (the queue, splitting, integer points), queries.py (real model queries),
proof.py (one image's search and its record), images.py (the public entry).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_BOUND_MEMORY_MB",
    "DEFAULT_CERTIFY_BUDGET",
    "Graph",
    "ProofRecord",
    "certify_images",
    "graph_of",
]

_HOMES = {
    "DEFAULT_BOUND_MEMORY_MB": "images",
    "DEFAULT_CERTIFY_BUDGET": "images",
    "certify_images": "images",
    "Graph": "graph",
    "graph_of": "convert",
    "ProofRecord": "proof",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
