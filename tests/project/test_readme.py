"""The README's YAML is what a user copies: every block must parse (no repeated key, which YAML
would silently resolve), and its gate files must pass the plugin's own validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytest_onepixel.settings.gatefile import read_gate_file

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


class _NoRepeatedKeys(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
        assert not repeated, f"repeated key(s) {repeated} near line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep)


def test_the_readme_has_yaml_blocks() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.splitlines()[0][:40])
def test_every_yaml_block_parses_without_repeated_keys(block: str) -> None:
    yaml.load(block, Loader=_NoRepeatedKeys)  # a SafeLoader: no tags that run code


@pytest.mark.parametrize("block", [b for b in BLOCKS if re.search(r"^models:", b, re.M)])
def test_gate_files_in_the_readme_are_valid(block: str, tmp_path: Path) -> None:
    path = tmp_path / "onepixel.yaml"
    path.write_text(block, encoding="utf-8")
    entries = read_gate_file(path, Path("onepixel.yaml")).entries
    assert entries and [e.error for e in entries if e.error] == []
