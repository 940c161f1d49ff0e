"""Our own corpus of bad inputs: every one must end as a clear one-paragraph error that names
the file, key or value, as that gate's error (or a usage error), with no traceback from inside
the plugin, while every other gate still runs and passes.

Gate cases run together in one session (one gate file per case beside a good gate), then the
JSON report is read: each bad gate has status "error" and a message with the expected words.
Usage cases (options, ini keys, output paths) each get a session of their own.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import write_gates

from pytest_onepixel.errors import ConfigError
from pytest_onepixel.settings.gatefile import read_gate_file

Setup = Callable[[Path], None]
DEFAULTS = "defaults: {samples: 20, pixel_range: [0, 16], budget: 10}\n"
GOOD = "{name: good, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}"
HOLDOUT = "data/holdout.npz"
TINY = "models/tiny.onnx"


@dataclass(frozen=True)
class Case:
    """A gate file (its whole text, or one entry to wrap) and the words its error must hold."""

    name: str
    category: str
    expected: tuple[str, ...]
    entry: str | None = None  # one YAML flow mapping: the gate `bad`
    text: str | bytes | None = None  # the whole file instead
    setup: Setup | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def file_text(self) -> str | bytes:
        if self.text is not None:
            return self.text
        return f"{DEFAULTS}models:\n  - {self.entry}\n"


def entry(**keys: object) -> str:
    """A gate `bad` with the good gate's model and data unless `keys` say otherwise."""
    values = {"name": "bad", "model": TINY, "data": HOLDOUT, "max_success_rate": 1.0, **keys}
    return "{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}"


def write(relative: str, content: bytes | str) -> Setup:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return setup


def npz(relative: str, **arrays: np.ndarray) -> Setup:
    def setup(root: Path) -> None:
        np.savez(root / relative, **arrays)

    return setup


def fifo(relative: str) -> Setup:
    return lambda root: os.mkfifo(root / relative)


def loop(relative: str) -> Setup:
    return lambda root: os.symlink(root / relative, root / relative)


X = np.random.default_rng(0).integers(0, 17, size=(30, 1, 6, 6)).astype(np.uint8)
Y = np.zeros(30, dtype=np.int64)
LAUGHS = "\n".join(
    ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    + ["models: [*l8]"]
)
DATA_MODULE = textwrap.dedent(
    """
    import numpy as np

    def raises():
        raise RuntimeError("the bucket is gone")

    def wrong_type():
        return "images"

    def float_labels():
        return np.zeros((4, 6, 6), np.uint8), np.array([0.5, 1.5, 0.5, 1.5])
    """
)
MODEL_MODULE = textwrap.dedent(
    """
    import torch

    def raises():
        raise ValueError("no such architecture")

    def not_a_module():
        return "resnet"

    def linear():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3))

    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(36, 3)

        def forward(self, x):  # dropout that eval() cannot switch off
            return self.fc(torch.nn.functional.dropout(x.flatten(1), 0.5, training=True))

    def noisy():
        return Noisy()
    """
)


def pickled_module(root: Path) -> None:
    import torch

    torch.save(torch.nn.Linear(2, 2), root / "models" / "pickled.pt")


def wrong_weights(root: Path) -> None:
    import torch

    torch.save({"weight": torch.zeros(1)}, root / "models" / "wrong.pt")


