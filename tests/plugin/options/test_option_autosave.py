"""onepixel_autosave (an ini key only; --onepixel-save is its one-run form): keep every run's
JSON report under .onepixel/."""

from __future__ import annotations

from options_helpers import write_gate, write_ini


def saved(repo) -> list[str]:
    folder = repo.path / ".onepixel"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_the_ini_key_saves_every_run(repo) -> None:
    write_gate(repo)
    repo.runpytest()
    assert saved(repo) == []
    write_ini(repo, autosave="true")
    repo.runpytest().stdout.fnmatch_lines(["saved run: *.onepixel*0001_*.json"])
    repo.runpytest()
    assert [name[:5] for name in saved(repo)] == ["0001_", "0002_"]
    write_ini(repo, autosave="false")
    repo.runpytest()
    assert len(saved(repo)) == 2


def test_a_value_that_is_not_a_boolean_is_a_usage_error(repo) -> None:
    write_ini(repo, autosave="sometimes")
    result = repo.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*ini key onepixel_autosave: *'sometimes'*"])
