"""--onepixel-gallery / onepixel_gallery (the setting gallery_dir): write each gate's gallery
of adversarial examples and its robustness curve into this folder."""

from __future__ import annotations

from options_helpers import write_gate, write_ini

from pytest_onepixel.reports.visuals import picture_stem

STEM = picture_stem("onepixel.yaml::g")
PICTURES = [f"{STEM}.curve.png", f"{STEM}.curve.svg", f"{STEM}.png"]


def pictures(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_the_option_writes_the_gallery_and_curve(repo) -> None:
    write_gate(repo)
    repo.runpytest()
    assert pictures(repo.path / "gallery") == []
    result = repo.runpytest("--onepixel-gallery=gallery")
    result.stdout.fnmatch_lines(["gallery: *gallery (1 gallery grid(s), 1 gate(s))"])
    assert pictures(repo.path / "gallery") == PICTURES
    assert (repo.path / "gallery" / PICTURES[2]).read_bytes().startswith(b"\x89PNG")


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, gallery="from-ini")
    repo.runpytest()
    assert pictures(repo.path / "from-ini") == PICTURES
    repo.runpytest("--onepixel-gallery=from-cli")
    assert pictures(repo.path / "from-cli") == PICTURES