CASES = [
    # options and statistics in a YAML entry
    Case(
        "typo_key",
        "options",
        ("onepixel_typo_key.yaml:3", "budgett", "did you mean 'budget'"),
        entry(budgett=10),
    ),
    Case(
        "wrong_type",
        "options",
        ("onepixel_wrong_type.yaml:3", "'samples' must be an integer >= 1", "'many'"),
        entry(samples="many"),
    ),
    Case(
        "missing_model",
        "options",
        ("onepixel_missing_model.yaml:3", "missing required key 'model'"),
        "{name: bad, data: data/holdout.npz, max_success_rate: 1.0}",
    ),
    Case(
        "threshold_above_one",
        "statistics",
        (
            "onepixel_threshold_above_one.yaml:3",
            "'max_success_rate' must be a number between 0 and 1",
            "1.5",
        ),
        entry(max_success_rate=1.5),
    ),
    Case(
        "confidence_one",
        "statistics",
        ("'confidence' must be a confidence level between 0 and 1", "1.0"),
        entry(confidence=1.0),
    ),
    Case(
        "mode_typo",
        "statistics",
        ("'gate' must be one of point, strict, lenient", "'strictest'"),
        entry(gate="strictest"),
    ),
    Case(
        "curve_beyond_budget",
        "statistics",
        ("max_success_rate_at names budget 500", "raise `budget`"),
        entry(max_success_rate_at="{500: 0.1}"),
    ),
    Case(
        "negative_accuracy",
        "statistics",
        ("'min_clean_accuracy' must be a number between 0 and 1", "-0.1"),
        entry(min_clean_accuracy=-0.1),
    ),
    Case(
        "no_threshold",
        "statistics",
        ("gate 'bad' has no max_success_rate",),
        "{name: bad, model: models/tiny.onnx, data: data/holdout.npz}",
    ),
    Case(
        "bad_device",
        "options",
        ("'device' must be cpu, cuda or cuda:N", "'gpu'"),
        entry(device="gpu"),
    ),
    Case(
        "bad_preprocess",
        "options",
        ("'preprocess' must be a mapping whose scale is a positive number",),
        entry(preprocess="{scale: fast}"),
    ),
    Case("popsize_three", "options", ("'popsize' must be an integer >= 4", "3"), entry(popsize=3)),
    Case(
        "long_echo",  # a long wrong value is echoed cut, with its length
        "options",
        ("'budget' must be an integer >= 1", "... (502 characters)"),
        entry(budget="x" * 500),
    ),
    Case(
        "duplicate_name",
        "options",
        ("gate name 'bad' is used twice",),
        text=f"models:\n  - {entry(samples=20)}\n  - {entry(samples=20)}\n",
    ),
    # hostile or damaged gate files
    Case(
        "duplicate_key",
        "file",
        ("onepixel_duplicate_key.yaml:4", "'max_success_rate' appears twice", "lines 3 and 4"),
        text="models:\n  - name: bad\n    max_success_rate: 0.1\n    max_success_rate: 0.9\n",
    ),
    Case("laughs", "file", ("onepixel_laughs.yaml", "billion laughs"), text=LAUGHS),
    Case("cycle", "file", ("onepixel_cycle.yaml:1", "refers to itself"), text="models: &m [*m]\n"),
    Case(
        "huge",
        "file",
        ("onepixel_huge.yaml", "bytes", "limit 1,000,000"),
        text="models: [" + "1, " * 400_000 + "1]\n",
    ),
    Case(
        "long_value",
        "file",
        ("onepixel_long_value.yaml:1", "20,000 characters"),
        text="models: [{name: " + "a" * 20_000 + "}]\n",
    ),
    Case(
        "many_entries",
        "file",
        ("onepixel_many_entries.yaml:1", "10,001 entries", "limit 10,000"),
        text="models: [" + "1, " * 10_000 + "1]\n",
    ),
    Case(
        "latin1",
        "file",
        ("onepixel_latin1.yaml:1", "must be UTF-8", "0xe9"),
        text=b"models: [{name: caf\xe9}]\n",
    ),
    Case(
        "python_tag",
        "file",
        ("onepixel_python_tag.yaml:1", "not valid YAML"),
        text="models: !!python/object/apply:os.system ['true']\n",
    ),
    Case(
        "not_yaml",
        "file",
        ("onepixel_not_yaml.yaml:3", "not valid YAML"),
        text="models:\n  - [unclosed\n",
    ),
    Case(
        "not_a_mapping",
        "file",
        ("onepixel_not_a_mapping.yaml", "a onepixel file is a mapping with `models:`"),
        text="- just\n- a list\n",
    ),
    # data files
    Case(
        "data_missing", "data", ("data/nothing.npz does not exist",), entry(data="data/nothing.npz")
    ),
    Case(
        "data_fifo",
        "data",
        ("data/pipe.npz is a FIFO, not a regular file",),
        entry(data="data/pipe.npz"),
        setup=fifo("data/pipe.npz"),
    ),
    Case(
        "data_loop",
        "data",
        ("data/loop.npz is a symbolic link loop",),
        entry(data="data/loop.npz"),
        setup=loop("data/loop.npz"),
    ),
    Case(
        "data_nan",
        "data",
        ("nan.npz", "NaN or infinite pixel values"),
        entry(data="data/nan.npz"),
        setup=npz("data/nan.npz", x=np.full((4, 1, 6, 6), np.nan, np.float32), y=Y[:4]),
    ),
    Case(
        "data_objects",
        "data",
        ("objects.npz", "array 'x'", "Python objects"),
        entry(data="data/objects.npz"),
        setup=npz("data/objects.npz", x=np.array([None, 1], dtype=object), y=Y[:2]),
    ),
    Case(
        "data_wrong_key",
        "data",
        ("keys.npz has no array named 'x'", "x_key"),
        entry(data="data/keys.npz"),
        setup=npz("data/keys.npz", images=X, labels=Y),
    ),
    Case(
        "data_count",
        "data",
        ("short.npz has 30 images but 7 labels",),
        entry(data="data/short.npz"),
        setup=npz("data/short.npz", x=X, y=Y[:7]),
    ),
    Case(
        "data_range",
        "data",
        ("data/holdout.npz", "image values must lie in pixel_range (0, 1)"),
        entry(pixel_range="[0, 1]"),
    ),
    Case(
        "data_labels_range",
        "data",
        ("labels.npz", "labels must lie in 0..2", "found 7"),
        entry(data="data/labels.npz"),
        setup=npz("data/labels.npz", x=X, y=Y + 7),
    ),
    Case(
        "data_not_zip",
        "data",
        ("junk.npz is not a readable .npz file",),
        entry(data="data/junk.npz"),
        setup=write("data/junk.npz", b"not a zip"),
    ),
    Case(
        "data_function_raises",
        "data",
        ("datafns:raises raised RuntimeError: the bucket is gone",),
        entry(data='"datafns:raises"'),
        setup=write("datafns.py", DATA_MODULE),
    ),
    Case(
        "data_function_type",
        "data",
        ("datafns:wrong_type must return (images, labels)",),
        entry(data='"datafns:wrong_type"'),
        setup=write("datafns.py", DATA_MODULE),
    ),
    Case(
        "data_float_labels",
        "data",
        ("labels in datafns:float_labels must be a 1-D array of integers",),
        entry(data='"datafns:float_labels"'),
        setup=write("datafns.py", DATA_MODULE),
    ),
    # model files
    Case(
        "model_missing",
        "model",
        ("ONNX model file", "models/none.onnx does not exist"),
        entry(model="models/none.onnx"),
    ),
    Case(
        "model_directory",
        "model",
        ("models/folder.onnx is a directory, not a file",),
        entry(model="models/folder.onnx"),
        setup=lambda root: (root / "models" / "folder.onnx").mkdir(),
    ),
    Case(
        "model_garbage",
        "model",
        ("garbage.onnx is not a readable ONNX model",),
        entry(model="models/garbage.onnx"),
        setup=write("models/garbage.onnx", b"\x00garbage"),
    ),
    Case(
        "model_suffix",
        "model",
        ("model.h5", "cannot tell what kind of model"),
        entry(model="models/model.h5"),
        setup=write("models/model.h5", b"x"),
    ),
    Case(
        "model_pickle",
        "model",
        ("pickled.pt", "trust_pickle"),
        entry(model="models/pickled.pt"),
        setup=pickled_module,
    ),
    Case(
        "model_factory_raises",
        "model",
        ("model factory models_code:raises raised ValueError: no such architecture",),
        entry(model='"models_code:raises"'),
        setup=write("models_code.py", MODEL_MODULE),
    ),
    Case(
        "model_factory_type",
        "model",
        ("model factory models_code:not_a_module returned a str",),
        entry(model='"models_code:not_a_module"'),
        setup=write("models_code.py", MODEL_MODULE),
    ),
    Case(
        "model_weights",
        "model",
        ("the state_dict in", "wrong.pt does not fit the model built by models_code:linear"),
        entry(model='"models_code:linear"', weights="models/wrong.pt"),
        setup=wrong_weights,
    ),
    Case(
        "model_noisy",
        "model",
        ("models_code:noisy: the model's scores depend on chance",),
        entry(model='"models_code:noisy"'),
        setup=write("models_code.py", MODEL_MODULE),
    ),
    Case(
        "model_input",
        "model",
        ("tiny.onnx takes input (N, 1, 6, 6)", "axis 2 is 4", "images come from", "small.npz"),
        entry(data="data/small.npz"),
        setup=npz("data/small.npz", x=X[:, :, :4, :4], y=Y),
    ),
    Case(
        "model_input_name",
        "model",
        ("tiny.onnx has no input named 'image'",),
        entry(input_name="image"),
    ),
]


