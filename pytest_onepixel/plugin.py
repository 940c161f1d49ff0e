"""pytest hooks only; each hands off to the modules that do the work (see DESIGN.md)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the `onepixel` option group; its options arrive with the gate issue."""
    parser.getgroup("onepixel", "one-pixel attack robustness gates")
