"""Models whose answer depends on the batch or on chance are refused before the attack (or run
with the instability reported), and successes the re-query does not confirm are not counted."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import write_gates

from pytest_onepixel import UnstableModelError, attack
from pytest_onepixel.executors.common import AttackProgress

IMAGES = np.random.default_rng(0).integers(0, 256, size=(24, 1, 6, 6)).astype(np.uint8)
WEIGHTS = np.random.default_rng(1).normal(size=(36, 3))


def stable(batch: np.ndarray) -> np.ndarray:
    return batch.reshape(len(batch), -1) @ WEIGHTS / 255


def batch_statistics(batch: np.ndarray) -> np.ndarray:
    """Normalises by the batch's own mean and spread, as BatchNorm in training mode does."""
    flat = batch.reshape(len(batch), -1)
    normalised = (flat - flat.mean(axis=0)) / (flat.std(axis=0) + 1)
    return normalised @ WEIGHTS


class Noisy:
    """Adds fresh noise on every call, as dropout in training mode does."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(2)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return stable(batch) + self.rng.normal(scale=0.3, size=(len(batch), 3))


LABELS = stable(IMAGES.astype(np.float32)).argmax(axis=1)


def test_a_stable_model_passes_the_check() -> None:
    result = attack(stable, IMAGES, LABELS, budget=20)
    check = result.measured.model_check
    assert check["stable"] and check["max_difference"] <= 1e-4 and check["images_scored"] > 0


@pytest.mark.parametrize(
    ("model", "depends_on", "cause"),
    [
        (batch_statistics, "the batch", "BatchNorm left in training mode"),
        (Noisy(), "chance", "dropout left in training mode"),
    ],
)
def test_unstable_models_are_refused_with_cause_and_fix(model, depends_on, cause) -> None:
    with pytest.raises(UnstableModelError) as refused:
        attack(model, IMAGES, LABELS, budget=20)
    message = str(refused.value)
    assert f"the model's scores depend on {depends_on}" in message
    assert cause in message and "model.eval()" in message and "allow_unstable_model" in message


def test_an_allowed_unstable_model_runs_without_early_verdict() -> None:
    result = attack(
        batch_statistics, IMAGES, LABELS, budget=20, stop_when=lambda *_: True,
        allow_unstable_model=True,
    )  # fmt: skip
    assert not result.measured.model_check["stable"]
    assert result.skipped == 0  # the stop rule was ignored


class LiesInLargeBatches:
    """Claims class 1 for any image with a bright pixel in batches of 16 or more: the search
    (whose batches are never below 16, the smallest size measured) then finds successes the
    confirming re-query (at most 10 images here) does not reproduce. The probe and the clean
    pass see only the all-dark originals, so they never meet the lie."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        scores = np.tile([5.0, 0.0], (len(batch), 1))
        if len(batch) >= 16:
            scores[(batch.reshape(len(batch), -1) > 128).any(axis=1)] = [0.0, 5.0]
        return scores


def test_unconfirmed_successes_are_rejected_not_counted() -> None:
    images = np.zeros((10, 1, 4, 4), dtype=np.uint8)
    steps: list[AttackProgress] = []
    result = attack(
        LiesInLargeBatches(), images, np.zeros(10, dtype=int), budget=40, popsize=20,
        max_batch=256, progress=steps.append,
    )  # fmt: skip
    assert result.successes == 0
    assert result.counts.rejected == 10
    assert all(r.rejected and not r.success for r in result.records)
    # the live line counts confirmed successes, as Ray's does: never the rejected ones
    assert steps and all(step.successes == 0 for step in steps)


TRAIN_MODE_EXPORT = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.norm(self.conv(x))).flatten(1))

def export(path):
    torch.manual_seed(0)
    net = Net().train()  # the mistake: exported in training mode
    example = torch.rand(4, 1, 6, 6) * 16
    program = torch.export.export(
        net, (example,), dynamic_shapes={"x": {0: torch.export.Dim("n", min=1)}}
    )
    torch.export.save(program, path)

class NoisyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(36, 3)

    def forward(self, x):
        return self.fc(torch.nn.functional.dropout(x.flatten(1), 0.5, training=True))

def noisy():
    torch.manual_seed(0)
    return NoisyNet()
"""


def test_training_mode_and_noisy_models_are_gate_errors(repo) -> None:
    (repo.path / "nets.py").write_text(TRAIN_MODE_EXPORT)
    export = "import nets; nets.export('models/train_mode.pt2')"
    subprocess.run([sys.executable, "-c", export], cwd=repo.path, check=True)
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 20, max_success_rate: 1.0}
        models:
          - {name: batchnorm, model: models/train_mode.pt2, data: data/holdout.npz}
          - {name: dropout, model: "nets:noisy", data: data/holdout.npz}
          - {name: allowed, model: models/train_mode.pt2, data: data/holdout.npz,
             allow_unstable_model: true, min_clean_accuracy: 0}
          - {name: fine, model: models/tiny.onnx, data: data/holdout.npz}
        """,
    )
    # A subprocess: torch's extension modules cannot be loaded twice in one process, and an
    # in-process pytester run drops the modules first imported inside it.
    result = repo.runpytest_subprocess("--onepixel-report=r.json")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*torch.export train_mode.pt2: the model's scores depend on the batch*BatchNorm left "
            "in training mode*model.eval()*allow_unstable_model*",
        ]
    )
    result.stdout.fnmatch_lines(["*nets:noisy: the model's scores depend on chance*dropout*"])
    gates = {g["name"]: g for g in json.loads((repo.path / "r.json").read_text())["gates"]}
    assert gates["batchnorm"]["status"] == gates["dropout"]["status"] == "error"
    allowed = gates["allowed"]
    assert allowed["status"] == "passed" and not allowed["measured"]["model_check"]["stable"]
    assert any("unstable model attacked anyway" in note for note in allowed["notes"])
    assert "Traceback" not in result.stdout.str()


LIAR_TEST = """
import numpy as np, pytest

def liar(batch):
    scores = np.tile([5.0, 0.0], (len(batch), 1))
    if len(batch) >= 16:
        scores[(batch.reshape(len(batch), -1) > 128).any(axis=1)] = [0.0, 5.0]
    return scores

@pytest.mark.onepixel({marker}, budget=40, popsize=20, max_batch=256)
def test_gate(onepixel):
    onepixel.check(liar, np.zeros((10, 1, 4, 4), np.uint8), np.array({labels}))
"""
"""LiesInLargeBatches as a test file for pytester, with the marker's threshold and the labels."""


def test_rejected_successes_show_in_the_failure_text_and_warn(pytester) -> None:
    liar = LIAR_TEST.format(marker="max_success_rate=0.0", labels="[0] * 10")
    pytester.makepyfile(test_liar=liar)
    result = pytester.runpytest("--onepixel-report=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*OnePixelWarning: 10 of 10 attacked images had a success*"])
    gate = json.loads((pytester.path / "r.json").read_text())["gates"][0]
    assert gate["summary"]["rejected"] == 10 and gate["summary"]["successes"] == 0


def test_a_failing_gate_names_its_rejected_successes(pytester) -> None:
    """The same lying model in a gate that fails (on clean accuracy): the failure text says how
    many successes the re-query did not confirm."""
    marker = "max_success_rate=1.0, min_clean_accuracy=0.95"
    pytester.makepyfile(test_liar=LIAR_TEST.format(marker=marker, labels="[0] * 9 + [1]"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rejected:     9 success(es) found by the search and not*"])