def test_the_corpus_covers_every_category() -> None:
    assert {case.category for case in CASES} == {"options", "statistics", "file", "data", "model"}


def gate_of(report: dict, case: Case) -> list[dict]:
    return [g for g in report["gates"] if g["nodeid"].startswith(f"onepixel_{case.name}.yaml")]


def test_every_bad_gate_is_a_clear_error_and_the_good_gate_passes(repo) -> None:
    for case in CASES:
        write_gates(repo, "", f"onepixel_{case.name}.yaml")
        content = case.file_text()
        path = repo.path / f"onepixel_{case.name}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if case.setup is not None:
            case.setup(repo.path)
    write_gates(repo, f"{DEFAULTS}models:\n  - {GOOD}\n", "onepixel_good.yaml")
    result = repo.runpytest_subprocess("--onepixel-report=r.json", "-p", "no:cacheprovider")
    report = json.loads((repo.path / "r.json").read_text())
    output = result.stdout.str()
    assert "Traceback" not in output and "src/pytest_onepixel" not in output
    good = [g for g in report["gates"] if g["name"] == "good"]
    assert [g["status"] for g in good] == ["passed"]
    problems = []
    for case in CASES:
        gates = gate_of(report, case)
        errors = [g for g in gates if g["status"] == "error"]
        if not errors:
            problems.append(f"{case.name}: no error entry ({[g['status'] for g in gates]})")
            continue
        message = errors[0]["error"]
        missing = [words for words in case.expected if words not in message]
        if missing or "\n" in message.strip() or len(message) > 1200:
            problems.append(f"{case.name}: {message!r} (missing {missing})")
    assert not problems, "\n".join(problems)


