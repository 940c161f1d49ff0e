"""The example project works as the README says: its main gate passes without torch, the
fragile model's gate fails with exit code 1, and the PyTorch gate passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"
#: Makes `import torch` raise ImportError, as it does where torch is not installed.
NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("No module named 'torch'")
sys.meta_path.insert(0, NoTorch())
"""


def run_example(tmp_path: Path, *args: str, torch: bool = True) -> subprocess.CompletedProcess:
    """pytest on example_project, from the repo root as the README's quickstart runs it, with the
    report and cache kept out of the working tree; `torch=False` makes `import torch` fail, as
    on a machine with the `[onnx]` extra only."""
    command = [
        sys.executable,
        "-c",
        ("" if torch else NO_TORCH) + "import sys, pytest; code = pytest.main(sys.argv[1:]); "
        "print('heavy:', sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules)); "
        "sys.exit(code)",
        str(EXAMPLE),
        f"--onepixel-report={tmp_path / 'report.json'}",
        "-p",
        "no:cacheprovider",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=EXAMPLE.parent)


def ran(report: Path) -> dict:
    """The one gate a run selected (the report lists the deselected ones too)."""
    gates = json.loads(report.read_text())["gates"]
    (gate,) = [gate for gate in gates if gate["status"] != "deselected"]
    return gate


def test_main_job_passes_without_torch(tmp_path) -> None:
    """Without torch the search is black-box and a note says why; with it, guided by the
    model's gradient (the ONNX graph converts), the gate passes with the same margin."""
    run = run_example(tmp_path, torch=False)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 2 deselected" in run.stdout
    assert "heavy: ['onnxruntime']" in run.stdout
    assert "search not guided by the model's gradient: torch is not installed" in run.stdout
    gate = ran(tmp_path / "report.json")
    assert gate["name"] == "digits-cnn" and gate["passed"]
    assert gate["measured"]["guidance"]["used"] == "none"
    assert gate["summary"]["success_rate"] <= 0.25, "the documented margin has shrunk"
    guided = run_example(tmp_path / "guided")
    assert guided.returncode == 0, guided.stdout
    gate = ran(tmp_path / "guided" / "report.json")
    assert gate["passed"] and gate["measured"]["guidance"]["used"] == "gradient"
    assert gate["summary"]["success_rate"] <= 0.25, "the documented margin has shrunk"


def test_fragile_model_fails_its_gate(tmp_path) -> None:
    run = run_example(tmp_path, "-m", "fragile")
    assert run.returncode == 1
    assert "onepixel gate 'digits-cnn-fragile' FAILED (point mode):" in run.stdout
    gate = ran(tmp_path / "report.json")
    assert gate["status"] == "failed" and gate["summary"]["success_rate"] > 0.3


def test_pytorch_gate_passes_with_the_onnx_gates_result(tmp_path) -> None:
    run_example(tmp_path / "onnx")
    run = run_example(tmp_path / "torch", "-m", "torch")
    assert run.returncode == 0, run.stdout
    onnx, torch = (ran(tmp_path / kind / "report.json") for kind in ("onnx", "torch"))
    confidences = [
        [record.pop("adversarial_confidence") for record in gate["records"]]
        for gate in (onnx, torch)
    ]
    assert torch["records"] == onnx["records"]
    assert confidences[1] == pytest.approx(confidences[0], abs=1e-6)
