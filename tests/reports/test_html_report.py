"""The HTML report: one self-contained page with a row and a section per gate, whatever the
gate's status, that a browser opens offline.

The page is read back with the standard library's HTML parser, and (when Chromium is installed)
with a real browser's DOM, so a broken tag or a section that only looks right as text fails.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import measured

from pytest_onepixel.gate.outcome import Comparison, GateOutcome
from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.reports.html import html_report, section_id
from pytest_onepixel.result import ImageRecord
from pytest_onepixel.settings.gate_settings import GateSettings

CHROMIUM = Path("/usr/bin/chromium")
SVG = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<title>curve of digits</title><rect id="curve-box" width="10" height="10"/></svg>\n'
)
SETTINGS = GateSettings(budget=100, pixel_range=(0.0, 16.0))


class Page(HTMLParser):
    """The parts of a report the tests look at: sections by gate name (with their id and their
    example images' sources), summary links, every img and svg."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.links: list[str] = []
        self.images: list[str] = []
        self.svgs = 0
        self._current: dict | None = None
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "section" and "data-gate" in attributes:
            self._current = {"id": attributes.get("id"), "examples": [], "svg": 0}
            self.sections[attributes["data-gate"]] = self._current
        elif tag == "img":
            self.images.append(attributes.get("src", ""))
            if self._current is not None and attributes.get("class") == "example":
                self._current["examples"].append(attributes.get("src", ""))
        elif tag == "a" and attributes.get("href", "").startswith("#"):
            self.links.append(attributes["href"][1:])
        elif tag == "svg" and self._current is not None:
            self._current["svg"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None


def attacked(index: int, success: bool, confidence: float = 0.9) -> ImageRecord:
    return ImageRecord(
        index=index,
        label=index % 3,
        clean_correct=True,
        attacked=True,
        success=success,
        queries=50,
        first_success_query=20 if success else None,
        pixels=((index % 8, (index * 3) % 8, (16.0,)),),
        adversarial_label=(index + 1) % 3 if success else None,
        adversarial_confidence=confidence if success else None,
    )


def judged(name: str, nodeid: str, successes: int, threshold: float) -> GateOutcome:
    records = [attacked(i, i < successes, 0.5 + i / 100) for i in range(20)]
    outcome = GateOutcome.judged(
        name,
        GateSpec(threshold, max_success_rate_at={10: 0.5}),
        records,
        settings=SETTINGS,
        measured=measured(),
        model={"description": "LinearModel (callable)", "sha256": "ab12cd34"},
        data={"source": "digits.npz", "sha256": "ef56ab78"},
        notes=("early verdict after 20 images",),
        seconds=1.5,
    )
    return replace(outcome, nodeid=nodeid)


@pytest.fixture
def outcomes() -> list[GateOutcome]:
    """A passed gate with examples, a failed one with a comparison, an errored and a not-run
    one, with names that need escaping."""
    pytest.importorskip("PIL")
    from pytest_onepixel.reports.gallery import render_examples

    passed = judged("digits <fast>", "tests/test_release.py::test_digits[fast]", 3, 0.5)
    images = np.random.default_rng(0).integers(0, 17, size=(20, 8, 8)).astype(np.uint8)
    examples = render_examples(
        images, "NCHW", passed.records, (0, 16), ["zero", "one", "two"], files=["d.png"] * 20
    )
    failed = judged("digits & strict", "tests/test_release.py::test_digits[strict]", 15, 0.2)
    comparison = Comparison(0.1, 0.75, 0.65, False, "rate rose by 0.650, more than 0.050")
    return [
        replace(passed, examples=examples, cached=True),
        failed.compared(comparison),
        GateOutcome.errored(
            "imagenet", "ModelLoadError: cannot load 'model.onnx'", "tests/test_release.py::t_in"
        ),
        GateOutcome(name="cifar later", status="not run", nodeid="tests/test_release.py::t_c"),
    ]


def report(outcomes: list[GateOutcome], curves: dict[str, str] | None = None) -> str:
    return html_report(outcomes, "release <1.2> gates", "2025-01-02T03:04:05+00:00", curves)


def assert_every_gate_is_shown(page: Page, outcomes: list[GateOutcome]) -> None:
    assert set(page.sections) == {outcome.name for outcome in outcomes}
    for outcome in outcomes:
        section = page.sections[outcome.name]
        assert section["id"] == section_id(outcome.key)
        assert section["id"] in page.links  # the summary row links to it
        assert len(section["examples"]) == 2 * len(outcome.examples)


def test_every_gate_has_a_row_and_a_section(outcomes: list[GateOutcome]) -> None:
    document = report(outcomes, {outcomes[0].key: SVG})
    page = Page(document)
    assert_every_gate_is_shown(page, outcomes)
    assert len(page.sections["digits <fast>"]["examples"]) == 6
    assert page.sections["digits <fast>"]["svg"] == 1
    assert document.count('<tr class="') == 4
    for status in ("passed", "failed", "error", "not run"):
        assert f'<td class="status">{status}</td>' in document


def test_the_page_is_self_contained(outcomes: list[GateOutcome]) -> None:
    document = report(outcomes, {outcomes[0].key: SVG})
    page = Page(document)
    assert page.images
    for source in page.images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG")
    assert "http://" not in document and "https://" not in document
    assert "<script" not in document and "<link" not in document and "<?xml" not in document


def test_user_text_is_escaped(outcomes: list[GateOutcome]) -> None:
    document = report(outcomes)
    assert "digits &lt;fast&gt;" in document and "<fast>" not in document
    assert "digits &amp; strict" in document and "release &lt;1.2&gt; gates" in document
    assert "two → zero (0.52)" in document  # class names and the arrow in captions


def test_each_gate_shows_what_it_has(outcomes: list[GateOutcome]) -> None:
    document = report(outcomes)
    assert "ModelLoadError: cannot load &#39;model.onnx&#39;" in document
    assert "was collected but not run" in document
    assert "+0.650" in document and "rate rose by 0.650" in document
    assert "early verdict after 20 images" in document
    assert "<td>pixel_range</td><td>[0.0, 16.0]</td>" in document  # a setting not at its default
    assert "<td>budget</td><td>400</td>" not in document  # defaults are left out
    assert "ab12cd34" in document and "ef56ab78" in document
    assert "d.png" in document


def test_a_real_curve_is_embedded_inline(outcomes: list[GateOutcome]) -> None:
    pytest.importorskip("matplotlib")
    from pytest_onepixel.reports.curve_plot import curve_figures

    _, svg = curve_figures(outcomes[0])
    document = report(outcomes, {outcomes[0].key: svg})
    assert Page(document).sections["digits <fast>"]["svg"] == 1
    assert "http://" not in document and "<!DOCTYPE svg" not in document


@pytest.mark.browser
def test_chromium_renders_every_section(outcomes: list[GateOutcome], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium to run the browser test")
    page_file = tmp_path / "report.html"
    page_file.write_text(report(outcomes, {outcomes[0].key: SVG}), encoding="utf-8")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        page_file.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    page = Page(done.stdout)
    assert_every_gate_is_shown(page, outcomes)
    assert page.sections["digits <fast>"]["svg"] == 1


def test_summary_cells_sit_under_their_headers(outcomes: list[GateOutcome]) -> None:
    """The HTML summary has the terminal table's columns: a gate's verdict under `verdict`, its
    queries under `queries` (the header row and each gate's cells are read back in order)."""
    document = report(outcomes)
    table = document[document.index('<table class="summary">') :].split("</table>")[0]
    rows = table.split("<tr")[1:]
    headers = [cell.split("</th>")[0] for cell in rows[0].split("<th>")[1:]]
    judged_row = next(row for row in rows[1:] if "digits &lt;fast&gt;" in row)
    cells = [cell.split("</td>")[0].split(">")[-1] for cell in judged_row.split("<td")[1:]]
    assert len(cells) == len(headers)
    by_header = dict(zip(headers, cells, strict=True))
    assert by_header["verdict"] in ("pass", "FAIL")
    assert by_header["queries"].replace(",", "").isdigit()
    assert by_header["search"] == "de"
