"""A model's content hash without loading it: what the result cache is keyed by.

Loading a model can cost more than a cached gate (an ONNX Runtime session, a PyTorch archive),
so the hash of what a model source *would* load is computed from its files alone, streamed in
fixed-size chunks: an `.onnx` file and its external-data weight files, a TorchScript or
`torch.export` file, a factory's state_dict file with the source of every repository module
its package imports (models/sources.py), an in-memory module's tensors. File hashes cover
content, not paths: the same bytes elsewhere hash the same. The ONNX and factory adapters use
the same functions, so their `content_hash` equals the hash computed here.

Only what is hashed completely is cached (`cache_identity`): a model given as live Python code
(a callable, an nn.Module, a pickled module whose classes live in source files) has behaviour
no hash of its data covers, so it is cached only under a `cache_key` the user names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..importing import looks_like_spec
from ..paths import unreadable_reason
from .base import Model
from .sources import repository_sources

ONNX_SUFFIX = ".onnx"
TORCH_SUFFIXES = (".pt", ".pth", ".pt2", ".ts", ".jit")
#: Files are read this many bytes at a time: a 2 GB model never sits in memory whole.
CHUNK = 1 << 20
#: How a TensorProto names its external data file, protobuf-encoded: StringStringEntryProto
#: {key (field 1) = "location", value (field 2) = ...}.
_LOCATION = b"\x0a\x08location\x12"
#: A `location` longer than this is not a file name (bytes that happen to match the pattern).
_LONGEST_LOCATION = 4096
_INCOMPLETE = object()


@dataclass(frozen=True)
class Identity:
    """What the result cache knows a model by: `hash` covers everything that decides its
    answers, or is None (not cached, `reason` says why; `load`: only loading can tell)."""

    hash: str | None
    reason: str = ""
    load: bool = False


def stream_hash(*paths: Path) -> str:
    """sha256 over the files' sizes and bytes, read in CHUNK-sized blocks: content, not names."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.stat().st_size}\0".encode())
        for block in _chunks(path):
            digest.update(block)
    return digest.hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            yield block


def onnx_hash(path: Path) -> str:
    """The .onnx file and every external-data file its tensors name (one streaming pass over
    the .onnx finds them while hashing it)."""
    digest = hashlib.sha256(f"{path.stat().st_size}\0".encode())
    external = _external_data(path, digest.update)
    for extra in external:
        digest.update(stream_hash(extra).encode())
    return digest.hexdigest()


def external_data_files(path: Path) -> list[Path]:
    """The files an ONNX model keeps its weights in (`*.onnx.data` and the like), found from
    the `location` entries of its tensors' external data, so that the model's hash changes when
    those weights do. Read from the protobuf bytes, a chunk at a time: the `onnx` package is
    not needed and the file is never read whole."""
    return _external_data(path, lambda block: None)


def _external_data(path: Path, consume: Any) -> list[Path]:
    """Stream `path` through `consume`, collecting the `location` entries on the way; an entry
    cut by a chunk boundary is kept (from its start) until the next chunk completes it."""
    found: set[Path] = set()
    tail = b""
    for block in _chunks(path):
        consume(block)
        data = tail + block
        tail = data[-(len(_LOCATION) - 1) :]
        start = data.find(_LOCATION)
        while start >= 0:
            entry = _location_at(data, start + len(_LOCATION))
            if entry is _INCOMPLETE:
                tail = data[start:]
                break
            if entry is None:
                start = data.find(_LOCATION, start + 1)
                continue
            name, end = entry
            candidate = path.parent / name.decode("utf-8", "replace")
            if candidate.is_file():
                found.add(candidate)
            start = data.find(_LOCATION, end)
    return sorted(found)


def _location_at(data: bytes, at: int) -> Any:
    """(name, end) of the length-prefixed string at `at`; _INCOMPLETE when `data` ends first;
    None when the length cannot be a file name's."""
    value, shift = 0, 0
    while True:
        if at >= len(data):
            return _INCOMPLETE
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            break
        shift += 7
        if shift > 28:
            return None
    if value > _LONGEST_LOCATION:
        return None
    if at + value > len(data):
        return _INCOMPLETE
    return data[at : at + value], at + value


def is_torch_module(source: object) -> bool:
    """True for nn.Module instances, checked without importing torch for other models."""
    return any(
        f"{cls.__module__}.{cls.__qualname__}" == "torch.nn.modules.module.Module"
        for cls in type(source).__mro__
    )


def module_hash(module: Any) -> str:
    """sha256 over an in-memory module's class name, parameters and buffers (all of them:
    state_dict leaves out non-persistent buffers, which can change the output too). Its code
    (`forward`) is not covered: the cache does not key on this hash alone."""
    import torch

    digest = hashlib.sha256(type(module).__qualname__.encode())
    named = [*module.named_parameters(), *module.named_buffers()]
    for name, tensor in sorted(named, key=lambda pair: pair[0]):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def factory_hash(spec: str, weights: str | Path | None) -> str:
    """The factory's name, the source of every repository module its package imports
    (architecture changes count; models/sources.py), and its state_dict file."""
    return _factory_digest(spec, weights) or hashlib.sha256(spec.encode()).hexdigest()


