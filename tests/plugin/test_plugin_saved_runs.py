"""Saved runs under .onepixel/ (--onepixel-save, onepixel_autosave): `last` is always the newest
run, whatever names are already in the folder, and any name the user gives becomes a file name
the file system accepts (bounded, and two names never share a file)."""

from __future__ import annotations

import json
import os

from conftest import write_gates

from pytest_onepixel.reports import history


def saved(repo) -> list[str]:
    return sorted(path.name for path in (repo.path / ".onepixel").iterdir())


def test_last_is_the_newest_run_after_a_9999_file(repo) -> None:
    write_gates(repo)
    repo.runpytest("--onepixel-budget=10", "--onepixel-save=first")
    [first] = saved(repo)
    handmade = repo.path / ".onepixel" / "9999_handmade.json"
    handmade.write_text((repo.path / ".onepixel" / first).read_text())
    result = repo.runpytest("--onepixel-budget=10", "--onepixel-save=after")
    result.stdout.fnmatch_lines(["saved run: *10000_after_*.json"])
    newest = history.newest(repo.path)
    assert newest is not None and newest.name.startswith("10000_after_")
    repo.runpytest("--onepixel-budget=10", "--onepixel-save=again")
    assert history.newest(repo.path).name.startswith("10001_again_")


def test_runs_sort_by_number_then_time(tmp_path) -> None:
    folder = tmp_path / history.FOLDER
    folder.mkdir()
    for name, mtime in [("0002_b.json", 5), ("10_c.json", 1), ("0010_a.json", 2), ("x.json", 9)]:
        (folder / name).write_text("{}")
        os.utime(folder / name, (mtime, mtime))
    assert [p.name for p in history.saved_runs(tmp_path)] == [
        "0002_b.json",
        "10_c.json",
        "0010_a.json",
    ]
    assert history.next_path(tmp_path, "d").name.startswith("0011_d_")


def test_a_300_character_save_name_is_saved_under_a_bounded_name(repo) -> None:
    write_gates(repo)
    name = "release-candidate-" + "x" * 282
    result = repo.runpytest("--onepixel-budget=10", f"--onepixel-save={name}")
    result.assert_outcomes(passed=1, failed=1)
    [saved_name] = saved(repo)
    assert len(saved_name.encode()) <= 120 and saved_name.startswith("0001_release-candidate-x")
    result.stdout.fnmatch_lines([f"saved run: *{saved_name}"])
    document = json.loads((repo.path / ".onepixel" / saved_name).read_text())
    assert {gate["name"] for gate in document["gates"]} == {"tiny-pass", "tiny-fail"}


def test_labels_are_bounded_and_names_cut_short_keep_apart() -> None:
    assert history.label("nightly") == "nightly"
    assert history.label("after retraining") == "after-retraining"
    long_ones = {history.label(n) for n in ("x" * 300, "x" * 299 + "y", "x" * 65)}
    assert len(long_ones) == 3
    assert all(len(label) <= history.LABEL_LENGTH for label in long_ones)


def test_names_that_clean_up_alike_are_saved_apart(tmp_path) -> None:
    first = history.next_path(tmp_path, "a/b")
    first.parent.mkdir()
    first.write_text("{}")
    second = history.next_path(tmp_path, "a b")
    assert first != second and history.label("a/b") == history.label("a b") == "a-b"
