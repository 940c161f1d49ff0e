"""--onepixel-report / onepixel_report: write the JSON report of every gate here. A path on the
command line is relative to where pytest started, in the ini file to the ini file's folder."""

from __future__ import annotations

import json

from options_helpers import write_gate, write_ini


def test_the_option_writes_the_report_and_says_where(repo) -> None:
    write_gate(repo)
    assert not repo.runpytest().stdout.lines[-2].startswith("JSON report")
    assert not (repo.path / "out").exists()
    result = repo.runpytest("--onepixel-report=out/r.json")
    result.stdout.fnmatch_lines([f"JSON report: {repo.path / 'out' / 'r.json'}"])
    document = json.loads((repo.path / "out" / "r.json").read_text())
    assert [gate["name"] for gate in document["gates"]] == ["g"]


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, report="out/r.json")
    repo.runpytest().assert_outcomes(passed=1)
    assert (repo.path / "out" / "r.json").exists()
    (repo.path / "out" / "r.json").unlink()
    repo.runpytest("--onepixel-report=other.json")
    assert (repo.path / "other.json").exists() and not (repo.path / "out" / "r.json").exists()
