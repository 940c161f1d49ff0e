"""The JSON report records every collected gate with a status, every time: errors, crashed
xdist workers, interrupted runs (Ctrl-C and SIGTERM), unreadable gate files; in a stable order,
with normal permissions; and a report path that cannot be written stops the run at start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import write_gates

TWO_GATES_AND_A_BROKEN_ONE = """\
defaults: {samples: 20, pixel_range: [0, 16], budget: 20}
models:
  - {name: pass, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}
  - {name: fail, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 0.0}
  - {name: broken, model: models/missing.onnx, data: data/holdout.npz, max_success_rate: 1.0}
"""


def read_report(path) -> dict:
    return json.loads(path.read_text())


def statuses(report: dict) -> dict[str, str]:
    return {gate["name"]: gate["status"] for gate in report["gates"]}


def test_an_errored_gate_is_in_the_report_with_its_message(repo) -> None:
    write_gates(repo, TWO_GATES_AND_A_BROKEN_ONE)
    repo.runpytest("--onepixel-report=r.json").assert_outcomes(passed=1, failed=2)
    report = read_report(repo.path / "r.json")
    assert statuses(report) == {"pass": "passed", "fail": "failed", "broken": "error"}
    broken = next(g for g in report["gates"] if g["name"] == "broken")
    assert "missing.onnx" in broken["error"] and broken["passed"] is False
    assert report["interrupted"] is False


def test_gates_are_sorted_by_node_id_and_the_same_under_xdist(repo) -> None:
    write_gates(repo, TWO_GATES_AND_A_BROKEN_ONE)
    write_gates(repo, TWO_GATES_AND_A_BROKEN_ONE.replace("name: ", "name: b-"), "onepixel_b.yaml")
    repo.runpytest("--onepixel-report=one.json")
    repo.runpytest_subprocess("-n", "2", "--onepixel-report=two.json")
    one, two = (read_report(repo.path / name) for name in ("one.json", "two.json"))
    ids = [gate["nodeid"] for gate in one["gates"]]
    assert ids == sorted(ids) and len(ids) == 6
    assert [(g["nodeid"], g["status"]) for g in two["gates"]] == [
        (g["nodeid"], g["status"]) for g in one["gates"]
    ]


CRASHING_FACTORY = """
import os

def crash():
    os._exit(3)  # a segfault in native code looks the same to pytest-xdist
"""


def test_a_crashed_xdist_worker_leaves_an_error_entry(repo) -> None:
    (repo.path / "crashing.py").write_text(CRASHING_FACTORY)
    write_gates(
        repo,
        TWO_GATES_AND_A_BROKEN_ONE.replace("models/missing.onnx", '"crashing:crash"'),
    )
    result = repo.runpytest_subprocess("-n", "2", "--onepixel-report=r.json")
    assert result.ret == 1
    report = read_report(repo.path / "r.json")
    assert statuses(report) == {"pass": "passed", "fail": "failed", "broken": "error"}
    broken = next(g for g in report["gates"] if g["name"] == "broken")
    assert "crashed" in broken["error"]


SLOW_GATES = """
import pathlib
import time

import numpy as np
import pytest

IMAGES = np.zeros((4, 1, 4, 4), np.uint8)


def fast(batch):
    return np.tile([5.0, 0.0], (len(batch), 1))


def slow(batch):
    pathlib.Path("slow-started").touch()
    time.sleep(0.2)
    return fast(batch)


@pytest.mark.onepixel(max_success_rate=1.0, budget=20)
def test_a_fast(onepixel):
    onepixel.check(fast, IMAGES, np.zeros(4, int))


@pytest.mark.onepixel(max_success_rate=1.0, budget=400)
def test_b_slow(onepixel):
    onepixel.check(slow, IMAGES, np.zeros(4, int))


@pytest.mark.onepixel(max_success_rate=1.0, budget=20)
def test_c_never(onepixel):
    onepixel.check(fast, IMAGES, np.zeros(4, int))
"""


def interrupt_slow_gates(pytester, option: str, stop: signal.Signals) -> None:
    """Run SLOW_GATES in a subprocess with `option`, send `stop` once the slow gate has
    started, and wait for the run to end."""
    pytester.makepyfile(test_slow=SLOW_GATES)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", option]
    process = subprocess.Popen(command, cwd=pytester.path, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (pytester.path / "slow-started").exists():
        assert time.monotonic() < deadline and process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    process.send_signal(stop)
    process.wait(timeout=60)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_writes_a_report_that_says_so(pytester, stop) -> None:
    (pytester.path / "r.json").write_text('{"gates": [], "previous run": true}')
    interrupt_slow_gates(pytester, "--onepixel-report=r.json", stop)
    report = read_report(pytester.path / "r.json")
    assert "previous run" not in report
    assert report["interrupted"] is True
    assert report["signal"] == ("SIGTERM" if stop == signal.SIGTERM else None)
    assert statuses(report) == {
        "test_a_fast": "passed",
        "test_b_slow": "not run",
        "test_c_never": "not run",
    }


def test_sigterm_during_a_save_only_run_saves_an_interrupted_report(pytester) -> None:
    """--onepixel-save without --onepixel-report still writes a report, so SIGTERM must too."""
    interrupt_slow_gates(pytester, "--onepixel-save=run", signal.SIGTERM)
    [saved] = (pytester.path / ".onepixel").glob("*.json")
    report = read_report(saved)
    assert report["interrupted"] is True and report["signal"] == "SIGTERM"


def test_an_unreadable_gate_file_is_reported_as_that_files_error(repo) -> None:
    write_gates(repo)
    write_gates(repo, "models: [unclosed\n", "onepixel_broken.yaml")
    repo.runpytest("--onepixel-budget=10", "--onepixel-report=r.json")
    report = read_report(repo.path / "r.json")
    assert statuses(report) == {
        "tiny-pass": "passed",
        "tiny-fail": "failed",
        "onepixel_broken.yaml": "error",
    }
    broken = next(g for g in report["gates"] if g["name"] == "onepixel_broken.yaml")
    assert broken["nodeid"] == "onepixel_broken.yaml::gate_file"
    assert "onepixel_broken.yaml:2: not valid YAML" in broken["error"]


def test_the_report_file_has_normal_permissions(repo) -> None:
    write_gates(repo)
    previous = os.umask(0o022)
    try:
        repo.runpytest("--onepixel-budget=10", "--onepixel-report=r.json")
    finally:
        os.umask(previous)
    assert (repo.path / "r.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("option", "path", "expected"),
    [
        ("report", "out", "*--onepixel-report / ini key onepixel_report: *out is a directory;*"),
        ("report", "locked/r.json", "*--onepixel-report / ini key onepixel_report: cannot write*"),
        ("html", "out", "*--onepixel-html / ini key onepixel_html: *out is a directory;*"),
        ("html", "locked/r.html", "*--onepixel-html / ini key onepixel_html: cannot write*"),
    ],
)
def test_an_output_path_that_cannot_be_written_stops_the_run_first(
    repo, option, path, expected
) -> None:
    write_gates(repo)
    (repo.path / "out").mkdir()
    (repo.path / "locked").mkdir(mode=0o500)
    if os.geteuid() == 0 and path.startswith("locked"):
        (repo.path / "locked").rmdir()
        (repo.path / "locked").write_text("a file where a folder should be")
    result = repo.runpytest("--onepixel-budget=10", f"--onepixel-{option}={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "onepixel gates" not in result.stdout.str()
