"""The docs stay true to the code: the configuration reference is what docs/make_reference.py
renders from the settings table now, and every relative link between the pages resolves."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _generator():
    spec = importlib.util.spec_from_file_location("make_reference", DOCS / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_reference = _generator()


def test_the_configuration_reference_matches_the_settings_table() -> None:
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert committed == make_reference.render(), (
        "docs/configuration.md is stale: run `python docs/make_reference.py` "
        "(`--check` shows the difference)"
    )


def test_the_reference_names_every_setting_and_its_option() -> None:
    from pytest_onepixel.settings.table import SETTINGS, ini_name, option_name

    page = make_reference.render()
    for key, setting in SETTINGS.items():
        assert f"| `{key}` |" in page
        if setting.scope == "session" or setting.option:
            assert f"`{ini_name(key)}`" in page
        if setting.option:
            assert f"`{option_name(key)}" in page


def test_the_generator_notes_name_only_settings_that_exist() -> None:
    from pytest_onepixel.settings.table import SETTINGS

    stale = sorted({*make_reference.NOTES, *make_reference.DEFAULT_TEXT} - set(SETTINGS))
    assert stale == [], f"docs/make_reference.py describes settings that are gone: {stale}"


def test_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys) -> None:
    page = tmp_path / "configuration.md"
    page.write_text("# Configuration reference\n\nold\n", encoding="utf-8")
    monkeypatch.setattr(make_reference, "PAGE", page)
    assert make_reference.main(["--check"]) == 1
    assert "+| `budget` |" in capsys.readouterr().out
    assert make_reference.main([]) == 0
    assert make_reference.main(["--check"]) == 0


def test_the_readme_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in DOCS.glob("*.md") if f"](docs/{p.name})" not in readme]
    assert missing == []


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
        if "://" in target:
            continue
        linked = page.parent / target if target else page
        if not linked.exists() or (anchor and anchor not in _anchors(linked)):
            broken.append(f"{target}#{anchor}" if anchor else target)
    assert broken == []
