"""A `search: certify` gate's outcomes and vulnerability bracket wherever a user reads a gate
(issue 23, point 4): the JSON report read back as untrusted input (each record's `outcome` and
`proof`, the summary's `certified`, `undecided` and `bracket` checked against the records), the
terminal table and failure text, the HTML page, `pytest-onepixel show`, `compare` and `merge`.

The records are made by hand, so these tests need no proof engine: ten sampled images, one
misclassified, two fooled (one by the DE search, one by the proof's corner pre-pass), six
certified and one undecided, so the bracket is [2/9, 3/9].
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import measured, write_gates

from pytest_onepixel.cli import main
from pytest_onepixel.engine.schedule import shard_positions
from pytest_onepixel.errors import ReportError
from pytest_onepixel.gate.outcome import GateOutcome
from pytest_onepixel.gate.report_reader import read_document
from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.gate.status import GateStatus
from pytest_onepixel.reports.html import html_report
from pytest_onepixel.reports.json_report import report_document
from pytest_onepixel.reports.text import failure_text, table_lines
from pytest_onepixel.result import ImageRecord
from pytest_onepixel.settings.gate_settings import GateSettings

BUDGET = 1000
SETTINGS = GateSettings(
    search="certify",
    budget=20,
    samples=10,
    max_success_rate=0.5,
    pixel_range=(0.0, 7.0),
    certify_budget=BUDGET,
)
#: Undecided image 9 keeps the upper end (3/9) above this threshold: the verdict stays open.
OPEN = replace(SETTINGS, max_success_rate=0.25)
BRACKET = "[0.222, 0.333]"
CHROMIUM = Path("/usr/bin/chromium")


def proof(passes: int, found_by: str | None = None, left: tuple[int, int] = (0, 0)) -> dict:
    return {
        "passes": passes,
        "queries": passes // 10,
        "boxes": passes // 4,
        "positions_left": left[0],
        "boxes_left": left[1],
        "found_by": found_by,
    }


def records() -> list[ImageRecord]:
    """Image 0 misclassified; 1 fooled by the search, 2 by the proof; 3-8 certified; 9
    undecided (the proof stopped with 3 positions and 5 boxes left)."""
    made = [ImageRecord.unattacked(0, 0, False, None, False)]
    for index in range(1, 10):
        label = index % 3
        fooled = index in (1, 2)
        outcome = "fooled" if fooled else "undecided" if index == 9 else "certified"
        made.append(
            ImageRecord(
                index=index,
                label=label,
                clean_correct=True,
                attacked=True,
                success=fooled,
                queries=12 if index == 1 else 20,
                first_success_query={1: 9, 2: 20}.get(index),
                pixels=((index % 4, 3, (7.0, 0.0, 7.0)),),
                adversarial_label=(label + 1) % 3 if fooled else None,
                adversarial_confidence=0.8 if fooled else None,
                file=f"img<{index}>.png",
                outcome=outcome,
                proof={
                    1: proof(0, "search"),
                    2: proof(40, "corner"),
                    9: proof(BUDGET, left=(3, 5)),
                }.get(index, proof(100 + index)),
            )
        )
    return made


def outcome(settings: GateSettings = SETTINGS, name: str = "certified-gate") -> GateOutcome:
    gate = GateOutcome.judged(
        name,
        GateSpec.from_settings(settings, name),
        records(),
        settings=settings,
        measured=measured(pixel_range=(0.0, 7.0)),
        model={"description": "tiny.onnx", "hash": "abc"},
        data={"source": "holdout.npz", "hash": "def", "class_names": None},
    )
    return replace(gate, nodeid=f"onepixel.yaml::{name}")


def de_outcome(name: str = "de-gate") -> GateOutcome:
    """The same images judged by a `search: de` gate: records without outcomes."""
    settings = replace(SETTINGS, search="de")
    plain = [replace(record, outcome=None, proof=None) for record in records()]
    gate = GateOutcome.judged(
        name, GateSpec.from_settings(settings, name), plain, settings=settings,
        measured=measured(pixel_range=(0.0, 7.0)), model={"description": "tiny.onnx"},
        data={"source": "holdout.npz", "hash": "def"},
    )  # fmt: skip
    return replace(gate, nodeid=f"onepixel.yaml::{name}")


def document(*gates: GateOutcome) -> dict:
    gates = gates or (outcome(),)
    return json.loads(json.dumps(report_document(list(gates), {}, "0.0")))


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def set_at(doc: dict, path: str, value: object) -> dict:
    """A copy of `doc` with the field at `path` (gates[0].summary.bracket) set."""
    doc = copy.deepcopy(doc)
    parts = path.replace("[", ".[").split(".")
    target = doc
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    target[int(last[1:-1]) if last.startswith("[") else last] = value
    return doc


def drop_at(doc: dict, path: str) -> dict:
    doc = copy.deepcopy(doc)
    parent, _, key = path.rpartition(".")
    target = doc
    for part in parent.replace("[", ".[").split("."):
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    del target[key]
    return doc


# -- the JSON report ---------------------------------------------------------------------------


def test_the_summary_carries_the_counts_and_the_bracket() -> None:
    summary = document()["gates"][0]["summary"]
    assert (summary["successes"], summary["certified"], summary["undecided"]) == (2, 6, 1)
    assert summary["bracket"] == pytest.approx([2 / 9, 3 / 9])
    record = document()["gates"][0]["records"][9]
    assert record["outcome"] == "undecided" and record["proof"]["positions_left"] == 3


def test_a_certify_report_reads_back_whole(tmp_path) -> None:
    valid = document(outcome(), outcome(OPEN, "open-gate"))
    _, gates = read_document(write(tmp_path / "r.json", valid))
    assert [gate.to_json() for gate in gates] == valid["gates"]
    assert [r.outcome for r in gates[0].records].count("certified") == 6
    assert gates[0].records[2].proof["found_by"] == "corner"


def test_a_report_without_outcomes_still_reads(tmp_path) -> None:
    """Reports written before `search: certify` have no `outcome` or `proof` in their records."""
    doc = document(de_outcome())
    for record in doc["gates"][0]["records"]:
        del record["outcome"], record["proof"]
    for key in ("certified", "undecided", "bracket"):
        doc["gates"][0]["summary"].pop(key, None)
    _, gates = read_document(write(tmp_path / "old.json", doc))
    assert all(r.outcome is None and r.proof is None for r in gates[0].records)


VALID = document()
DE = set_at(VALID, "gates[0].settings.search", "de")
G = "gates[0]"
#: name -> (the doctored report, what the refusal says about which field).
HOSTILE: dict[str, tuple[dict, str]] = {
    "outcome-unknown": (
        set_at(VALID, f"{G}.records[3].outcome", "proven"),
        f"{G}.records[3].outcome: expected one of fooled, certified, undecided or null, "
        "found 'proven'",
    ),
    "outcome-a-number": (
        set_at(VALID, f"{G}.records[3].outcome", 1),
        f"{G}.records[3].outcome: expected a string, found 1",
    ),
    "certified-but-fooled": (
        set_at(VALID, f"{G}.records[1].outcome", "certified"),
        f"{G}.records[1].outcome: 'certified' disagrees with success true",
    ),
    "fooled-without-success": (
        set_at(VALID, f"{G}.records[4].outcome", "fooled"),
        f"{G}.records[4].outcome: 'fooled' disagrees with success false",
    ),
    "outcome-not-attacked": (
        set_at(VALID, f"{G}.records[0].outcome", "certified"),
        f"{G}.records[0].outcome: 'certified' for an image that was not attacked",
    ),
    "outcome-missing-in-certify": (
        set_at(VALID, f"{G}.records[5].outcome", None),
        f"{G}.records[5].proof: a proof for an image without an outcome",
    ),
    "outcome-and-proof-missing": (
        set_at(set_at(VALID, f"{G}.records[5].outcome", None), f"{G}.records[5].proof", None),
        f"{G}.records[5].outcome: missing for an attacked image of a certify gate",
    ),
    "outcome-in-de-gate": (
        DE,
        f"{G}.records[1].outcome: 'fooled' in a gate whose search is 'de'",
    ),
    "proof-negative": (
        set_at(VALID, f"{G}.records[4].proof.passes", -1),
        f"{G}.records[4].proof.passes: expected a non-negative integer, found -1",
    ),
    "proof-text": (
        set_at(VALID, f"{G}.records[4].proof.boxes", "25"),
        f"{G}.records[4].proof.boxes: expected a non-negative integer, found '25'",
    ),
    "proof-float": (
        set_at(VALID, f"{G}.records[4].proof.queries", 2.5),
        f"{G}.records[4].proof.queries: expected a non-negative integer, found 2.5",
    ),
    "proof-a-list": (
        set_at(VALID, f"{G}.records[4].proof", [1, 2]),
        f"{G}.records[4].proof: expected an object, found a list",
    ),
    "proof-missing-count": (
        drop_at(VALID, f"{G}.records[4].proof.boxes_left"),
        f"{G}.records[4].proof.boxes_left: missing",
    ),
    "proof-unknown-field": (
        set_at(VALID, f"{G}.records[4].proof.margin", 0.5),
        f"{G}.records[4].proof.margin: not a field of this object",
    ),
    "found-by-a-number": (
        set_at(VALID, f"{G}.records[2].proof.found_by", 7),
        f"{G}.records[2].proof.found_by: expected a string, found 7",
    ),
    "found-by-for-certified": (
        set_at(VALID, f"{G}.records[4].proof.found_by", "corner"),
        f"{G}.records[4].proof.found_by: 'corner', but the image is certified",
    ),
    "left-for-certified": (
        set_at(VALID, f"{G}.records[4].proof.positions_left", 2),
        f"{G}.records[4].proof.positions_left: 2 left, but the image is certified",
    ),
    "over-certify-budget": (
        set_at(VALID, f"{G}.records[9].proof.passes", BUDGET + 1),
        f"{G}.records[9].proof.passes: 1,001 is over the certify_budget 1,000",
    ),
    "certified-count-edited": (
        set_at(VALID, f"{G}.summary.certified", 7),
        f"{G}.summary.certified: 7 disagrees with the records (6 certified)",
    ),
    "undecided-count-edited": (
        set_at(VALID, f"{G}.summary.undecided", 0),
        f"{G}.summary.undecided: 0 disagrees with the records (1 undecided)",
    ),
    "certified-negative": (
        set_at(VALID, f"{G}.summary.certified", -1),
        f"{G}.summary.certified: expected a non-negative integer, found -1",
    ),
    "certified-missing": (
        drop_at(VALID, f"{G}.summary.certified"),
        f"{G}.summary.certified: missing",
    ),
    "bracket-reversed": (
        set_at(VALID, f"{G}.summary.bracket", [3 / 9, 2 / 9]),
        f"{G}.summary.bracket: expected [low, high] with low <= high",
    ),
    "bracket-one-end": (
        set_at(VALID, f"{G}.summary.bracket", [0.2]),
        f"{G}.summary.bracket: expected [low, high] with low <= high",
    ),
    "bracket-above-one": (
        set_at(VALID, f"{G}.summary.bracket", [0.2, 1.5]),
        f"{G}.summary.bracket[1]: expected a number in [0, 1], found 1.5",
    ),
    "bracket-nan": (
        set_at(VALID, f"{G}.summary.bracket", [0.2, float("nan")]),
        f"{G}.summary.bracket[1]: expected a number in [0, 1], found nan",
    ),
    "bracket-text": (
        set_at(VALID, f"{G}.summary.bracket", "[0.2, 0.3]"),
        f"{G}.summary.bracket: expected a list",
    ),
    "bracket-narrowed": (
        set_at(VALID, f"{G}.summary.bracket", [2 / 9, 2 / 9]),
        f"{G}.summary.bracket: [0.222222, 0.222222] disagrees with the records "
        "([0.222222, 0.333333]",
    ),
    "bracket-missing": (drop_at(VALID, f"{G}.summary.bracket"), f"{G}.summary.bracket: missing"),
    "bracket-in-de-gate": (
        set_at(document(de_outcome()), f"{G}.summary.certified", 6),
        f"{G}.summary.certified: present, but no record has an outcome",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_doctored_certify_field_is_named(tmp_path, case) -> None:
    doc, message = HOSTILE[case]
    path = write(tmp_path / f"{case}.json", doc)
    with pytest.raises(ReportError) as error:
        read_document(path)
    text = str(error.value)
    assert message in text and str(path) in text, text


@pytest.mark.parametrize("reader", ["show", "html", "compare", "merge"])
def test_every_reader_refuses_a_doctored_bracket(tmp_path, monkeypatch, capsys, reader) -> None:
    """One paragraph on stderr naming the file and the field, exit 2, nothing written."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.json", VALID)
    write(tmp_path / "bad.json", HOSTILE["bracket-reversed"][0])
    args = {
        "show": ["show", "bad.json"],
        "html": ["html", "bad.json", "-o", "page.html"],
        "compare": ["compare", "good.json", "bad.json"],
        "merge": ["merge", "bad.json", "--report", "m.json"],
    }[reader]
    assert main(args) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"pytest-onepixel {reader}: bad.json is not"), message
    assert "gates[0].summary.bracket: expected [low, high] with low <= high" in message
    assert "\n" not in message and "Traceback" not in message
    assert not (tmp_path / "page.html").exists() and not (tmp_path / "m.json").exists()


