"""Resolving ``"package.module:name"`` strings, which name model factories and data loaders."""

from __future__ import annotations

import importlib
import re

from .errors import OnePixelError


def import_object(spec: str, what: str, error_type: type[OnePixelError]) -> object:
    """The object `spec` names, or an `error_type` that says which part failed and why."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise error_type(f"{what} {spec!r} must look like 'package.module:name'.")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise error_type(
            f"{what} {spec!r}: cannot import {module_name!r} ({first_line(error)}). Check the "
            "spelling and that the package is importable (installed, or on sys.path)."
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise error_type(
            f"{what} {spec!r}: module {module_name!r} has no attribute {attribute!r}."
        ) from None


def first_line(error: BaseException) -> str:
    """'Type: first line of the message', short enough for a one-paragraph error (terminal
    colour codes, which some libraries put in messages, removed)."""
    text = _ANSI.sub("", str(error)).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def looks_like_spec(source: object) -> bool:
    """True for 'a.b:c' strings (not Windows paths such as 'C:\\models\\m.onnx')."""
    if not isinstance(source, str) or source.count(":") != 1:
        return False
    module_name, attribute = source.split(":")
    parts = [*module_name.split("."), attribute]
    return all(part.isidentifier() for part in parts)
