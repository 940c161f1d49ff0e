"""The `onepixel` fixture's object: a gate for tests written in Python."""

from __future__ import annotations

from typing import Any

import pytest

from ..errors import OnePixelError


class OnePixelFixture:
    """`check(model, images, labels, **options)` runs the gate with the merged settings
    (command line > check() keywords > @pytest.mark.onepixel > ini > built-in defaults)."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def check(
        self,
        model: object,
        images: object,
        labels: object,
        *,
        indices: object = None,
        **options: Any,
    ) -> Any:
        """Attack; fail the test with the verdict text when the success rate exceeds the
        threshold, else return the AttackResult. `indices` are the images' positions in their
        data set (RNG keys; pass `Sample.indices` to reproduce a YAML gate on the same sample).
        `options` take any marker keyword (pixel_range, layout, preprocess, budget, ...)."""
        from .gates import run_check

        try:
            return run_check(self._node, model, images, labels, indices, **options)
        except OnePixelError as error:
            message = str(error)
        # A user mistake fails the test with its message, once: not a traceback into the
        # plugin, and outside the `except` so no "during handling" chain repeats it.
        pytest.fail(message, pytrace=False)
