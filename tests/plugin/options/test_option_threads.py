"""--onepixel-threads / onepixel_threads: CPU threads for the model, handed to its loader (a
project's pytest_onepixel_load_model hook sees them in `options`)."""

from __future__ import annotations

import pytest
from options_helpers import requested, run_gate, write_gate, write_ini

#: A loader hook that writes down the threads it is given and leaves loading to the plugin.
RECORDING_LOADER = """
def pytest_onepixel_load_model(source, options):
    with open("threads.txt", "a") as stream:
        stream.write(f"{options['threads']}\\n")
    return None
"""


def threads_given(repo) -> list[str]:
    lines = (repo.path / "threads.txt").read_text().splitlines()
    (repo.path / "threads.txt").unlink()
    return lines


def test_the_model_loader_gets_the_threads(repo) -> None:
    repo.makeconftest(RECORDING_LOADER)
    write_gate(repo)
    run_gate(repo)[0].assert_outcomes(passed=1)
    assert threads_given(repo) == ["None"]
    result, gate = run_gate(repo, "--onepixel-threads=2", "--onepixel-cache=off")
    result.assert_outcomes(passed=1)
    assert threads_given(repo) == ["2"] and requested(gate, "threads") == 2


def test_zero_threads_is_a_usage_error_naming_the_option(repo) -> None:
    write_gate(repo)
    result = repo.runpytest("--onepixel-threads=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --onepixel-threads: must be an integer >= 1; found '0'"]
    )


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    repo.makeconftest(RECORDING_LOADER)
    write_gate(repo)
    write_ini(repo, threads=1)
    run_gate(repo)[0].assert_outcomes(passed=1)
    assert threads_given(repo) == ["1"]
    run_gate(repo, "--onepixel-threads=2")[0].assert_outcomes(passed=1)
    assert threads_given(repo) == ["2"]
    write_ini(repo, threads=0)
    result = repo.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini key onepixel_threads: *must be an integer >= 1; found 0*"])
