"""Error messages name what is wrong: a model returning NaN scores names its file; a symbolic
link to a text file given as .npy says it is not a NumPy array file (not "Python objects")."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import write_gates

from pytest_onepixel import DataError, load_data

DEFAULTS = "defaults: {samples: 20, pixel_range: [0, 16], budget: 10, max_success_rate: 1.0}\n"


def times_nan(onnx_bytes: bytes) -> bytes:
    """The tiny model with its logits multiplied by NaN."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(onnx_bytes)
    graph = model.graph
    logits = graph.output[0]
    graph.initializer.append(numpy_helper.from_array(np.array(np.nan, np.float32), "nan"))
    graph.node.append(helper.make_node("Mul", [logits.name, "nan"], ["scores"]))
    output = onnx.ValueInfoProto()
    output.CopyFrom(logits)
    output.name = "scores"
    del graph.output[:]
    graph.output.append(output)
    return model.SerializeToString()


def errors_of(repo) -> dict[str, str]:
    report = json.loads((repo.path / "r.json").read_text())
    return {gate["name"]: gate.get("error") for gate in report["gates"]}


def test_nan_scores_and_a_text_file_as_npy_name_the_file(repo, gate_assets) -> None:
    (repo.path / "models" / "broken.onnx").write_bytes(times_nan(gate_assets["tiny.onnx"]))
    (repo.path / "data" / "notes.txt").write_text("x,y\n1,2\n")
    os.symlink(repo.path / "data" / "notes.txt", repo.path / "data" / "x.npy")
    with np.load(repo.path / "data" / "holdout.npz") as data:
        np.save(repo.path / "data" / "y.npy", data["y"])
    write_gates(
        repo,
        DEFAULTS
        + """\
models:
  - {name: nan, model: models/broken.onnx, data: data/holdout.npz}
  - {name: text, model: models/tiny.onnx, data: {x: data/x.npy, y: data/y.npy}}
""",
    )
    result = repo.runpytest_subprocess("--onepixel-report=r.json", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    assert "Traceback" not in result.stdout.str()
    errors = errors_of(repo)
    assert "broken.onnx" in errors["nan"] and "non-finite scores" in errors["nan"]
    assert "x.npy (a link to " in errors["text"] and "notes.txt" in errors["text"]
    assert "is not a NumPy array file (.npy)" in errors["text"]
    assert "Python objects" not in errors["text"]


def test_object_arrays_are_still_called_python_objects(tmp_path) -> None:
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.array([0]))
    with pytest.raises(DataError, match="holds Python objects"):
        load_data({"x": tmp_path / "x.npy", "y": tmp_path / "y.npy"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"x.npy is not a NumPy array file \(.npy\): it is empty"),
        (b"PK\x03\x04rest", r"it is a zip archive \(an .npz\?\)"),
        (b"hello", r"it starts with b'hello'"),
    ],
)
def test_a_file_that_is_not_npy_says_so(tmp_path, content: bytes, message: str) -> None:
    (tmp_path / "x.npy").write_bytes(content)
    np.save(tmp_path / "y.npy", np.array([0]))
    with pytest.raises(DataError, match=message):
        load_data({"x": tmp_path / "x.npy", "y": tmp_path / "y.npy"})