# -- the terminal --------------------------------------------------------------------------------


def test_the_table_shows_the_bracket_and_the_counts() -> None:
    lines = table_lines([outcome(), de_outcome()])
    header, _, certify_row, de_row = lines[:4]
    rate = header.index(" rate") + len(" rate")
    assert certify_row[:rate].endswith(BRACKET)  # the rate cell, under its header
    assert de_row[:rate].endswith("0.222") and BRACKET not in de_row
    assert (
        "certify (certified-gate): 2 fooled, 6 certified, 1 undecided of 9 attacked -> "
        f"vulnerability bracket {BRACKET}"
    ) in lines
    assert not any(line.startswith("certify (de-gate)") for line in lines)


def test_the_failure_text_names_the_bracket_and_where_each_proof_stopped() -> None:
    gate = outcome(OPEN, "open-gate")
    assert not gate.passed
    text = failure_text(gate, None)
    lines = text.splitlines()
    assert any(line.strip().startswith("- vulnerability bracket [") for line in lines), text
    assert (
        f"  certify:      2 fooled, 6 certified, 1 undecided of 9 attacked -> vulnerability "
        f"bracket {BRACKET} (exact for each image; the interval above is over the sample)"
    ) in lines
    stopped = lines.index("  undecided:    where each image's proof stopped")
    assert lines[stopped + 1] == (
        "    image 9 (img<9>.png): 3 position(s) and 5 box(es) left after 1,000 of 1,000 "
        "model-pass equivalents"
    )