CHECK_TESTS = textwrap.dedent(
    """
    import numpy as np
    import pytest

    IMAGES = np.zeros((4, 1, 6, 6), np.uint8)

    def model(batch):
        return np.tile([5.0, 0.0], (len(batch), 1))

    @pytest.mark.onepixel(max_success_rate=1.0, budget=10)
    def test_unknown_keyword(onepixel):
        onepixel.check(model, IMAGES, [0, 0, 0, 0], budgett=3)

    @pytest.mark.onepixel(0.3)
    def test_positional_marker(onepixel):
        onepixel.check(model, IMAGES, [0, 0, 0, 0])

    @pytest.mark.onepixel(max_success_rate=1.0, budget=10)
    def test_labels_out_of_range(onepixel):
        onepixel.check(model, IMAGES, [0, 0, 0, 9])

    @pytest.mark.onepixel(max_success_rate=1.0, budget=10)
    def test_wrong_output(onepixel):
        onepixel.check(lambda b: np.zeros(len(b)), IMAGES, [0, 0, 0, 0])

    @pytest.mark.onepixel(max_success_rate=1.0, budget=10)
    def test_nan_scores(onepixel):
        onepixel.check(lambda b: np.full((len(b), 2), np.nan), IMAGES, [0, 0, 0, 0])

    @pytest.mark.onepixel(max_success_rate=1.0, budget=10)
    def test_nan_pixels(onepixel):
        onepixel.check(model, np.full((4, 6, 6), np.nan), [0, 0, 0, 0])

    @pytest.mark.onepixel(max_success_rate=1.0, budget=10)
    def test_good(onepixel):
        onepixel.check(model, IMAGES, [0, 0, 0, 0])
    """
)
CHECK_EXPECTED = {
    "test_unknown_keyword": ("onepixel.check(budgett=...)", "did you mean 'budget'"),
    "test_positional_marker": ("keyword arguments only", "(0.3,)"),
    "test_labels_out_of_range": (
        "arrays passed to onepixel.check()",
        "labels must lie in 0..1",
        "found 9",
    ),
    "test_wrong_output": ("class scores of shape (batch, classes)", "shape (4,)"),
    "test_nan_scores": ("non-finite scores",),
    "test_nan_pixels": ("arrays passed to onepixel.check()", "NaN or infinite pixel values"),
}


