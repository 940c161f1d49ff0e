"""The JSON report records every collected gate with a status, every time: errors, crashed
xdist workers, interrupted runs (Ctrl-C and SIGTERM), unreadable gate files; in a stable order,
with normal permissions; and a report path that cannot be written stops the run at start-up."""

from __future__ import annotations

import fnmatch
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


def interrupt_slow_gates(
    pytester, option: str, stop: signal.Signals, started: str = "slow-started", check=None
) -> subprocess.CompletedProcess:
    """Run SLOW_GATES in a subprocess with `option`, send `stop` once the file `started`
    exists (the slow gate has started), and wait for the run to end; `check()` runs just
    before the signal is sent."""
    pytester.makepyfile(test_slow=SLOW_GATES)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", option]
    process = subprocess.Popen(
        command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (pytester.path / started).exists():
        assert time.monotonic() < deadline and process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    if check is not None:
        check()
    process.send_signal(stop)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


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


# A report on disk never describes an older run than the last one started: as the gates start
# the report already says "running"; every way a run ends rewrites it or marks it.

PREVIOUS = '{"gates": [], "previous run": true}'


def test_the_report_says_running_while_the_gates_run_and_stays_so_after_a_kill(pytester):
    (pytester.path / "r.json").write_text(PREVIOUS)

    def running() -> None:
        report = read_report(pytester.path / "r.json")
        assert report["state"] == "running" and report["interrupted"] is True
        assert set(statuses(report).values()) == {"not run"}

    interrupt_slow_gates(pytester, "--onepixel-report=r.json", signal.SIGKILL, check=running)
    running()  # killed outright: nothing could write, and the file still says so


SLOW_WRITE = """
import pathlib, time
from pytest_onepixel.reports import json_report

_write = json_report.write_atomically

def slow_write(path, document):
    if document.get("interrupted") is False:  # the finished run's report, not a marker
        pathlib.Path("writing-started").touch()
        time.sleep(60)
    _write(path, document)

json_report.write_atomically = slow_write
"""


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_the_report_is_written_leaves_an_interrupted_report(pytester, stop):
    (pytester.path / "r.json").write_text(PREVIOUS)
    pytester.makeconftest(SLOW_WRITE)
    done = interrupt_slow_gates(pytester, "--onepixel-report=r.json", stop, "writing-started")
    report = read_report(pytester.path / "r.json")
    assert report["state"] == "interrupted" and report["interrupted"] is True
    assert done.returncode == pytest.ExitCode.INTERRUPTED
    assert "Traceback" not in done.stdout + done.stderr
    assert "interrupted while the JSON report was written" in done.stdout


FAILING_WRITE = """
import errno
from pytest_onepixel.reports import json_report

_write = json_report.write_atomically

def full_disk(path, document):
    if document.get("interrupted") is False:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    _write(path, document)

json_report.write_atomically = full_disk
"""

ONE_GATE = """
import numpy as np
import pytest


@pytest.mark.onepixel(max_success_rate=1.0, budget=20)
def test_gate(onepixel):
    onepixel.check(lambda b: np.tile([5.0, 0.0], (len(b), 1)), np.zeros((4, 1, 4, 4), np.uint8),
                   np.zeros(4, int))
"""


def test_an_error_while_writing_the_report_is_one_message_and_a_failed_run(pytester) -> None:
    (pytester.path / "r.json").write_text(PREVIOUS)
    pytester.makeconftest(FAILING_WRITE)
    pytester.makepyfile(test_gate=ONE_GATE)
    result = pytester.runpytest_subprocess("--onepixel-report=r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*onepixel: could not write *r.json (No space left on device)*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "JSON report:" not in result.stdout.str()
    assert not (pytester.path / "r.json").exists()  # removed: no older verdict stands in


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("ini", "*ini key onepixel_budget*"),
        ("option", "*--onepixel-compare last: no run is saved*"),
        ("-k", "*Wrong expression passed to '-k'*"),
        ("conftest", "*conftest says no*"),
    ],
)
def test_a_usage_error_replaces_the_previous_report_with_one_that_says_so(
    pytester, how, message
) -> None:
    pytester.makeini("[pytest]\nonepixel_report = r.json\n")
    (pytester.path / "r.json").write_text(PREVIOUS)
    pytester.makepyfile(test_gate=ONE_GATE)
    args = {"option": ["--onepixel-compare=last"], "-k": ["-k", "a and ("]}.get(how, [])
    if how == "ini":
        pytester.makeini("[pytest]\nonepixel_report = r.json\nonepixel_budget = zero\n")
    if how == "conftest":
        pytester.makeconftest(
            "import pytest\n\ndef pytest_configure(config):\n"
            "    raise pytest.UsageError('conftest says no')\n"
        )
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    report = read_report(pytester.path / "r.json")
    assert report["state"] == "usage error" and report["interrupted"] is True
    assert report["gates"] == []
    assert fnmatch.fnmatch(report["usage_error"], message)
    assert not (pytester.path / ".onepixel").exists()


def test_an_argparse_error_stops_pytest_before_the_plugin_so_the_file_stays(pytester) -> None:
    """A value an option's type rejects stops pytest while it parses the command line, before
    any plugin hook: the plugin cannot touch the report, and the exit code (4) is the signal."""
    pytester.makeini("[pytest]\nonepixel_report = r.json\n")
    (pytester.path / "r.json").write_text(PREVIOUS)
    result = pytester.runpytest_subprocess("--onepixel-budget=many")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--onepixel-budget*"])
    assert (pytester.path / "r.json").read_text() == PREVIOUS


SLOW_PICTURES = """
import pathlib, time
from pytest_onepixel.reports import visuals

def slow_pictures(*args, **kwargs):
    pathlib.Path("drawing-started").touch()
    time.sleep(60)
    return []

visuals.write_pictures = slow_pictures
"""


def test_an_interrupt_while_pictures_are_drawn_keeps_the_complete_report(pytester) -> None:
    pytester.makeconftest(SLOW_PICTURES)
    done = interrupt_slow_gates(
        pytester, "--onepixel-report=r.json", signal.SIGTERM, "drawing-started"
    )
    report = read_report(pytester.path / "r.json")
    assert report["state"] == "finished" and set(statuses(report).values()) == {"passed"}
    assert done.returncode == pytest.ExitCode.INTERRUPTED
    assert "Traceback" not in done.stdout + done.stderr
    assert "interrupted while drawing the gallery and HTML report" in done.stdout
