"""`search: certify` gates as users see them: from YAML, a marker and the command line; a gate
passes when every image is certified, fails on the lower end, fails as undecided naming the
images with a tiny `certify_budget`, and an unsupported op fails that gate alone."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from conftest import write_gates

#: 6 x 6 colour images, pixels 0..7: class 0 is bright (mean 6..7), class 1 dark (mean 0..1).
SIZE, HIGH = 6, 7


class Brightness(torch.nn.Module):
    """Class 0 when the mean pixel is above 3.5: one pixel moves the mean by at most 7/36, so
    every bright or dark image is certified."""

    def __init__(self) -> None:
        super().__init__()
        self.head = torch.nn.Linear(3 * SIZE * SIZE, 2)
        with torch.no_grad():
            weight = torch.full((3 * SIZE * SIZE,), 1.0 / (3 * SIZE * SIZE))
            self.head.weight.copy_(torch.stack([weight, -weight]))
            self.head.bias.copy_(torch.tensor([-3.5, 3.5]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.flatten(1))


class Sine(Brightness):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.head(x.flatten(1)))


def export(module: torch.nn.Module, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.zeros(2, 3, SIZE, SIZE),),
            str(path),
            dynamo=False,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "n"}, "logits": {0: "n"}},
        )


@pytest.fixture(scope="module")
def certify_assets(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("certify_assets")
    rng = np.random.default_rng(0)
    bright = rng.integers(6, HIGH + 1, (10, 3, SIZE, SIZE))
    dark = rng.integers(0, 2, (10, 3, SIZE, SIZE))
    images = np.concatenate([bright, dark]).astype(np.uint8)
    labels = np.array([0] * 10 + [1] * 10)
    np.savez(folder / "bright.npz", x=images, y=labels)
    export(Brightness(), folder / "bright.onnx")
    export(Sine(), folder / "sine.onnx")
    return {
        name: (folder / name).read_bytes() for name in ("bright.onnx", "sine.onnx", "bright.npz")
    }


@pytest.fixture
def certify_repo(repo, certify_assets):
    for name, data in certify_assets.items():
        folder = "data" if name.endswith(".npz") else "models"
        (repo.path / folder / name).write_bytes(data)
    return repo


GATES = """\
defaults: {samples: 12, budget: 20, pixel_range: [0, 7], search: certify, max_success_rate: 0.0}
models:
  - name: bright-certified
    model: models/bright.onnx
    data: data/bright.npz
  - name: bright-undecided
    model: models/bright.onnx
    data: data/bright.npz
    certify_budget: 1
  - name: sine-unsupported
    model: models/sine.onnx
    data: data/bright.npz
  - name: tiny-fooled
    model: models/tiny.onnx
    data: data/holdout.npz
    pixel_range: [0, 16]
    max_success_rate: 0.1
"""


def gates(repo) -> dict[str, dict]:
    report = json.loads((repo.path / "report.json").read_text())
    return {gate["name"]: gate for gate in report["gates"]}


def test_yaml_certify_gates_pass_fail_and_explain(certify_repo) -> None:
    write_gates(certify_repo, GATES)
    result = certify_repo.runpytest("--onepixel-report=report.json")
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    assert "Traceback" not in out
    found = gates(certify_repo)

    certified = found["bright-certified"]
    assert certified["passed"]
    assert certified["summary"]["certified"] == certified["summary"]["attacked"] == 12
    assert certified["summary"]["bracket"] == [0.0, 0.0]
    assert certified["reasons"][0].startswith("vulnerability bracket [0.000, 0.000]")
    assert all(r["outcome"] == "certified" for r in certified["records"])

    undecided = found["bright-undecided"]
    assert not undecided["passed"]
    assert undecided["summary"]["undecided"] == 12
    reason = undecided["reasons"][0]
    assert reason.startswith("vulnerability bracket [0.000, 1.000]")
    indices = ", ".join(str(r["index"]) for r in undecided["records"][:10])
    assert f"undecided images: {indices} and 2 more" in reason
    assert "raise certify_budget (now 1) or use search: de" in reason

    fooled = found["tiny-fooled"]
    assert not fooled["passed"]
    assert "the lower end alone fails threshold 0.100 in point mode" in fooled["reason"]
    assert fooled["summary"]["successes"] > 0.1 * fooled["summary"]["attacked"]

    assert found["sine-unsupported"]["status"] in ("error", "failed")
    result.stdout.fnmatch_lines(["*sine-unsupported*"])
    assert "Sin" in out and "search: de" in out


def test_the_command_line_option_and_the_marker_ask_for_certify(certify_repo) -> None:
    write_gates(
        certify_repo,
        """\
        defaults: {samples: 12, budget: 20, pixel_range: [0, 7], max_success_rate: 0.0}
        models:
          - name: bright-cli
            model: models/bright.onnx
            data: data/bright.npz
        """,
    )
    plain = certify_repo.runpytest("--onepixel-report=report.json")
    plain.assert_outcomes(passed=1)
    assert "bracket" not in gates(certify_repo)["bright-cli"]["summary"]
    result = certify_repo.runpytest(
        "--onepixel-search=certify", "--onepixel-certify-budget=1", "--onepixel-report=report.json"
    )
    result.assert_outcomes(failed=1)
    gate = gates(certify_repo)["bright-cli"]
    assert gate["settings"]["search"] == "certify" and gate["settings"]["certify_budget"] == 1
    assert gate["summary"]["undecided"] == 12

    (certify_repo.path / "onepixel.yaml").unlink()
    certify_repo.makepyfile(
        test_certify_marker="""
        import numpy as np
        import pytest

        @pytest.mark.onepixel(search="certify", max_success_rate=0.0, samples=20)
        def test_bright_model_is_certified(onepixel):
            data = np.load("data/bright.npz")
            result = onepixel.check("models/bright.onnx", data["x"], data["y"], pixel_range=(0, 7))
            assert result.counts.certified == result.counts.attacked == 20
        """
    )
    marked = certify_repo.runpytest("--strict-markers", "-p", "no:cacheprovider")
    marked.assert_outcomes(passed=1)


def test_a_cached_certify_gate_is_judged_again_and_its_budget_keys_the_cache(certify_repo) -> None:
    gate = """\
        defaults: {samples: 12, budget: 20, pixel_range: [0, 7], search: certify}
        models:
          - name: bright-cached
            model: models/bright.onnx
            data: data/bright.npz
            max_success_rate: %s
            certify_budget: %d
        """
    write_gates(certify_repo, gate % ("0.0", 1))
    certify_repo.runpytest("--onepixel-report=report.json").assert_outcomes(failed=1)
    assert not gates(certify_repo)["bright-cached"]["cached"]
    # the same gate again: records from the cache, the verdict judged again from them
    certify_repo.runpytest("--onepixel-report=report.json").assert_outcomes(failed=1)
    cached = gates(certify_repo)["bright-cached"]
    assert cached["cached"] and cached["summary"]["undecided"] == 12
    assert cached["reasons"][0].startswith("vulnerability bracket [0.000, 1.000]")
    assert "raise certify_budget (now 1)" in cached["reasons"][0]
    # another certify_budget is another attack: attacked again, now certified
    write_gates(certify_repo, gate % ("0.0", 4_000_000))
    certify_repo.runpytest("--onepixel-report=report.json").assert_outcomes(passed=1)
    fresh = gates(certify_repo)["bright-cached"]
    assert not fresh["cached"] and fresh["summary"]["certified"] == 12
