"""A hostile corpus for HTML output (issue 20, point 4): an outcome with markup in every field
a page shows, and the checks that a page built from it is inert.

Each field gets its own hostile string with a tag of its own (`<script>alert("name")</script>`,
`<img src=x onerror=alert("reason")>`, ...), so a test can check, field by field, that the
page shows the text and that no element, event handler or `javascript:` URL came from it.
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from conftest import measured

from pytest_onepixel.gate.outcome import Comparison, Example, GateOutcome, Summary
from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.result import ImageRecord
from pytest_onepixel.settings.gate_settings import GateSettings

COUNTS = ("sampled", "attacked", "successes")


def _png() -> bytes:
    """A valid 1x1 grey PNG, written by hand (the corpus needs no Pillow)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()


def script(field: str) -> str:
    return f'<script>alert("{field}")</script>'


def image(field: str) -> str:
    return f"<img src=x onerror=alert('{field}')>"


def link(field: str) -> str:
    return f'"><a href="javascript:alert(1)" id="{field}">x</a>'


#: Every field of an outcome a page shows, with the hostile text put there.
HOSTILE = {
    "name": script("name") + " & " + link("name"),
    "nodeid": "tests/t.py::t[" + image("nodeid") + "]",
    "reason": image("reason"),
    "note": script("note"),
    "error": "ModelLoadError: " + script("error") + "\n" + image("error"),
    "model key": script("model key"),
    "model description": image("model description"),
    "data source": script("data source"),
    "class name": script("class name"),
    "adversarial class": image("adversarial class"),
    "example file": link("example file"),
    "record file": script("record file"),
    "setting input_name": script("setting"),
    "setting preprocess": image("preprocess"),
    "measured backend": script("measured backend"),
    "measured batch": image("measured batch"),
    "measured note": link("measured note"),
    "mode": script("mode"),
    "compare reason": image("compare reason"),
    "title": script("title"),
    "created": image("created"),
}


def record(index: int, success: bool) -> ImageRecord:
    return ImageRecord(
        index=index,
        label=0,
        clean_correct=True,
        attacked=True,
        success=success,
        queries=50,
        first_success_query=20 if success else None,
        pixels=((1, 2, (16.0,)),),
        adversarial_label=1 if success else None,
        adversarial_confidence=0.9 if success else None,
        file=HOSTILE["record file"],
    )


def hostile_outcomes() -> list[GateOutcome]:
    """A judged gate with hostile text in every field, and an errored one."""
    settings = GateSettings(
        budget=100,
        pixel_range=(0.0, 16.0),
        input_name=HOSTILE["setting input_name"],
        preprocess={HOSTILE["setting preprocess"]: HOSTILE["setting preprocess"]},
    )
    spec = GateSpec(0.5, max_success_rate_at={10: 0.5})
    outcome = GateOutcome.judged(
        HOSTILE["name"],
        spec,
        [record(i, i < 3) for i in range(20)],
        settings=settings,
        measured=measured(
            backend=HOSTILE["measured backend"],
            batch={HOSTILE["measured batch"]: HOSTILE["measured batch"]},
            notes=(HOSTILE["measured note"],),
        ),
        model={HOSTILE["model key"]: "x", "description": HOSTILE["model description"]},
        data={"source": HOSTILE["data source"], "class_names": [HOSTILE["class name"]]},
        notes=(HOSTILE["note"],),
    )
    example = Example(
        index=3,
        label=HOSTILE["class name"],
        adversarial=HOSTILE["adversarial class"],
        confidence=0.9,
        pixels=((1, 2, (16.0,)),),
        clean_png=PNG,
        adversarial_png=PNG,
        file=HOSTILE["example file"],
    )
    judged = replace(
        outcome,
        nodeid=HOSTILE["nodeid"],
        reasons=(HOSTILE["reason"],),
        spec=replace(spec, mode=HOSTILE["mode"]),
        examples=(example,),
    ).compared(Comparison(0.1, 0.15, 0.05, True, HOSTILE["compare reason"]))
    errored = GateOutcome.errored("second", HOSTILE["error"], "tests/t.py::second")
    return [judged, errored]


def doctored(outcome: GateOutcome, numbers: bool) -> GateOutcome:
    """`outcome` with a status holding markup and, if `numbers`, counts that are strings
    holding markup: what a report edited by hand carries when nothing checked it."""
    forged = replace(outcome, name="third", nodeid="tests/t.py::third")
    object.__setattr__(forged, "status", image("status"))
    if numbers:
        counts = {field: script(f"summary {field}") for field in COUNTS}
        object.__setattr__(forged, "summary", Summary(**{**outcome.summary.__dict__, **counts}))
    return forged


class Markup(HTMLParser):
    """What a browser would make of the page: its elements, their attributes, and its text."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


#: Attributes a browser follows or loads (a `javascript:` inside any other one, e.g. the escaped
#: gate name in `data-gate`, is inert text).
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "srcset", "style"}


def assert_inert(document: str) -> None:
    """No script element, event handler or javascript: URL; no raw `<script` at all; every
    image a PNG data URI; every link within the page."""
    assert "<script" not in document.lower()
    assert not re.search(r"<[^>]*\bon[a-z]+\s*=", document, re.IGNORECASE)
    markup = Markup(document)
    tags = {tag for tag, _ in markup.tags}
    assert not tags & {"script", "iframe", "object", "embed", "foreignobject", "base", "form"}
    for tag, attributes in markup.tags:
        assert not [name for name in attributes if name.startswith("on")], (tag, attributes)
        for name in URL_ATTRIBUTES & set(attributes):
            assert "javascript:" not in (attributes[name] or "").lower(), (tag, attributes)
        if tag == "img":
            assert attributes["src"].startswith("data:image/png;base64,"), attributes
        if tag == "a":
            assert attributes["href"].startswith("#"), attributes


CHROMIUM = Path("/usr/bin/chromium")


def chromium_dom(page_file: Path, profile: Path) -> str:
    """The DOM headless Chromium builds from `page_file` (skips the test without Chromium)."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium to run the browser test")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--dump-dom",
        page_file.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
