"""--onepixel-backend / onepixel_backend: what searches a PyTorch model. `auto` lets a verified
ONNX twin search (the verdict is confirmed on the real model); `torch` searches with the model
itself; a model that is not PyTorch refuses `torch`."""

from __future__ import annotations

from pathlib import Path

import pytest
from options_helpers import measured, requested, run_gate, write_gate, write_ini

TINYNET = Path(__file__).parents[2] / "tinynet.py"


@pytest.fixture
def torch_repo(repo):
    """The tiny gate on the PyTorch TinyNet (the factory tinynet:make)."""
    (repo.path / "tinynet.py").write_text(TINYNET.read_text())
    write_gate(repo, model="tinynet:make", samples=6)
    return repo


def test_torch_searches_with_the_model_and_auto_with_its_twin(torch_repo) -> None:
    _, auto = run_gate(torch_repo)
    result, gate = run_gate(torch_repo, "--onepixel-backend=torch")
    result.assert_outcomes(passed=1)
    assert requested(auto, "backend") == "auto" and measured(auto, "backend") == "onnxruntime twin"
    assert requested(gate, "backend") == "torch" and measured(gate, "backend") == "torch"
    assert measured(gate, "twin") == {"twin": "not built (backend: torch)"}
    assert gate["records"] == auto["records"]  # TinyNet's arithmetic is exact in both


def test_the_ini_key_sets_it_and_the_option_beats_it(torch_repo) -> None:
    write_ini(torch_repo, backend="torch")
    assert measured(run_gate(torch_repo)[1], "backend") == "torch"
    assert measured(run_gate(torch_repo, "--onepixel-backend=auto")[1], "backend") == (
        "onnxruntime twin"
    )


def test_torch_on_a_model_that_is_not_pytorch_fails_the_gate(repo) -> None:
    write_gate(repo)
    result, gate = run_gate(repo, "--onepixel-backend=torch")
    result.assert_outcomes(failed=1)
    assert "backend 'torch' needs a PyTorch model" in gate["error"]