def test_the_failure_text_lists_at_most_five_undecided_images() -> None:
    many = [
        replace(r, outcome="undecided", proof=proof(BUDGET, left=(1, 2)))
        if r.outcome == "certified"
        else r
        for r in records()
    ]
    gate = outcome(OPEN, "many")
    gate = GateOutcome.judged(
        gate.name, gate.spec, many, settings=OPEN, measured=gate.measured,
        model=gate.model, data=gate.data,
    )  # fmt: skip
    text = failure_text(gate, None)
    assert text.count("model-pass equivalents") == 5
    assert "    ... and 2 more (records[].proof in the report)" in text.splitlines()


def test_show_prints_the_bracket_and_the_counts(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    doc = document(outcome(), outcome(OPEN, "open-gate"))
    doc["gates"][0]["name"] = "evil\x1b[2J"  # a report's text is escaped on the way out
    write(tmp_path / "r.json", doc)
    assert main(["show", "r.json"]) == 0
    out = capsys.readouterr().out
    assert out.count(BRACKET) == 4  # two rate cells, two lines under the table
    assert "certify (open-gate): 2 fooled, 6 certified, 1 undecided of 9 attacked" in out
    assert "certify (evil\\x1b[2J): 2 fooled" in out and "\x1b" not in out


# -- the HTML page -----------------------------------------------------------------------------


class Images(HTMLParser):
    """Each gate section's certify table (key, value) and its attacked images' rows."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.gates: dict[str, dict] = {}
        self._gate: dict | None = None
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "section" and "data-gate" in attributes:
            self._gate = {"kv": {}, "images": [], "classes": []}
            self.gates[attributes["data-gate"]] = self._gate
        elif tag == "table" and self._gate is not None:
            self._table = attributes.get("class")
        elif tag == "tr" and self._table is not None:
            self._row = []
            if self._table == "images" and attributes.get("class"):
                self._gate["classes"].append(attributes["class"])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table == "images":
                self._gate["images"].append(self._row)
            elif self._table == "kv" and len(self._row) == 2:
                self._gate["kv"].setdefault(self._row[0], self._row[1])
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "section":
            self._gate = None


def page_of(*gates: GateOutcome) -> str:
    return html_report(list(gates), "certify <gates>", "2026-12-04T17:00:00+00:00")


def check_certify_section(gate: dict) -> None:
    kv = gate["kv"]
    assert (kv["fooled"], kv["certified"], kv["undecided"]) == ("2", "6", "1")
    assert kv["vulnerability bracket"] == BRACKET
    header, *rows = gate["images"]
    assert header[:4] == ["image", "file", "label", "outcome"]
    by_image = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert len(by_image) == 9 and "0" not in by_image  # the misclassified image is not attacked
    assert by_image["1"]["outcome"] == "fooled" and by_image["1"]["found by"] == "search"
    assert by_image["2"]["found by"] == "corner"
    assert by_image["5"]["outcome"] == "certified" and by_image["5"]["model passes"] == "105"
    assert by_image["9"]["outcome"] == "undecided" and by_image["9"]["positions left"] == "3"
    assert by_image["9"]["file"] == "img<9>.png"  # escaped in the page, read back as text
    assert gate["classes"].count("certified") == 6


def test_the_html_page_shows_the_counts_the_bracket_and_each_outcome() -> None:
    page = page_of(outcome(OPEN, "open-gate"), de_outcome())
    parsed = Images(page)
    check_certify_section(parsed.gates["open-gate"])
    assert "img&lt;9&gt;.png" in page and "<9>" not in page
    assert f"<td>{BRACKET}</td>" in page  # the summary row's rate cell
    assert "Exact verdict per image: 2 fooled, 6 certified, 1 undecided" in page
    assert "vulnerability bracket [" in page  # the verdict's reasons
    for key in ("fooled", "certified", "undecided"):
        assert key not in parsed.gates["de-gate"]["kv"]


@pytest.mark.browser
def test_chromium_renders_the_certify_tables(tmp_path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium to run the browser test")
    page_file = tmp_path / "report.html"
    page_file.write_text(page_of(outcome(OPEN, "open-gate")), encoding="utf-8")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page_file.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    check_certify_section(Images(done.stdout).gates["open-gate"])


def test_html_from_a_certify_report(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "r.json", VALID)
    assert main(["html", "r.json", "-o", "page.html"]) == 0
    check_certify_section(Images((tmp_path / "page.html").read_text()).gates["certified-gate"])


# -- compare and merge ----------------------------------------------------------------------------


def test_compare_reads_certify_reports(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "r.json", VALID)
    assert main(["compare", "r.json", "r.json"]) == 0
    assert re.search(r"certified-gate\s+0\.222\s+0\.222\s+\+0\.000\s+pass", capsys.readouterr().out)


def shard_documents(count: int, settings: GateSettings = SETTINGS) -> list[dict]:
    """The `count` shard reports of the gate (shard K holds every count-th attacked image)."""
    whole = outcome(settings)
    attacked = np.array([r.attacked for r in whole.records])
    documents = []
    for index in range(1, count + 1):
        kept = shard_positions(attacked, (index, count))
        part = replace(
            whole,
            status=GateStatus.SHARD,
            records=tuple(whole.records[i] for i in kept),
            shard={
                "index": index,
                "count": count,
                "attacked": int(attacked.sum()),
                "sample_order": [r.index for r in whole.records],
            },
        )
        documents.append(document(shard_outcome(part)))
    return documents


def shard_outcome(part: GateOutcome) -> GateOutcome:
    """A shard's outcome with the summary of its own records, as a shard run writes it."""
    return replace(
        GateOutcome.judged(
            part.name, part.spec, part.records, settings=part.settings, measured=part.measured,
            model=part.model, data=part.data,
        ),
        status=GateStatus.SHARD, shard=part.shard, nodeid=part.nodeid, full=True,
    )  # fmt: skip


@pytest.mark.parametrize("settings", [SETTINGS, OPEN], ids=["passing", "open"])
def test_merge_sums_the_counts_and_recomputes_the_bracket(
    tmp_path, monkeypatch, capsys, settings
) -> None:
    monkeypatch.chdir(tmp_path)
    shards = shard_documents(3, settings)
    summaries = [shard["gates"][0]["summary"] for shard in shards]
    assert sorted(s["certified"] for s in summaries) != [6, 6, 6]  # each holds part of them
    for index, shard in enumerate(shards, 1):
        write(tmp_path / f"s{index}.json", shard)
    code = main(["merge", "s1.json", "s2.json", "s3.json", "--report", "m.json"])
    assert code == (0 if settings is SETTINGS else 1)
    merged = json.loads((tmp_path / "m.json").read_text())["gates"][0]
    whole = document(outcome(settings))["gates"][0]
    for key in ("successes", "certified", "undecided", "bracket", "attacked"):
        assert merged["summary"][key] == whole["summary"][key], key
    assert merged["summary"]["certified"] == sum(s["certified"] for s in summaries)
    assert merged["reasons"] == whole["reasons"]
    assert [r["outcome"] for r in merged["records"]] == [r["outcome"] for r in whole["records"]]
    assert "certify (certified-gate): 2 fooled, 6 certified" in capsys.readouterr().out
    _, gates = read_document(tmp_path / "m.json")  # the merged report reads back
    assert gates[0].summary.bracket == pytest.approx((2 / 9, 3 / 9))


def test_merge_refuses_a_shard_with_an_edited_count(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = shard_documents(2)
    second = set_at(
        second, "gates[0].summary.certified", second["gates"][0]["summary"]["certified"] + 1
    )
    write(tmp_path / "s1.json", first)
    write(tmp_path / "s2.json", second)
    assert main(["merge", "s1.json", "s2.json", "--report", "m.json"]) == 2
    message = capsys.readouterr().err.strip()
    assert "s2.json" in message and "gates[0].summary.certified:" in message, message
    assert "disagrees with the records" in message and not (tmp_path / "m.json").exists()


def test_an_unconfirmed_proof_pixel_reads_back(tmp_path) -> None:
    """A proof's fooling pixel the model does not reproduce leaves the image undecided and
    rejected, with the proof's finder (proving.py): a report saying so is valid."""
    doc = set_at(VALID, f"{G}.records[9].rejected", True)
    doc = set_at(doc, f"{G}.records[9].proof.found_by", "bound candidate")
    _, gates = read_document(write(tmp_path / "r.json", doc))
    assert gates[0].records[9].proof["found_by"] == "bound candidate"
    doc = set_at(doc, f"{G}.records[9].rejected", False)
    with pytest.raises(ReportError, match=r"records\[9\]\.proof\.found_by: 'bound candidate'"):
        read_document(write(tmp_path / "r.json", doc))


@pytest.mark.parametrize(("position", "merges"), [(1, False), (2, True)])
def test_merge_takes_a_rejected_search_success_the_proof_then_fooled(
    tmp_path, monkeypatch, capsys, position, merges
) -> None:
    """Image 2's search success was not confirmed (rejected) and its proof then found a pixel
    the model confirmed: a success and rejected, which merge accepts; image 1 was fooled by
    the search itself, so it cannot also be rejected."""
    monkeypatch.chdir(tmp_path)
    made = records()
    made[position] = replace(made[position], rejected=True)
    whole = outcome()
    whole = replace(whole, records=tuple(made))
    attacked = np.array([r.attacked for r in made])
    for index in (1, 2):
        kept = shard_positions(attacked, (index, 2))
        header = {"index": index, "count": 2, "attacked": int(attacked.sum())}
        header["sample_order"] = [r.index for r in made]
        part = replace(whole, records=tuple(made[i] for i in kept), shard=header)
        write(tmp_path / f"s{index}.json", document(shard_outcome(part)))
    code = main(["merge", "s1.json", "s2.json", "--report", "m.json"])
    if merges:
        assert code == 0, capsys.readouterr().err
        merged = json.loads((tmp_path / "m.json").read_text())["gates"][0]["summary"]
        assert (merged["successes"], merged["rejected"]) == (2, 1)
    else:
        assert code == 2
        assert f"(image {position}) is both a success and rejected" in capsys.readouterr().err


# -- a real run: what pytest prints and writes for a certify gate --------------------------------

CERTIFY_GATES = """\
defaults: {samples: 20, pixel_range: [0, 16], search: certify}
models:
  - name: tiny-proven
    model: models/tiny.onnx
    data: data/holdout.npz
    max_success_rate: 0.6
  - name: tiny-open
    model: models/tiny.onnx
    data: data/holdout.npz
    certify_budget: 1
    max_success_rate: 0.9
"""


def test_a_certify_run_shows_its_bracket_everywhere(repo, monkeypatch, capsys) -> None:
    """pytest's table and failure text, then `show` and `html` on the report it wrote, all
    agree with the records: each gate's counts and bracket, each image's outcome."""
    write_gates(repo, CERTIFY_GATES)
    result = repo.runpytest("--onepixel-budget=20", "--onepixel-report=r.json", "--onepixel-full")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    _, gates = read_document(repo.path / "r.json")
    by_name = {gate.name: gate for gate in gates}
    proven, open_ = by_name["tiny-proven"], by_name["tiny-open"]
    assert proven.summary.certified > 0 and open_.summary.undecided > 0
    for gate in gates:
        s = gate.summary
        assert s.successes + s.certified + s.undecided == s.attacked
        bracket = f"[{s.bracket[0]:.3f}, {s.bracket[1]:.3f}]"
        row = next(line for line in out.splitlines() if line.startswith(gate.name + " "))
        assert f" {s.successes}  {bracket}  [" in row, row
        line = (
            f"certify ({gate.name}): {s.successes} fooled, {s.certified} certified, "
            f"{s.undecided} undecided of {s.attacked} attacked -> vulnerability bracket {bracket}"
        )
        assert line in out
    first = next(r for r in open_.records if r.outcome == "undecided")
    result.stdout.fnmatch_lines(
        [
            "onepixel gate 'tiny-open' FAILED (point mode):",
            "  - vulnerability bracket [[]*undecided images: *certify_budget (now 1)*",
            "  certify: * undecided of * attacked -> vulnerability bracket *",
            "  undecided:    where each image's proof stopped",
            f"    image {first.index}: * position(s) and * box(es) left after * of 1 model-pass*",
        ]
    )
    monkeypatch.chdir(repo.path)
    capsys.readouterr()
    assert main(["show", "r.json"]) == 0
    shown = capsys.readouterr().out
    assert all(f"certify ({gate.name}): " in shown for gate in gates)
    assert main(["html", "r.json", "-o", "page.html"]) == 0
    page = Images((repo.path / "page.html").read_text())
    for gate in gates:
        section = page.gates[gate.name]
        assert section["kv"]["certified"] == str(gate.summary.certified)
        outcomes = {row[0]: row[3] for row in section["images"][1:]}
        assert outcomes == {str(r.index): r.outcome for r in gate.records if r.attacked}
