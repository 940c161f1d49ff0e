"""Every option and ini key has a pytester file of its own (STYLE.md point 7, as syrupy's
tests/integration/test_snapshot_option_*.py): tests/plugin/options/test_option_<key>.py, which
names the option and the ini key, so a reader finds a setting's behaviour by file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_onepixel.plugin.options import INI_KEYS, OPTION_KEYS
from pytest_onepixel.settings.table import ini_name, option_name

HERE = Path(__file__).parent


@pytest.mark.parametrize("key", sorted(set(OPTION_KEYS) | set(INI_KEYS)))
def test_the_setting_has_a_pytester_file_naming_its_option_and_ini_key(key: str) -> None:
    path = HERE / f"test_option_{key}.py"
    names = [ini_name(key)] if key not in OPTION_KEYS else [option_name(key), ini_name(key)]
    assert path.exists(), (
        f"{' / '.join(names)} has no test file: write {path.relative_to(HERE.parents[2])} with "
        "a pytester test of its effect on the command line and one through the ini key."
    )
    text = path.read_text()
    missing = [name for name in names if name not in text]
    assert not missing, f"{path.name} never mentions {' or '.join(missing)}: test it there."
