"""Saved runs (--onepixel-save, autosave, --onepixel-compare last) and the `pytest-onepixel`
command: show, compare (exit 1 on a regression) and html, on reports a pytest run wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import write_gates

from pytest_onepixel.cli import main


@pytest.fixture
def reports(repo):
    """A repo with two gates and one report of them, r.json."""
    write_gates(repo)
    repo.runpytest("--onepixel-budget=20", "--onepixel-report=r.json")
    return repo


def test_show_prints_the_table(reports, capsys, monkeypatch) -> None:
    monkeypatch.chdir(reports.path)
    assert main(["show", "r.json"]) == 0
    out = capsys.readouterr().out
    assert "tiny-pass" in out and "tiny-fail" in out and "FAIL" in out


def test_compare_exits_1_on_a_regression_and_0_otherwise(reports, capsys, monkeypatch) -> None:
    monkeypatch.chdir(reports.path)
    assert main(["compare", "r.json", "r.json"]) == 0
    baseline = json.loads((reports.path / "r.json").read_text())
    for gate in baseline["gates"]:
        gate["summary"]["success_rate"] = 0.0
    (reports.path / "old.json").write_text(json.dumps(baseline))
    assert main(["compare", "old.json", "r.json"]) == 1
    out = capsys.readouterr().out
    assert "regression: tiny-pass: success rate 0.000 -> 0.438" in out
    assert main(["compare", "old.json", "r.json", "--tolerance", "0.5"]) == 0


def test_html_from_a_saved_report(reports, monkeypatch) -> None:
    monkeypatch.chdir(reports.path)
    assert main(["html", "r.json", "-o", "page.html"]) == 0
    page = (reports.path / "page.html").read_text()
    assert 'data-gate="tiny-pass"' in page and 'class="example"' in page


def test_a_bad_report_is_a_usage_error_naming_it(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.json").write_text("{")
    assert main(["show", "junk.json"]) == 2
    assert "junk.json is not a pytest-onepixel JSON report" in capsys.readouterr().err
    assert main(["show", "last"]) == 2


def test_saved_runs_and_compare_last(repo, monkeypatch) -> None:
    write_gates(repo)
    repo.runpytest("--onepixel-budget=20", "--onepixel-save")
    repo.runpytest("--onepixel-budget=20", "--onepixel-save=after retraining")
    saved = sorted(p.name for p in (repo.path / ".onepixel").iterdir())
    assert saved[0].startswith("0001_") and saved[1].startswith("0002_after-retraining_")
    result = repo.runpytest("--onepixel-budget=20", "--onepixel-compare=last")
    result.stdout.fnmatch_lines(
        ["compared with last:", "tiny-pass * 0.438 * 0.438 * +0.000 * pass"]
    )
    repo.makeini("[pytest]\nonepixel_autosave = true\n")
    repo.runpytest("--onepixel-budget=20")
    assert len(list((repo.path / ".onepixel").iterdir())) == 3
    monkeypatch.chdir(repo.path)
    assert main(["show", "last"]) == 0


def test_compare_last_without_a_saved_run_is_a_usage_error(repo) -> None:
    result = repo.runpytest("--onepixel-compare=last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--onepixel-compare last: no run is saved under *.onepixel*"])


def test_the_console_script_is_installed(reports) -> None:
    script = shutil.which("pytest-onepixel", path=os.path.dirname(sys.executable))
    assert script is not None
    done = subprocess.run(
        [script, "show", "r.json"], cwd=reports.path, capture_output=True, text=True
    )
    assert done.returncode == 0 and "tiny-fail" in done.stdout


def test_help_shows_the_whole_description_and_the_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "as `pytest-benchmark\ncompare` does for benchmark runs." in out
    assert "Exit codes: 0 fine, 1 a regression or a failing gate, 2 a usage error" in out


def test_a_file_that_is_not_a_report_is_named_without_a_key_error(tmp_path, capsys) -> None:
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "good.json").write_text('{"gates": []}')
    old, good = str(tmp_path / "other.json"), str(tmp_path / "good.json")
    assert main(["show", old]) == 2
    assert main(["compare", old, good]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "KeyError" not in "".join(err)
    for line, command in zip(err, ("show", "compare"), strict=True):
        assert line.startswith(f"pytest-onepixel {command}: {old} is not a pytest-onepixel JSON")
        assert "gates: missing" in line and "pytest-onepixel: pytest-onepixel" not in line


def test_other_sampled_data_are_said_in_the_terminal_and_by_compare(
    reports, capsys, monkeypatch
) -> None:
    baseline = json.loads((reports.path / "r.json").read_text())
    for gate in baseline["gates"]:
        gate["data"]["hash"] = "0" * 64
    (reports.path / "old.json").write_text(json.dumps(baseline))
    result = reports.runpytest("--onepixel-budget=20", "--onepixel-compare=old.json")
    result.stdout.fnmatch_lines(
        [
            "compared with old.json:",
            "note (tiny-pass): the sampled data differ from the baseline's*",
        ]
    )
    monkeypatch.chdir(reports.path)
    assert main(["compare", "old.json", "r.json"]) == 0
    out = capsys.readouterr().out
    assert "note (tiny-fail): the sampled data differ from the baseline's" in out
