"""The README's and the docs' YAML is what a user copies: every block must parse (no repeated
key, which YAML would silently resolve), and its gate files must pass the plugin's own
validation. The README must keep its first screen: the two quickstart commands, a gate file and
a marker test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_onepixel.settings.gatefile import read_gate_file

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def yaml_blocks(page: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


BLOCKS = [
    pytest.param(block, id=f"{page.relative_to(ROOT)}:{number}")
    for page in PAGES
    for number, block in enumerate(yaml_blocks(page), 1)
]
GATE_FILES = [block for block in BLOCKS if re.search(r"^models:", block.values[0], re.M)]


class _NoRepeatedKeys(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
        assert not repeated, f"repeated key(s) {repeated} near line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep)


def test_the_readme_and_docs_have_yaml_blocks() -> None:
    assert yaml_blocks(README), "the README shows a first YAML gate"
    assert len(BLOCKS) >= 3 and len(GATE_FILES) >= 2


def test_the_readme_keeps_the_two_quickstart_commands() -> None:
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^python3 -m venv .*$", text, re.M)
    assert commands == [
        'python3 -m venv .venv && . .venv/bin/activate && pip install ".[onnx]" '
        "-c constraints.txt && python -m pytest example_project",
        'python3 -m venv .venv && . .venv/bin/activate && pip install ".[dev]" '
        "-c constraints.txt && python -m pytest",
    ]
    assert "@pytest.mark.onepixel(" in text


@pytest.mark.parametrize("block", BLOCKS)
def test_every_yaml_block_parses_without_repeated_keys(block: str) -> None:
    yaml.load(block, Loader=_NoRepeatedKeys)  # a SafeLoader: no tags that run code


@pytest.mark.parametrize("block", GATE_FILES)
def test_gate_files_in_the_readme_and_docs_are_valid(block: str, tmp_path: Path) -> None:
    path = tmp_path / "onepixel.yaml"
    path.write_text(block, encoding="utf-8")
    entries = read_gate_file(path, Path("onepixel.yaml")).entries
    assert entries and [e.error for e in entries if e.error] == []
