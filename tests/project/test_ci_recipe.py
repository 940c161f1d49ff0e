"""docs/ci.md's GitHub Actions workflow works as pasted: it parses without repeated keys, pins
the plugin to an explained commit placeholder with the extras a PyTorch + image-folder repository
needs, takes torch's CPU build, caches the plugin's result cache under a key covering gate files,
models and data, checks out Git LFS files, has a timeout and uploads what the run writes. Its
`run:` steps are run here on a copy of example_project with the installed plugin; the `pip
install` lines (which need the network and the user's fork) are checked, not run."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from test_readme import _NoRepeatedKeys

from pytest_onepixel.plugin.session import CACHE_PREFIX

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "ci.md"
EXAMPLE = ROOT / "example_project"
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
NEEDED_EXTRAS = {"onnx", "torch", "images", "report"}  # PyTorch models + a PNG folder + gallery
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
RESULT_CACHE = f".pytest_cache/v/{CACHE_PREFIX.split('/')[0]}"
# Files a repository like example_project keeps; the cache key must change when any changes.
KEYED_FILES = ["onepixel.yaml", "gates/onepixel-extra.yaml", "models/net.onnx", "data/a/1.png"]


def workflows(text: str) -> list[dict]:
    """Every YAML block of the page, parsed refusing repeated keys (a SafeLoader)."""
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return [yaml.load(block, Loader=_NoRepeatedKeys) for block in blocks]


def steps(workflow: dict) -> list[tuple[str, dict]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def uses(workflow: dict, action: str) -> list[dict]:
    return [step for _, step in steps(workflow) if step.get("uses", "").startswith(action + "@")]


def run_lines(workflow: dict) -> list[str]:
    return [line.strip() for _, s in steps(workflow) for line in s.get("run", "").splitlines()]


def pip_problems(line: str, *, cpu: bool) -> list[str]:
    """What is wrong with one `pip install` line (checked, since it cannot run here)."""
    words = shlex.split(line)[2:]
    if words[0].startswith("torch"):
        has_cpu_index = (
            "--index-url" in words and words[words.index("--index-url") + 1] == CPU_INDEX
        )
        return [] if has_cpu_index or not cpu else [f"torch without {CPU_INDEX}: {line}"]
    requirement = Requirement(words[0])
    problems = []
    if requirement.name != "pytest-onepixel":
        problems.append(f"unexpected install: {line}")
    if not requirement.url or not requirement.url.endswith("@COMMIT_SHA"):
        problems.append(f"not pinned to the COMMIT_SHA placeholder: {line}")
    if missing := NEEDED_EXTRAS - requirement.extras:
        problems.append(f"extras {sorted(missing)} missing: {line}")
    if unknown := requirement.extras - set(EXTRAS):
        problems.append(f"extras {sorted(unknown)} not in pyproject.toml: {line}")
    return problems


def cache_problems(workflow: dict) -> list[str]:
    (cache,) = uses(workflow, "actions/cache") or [{"with": {"path": "", "key": ""}}]
    problems = [] if cache["with"]["path"].rstrip("/") == RESULT_CACHE else ["cache path"]
    patterns = re.findall(r"'([^']+)'", cache["with"]["key"].partition("hashFiles(")[2])
    for path in KEYED_FILES:
        if not any(fnmatch(path, p) or fnmatch(path, p.removeprefix("**/")) for p in patterns):
            problems.append(f"cache key misses {path}")
    return problems


def problems(workflow: dict, *, cpu: bool = True) -> list[str]:
    """Everything the recipe must have, as a list of what is missing."""
    found = [] if workflow.get("on", workflow.get(True)) else ["no trigger"]  # YAML 1.1: on=True
    for name, job in workflow["jobs"].items():
        if not 0 < job.get("timeout-minutes", 0) <= 360:
            found.append(f"job {name}: no timeout-minutes")
        checkout = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        if not checkout or checkout[0].get("with", {}).get("lfs") is not True:
            found.append(f"job {name}: checkout without lfs: true")
    pips = [line for line in run_lines(workflow) if line.startswith("pip install")]
    found += [p for line in pips for p in pip_problems(line, cpu=cpu)]
    if not any("pytest-onepixel" in line for line in pips):
        found.append("pytest-onepixel is not installed")
    return found + (cache_problems(workflow) if cpu else [])


def written_paths(workflow: dict) -> list[str]:
    """Files the pytest steps write (--onepixel-report/html/gallery, --junitxml)."""
    pattern = r"--(?:onepixel-report|onepixel-html|onepixel-gallery|junitxml)=(\S+)"
    return [path for line in run_lines(workflow) for path in re.findall(pattern, line)]


def run_steps(workflow: dict, folder: Path) -> list[str]:
    """Run every `run:` line except `pip install` in a copy of example_project (made once);
    return the lines that failed, with their output."""
    if not folder.exists():
        ignore = shutil.ignore_patterns(".pytest_cache", ".onepixel")
        shutil.copytree(EXAMPLE, folder, ignore=ignore)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    failed = []
    for line in run_lines(workflow):
        if line and not line.startswith("pip install"):
            done = subprocess.run(
                ["bash", "-ec", line], cwd=folder, env=env, capture_output=True, text=True
            )
            if done.returncode:
                failed.append(f"{line} -> {done.returncode}\n{done.stdout[-2000:]}{done.stderr}")
    return failed


TEXT = PAGE.read_text(encoding="utf-8")
CPU, GPU = workflows(TEXT)


def test_the_page_shows_the_workflow_and_a_gpu_variant_marked_not_measured() -> None:
    assert CPU["jobs"]["onepixel"]["runs-on"] == "ubuntu-latest"
    assert "NOT MEASURED HERE" in re.findall(r"```yaml\n(.*?)```", TEXT, re.S)[1]
    assert "### A GPU runner (not measured here)" in TEXT


def test_the_workflow_has_everything_it_needs() -> None:
    assert problems(CPU) == []
    assert problems(GPU, cpu=False) == []


def test_the_commit_placeholder_and_the_cpu_index_are_explained() -> None:
    assert "`COMMIT_SHA`: the full 40-character SHA" in TEXT
    assert "`YOUR-ORG`" in TEXT and "@v0." not in TEXT  # no tag that does not exist
    assert f"`--index-url {CPU_INDEX}`" in TEXT and "GitHub-hosted runner" in TEXT


def test_the_torch_extra_brings_what_the_onnx_twin_needs() -> None:
    names = {Requirement(spec).name for spec in EXTRAS["torch"]}
    assert {"torch", "onnx", "onnxruntime"} <= names


def test_the_artifacts_are_what_the_run_writes() -> None:
    (upload,) = uses(CPU, "actions/upload-artifact")
    assert upload["if"] == "always()"
    uploaded = {path.rstrip("/") for path in upload["with"]["path"].split()}
    assert set(written_paths(CPU)) == uploaded
    assert {"onepixel-report.json", "onepixel.html", "onepixel-gallery", "junit.xml"} <= uploaded


@pytest.mark.parametrize("workflow", [CPU, GPU], ids=["cpu", "gpu"])
def test_the_run_steps_run_on_the_example_project(workflow: dict, tmp_path: Path) -> None:
    assert run_steps(workflow, tmp_path / "repo") == []
    for path in written_paths(workflow):
        assert (tmp_path / "repo" / path).exists(), path
    if workflow is CPU:  # the cached folder is where the plugin keeps its results
        assert any((tmp_path / "repo" / RESULT_CACHE / "results").iterdir())
        assert run_steps(workflow, tmp_path / "repo") == []  # as after a cache restore
        report = json.loads((tmp_path / "repo" / "onepixel-report.json").read_text())
        assert [gate["cached"] for gate in report["gates"] if gate["status"] == "passed"] == [True]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("'data/**', ", "", "cache key misses data/a/1.png"),
        ("'models/**', ", "", "cache key misses models/net.onnx"),
        ("'**/onepixel*.yaml', ", "", "cache key misses onepixel.yaml"),
        ("with: {lfs: true}", "with: {lfs: false}", "checkout without lfs: true"),
        ("    timeout-minutes: 30\n", "", "no timeout-minutes"),
        ("@COMMIT_SHA", "@v0.2.0", "not pinned to the COMMIT_SHA placeholder"),
        ("[onnx,torch,images,report]", "[onnx,torch]", "extras ['images', 'report'] missing"),
        (f" --index-url {CPU_INDEX}", "", "torch without"),
    ],
)
def test_a_broken_recipe_is_caught(old: str, new: str, expected: str) -> None:
    assert old in TEXT
    broken = workflows(TEXT.replace(old, new, 1))[0]
    assert any(expected in problem for problem in problems(broken)), problems(broken)


def test_a_repeated_key_is_refused() -> None:
    repeated = TEXT.replace("    timeout-minutes: 30\n", "    timeout-minutes: 30\n" * 2, 1)
    with pytest.raises(AssertionError, match="timeout-minutes"):
        workflows(repeated)


def test_a_failing_command_is_caught(tmp_path: Path) -> None:
    broken = workflows(TEXT.replace("--junitxml=junit.xml", "--onepixel-nope", 1))[0]
    (failure,) = run_steps(broken, tmp_path / "repo")
    assert "--onepixel-nope" in failure
