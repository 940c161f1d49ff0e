"""--onepixel-config / onepixel_config: run only this gate file (default: every onepixel*.yaml).
A path on the command line is relative to where pytest started, in the ini file to its folder."""

from __future__ import annotations

from options_helpers import write_gate, write_ini


def collected(repo, *args: str) -> str:
    return repo.runpytest("--collect-only", "-q", *args).stdout.str()


def two_gate_files(repo) -> None:
    write_gate(repo)  # onepixel.yaml::g
    write_gate(repo, name="release.yaml")  # not collected by default


def test_the_option_runs_only_the_named_file(repo) -> None:
    two_gate_files(repo)
    assert "onepixel.yaml::g" in collected(repo) and "release.yaml" not in collected(repo)
    named = collected(repo, "--onepixel-config=release.yaml")
    assert "release.yaml::g" in named and "onepixel.yaml::g" not in named
    result = repo.runpytest("--onepixel-config=release.yaml")
    result.assert_outcomes(passed=1)


def test_the_ini_key_sets_it_relative_to_the_ini_file_and_the_option_beats_it(repo) -> None:
    two_gate_files(repo)
    (repo.path / "gates").mkdir()
    write_gate(repo, name="gates/nightly.yaml")
    write_ini(repo, config="release.yaml")
    assert "release.yaml::g" in collected(repo) and "onepixel.yaml" not in collected(repo)
    beaten = collected(repo, "--onepixel-config=gates/nightly.yaml")
    assert "nightly.yaml::g" in beaten and "release.yaml" not in beaten
