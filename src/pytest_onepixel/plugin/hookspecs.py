"""Hooks a project can implement in its conftest.py (or a plugin) to extend pytest-onepixel.

Registered in `pytest_addhooks`, in the manner of pytest-benchmark's hookspec.py: each hook's
docstring shows a complete implementation to copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_onepixel_load_model(source: object, options: Mapping[str, Any]) -> Any:
    """Turn a gate's `model` (a path or "package.module:name" string from YAML, or the object
    passed to `onepixel.check()`) into a model the attack can query; return None to leave it to
    the next implementation. The built-in adapters (ONNX, PyTorch, callables) run last.

    `options` holds the gate's loading settings: weights, trust_pickle, input_name,
    output_name, output, threads, device. The returned object needs `predict(batch) -> scores` (a
    float32 batch in, one row of logits or probabilities per image out) and the attributes
    `layout` ("NCHW", "NHWC" or None), `num_classes` (int or None), `description` and
    `content_hash` (str; reports and caches use it to tell models apart).

    Example: TensorFlow Lite models, in conftest.py::

        import hashlib
        from pathlib import Path

        import numpy as np


        class TFLiteModel:
            layout, num_classes = "NHWC", None

            def __init__(self, path):
                from tflite_runtime.interpreter import Interpreter

                self.interpreter = Interpreter(str(path))
                self.interpreter.allocate_tensors()
                self.description = f"TFLite {Path(path).name}"
                self.content_hash = hashlib.sha256(Path(path).read_bytes()).hexdigest()

            def predict(self, batch):
                run = self.interpreter.get_signature_runner()
                return np.asarray(next(iter(run(input=batch).values())))


        def pytest_onepixel_load_model(source, options):
            if str(source).endswith(".tflite"):
                return TFLiteModel(source)
            return None
    """


def pytest_onepixel_gate_finished(outcome: Any) -> None:
    """Called once for every gate that finished, passed, failed or errored, in the process
    that ran it (a pytest-xdist worker, or the main process), with its `GateOutcome`:
    `outcome.name`, `outcome.nodeid`, `outcome.status` (a `GateStatus`, gate/status.py:
    PASSED, FAILED, ERROR, or SHARD under `--onepixel-shard`; its `.value` is the report's
    string, "passed" ...), `outcome.reasons`, `outcome.summary` (`attacked`, `successes`,
    `success_rate`, `interval`, ...) and `outcome.to_json()` (the gate's entry in the JSON report).

    Example: post every gate's result to a tracker, in conftest.py::

        import json
        import os
        import urllib.request


        def pytest_onepixel_gate_finished(outcome):
            if "TRACKER_URL" not in os.environ:
                return
            body = {"gate": outcome.name, "status": outcome.status.value}
            if outcome.summary is not None:
                body["success_rate"] = outcome.summary.success_rate
            request = urllib.request.Request(
                os.environ["TRACKER_URL"],
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=10)
    """
