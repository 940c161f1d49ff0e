"""--onepixel-save / onepixel_save: keep this run's JSON report under .onepixel/ (optionally
named), where `--onepixel-compare=last` and `pytest-onepixel show` find it."""

from __future__ import annotations

import json

from options_helpers import write_gate, write_ini


def saved(repo) -> list[str]:
    folder = repo.path / ".onepixel"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_the_option_saves_the_run_numbered_and_named(repo) -> None:
    write_gate(repo)
    repo.runpytest()
    assert saved(repo) == []
    first = repo.runpytest("--onepixel-save")
    first.stdout.fnmatch_lines(["saved run: *.onepixel*0001_*.json"])
    repo.runpytest("--onepixel-save=after retraining")
    names = saved(repo)
    assert len(names) == 2 and names[1].startswith("0002_after-retraining_")
    document = json.loads((repo.path / ".onepixel" / names[1]).read_text())
    assert [gate["name"] for gate in document["gates"]] == ["g"]
    last = repo.runpytest("--onepixel-compare=last")
    last.stdout.fnmatch_lines(["compared with last:", "g *0.455*0.455*+0.000*pass"])


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, save="nightly")
    repo.runpytest()
    repo.runpytest("--onepixel-save=release")
    names = saved(repo)
    assert names[0].startswith("0001_nightly_") and names[1].startswith("0002_release_")
