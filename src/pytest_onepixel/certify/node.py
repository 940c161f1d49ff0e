"""One op of a provable graph (graph.py holds the list and its kinds)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    """One op: its kind, the indices of the nodes it reads, constants, and where it came from
    (the model's own node name, for error messages)."""

    kind: str
    inputs: tuple[int, ...]
    attrs: dict = field(default_factory=dict)
    name: str = ""
