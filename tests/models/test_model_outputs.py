"""PyTorch model outputs as real code returns them: a tensor, a tuple or list, a dict, a
dataclass, or an object with `.logits`; the scores are picked by `output` or found without
guessing, and an ambiguous output is an error naming the shapes and the setting."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_gates

from pytest_onepixel import ModelOutputError, attack, load_model

IMAGES = np.random.default_rng(0).integers(0, 17, size=(12, 1, 6, 6)).astype(np.uint8)


class Head(torch.nn.Module):
    """Features (8 wide) and logits (3 classes); `shape` says how forward returns them."""

    def __init__(self, shape: str) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Linear(36, 8)
        self.classifier = torch.nn.Linear(8, 3)
        self.shape = shape

    def forward(self, x: torch.Tensor):
        features = torch.relu(self.features(x.flatten(1)))
        logits = self.classifier(features)
        return {
            "tensor": lambda: logits,
            "tuple": lambda: (features, logits),
            "list": lambda: [logits],
            "dict": lambda: {"features": features, "logits": logits},
            "dict_unnamed": lambda: {"embedding": features, "scores": logits},
            "hf": lambda: ImageClassifierOutput(logits=logits, hidden_states=features),
            "dataclass": lambda: Output(features, logits),
        }[self.shape]()


class ImageClassifierOutput(OrderedDict):
    """What transformers' ImageClassifierOutput is: an ordered dict with attribute access."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclasses.dataclass
class Output:
    features: torch.Tensor
    scores: torch.Tensor


def expected_predictions() -> np.ndarray:
    return load_model(Head("tensor")).predict(IMAGES.astype(np.float32))


@pytest.mark.parametrize(
    ("shape", "output"),
    [
        ("tensor", None),
        ("list", None),
        ("tuple", 1),
        ("dict", None),  # `logits` is found by name
        ("dict_unnamed", "scores"),
        ("hf", None),
        ("dataclass", "scores"),
    ],
)
def test_each_output_kind_gives_the_logits(shape: str, output) -> None:
    model = load_model(Head(shape), output=output)
    np.testing.assert_allclose(model.predict(IMAGES.astype(np.float32)), expected_predictions())


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            "tuple",
            r"2 tensors \(\[0\] of shape \(\d+, 8\), \[1\] of shape \(\d+, 3\)\).*`output: 1`",
        ),
        (
            "dict_unnamed",
            r"'embedding' of shape \(\d+, 8\), 'scores' of shape \(\d+, 3\).*`output: scores`",
        ),
        ("dataclass", r"'features' of shape \(\d+, 8\), 'scores' of shape \(\d+, 3\)"),
    ],
)
def test_an_ambiguous_output_names_the_shapes_and_the_setting(shape: str, message: str) -> None:
    with pytest.raises(ModelOutputError, match=message):
        attack(Head(shape), IMAGES, np.zeros(12, dtype=int), budget=10)


def test_an_output_key_the_model_does_not_have_lists_what_it_has() -> None:
    with pytest.raises(ModelOutputError, match=r"`output: 'probs'` is not among.*'logits'"):
        load_model(Head("dict"), output="probs").predict(IMAGES.astype(np.float32))


def test_output_from_yaml(repo) -> None:

    here, shared = str(Path(__file__).parent), str(Path(__file__).parents[1])  # conftest's
    (repo.path / "heads.py").write_text(
        f"import sys; sys.path[:0] = [{here!r}, {shared!r}]\n"
        "from test_model_outputs import Head\n\n"
        "def tuple_head():\n    return Head('tuple')\n"
    )
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 10, max_success_rate: 1.0,
                   min_clean_accuracy: 0}  # the head is not trained for these labels
        models:
          - {name: picked, model: "heads:tuple_head", data: data/holdout.npz, output: 1}
          - {name: ambiguous, model: "heads:tuple_head", data: data/holdout.npz}
        """,
    )
    result = repo.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the model returned 2 tensors*e.g. `output: 1`*"])
