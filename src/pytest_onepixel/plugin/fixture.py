"""The `onepixel` fixture's object: a gate for tests written in Python."""

from __future__ import annotations

from typing import Any

import pytest

from ..errors import OnePixelError


class OnePixelFixture:
    """`check(model, images, labels, **options)` runs the gate with the merged settings
    (command line > check() keywords > @pytest.mark.onepixel > ini > built-in defaults).

    A failed check raises pytest's failure carrying the AttackResult as `.result`; `results`
    (and `last_result`) give every check's result to the test either way, e.g. to save the
    adversarial images of a failing gate."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    @property
    def results(self) -> list[Any]:
        """The AttackResult of every check() this test ran, in order, failed ones included."""
        from .gates import RESULTS_KEY

        return list(self._node.stash.get(RESULTS_KEY, []))

    @property
    def last_result(self) -> Any:
        """The latest check()'s AttackResult (None before the first)."""
        results = self.results
        return results[-1] if results else None

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
