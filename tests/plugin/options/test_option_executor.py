"""--onepixel-executor / onepixel_executor: who searches a gate's images, local (this process)
or ray (not run here: starting Ray takes seconds)."""

from __future__ import annotations

import pytest
from options_helpers import run_gate, write_gate, write_ini


def test_the_option_names_the_executor_in_the_header_and_local_runs_here(repo) -> None:
    write_gate(repo)
    header = "onepixel: *, executor {}, *"
    repo.runpytest("--collect-only").stdout.fnmatch_lines([header.format("local")])
    ray = repo.runpytest("--onepixel-executor=ray", "--collect-only")  # collects, starts no Ray
    ray.stdout.fnmatch_lines([header.format("ray")])
    result, gate = run_gate(repo, "--onepixel-executor=local")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([header.format("local")])
    assert gate["status"] == "passed"


def test_an_unknown_executor_is_a_usage_error(repo) -> None:
    wrong = repo.runpytest("--onepixel-executor=dask")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    wrong.stderr.fnmatch_lines(["*argument --onepixel-executor: must be one of local, ray*"])


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, executor="ray")
    result = repo.runpytest("--onepixel-executor=local", "--collect-only")
    result.stdout.fnmatch_lines(["onepixel: *, executor local, *"])
    assert "executor ray" in repo.runpytest("--collect-only").stdout.str()
    write_ini(repo, executor="dask")
    wrong = repo.runpytest()
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    wrong.stderr.fnmatch_lines(["*ini key onepixel_executor: *'dask'*"])