def test_bad_check_calls_fail_their_test_once_with_a_clear_message(pytester) -> None:
    pytester.makepyfile(test_checks=CHECK_TESTS)
    # -rN drops pytest's own short summary: it echoes each failure's first line,
    # cut to the terminal's width, so counting would depend on COLUMNS.
    result = pytester.runpytest("--onepixel-report=r.json", "-rN")
    # A marker that cannot be read fails its test at setup, before check() runs.
    result.assert_outcomes(passed=1, failed=len(CHECK_EXPECTED) - 1, errors=1)
    output = result.stdout.str()
    assert "Traceback" not in output and "During handling" not in output
    report = {g["name"]: g for g in json.loads((pytester.path / "r.json").read_text())["gates"]}
    assert report["test_good"]["status"] == "passed"
    for name, expected in CHECK_EXPECTED.items():
        message = report[name]["error"]
        assert report[name]["status"] == "error", name
        assert all(words in message for words in expected), (name, message)
        assert output.count(message.splitlines()[0]) == 1, f"{name}'s message is repeated"


USAGE_CASES = [
    (
        ["--onepixel-budget=0"],
        None,
        "argument --onepixel-budget: must be an integer >= 1; found '0'",
    ),
    (
        ["--onepixel-budget=lots"],
        None,
        "argument --onepixel-budget: must be an integer >= 1; found 'lots'",
    ),
    (
        ["--onepixel-gate=strictest"],
        None,
        "argument --onepixel-gate: must be one of point, strict, lenient",
    ),
    (["--onepixel-device=gpu"], None, "argument --onepixel-device: must be cpu, cuda or cuda:N"),
    (
        ["--onepixel-confidence=95"],
        None,
        "argument --onepixel-confidence: must be a confidence level",
    ),
    (["--onepixel-compare=none.json"], None, "--onepixel-compare: no such report"),
    (["--onepixel-config=none.yaml"], None, "--onepixel-config: no such file"),
    (["--onepixel-report=data"], None, "is a directory; give a file path"),
    (
        [],
        "onepixel_budget = lots",
        "ini key onepixel_budget: 'budget' must be an integer >= 1; found 'lots'",
    ),
    (
        [],
        "onepixel_bugdet = 10",
        "unknown ini key 'onepixel_bugdet'; did you mean 'onepixel_budget'?",
    ),
    (
        [],
        "onepixel_full = maybe",
        "ini key onepixel_full: 'full' must be true or false; found 'maybe'",
    ),
]


@pytest.mark.parametrize(("args", "ini", "expected"), USAGE_CASES)
def test_bad_options_and_ini_keys_are_usage_errors(repo, args, ini, expected) -> None:
    write_gates(repo)
    if ini is not None:
        repo.makeini(f"[pytest]\n{ini}\n")
    result = repo.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    error = result.stderr.str()
    assert expected in error and "Traceback" not in error
    assert "onepixel gates" not in result.stdout.str()


def test_a_billion_laughs_file_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    """The aliases are counted on the composed graph, never expanded: a refusal in about 3 ms
    (measured), so a 1 s bound only trips if expansion comes back (it once took 116 s)."""
    path = tmp_path / "onepixel.yaml"
    path.write_text(LAUGHS)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="billion laughs"):
        read_gate_file(path, Path("onepixel.yaml"))
    assert time.perf_counter() - start < 1.0
