"""--onepixel-device / onepixel_device: where a PyTorch or ONNX model runs (cpu, cuda, cuda:N).
Without onnxruntime's CUDA provider (as on CI machines), `cuda` is a gate error that says what
to do, which shows the setting reached the model."""

from __future__ import annotations

import onnxruntime
import pytest
from options_helpers import requested, run_gate, write_gate, write_ini

needs_no_cuda = pytest.mark.skipif(
    "CUDAExecutionProvider" in onnxruntime.get_available_providers(),
    reason="this onnxruntime can run on CUDA",
)
CUDA_ERROR = "device 'cuda' needs onnxruntime's CUDAExecutionProvider"


@needs_no_cuda
def test_the_option_reaches_the_model(repo) -> None:
    write_gate(repo)
    unset_result, unset = run_gate(repo)
    unset_result.assert_outcomes(passed=1)
    assert requested(unset, "device") == "cpu"
    result, gate = run_gate(repo, "--onepixel-device=cuda")
    result.assert_outcomes(failed=1)
    assert gate["status"] == "error" and CUDA_ERROR in gate["error"]
    result.stdout.fnmatch_lines(["*install onnxruntime-gpu or use device 'cpu'*"])


@needs_no_cuda
def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, device="cuda")
    result, gate = run_gate(repo)
    result.assert_outcomes(failed=1)
    assert CUDA_ERROR in gate["error"]
    result, gate = run_gate(repo, "--onepixel-device=cpu")
    result.assert_outcomes(passed=1)
    assert requested(gate, "device") == "cpu"


def test_a_mistyped_device_is_a_usage_error_naming_the_option_or_key(repo) -> None:
    wrong = repo.runpytest("--onepixel-device=gpu")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    wrong.stderr.fnmatch_lines(["*argument --onepixel-device: must be cpu, cuda or cuda:N*"])
    write_ini(repo, device="gpu")
    wrong = repo.runpytest()
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    wrong.stderr.fnmatch_lines(["*ini key onepixel_device: *'gpu'*"])
