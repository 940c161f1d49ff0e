"""A model packed to be loaded again in another process, by content: what a Ray actor receives.

A cluster's workers need not share the driver's disk, so a model travels as the bytes it is
made of: an ONNX file and its external-data files, a PyTorch file, a factory's name plus its
state_dict file (the factory's code must be importable on the workers, like the plugin), or,
for a module or callable that only exists in memory, the object itself (pickled by the
executor). `load()` writes the files into a folder of the worker's and loads them with the
same options, so the worker's model is the driver's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import CallableModel, Model
from .identity import external_data_files


@dataclass(frozen=True)
class ModelPackage:
    """How to make the model again: a `kind`, its files by name, and the load options."""

    kind: str  # onnx, onnx-graph, torch-file, factory, object, preprocessed
    files: dict[str, bytes] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    obj: Any = None  # the in-memory module or callable, or the inner package
    layout: str | None = None

    @classmethod
    def of(cls, model: Model) -> ModelPackage:
        from .onnx_model import OnnxModel
        from .preprocess import PreprocessedModel
        from .torch_model import TorchModel

        if isinstance(model, PreprocessedModel):
            inner = cls.of(model.inner)
            options = {"preprocess": model.preprocess, "layout": model.layout}
            return cls("preprocessed", options=options, obj=inner, layout=model.layout)
        if isinstance(model, OnnxModel):
            return _onnx(model)
        if isinstance(model, TorchModel):
            return _torch(model)
        if isinstance(model, CallableModel):
            return cls("object", obj=model.function, layout=model.layout)
        return cls("object", obj=model, layout=model.layout)

    def load(self, folder: Path, threads: int | None = None) -> Model:
        """The model, its files written under `folder`; `threads` when the options set none."""
        from . import load_model
        from .preprocess import PreprocessedModel

        for name, content in self.files.items():
            (folder / name).write_bytes(content)
        options = {**self.options}
        if "threads" in options and options["threads"] is None:
            options["threads"] = threads
        if self.kind == "preprocessed":
            inner = self.obj.load(folder, threads)
            return PreprocessedModel(inner, options["preprocess"], options["layout"])
        if self.kind == "onnx-graph":
            from .onnx_model import OnnxModel

            graph = options.pop("graph")
            return OnnxModel(options.pop("name"), graph=graph, **options)
        if self.kind == "factory":
            source = options.pop("spec")
            if options.get("weights"):
                options["weights"] = str(folder / options["weights"])
        elif self.kind == "object":
            source = self.obj
        else:
            source = str(folder / options.pop("source"))
        model = source if isinstance(source, Model) else load_model(source, **options)
        if self.layout is not None:
            model.layout = self.layout
        return model


def _onnx(model: Any) -> ModelPackage:
    options = {
        "input_name": model.input_name,
        "output_name": model.output_name,
        "threads": model.threads,
        "device": model.device,
    }
    if model.graph is not None:
        options = {**options, "graph": model.graph, "name": str(model.path)}
        return ModelPackage("onnx-graph", options=options, layout=model.layout)
    paths = [model.path, *external_data_files(model.path)]
    files = {path.name: path.read_bytes() for path in paths}
    return ModelPackage("onnx", files, {**options, "source": model.path.name}, layout=model.layout)


def _torch(model: Any) -> ModelPackage:
    options = {"threads": model.threads, "device": str(model.device), "output": model.output}
    kind, *where = model.origin
    if kind == "file":
        path = Path(where[0])
        files = {path.name: path.read_bytes()}
        return ModelPackage(
            "torch-file", files, {**options, "source": path.name}, layout=model.layout
        )
    if kind == "factory":
        spec, weights = where
        files = {Path(weights).name: Path(weights).read_bytes()} if weights else {}
        options = {**options, "spec": spec, "weights": Path(weights).name if weights else None}
        return ModelPackage("factory", files, options, layout=model.layout)
    return ModelPackage("object", obj=model.module, options=options, layout=model.layout)
