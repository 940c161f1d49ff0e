"""The HTML report treats every text it shows as untrusted (issue 20, point 4): a hostile string
in any field of an outcome, of its settings, measurements, examples or comparison, in the title
or the creation date, is shown as text and never becomes markup.

The hostile corpus (an outcome with markup in every field) is tests/hostile_html.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hostile_html import (
    COUNTS,
    HOSTILE,
    Markup,
    assert_inert,
    chromium_dom,
    doctored,
    hostile_outcomes,
    image,
    script,
)

from pytest_onepixel.reports.html import html_report
from pytest_onepixel.settings.gate_settings import GateSettings


def page() -> str:
    return html_report(hostile_outcomes(), HOSTILE["title"], HOSTILE["created"])


def test_no_hostile_text_becomes_markup() -> None:
    assert_inert(page())


@pytest.mark.parametrize("field", sorted(set(HOSTILE) - {"record file"}))
def test_each_hostile_field_is_shown_as_text(field: str) -> None:
    """The page shows the field's text as written (escaped in the source, whole on screen)."""
    text = "".join(Markup(page()).text)
    shown = HOSTILE[field]
    if field in ("measured backend", "measured note", "setting input_name"):
        shown = json.dumps(shown)[1:-1]  # measured values and settings are shown as JSON
    if field in ("measured batch", "setting preprocess"):
        shown = json.dumps({shown: shown})
    assert shown in text


def test_a_doctored_status_is_shown_as_text() -> None:
    """The status is an enum once read; one forged past it still cannot leave its attribute."""
    document = html_report([doctored(hostile_outcomes()[0], numbers=False)], "t", "c")
    assert_inert(document)
    assert image("status") in "".join(Markup(document).text)


def test_doctored_numbers_are_shown_as_text() -> None:
    document = html_report([doctored(hostile_outcomes()[0], numbers=True)], "t", "c")
    assert_inert(document)
    text = "".join(Markup(document).text)
    assert image("status") in text
    for field in COUNTS:
        assert script(f"summary {field}") in text


def test_a_curve_drawn_for_a_hostile_name_is_inline_and_inert() -> None:
    """The curve's SVG carries the gate's name in its title: matplotlib escapes it, and the
    page embeds the SVG only once it is checked to hold no script or event handler."""
    pytest.importorskip("matplotlib")
    from pytest_onepixel.reports.curve_plot import curve_figures

    outcomes = hostile_outcomes()
    _, svg = curve_figures(outcomes[0])
    document = html_report(outcomes, "t", "c", {outcomes[0].key: svg})
    assert_inert(document)
    assert document.count("<svg") == 1
    assert "robustness curve" in "".join(Markup(document).text)


@pytest.mark.parametrize(
    "svg",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect onload="alert(1)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><img src="x"/></foreignObject>'
        "</svg>",
        "<svg><unclosed>",
        "no svg at all",
    ],
)
def test_an_svg_that_is_not_a_plain_drawing_is_left_out(svg: str) -> None:
    """Only matplotlib's own drawing elements are embedded; anything else (a script, an event
    handler, a link, foreign content, or not SVG at all) leaves the curve out, saying so."""
    outcomes = hostile_outcomes()
    document = html_report(outcomes, "t", "c", {outcomes[0].key: svg})
    assert_inert(document)
    assert "<svg" not in document
    assert "robustness curve left out" in "".join(Markup(document).text)


def test_the_command_line_writes_an_inert_page(tmp_path: Path, capsys) -> None:
    """`pytest-onepixel html` on a report whose texts hold markup (a status that is markup is
    refused by the reader; whatever it accepts is escaped)."""
    from pytest_onepixel.cli import main
    from pytest_onepixel.reports.json_report import report_document

    judged, errored = hostile_outcomes()
    settings = GateSettings(budget=100, pixel_range=(0.0, 16.0), input_name=HOSTILE["title"])
    readable = replace(judged, spec=replace(judged.spec, mode="point"), settings=settings)
    document = report_document([readable], {}, "0")
    document["gates"].append(errored.to_json())
    document["created"] = HOSTILE["created"]
    source = tmp_path / f"{image('file')}.json"
    source.write_text(json.dumps(document))
    code = main(["html", str(source), "-o", str(tmp_path / "page.html")])
    assert code == 0, capsys.readouterr()
    written = (tmp_path / "page.html").read_text()
    assert_inert(written)
    text = "".join(Markup(written).text)
    assert HOSTILE["name"] in text and HOSTILE["error"].splitlines()[1] in text
    assert f"{image('file')}.json" in text


def test_numbers_still_read_as_numbers() -> None:
    """Escaping changes no number: the rate, interval and threshold read as before."""
    outcome = hostile_outcomes()[0]
    document = html_report([outcome], "t", "c")
    assert "3 of 17 attacked images fooled" in document or "3 of 20 attacked" in document
    assert "threshold 0.500" in document


def test_pixel_values_in_captions_are_plain_numbers() -> None:
    example = hostile_outcomes()[0].examples[0]
    assert example.pixels == ((1, 2, (16.0,)),)
    assert "pixel (1, 2) = [16]" in html_report(hostile_outcomes()[:1], "t", "c")
    assert np.isfinite(example.confidence)


@pytest.mark.browser
def test_chromium_finds_no_live_markup(tmp_path: Path) -> None:
    """The DOM a real browser builds from the hostile page: no script, handler or outside
    link, and every hostile text on the page as text."""
    pytest.importorskip("matplotlib")
    from pytest_onepixel.reports.curve_plot import curve_figures

    outcomes = hostile_outcomes()
    svg = curve_figures(outcomes[0])[1]
    page_file = tmp_path / "page.html"
    document = html_report(outcomes, HOSTILE["title"], HOSTILE["created"], {outcomes[0].key: svg})
    page_file.write_text(document, encoding="utf-8")
    dom = chromium_dom(page_file, tmp_path / "profile")
    assert_inert(dom)
    assert dom.count("<svg") == 1
    text = "".join(Markup(dom).text)
    for field in ("name", "reason", "note", "error", "class name", "example file", "title"):
        assert HOSTILE[field].replace("\n", "") in text.replace("\n", "")
