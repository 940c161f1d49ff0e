"""No silent slow path: a gate that searched a slower way than it could have says so in one
note line under the summary table (with the reason and the fix) and in a OnePixelWarning, as a
budget too small for a DE generation does (issue 21: a CI recipe without `onnx` ran every PyTorch
gate without its twin and the terminal said nothing)."""

from __future__ import annotations

import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

GATE = textwrap.dedent(
    """
    import numpy as np
    import pytest
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.fc = torch.nn.Linear(16, 2)

        def forward(self, x):
            {forward}
            return self.fc(x.flatten(1) / 255)

    IMAGES = np.random.default_rng(0).integers(0, 256, (8, 1, 4, 4)).astype(np.uint8)

    @pytest.mark.onepixel(max_success_rate=1.0, budget=40, popsize=10{keywords})
    def test_net(onepixel):
        net = Net().eval()
        labels = net(torch.from_numpy(IMAGES.astype(np.float32))).argmax(1).numpy()
        onepixel.check(net, IMAGES, labels)
    """
)

NO_ONNX = "import sys\nsys.modules['onnx'] = None  # as if `onnx` were not installed\n"


def gate(pytester, forward: str = "pass", keywords: str = "", conftest: str = "") -> list[str]:
    pytester.makepyfile(test_gate=GATE.format(forward=forward, keywords=keywords))
    if conftest:
        pytester.makeconftest(conftest)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    return result.outlines


def notes(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("note (test_net): ")]


def test_without_the_onnx_package_the_passing_gate_says_so_and_how_to_fix_it(pytester) -> None:
    lines = gate(pytester, conftest=NO_ONNX)
    assert notes(lines) == [
        "note (test_net): searched on PyTorch without its ONNX Runtime twin (2.5-3.5x faster on "
        "a CPU): the twin was not built: onnx is not installed. Fix: pip install onnx "
        "onnxruntime (the export needs onnx, the twin onnxruntime)"
    ]
    assert any("OnePixelWarning: searched on PyTorch without" in line for line in lines)


def test_a_model_whose_export_fails_gets_a_note_with_the_reason(pytester) -> None:
    forward = "if torch.jit.is_tracing(): raise RuntimeError('custom op without export')"
    (note,) = notes(gate(pytester, forward=forward))
    assert "the ONNX export failed (RuntimeError: custom op without export)" in note
    assert "Fix: export the model to ONNX yourself" in note
    assert "`backend: torch` to skip the attempt" in note


def test_a_gate_with_its_twin_or_backend_torch_has_no_note(pytester) -> None:
    assert notes(gate(pytester)) == []
    assert notes(gate(pytester, keywords=", backend='torch'", conftest=NO_ONNX)) == []


SLEEPY = textwrap.dedent(
    """
    import time
    import numpy as np
    import pytest

    def sleepy(batch):
        time.sleep(0.01)  # the same time for any batch: larger batches run faster
        return np.tile([5.0, 0.0], (len(batch), 1))

    @pytest.mark.onepixel(max_success_rate=1.0, budget=40, popsize=20, max_batch=32)
    def test_net(onepixel):
        onepixel.check(sleepy, np.zeros((40, 1, 4, 4), np.uint8), np.zeros(40, int))
    """
)


def test_a_max_batch_that_holds_back_a_faster_batch_is_noted(pytester) -> None:
    pytester.makepyfile(test_gate=SLEEPY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (note,) = [line for line in notes(result.outlines) if "max_batch" in line]
    assert note.startswith(
        "note (test_net): max_batch 32 held the search's batch back while larger batches still "
        "ran faster ("
    )
    assert note.endswith(
        "Fix: raise `max_batch` or remove it (the batch is measured, within a "
        "memory budget), unless memory is why it is set"
    )


NOISY = ", allow_unstable_model=True"


def test_an_unstable_model_attacked_without_the_early_verdict_is_noted(pytester) -> None:
    forward = "x = x + torch.rand_like(x)  # noise: the scores change between calls"
    lines = notes(gate(pytester, forward=forward, keywords=NOISY))
    mine = [line for line in lines if "Fix: put the model in eval mode" in line]
    assert len(mine) == 1, lines
    assert mine[0].startswith(
        "note (test_net): unstable model attacked anyway (allow_unstable_model), without the "
        "early verdict and its twin: its scores differ by up to "
    )
