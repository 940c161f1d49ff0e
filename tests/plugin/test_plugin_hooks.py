"""The pytest_onepixel_* hooks a project implements in its conftest.py."""

from __future__ import annotations

import json

from conftest import write_gates

FAKE_LOADER = """
import hashlib
import numpy as np

class Constant:
    '''A model format the plugin does not know: always predicts class 0 of 3.'''
    layout, num_classes = "NCHW", 3
    description = "constant model"
    content_hash = hashlib.sha256(b"constant").hexdigest()

    def predict(self, batch):
        return np.tile([5.0, 0.0, 0.0], (len(batch), 1))

LOADED = []

def pytest_onepixel_load_model(source, options):
    LOADED.append(str(source))
    if str(source).endswith(".const"):
        return Constant()
    return None
"""

FINISHED = """
import json

def pytest_onepixel_gate_finished(outcome):
    with open("finished.jsonl", "a") as stream:
        stream.write(json.dumps({"name": outcome.name, "status": outcome.status,
                                 "rate": outcome.summary.success_rate if outcome.summary else None,
                                 "error": outcome.error}) + "\\n")
"""


def test_a_projects_loader_adds_a_model_format(repo) -> None:
    repo.makeconftest(FAKE_LOADER)
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 20}
        models:
          - {name: custom, model: models/m.const, data: data/holdout.npz, max_success_rate: 0.0,
             min_clean_accuracy: 0}
          - {name: builtin, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}
        """,
    )
    (repo.path / "models" / "m.const").write_text("")
    result = repo.runpytest("--onepixel-report=r.json")
    result.assert_outcomes(passed=2)  # a constant model cannot be fooled: rate 0.0 passes
    gates = {g["name"]: g for g in json.loads((repo.path / "r.json").read_text())["gates"]}
    assert gates["custom"]["model"]["description"] == "constant model"
    assert gates["custom"]["summary"]["successes"] == 0
    assert gates["builtin"]["model"]["description"].startswith("ONNX tiny.onnx")


def test_gate_finished_sees_every_gate_with_its_status(repo) -> None:
    repo.makeconftest(FINISHED)
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 20}
        models:
          - {name: pass, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}
          - {name: fail, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 0.0}
          - {name: broken, model: models/missing.onnx, data: data/holdout.npz,
             max_success_rate: 1.0}
        """,
    )
    repo.runpytest().assert_outcomes(passed=1, failed=2)
    lines = (repo.path / "finished.jsonl").read_text().splitlines()
    seen = {entry["name"]: entry for entry in map(json.loads, lines)}
    assert {name: entry["status"] for name, entry in seen.items()} == {
        "pass": "passed",
        "fail": "failed",
        "broken": "error",
    }
    assert seen["pass"]["rate"] is not None and "missing.onnx" in seen["broken"]["error"]


def test_a_misspelt_hook_is_an_error(repo) -> None:
    """The hookspecs are registered, so pluggy rejects a misspelt implementation."""
    repo.makeconftest("def pytest_onepixel_load_modle(source, options):\n    return None\n")
    result = repo.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown hook 'pytest_onepixel_load_modle'*"])
