"""The `scores` key of a YAML gate: a sigmoid (multi-label) model is refused with a message
asking for `scores`, `scores: logits` gates it on the softmax of its outputs, `scores:
probabilities` keeps a softmax model's own numbers, and a bad value names the key."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_gates

DEFAULTS = "defaults: {samples: 20, pixel_range: [0, 16], budget: 30, max_success_rate: 1.0}\n"


def with_head(onnx_bytes: bytes, op: str) -> bytes:
    """The tiny model with `op` (Sigmoid or Softmax) applied to its logits."""
    import onnx
    from onnx import helper

    model = onnx.load_from_string(onnx_bytes)
    graph = model.graph
    logits = graph.output[0]
    attributes = {"axis": 1} if op == "Softmax" else {}
    graph.node.append(helper.make_node(op, [logits.name], ["scores"], **attributes))
    output = onnx.ValueInfoProto()
    output.CopyFrom(logits)
    output.name = "scores"
    del graph.output[:]
    graph.output.append(output)
    return model.SerializeToString()


@pytest.fixture
def heads(repo, gate_assets):
    for op in ("Sigmoid", "Softmax"):
        (repo.path / "models" / f"{op.lower()}.onnx").write_bytes(
            with_head(gate_assets["tiny.onnx"], op)
        )
    return repo


def gates_of(repo) -> dict[str, dict]:
    report = json.loads((repo.path / "r.json").read_text())
    return {gate["name"]: gate for gate in report["gates"]}


def test_sigmoid_outputs_are_refused_unless_scores_says(heads) -> None:
    write_gates(
        heads,
        DEFAULTS
        + """\
models:
  - {name: unsaid, model: models/sigmoid.onnx, data: data/holdout.npz}
  - {name: as-logits, model: models/sigmoid.onnx, data: data/holdout.npz, scores: logits}
  - {name: not-probabilities, model: models/sigmoid.onnx, data: data/holdout.npz,
     scores: probabilities}
""",
    )
    result = heads.runpytest_subprocess("--onepixel-report=r.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    assert "Traceback" not in result.stdout.str()
    gates = gates_of(heads)
    unsaid = gates["unsaid"]["error"]
    assert "sigmoid.onnx" in unsaid and "do not sum to 1" in unsaid
    assert "`scores: logits`" in unsaid and "multi-label" in unsaid
    assert gates["as-logits"]["status"] == "passed"
    assert "`scores: probabilities` was set" in gates["not-probabilities"]["error"]


def test_probabilities_keep_the_models_confidence(heads) -> None:
    write_gates(
        heads,
        DEFAULTS
        + """\
models:
  - {name: softmax, model: models/softmax.onnx, data: data/holdout.npz, scores: probabilities}
""",
    )
    result = heads.runpytest_subprocess(
        "--onepixel-report=r.json", "--onepixel-full", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    gate = gates_of(heads)["softmax"]
    assert gate["settings"]["scores"] == "probabilities"
    fooled = [r for r in gate["records"] if r["success"]]
    assert fooled
    import onnxruntime

    session = onnxruntime.InferenceSession(str(heads.path / "models" / "softmax.onnx"))
    images = np.load(heads.path / "data" / "holdout.npz")["x"]
    for record in fooled:  # the model's own probability of the class it was fooled into
        image = images[record["index"]].astype(np.float32).copy()
        for pixel in record["pixels"]:
            image[:, pixel["row"], pixel["col"]] = pixel["values"]
        given = session.run(None, {session.get_inputs()[0].name: image[None]})[0][0]
        assert record["adversarial_confidence"] == pytest.approx(
            float(given[record["adversarial_label"]]), rel=1e-6
        )


def test_a_bad_scores_value_names_the_key(heads) -> None:
    write_gates(
        heads,
        DEFAULTS + "models:\n  - {name: bad, model: models/sigmoid.onnx, data: data/holdout.npz, "
        "scores: softmax}\n",
    )
    result = heads.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    output = result.stdout.str()
    assert "'scores' must be one of logits, probabilities; found 'softmax'" in output
    assert "Traceback" not in output