def _factory_digest(spec: str, weights: str | Path | None) -> str | None:
    """factory_hash, or None when the factory's module cannot be found without importing it."""
    sources = repository_sources(spec.partition(":")[0])
    if sources is None:
        return None
    digest = hashlib.sha256(spec.encode() + b"\0")
    for name, path in sources:
        digest.update(f"{name}\0{stream_hash(path)}\0".encode())
    if weights is not None:
        digest.update(stream_hash(Path(weights)).encode())
    return digest.hexdigest()


def content_hash_of(source: object, options: Mapping[str, Any]) -> str | None:
    """The content hash of a model source that can be hashed completely without loading it
    (files, exported programs, a factory with its repository source and weights), or None:
    live Python code, or a source only loading can tell about (see `cache_identity`)."""
    return cache_identity(source, options, None).hash


def cache_identity(source: object, options: Mapping[str, Any], cache_key: str | None) -> Identity:
    """What the result cache keys a model source by. A `cache_key` the user names covers live
    Python code (with an nn.Module's tensors, so changed weights still re-attack)."""
    found = _identity(source, options)
    if cache_key is None or found.load:
        return found
    parts = ["cache_key", cache_key, found.hash or ""]
    if found.hash is None and is_torch_module(source):
        parts.append(module_hash(source))
    return Identity(hashlib.sha256("\0".join(parts).encode()).hexdigest())


def _identity(source: object, options: Mapping[str, Any]) -> Identity:
    if isinstance(source, Model):
        return loaded_identity(source, passed_in=True)
    if is_torch_module(source):
        return _live(f"an nn.Module ({type(source).__qualname__})")
    if looks_like_spec(source):
        weights = options.get("weights")
        if weights is not None and unreadable_reason(Path(weights)) is not None:
            return Identity(None, load=True)
        digest = _factory_digest(str(source), weights)
        return Identity(digest) if digest else Identity(None, load=True)
    if isinstance(source, (str, Path)):
        return _file_identity(Path(source))
    if callable(source):
        name = getattr(source, "__qualname__", type(source).__qualname__)
        return _live(f"a callable ({name})")
    return Identity(None, load=True)


def _file_identity(path: Path) -> Identity:
    """ONNX, TorchScript and torch.export files hold all their code; a pickled module names
    classes whose code lives elsewhere."""
    if unreadable_reason(path) is not None:
        return Identity(None, load=True)
    suffix = path.suffix.lower()
    if suffix == ONNX_SUFFIX:
        return Identity(onnx_hash(path))
    if suffix not in TORCH_SUFFIXES:
        return Identity(None, load=True)
    if suffix == ".pt2" or _is_torchscript(path):
        return Identity(stream_hash(path))
    return Identity(
        None,
        f"not cached: {path.name} is not TorchScript or torch.export, so it holds a pickled "
        "module (or no model) whose code lives in the classes it names, which no hash of the "
        "file covers; save it with torch.jit.save or torch.export, or name it with the "
        "`cache_key` setting (change the name whenever the model changes) to cache it",
    )


def _is_torchscript(path: Path) -> bool:
    import zipfile

    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def loaded_identity(model: Model, passed_in: bool = False) -> Identity:
    """A Model object's identity: the built-in adapters' own hash when it came from a file or a
    factory; another Model's `content_hash` when a loader hook made it from a named source
    (its documented contract); never a callable's, an nn.Module's or a Model made in the
    test's own code (`passed_in`)."""
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if kind == "pytest_onepixel.models.preprocess.PreprocessedModel":
        return loaded_identity(model.inner, passed_in)
    if kind == "pytest_onepixel.models.onnx_model.OnnxModel" and model.graph is None:
        return Identity(model.content_hash)
    if kind == "pytest_onepixel.models.torch_model.TorchModel":
        origin = tuple(model.origin)
        if origin[0] == "factory":
            return _identity(origin[1], {"weights": origin[2] or None})
        if origin[0] == "file":
            return _file_identity(Path(origin[1]))
        return _live(f"an nn.Module ({model.description})")
    if kind == "pytest_onepixel.models.base.CallableModel":
        return _live(model.description)
    if passed_in:
        return _live(f"a Model object ({type(model).__qualname__})")
    return Identity(model.content_hash)


def _live(what: str) -> Identity:
    return Identity(
        None,
        f"not cached: the model is {what}, live Python code whose behaviour no hash of its "
        "data covers; name it with the `cache_key` setting (e.g. onepixel.check(..., "
        "cache_key='net-v3'), changed whenever the model changes) to cache it, or gate a "
        "saved file (ONNX, TorchScript, torch.export) or a 'package.module:factory' string",
    )
