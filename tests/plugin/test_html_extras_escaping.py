"""pytest-html extras embed nothing live (issue 20, point 4): the verdict snippet on a gate's
pytest-html row is escaped by the HTML report's template layer, pictures are base64 PNGs, and a
picture that cannot be drawn is a warning rather than a lost report."""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import replace

import pytest
from conftest import write_gates
from hostile_html import Markup, assert_inert

pytest.importorskip("pytest_html")
pytest.importorskip("PIL.Image")  # before pytester snapshots sys.modules (Pillow's registry)

HOSTILE_NAME = "<script>alert('name')</script>"


def test_the_verdict_snippet_is_escaped() -> None:
    from hostile_html import HOSTILE, Markup, assert_inert, hostile_outcomes

    from pytest_onepixel.plugin.html_extras import pytest_html_extras

    outcomes = hostile_outcomes()
    found = pytest_html_extras(outcomes)
    snippets = [extra["content"] for extra in found if extra["format_type"] == "html"]
    assert len(snippets) == 2
    for snippet in snippets:
        assert_inert(snippet)
    text = "".join(Markup("".join(snippets)).text)
    for field in ("name", "reason", "note"):
        assert HOSTILE[field] in text
    for extra in found:
        if extra["format_type"] == "image":
            assert base64.b64decode(extra["content"]).startswith(b"\x89PNG")


def test_a_picture_that_cannot_be_drawn_is_a_warning(monkeypatch) -> None:
    from hostile_html import hostile_outcomes

    from pytest_onepixel.errors import OnePixelWarning
    from pytest_onepixel.plugin.html_extras import pytest_html_extras
    from pytest_onepixel.reports import gallery

    def broken(name, examples):
        raise OSError("no font")

    monkeypatch.setattr(gallery, "gallery_png", broken)
    outcome = replace(hostile_outcomes()[0], name="g")
    with pytest.warns(OnePixelWarning, match="no gallery for gate 'g'.*no font"):
        found = pytest_html_extras([outcome])
    assert [extra["format_type"] for extra in found] == ["html", "image"]  # the curve is left


def html_extras(page: str) -> list[str]:
    """Every html extra in a pytest-html page (its data sits JSON-encoded in one attribute)."""
    blob = re.search(r'data-jsonblob="([^"]*)"', page).group(1)
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("format_type") == "html":
                found.append(node["content"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(html.unescape(blob)))
    return found


def test_pytest_html_rows_show_hostile_names_as_text(repo) -> None:
    write_gates(
        repo,
        f"""\
        defaults: {{samples: 20, pixel_range: [0, 16], budget: 20, preset: continuous}}
        models:
          - name: "{HOSTILE_NAME}"
            model: models/tiny.onnx
            data: data/holdout.npz
            max_success_rate: 0.0
        """,
    )
    repo.runpytest("--html=page.html", "--self-contained-html", "-p", "html")
    (snippet,) = html_extras((repo.path / "page.html").read_text())
    assert_inert(snippet)
    assert f"onepixel gate {HOSTILE_NAME}: failed" in "".join(Markup(snippet).text)
