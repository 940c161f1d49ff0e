"""Class scores out of what a PyTorch model really returns.

Real code returns a tensor, a tuple or list (logits with features, auxiliary heads), a dict, or
an object with `.logits` (HuggingFace's `ImageClassifierOutput`, itself a dict). The scores are
picked by the `output` setting (a name or an index) when given, else the `logits` entry when
there is one, else the only tensor; anything else is ambiguous, and the error names every
tensor found with its shape and the setting that resolves it, rather than guessing (a tuple
whose first element is features must not be read as class scores).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import ModelOutputError


def is_tensor(value: object) -> bool:
    """A tensor or array (has a shape and a dtype), without importing torch."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def select_scores(output: Any, key: str | int | None) -> Any:
    """The class-score tensor in `output`, chosen by `key` (a name or an index) if given."""
    if is_tensor(output):
        if key not in (None, 0):
            raise ModelOutputError(
                f"`output: {key}` names one of several outputs, but the model returned a single "
                f"tensor of shape {tuple(output.shape)}; remove `output`."
            )
        return output
    named = _named_tensors(output)
    if key is not None:
        if key in named:
            return named[key]
        raise ModelOutputError(
            f"`output: {key!r}` is not among the model's outputs: {_listing(named)}. Set "
            f"`output` to one of {sorted(map(str, named))}."
        )
    if "logits" in named:
        return named["logits"]
    if len(named) == 1:
        return next(iter(named.values()))
    raise ModelOutputError(
        f"the model returned {len(named)} tensors ({_listing(named)}) and none is named "
        "`logits`: say which holds the class scores with `output` (YAML, marker or check() "
        f"keyword), e.g. `output: {_suggestion(named)}`."
    )


def _named_tensors(output: Any) -> dict[str | int, Any]:
    """The tensors in a container, by key or index."""
    if isinstance(output, Mapping):
        pairs = list(output.items())
    elif isinstance(output, (tuple, list)):
        pairs = list(enumerate(output))
    elif dataclasses.is_dataclass(output):
        pairs = [(f.name, getattr(output, f.name)) for f in dataclasses.fields(output)]
    elif hasattr(output, "logits"):
        pairs = [(name, value) for name, value in vars(output).items()]
    else:
        raise ModelOutputError(
            f"the model returned a {type(output).__name__}; it must return class scores: a "
            "tensor, a tuple/list or dict of tensors, or an object with `.logits`."
        )
    named = {key: value for key, value in pairs if is_tensor(value)}
    if not named:
        raise ModelOutputError(
            f"the model returned a {type(output).__name__} with no tensor in it; it must "
            "return class scores."
        )
    return named


def _listing(named: Mapping[str | int, Any]) -> str:
    return ", ".join(
        f"{_spelled(key)} of shape {tuple(value.shape)}" for key, value in named.items()
    )


def _spelled(key: str | int) -> str:
    return f"[{key}]" if isinstance(key, int) else repr(key)


def _suggestion(named: Mapping[str | int, Any]) -> str:
    """The last 2-D tensor (a classifier's head is usually last), else the last one."""
    two_d = [key for key, value in named.items() if len(value.shape) == 2]
    return str((two_d or list(named))[-1])
