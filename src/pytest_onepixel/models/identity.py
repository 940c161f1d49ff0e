"""A model's content hash without loading it: what the result cache is keyed by.

Loading a model can cost more than a cached gate (an ONNX Runtime session, a PyTorch archive),
so the hash of what a model source *would* load is computed from its files alone: an `.onnx`
file and its external-data weight files, a PyTorch file, a factory's source file and its
state_dict file, an in-memory module's tensors. The adapters use the same functions, so a hash
computed here equals the loaded model's `content_hash`.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..importing import looks_like_spec
from ..paths import unreadable_reason
from .base import CallableModel, Model, file_hash

ONNX_SUFFIX = ".onnx"
TORCH_SUFFIXES = (".pt", ".pth", ".pt2", ".ts", ".jit")
#: How a TensorProto names its external data file, protobuf-encoded: StringStringEntryProto
#: {key (field 1) = "location", value (field 2) = ...}.
_LOCATION = b"\x0a\x08location\x12"


def onnx_hash(path: Path) -> str:
    """The .onnx file and every external-data file its tensors name."""
    return file_hash(path, *external_data_files(path))


def external_data_files(path: Path) -> list[Path]:
    """The files an ONNX model keeps its weights in (`*.onnx.data` and the like), found from
    the `location` entries of its tensors' external data, so that the model's hash changes when
    those weights do. Read from the protobuf bytes: the `onnx` package is not needed."""
    data = path.read_bytes()
    found: set[Path] = set()
    start = data.find(_LOCATION)
    while start >= 0:
        length, at = _varint(data, start + len(_LOCATION))
        candidate = path.parent / data[at : at + length].decode("utf-8", "replace")
        if candidate.is_file():
            found.add(candidate)
        start = data.find(_LOCATION, at + length)
    return sorted(found)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while at < len(data):
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            break
        shift += 7
    return value, at


def is_torch_module(source: object) -> bool:
    """True for nn.Module instances, checked without importing torch for other models."""
    return any(
        f"{cls.__module__}.{cls.__qualname__}" == "torch.nn.modules.module.Module"
        for cls in type(source).__mro__
    )


def module_hash(module: Any) -> str:
    """sha256 over an in-memory module's class name, parameters and buffers (all of them:
    state_dict leaves out non-persistent buffers, which can change the output too)."""
    import torch

    digest = hashlib.sha256(type(module).__qualname__.encode())
    named = [*module.named_parameters(), *module.named_buffers()]
    for name, tensor in sorted(named, key=lambda pair: pair[0]):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def factory_hash(spec: str, weights: str | Path | None) -> str:
    """The factory's name, the source file of its module (architecture changes count), and its
    state_dict file."""
    digest = hashlib.sha256(spec.encode())
    try:
        found = importlib.util.find_spec(spec.partition(":")[0])
    except (ImportError, ValueError):
        found = None
    if found is not None and found.origin and Path(found.origin).is_file():
        digest.update(file_hash(Path(found.origin)).encode())
    if weights is not None:
        digest.update(file_hash(Path(weights)).encode())
    return digest.hexdigest()


def content_hash_of(source: object, options: Mapping[str, Any]) -> str | None:
    """The content hash `load_model(source, **options)` would give, or None when only loading
    can tell (an unknown kind of source, or a file that is not there: loading says why)."""
    if isinstance(source, Model):
        return source.content_hash
    if is_torch_module(source):
        return module_hash(source)
    if looks_like_spec(source):
        weights = options.get("weights")
        if weights is not None and unreadable_reason(Path(weights)) is not None:
            return None
        return factory_hash(str(source), weights)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if unreadable_reason(path) is not None:
            return None
        if path.suffix.lower() == ONNX_SUFFIX:
            return onnx_hash(path)
        return file_hash(path) if path.suffix.lower() in TORCH_SUFFIXES else None
    if callable(source):
        return CallableModel(source).content_hash
    return None
