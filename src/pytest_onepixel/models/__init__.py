"""Models in the formats repos already keep, behind one small protocol.

`load_model()` picks the adapter by the source's type or file suffix; `attack(model=...)` takes
anything `load_model()` takes. Module names avoid `onnx.py` / `torch.py` so that nothing here
can shadow the real packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import ModelLoadError
from ..importing import looks_like_spec
from .base import CallableModel, Model
from .identity import is_torch_module

__all__ = ["Model", "load_model"]


def load_model(
    source: object,
    *,
    layout: str | None = None,
    weights: str | Path | None = None,
    trust_pickle: bool = False,
    input_name: str | None = None,
    output_name: str | None = None,
    output: str | int | None = None,
    threads: int | None = None,
    providers: Sequence[str] | None = None,
    device: str = "cpu",
) -> Model:
    """A Model from a path (.onnx, .pt/.pth/.ts TorchScript or pickled module, .pt2), a
    ``"package.module:factory"`` string (plus `weights`, a state_dict file), an nn.Module, an
    existing Model, or any callable mapping a float32 batch to class scores.

    `layout` overrides the layout the model reports (ONNX detects it from the input shape;
    PyTorch models take NCHW). `output` picks the class scores among a PyTorch model's outputs
    (a dict key or tuple index; default: `logits`, else the only tensor) or names an ONNX output
    (as `output_name` does). Preprocessing belongs to the attack, which knows the images'
    layout: `attack(..., preprocess={scale, mean, std})`.
    """
    if isinstance(output, str) and output_name is None:
        output_name = output
    model = _adapter(
        source,
        weights=weights,
        trust_pickle=trust_pickle,
        input_name=input_name,
        output_name=output_name,
        threads=threads,
        providers=providers,
        device=device,
    )
    if layout is not None:
        model.layout = layout
    if output is not None and hasattr(model, "output"):
        model.output = output
    return model


def _adapter(
    source: object, *, weights, trust_pickle, input_name, output_name, threads, providers, device
) -> Model:
    if isinstance(source, Model):
        return source
    if is_torch_module(source):
        from .identity import module_hash
        from .torch_model import TorchModel

        return TorchModel(
            source,
            description=f"nn.Module {type(source).__qualname__}",
            content_hash=module_hash(source),
            device=device,
            threads=threads,
        )
    if looks_like_spec(source):
        from .torch_model import load_factory

        return load_factory(source, weights=weights, device=device, threads=threads)
    if isinstance(source, (str, Path)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix == ".onnx":
            from .onnx_model import OnnxModel

            return OnnxModel(
                path,
                input_name=input_name,
                output_name=output_name,
                threads=threads,
                providers=providers,
                device=device,
            )
        from .torch_model import TORCH_SUFFIXES, load_torch_file

        if suffix in TORCH_SUFFIXES:
            return load_torch_file(path, trust_pickle=trust_pickle, device=device, threads=threads)
        raise ModelLoadError(
            f"cannot tell what kind of model {path} is from its suffix {suffix!r}: use .onnx, "
            f"{', '.join(TORCH_SUFFIXES)}, or a 'package.module:factory' string."
        )
    if callable(source):
        return CallableModel(source)
    raise ModelLoadError(
        f"a model must be a path, a 'package.module:factory' string, an nn.Module or a "
        f"callable; found a {type(source).__name__}."
    )
