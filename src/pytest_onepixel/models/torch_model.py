"""PyTorch models, with torch imported only when one is used.

Accepted: an `nn.Module` object; a TorchScript file (`torch.jit.load`); a `torch.export`
archive (`.pt2`, `torch.export.load`); a ``"package.module:factory"`` string whose factory builds
the module, plus an optional state_dict file read with ``torch.load(weights_only=True)``. A
file holding a whole pickled module can run arbitrary code when unpickled, so it loads only with
``trust_pickle=True``. Every model runs in eval mode under ``torch.inference_mode()``.
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from ..importing import first_line, import_object
from .base import existing_file, file_hash, predict_in_fixed_batches
from .identity import TORCH_SUFFIXES, factory_hash, module_hash
from .torch_outputs import select_scores

__all__ = ["TORCH_SUFFIXES", "TorchModel", "load_factory", "load_torch_file", "module_hash"]


class TorchModel:
    """An nn.Module (or TorchScript / exported module) queried without autograd. It takes NCHW
    batches, PyTorch's convention (`layout: NHWC` says otherwise for a model that permutes)."""

    layout = "NCHW"
    num_classes = None

    def __init__(
        self,
        module: object,
        *,
        description: str,
        content_hash: str,
        device: str = "cpu",
        threads: int | None = None,
        batch_size: int | None = None,
        output: str | int | None = None,
        origin: tuple[str, ...] = ("module",),
    ) -> None:
        torch = torch_module()
        if threads:
            torch.set_num_threads(int(threads))
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelLoadError(
                f"device {device!r} was asked for but torch sees no CUDA device; "
                "use device 'cpu' or run where a GPU is visible."
            )
        self._torch = torch
        self.device = torch.device(device)
        self.threads = threads
        _eval_mode(module)
        self.module = module.to(self.device) if hasattr(module, "to") else module
        self.description = description
        self.content_hash = content_hash
        self.batch_size = batch_size
        self.output = output
        # Where the module came from, so it can be loaded again elsewhere (models/package.py):
        # ("file", path), ("factory", spec, weights path or ""), or ("module",).
        self.origin = origin

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self.batch_size is not None:
            return predict_in_fixed_batches(self._forward, batch, self.batch_size)
        return self._forward(batch)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            inputs = torch.from_numpy(np.ascontiguousarray(batch))
            if self.device.type == "cuda":  # pinned pages copy to the GPU asynchronously
                inputs = inputs.pin_memory().to(self.device, non_blocking=True)
            scores = select_scores(self.module(inputs), self.output)
            return scores.float().cpu().numpy()


def torch_module():
    """torch itself, or a ModelLoadError that says how to install the CPU build."""
    try:
        import torch
    except ImportError:
        raise ModelLoadError(
            "PyTorch models need torch, which is not installed: pip install "
            "'pytest-onepixel[torch]' (with -c constraints.txt pinning torch==2.13.0 for the "
            "CPU build)."
        ) from None
    return torch


def load_torch_file(
    path: str | Path,
    *,
    trust_pickle: bool = False,
    device: str = "cpu",
    threads: int | None = None,
) -> TorchModel:
    """A TorchScript file, a `.pt2` export archive, or (trusted only) a pickled module."""
    torch = torch_module()
    path = existing_file(path, "PyTorch model")
    common = {
        "content_hash": file_hash(path),
        "device": device,
        "threads": threads,
        "origin": ("file", str(path)),
    }
    if path.suffix == ".pt2":
        try:
            program = torch.export.load(str(path))
        except Exception as error:
            raise _unreadable(path, "a torch.export archive", error) from None
        return TorchModel(
            program.module(),
            description=f"torch.export {path.name}",
            batch_size=_static_batch(program),
            **common,
        )
    if _is_torchscript(path):
        try:
            module = torch.jit.load(str(path), map_location="cpu")
        except Exception as error:
            raise _unreadable(path, "a TorchScript file", error) from None
        return TorchModel(module, description=f"TorchScript {path.name}", **common)
    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:
        if not trust_pickle:
            raise ModelLoadError(
                f"{path} is not TorchScript and does not load with weights_only=True "
                f"({first_line(error)}): it most likely holds a whole pickled module, and "
                "unpickling runs code stored in the file. Prefer TorchScript (torch.jit.save), "
                "torch.export (.pt2), or a factory string plus a state_dict file; if you trust "
                "this file, pass trust_pickle=True (YAML: `trust_pickle: true`)."
            ) from None
        loaded = torch.load(str(path), map_location="cpu", weights_only=False)
    if not isinstance(loaded, torch.nn.Module):
        raise ModelLoadError(
            f"{path} holds a {type(loaded).__name__}, not a model (a state_dict?). Name the "
            "code that builds the model as 'package.module:factory' and pass this file as "
            "its weights (YAML: `model: pkg.mod:factory` and `weights: {path.name}`)."
        )
    return TorchModel(loaded, description=f"pickled module {path.name}", **common)


def load_factory(
    spec: str,
    *,
    weights: str | Path | None = None,
    device: str = "cpu",
    threads: int | None = None,
) -> TorchModel:
    """Build a module by calling ``package.module:factory`` and load its state_dict, if given."""
    torch = torch_module()
    factory = import_object(spec, "model factory", ModelLoadError)
    try:
        module = factory()
    except Exception as error:
        raise ModelLoadError(f"model factory {spec} raised {first_line(error)}.") from None
    if not isinstance(module, torch.nn.Module):
        raise ModelLoadError(
            f"model factory {spec} returned a {type(module).__name__}; it must return a "
            "torch.nn.Module."
        )
    if weights is not None:
        weights = existing_file(weights, "state_dict")
        try:
            state = torch.load(str(weights), map_location="cpu", weights_only=True)
        except Exception as error:
            raise _unreadable(weights, "a state_dict saved with torch.save", error) from None
        try:
            module.load_state_dict(state)
        except Exception as error:
            raise ModelLoadError(
                f"the state_dict in {weights} does not fit the model built by {spec}: "
                f"{first_line(error)}. Check that the weights were saved from this architecture."
            ) from None
    return TorchModel(
        module,
        description=f"{spec}" + (f" with weights {Path(weights).name}" if weights else ""),
        content_hash=factory_hash(spec, weights),
        origin=("factory", spec, str(weights) if weights is not None else ""),
        device=device,
        threads=threads,
    )


def _eval_mode(module: object) -> None:
    # torch.export modules refuse .eval(); they were exported in the mode they run in.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        module.eval()


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def _static_batch(program: object) -> int | None:
    """The batch size an exported program was specialised to, or None when it is dynamic."""
    for spec in program.graph_signature.input_specs:
        if spec.kind.name == "USER_INPUT":
            node = next(n for n in program.graph.nodes if n.name == spec.arg.name)
            first = node.meta["val"].shape[0]
            return first if isinstance(first, int) else None
    return None


def _unreadable(path: Path, what: str, error: Exception) -> ModelLoadError:
    return ModelLoadError(
        f"{path} could not be read as {what} ({first_line(error)}). Re-save it, and check "
        "the file was copied whole."
    )
