"""An image folder whose sub-folder names sort against the model's class indices: the gate
fails on the clean-accuracy floor naming `classes`; `classes` (a list or a mapping) fixes it;
a bad `classes` value is an error naming the key; a weak model opts out with
min_clean_accuracy."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import write_gates
from PIL import Image

#: The tiny model's classes 0, 1, 2; sorted they read ant (1), mouse (2), zebra (0): no
#: class keeps its index.
NAMES = ("zebra", "ant", "mouse")
DEFAULTS = "defaults: {samples: 40, pixel_range: [0, 16], budget: 10, max_success_rate: 1.0}\n"


@pytest.fixture
def folder_repo(repo, gate_assets):
    """The holdout images as PNGs under holdout/<class name>/."""
    with np.load(io.BytesIO(gate_assets["holdout.npz"])) as data:
        images, labels = data["x"], data["y"]
    for name in NAMES:
        (repo.path / "holdout" / name).mkdir(parents=True)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(image[0]).save(repo.path / "holdout" / NAMES[label] / f"{i:02}.png")
    return repo


def entry(name: str, extra: str = "") -> str:
    return f"  - {{name: {name}, model: models/tiny.onnx, data: holdout{extra}}}\n"


def run(repo, text: str) -> tuple[object, dict[str, dict]]:
    write_gates(repo, DEFAULTS + "models:\n" + text)
    result = repo.runpytest_subprocess("--onepixel-report=r.json", "-p", "no:cacheprovider")
    report = json.loads((repo.path / "r.json").read_text())
    return result, {gate["name"]: gate for gate in report["gates"]}


def test_folders_sorted_against_the_class_indices_fail_naming_classes(folder_repo) -> None:
    result, gates = run(
        folder_repo,
        entry("sorted")
        + entry("listed", ", classes: [zebra, ant, mouse]")
        + entry("mapped", ", classes: {ant: 1, mouse: 2, zebra: 0}")
        + entry("weak-on-purpose", ", min_clean_accuracy: 0.0"),
    )
    result.assert_outcomes(passed=3, failed=1)
    failed = gates["sorted"]
    assert failed["status"] == "failed"
    assert "< 0.500 (the floor of a gate without min_clean_accuracy)" in failed["reason"]
    assert "`classes`" in failed["reason"] and "`data_layout`" in failed["reason"]
    result.stdout.fnmatch_lines(["*clean accuracy 0.*< 0.500*"])
    for name in ("listed", "mapped"):
        assert gates[name]["status"] == "passed"
        assert gates[name]["summary"]["clean_accuracy"] == 0.875
        assert gates[name]["data"]["class_names"] == list(NAMES)
    assert gates["weak-on-purpose"]["status"] == "passed"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[zebra, zebra, ant]", "'classes' must be the sub-folder names in class order"),
        ("{zebra: 0, ant: 0, mouse: 1}", "'classes' must be"),
        ("7", "'classes' must be"),
    ],
)
def test_a_bad_classes_value_names_the_key(folder_repo, value: str, message: str) -> None:
    write_gates(folder_repo, DEFAULTS + "models:\n" + entry("bad", f", classes: {value}"))
    result = folder_repo.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    output = result.stdout.str()
    assert message in output and "Traceback" not in output


def test_classes_that_miss_a_sub_folder_is_a_gate_error(folder_repo) -> None:
    result, gates = run(folder_repo, entry("short", ", classes: [zebra, ant]"))
    result.assert_outcomes(failed=1)
    error = gates["short"]["error"]
    assert "`classes` does not give the class of the sub-folder(s) ['mouse']" in error
