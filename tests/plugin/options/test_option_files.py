"""onepixel_files (an ini key only): the glob patterns of the gate files collected
(default: onepixel*.yaml and onepixel*.yml)."""

from __future__ import annotations

from options_helpers import write_gate, write_ini


def test_the_ini_key_sets_which_files_are_gate_files(repo) -> None:
    write_gate(repo, name="robustness.yaml")
    write_gate(repo)  # onepixel.yaml
    default = repo.runpytest("--collect-only", "-q").stdout.str()
    assert "onepixel.yaml::g" in default and "robustness.yaml" not in default
    write_ini(repo, files="robust*.yaml")
    result = repo.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["robustness.yaml::g"])
    assert "onepixel.yaml" not in result.stdout.str()


def test_several_patterns(repo) -> None:
    write_gate(repo, name="robustness.yaml")
    write_gate(repo, name="gate_b.yml")
    write_ini(repo, files="robust*.yaml gate_*.yml")
    result = repo.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["gate_b.yml::g", "robustness.yaml::g"])
