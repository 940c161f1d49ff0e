"""A partial run does not pass for the full one. `--collect-only` writes no report and saves no
run; a `-k`/`-m`/`--deselect` subset rewrites the report (as pytest rewrites --junitxml) with
the gates it did not select listed with status "deselected", so nobody reads a subset's report
as every gate's verdict."""

from __future__ import annotations

import json

import pytest
from conftest import write_gates

PREVIOUS = '{"gates": [], "previous run": true}'


def statuses(path) -> dict[str, str]:
    return {gate["name"]: gate["status"] for gate in json.loads(path.read_text())["gates"]}


@pytest.mark.parametrize("option", ["--collect-only", "--setup-plan"])
def test_a_run_that_runs_no_test_writes_no_report_and_saves_no_run(repo, option) -> None:
    write_gates(repo)
    repo.makeini("[pytest]\nonepixel_report = r.json\nonepixel_autosave = true\n")
    (repo.path / "r.json").write_text(PREVIOUS)
    result = repo.runpytest(option)
    assert result.ret == pytest.ExitCode.OK
    assert (repo.path / "r.json").read_text() == PREVIOUS
    assert not (repo.path / ".onepixel").exists()


def test_a_k_subset_lists_the_other_gates_as_deselected(repo) -> None:
    write_gates(repo)
    repo.makeini("[pytest]\nonepixel_report = r.json\n")
    result = repo.runpytest("--onepixel-budget=10", "-k", "tiny-pass")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["tiny-pass *pass*", "1 gate deselected (*deselected* in the*"])
    assert "tiny-fail" not in result.stdout.str().split("onepixel gates")[1]
    assert statuses(repo.path / "r.json") == {"tiny-pass": "passed", "tiny-fail": "deselected"}
    document = json.loads((repo.path / "r.json").read_text())
    assert document["state"] == "finished" and document["interrupted"] is False
    deselected = next(g for g in document["gates"] if g["name"] == "tiny-fail")
    assert deselected["passed"] is False and deselected["nodeid"] == "onepixel.yaml::tiny-fail"


MARKED_GATES = """
import numpy as np
import pytest

IMAGES, LABELS = np.zeros((4, 1, 4, 4), np.uint8), np.zeros(4, int)


def model(batch):
    return np.tile([5.0, 0.0], (len(batch), 1))


@pytest.mark.onepixel(max_success_rate=1.0, budget=20)
def test_quick(onepixel):
    onepixel.check(model, IMAGES, LABELS)


@pytest.mark.nightly
@pytest.mark.onepixel(max_success_rate=1.0, budget=20)
def test_nightly(onepixel):
    onepixel.check(model, IMAGES, LABELS)


def test_not_a_gate():
    pass
"""


def test_an_m_subset_lists_the_other_gates_as_deselected(pytester) -> None:
    pytester.makeini("[pytest]\nmarkers = nightly\nonepixel_report = r.json\n")
    pytester.makepyfile(test_gates=MARKED_GATES)
    pytester.runpytest("-m", "not nightly").assert_outcomes(passed=2, deselected=1)
    assert statuses(pytester.path / "r.json") == {
        "test_quick": "passed",
        "test_nightly": "deselected",
    }


def test_under_xdist_the_deselected_gates_are_listed_too(repo) -> None:
    write_gates(repo)
    result = repo.runpytest_subprocess(
        "-n", "2", "--onepixel-budget=10", "--onepixel-report=r.json", "-k", "tiny-fail"
    )
    result.assert_outcomes(failed=1)
    assert statuses(repo.path / "r.json") == {"tiny-pass": "deselected", "tiny-fail": "failed"}


def test_a_collect_only_run_prints_no_gate_table(repo) -> None:
    write_gates(repo)
    result = repo.runpytest("--collect-only", "--onepixel-report=r.json")
    assert "onepixel gates" not in result.stdout.str()
    assert not (repo.path / "r.json").exists()
