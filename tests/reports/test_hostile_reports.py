"""Every report the plugin reads is untrusted input (issue 20, points 3 and 4): a corpus of
hostile reports (not JSON, empty, a list, wrong types in every numeric field, missing and unknown
fields, doctored records and shard headers, markup and control characters in every string) runs
through every reader: `pytest-onepixel show`, `compare` (as baseline and as new report), `html`,
`merge`, and the `--onepixel-compare` baseline of a pytest run. Each refuses it with exit 2 (a
usage error, 4, for pytest) and one paragraph naming the file and the field, never a traceback;
a hostile but valid report is shown with its control characters escaped and its markup inert.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import measured

from pytest_onepixel.cli import main
from pytest_onepixel.engine.schedule import shard_positions
from pytest_onepixel.errors import ReportError
from pytest_onepixel.gate.outcome import Example, GateOutcome
from pytest_onepixel.gate.report_reader import read_document
from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.gate.status import GateStatus
from pytest_onepixel.reports.json_report import report_document
from pytest_onepixel.result import ImageRecord
from pytest_onepixel.settings.gate_settings import GateSettings

PNG = bytes.fromhex("89504e470d0a1a0a")  # a PNG signature: enough for the schema
SETTINGS = GateSettings(budget=20, samples=8, max_success_rate=0.8, pixel_range=(0.0, 16.0))
#: Subtrees whose content is free-form (measured timings, the model check, session options).
FREE_FORM = ("measured.batch", "measured.twin", "measured.model_check", "options")


def records() -> list[ImageRecord]:
    """Eight images: two misclassified, four fooled, two that held."""
    made = []
    for index in range(8):
        label = index % 3
        if index in (2, 5):
            made.append(ImageRecord.unattacked(index + 10, label, False, None, False))
            continue
        fooled = index in (0, 1, 3, 6)
        pixel = ((1, 2, (16.0,)),)
        made.append(
            ImageRecord(
                index + 10, label, True, True, fooled, 12 if fooled else 20,
                9 if fooled else None, pixel, (label + 1) % 3, 0.9, file=None,
            )
        )  # fmt: skip
    return made


def outcome(name: str = "gate-a", settings: GateSettings = SETTINGS, **data: object):
    gate = GateOutcome.judged(
        name,
        GateSpec.from_settings(settings, name),
        records(),
        settings=settings,
        measured=measured(),
        model={"description": "tiny.onnx", "hash": "abc"},
        data={"source": "holdout.npz", "hash": "def", "class_names": None, **data},
        notes=("a note",),
    )
    example = Example(10, "0", "1", 0.9, ((1, 2, (16.0,)),), PNG, PNG)
    return replace(gate, nodeid=f"onepixel.yaml::{name}", examples=(example,))


def document(*outcomes: GateOutcome) -> dict:
    gates = outcomes or (outcome(), GateOutcome.errored("broken", "boom", "onepixel.yaml::broken"))
    return json.loads(json.dumps(report_document(list(gates), {"budget": 20}, "0.0")))


def numeric_paths(value: object, path: str = "") -> list[str]:
    """The path of every number in a document, outside the free-form blocks."""
    if any(path.endswith(free) for free in FREE_FORM):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in numeric_paths(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in numeric_paths(v, f"{path}[{i}]")]
    return [path] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def set_at(doc: dict, path: str, value: object) -> dict:
    """A copy of `doc` with the field at `path` (gates[0].summary.success_rate) set."""
    doc = copy.deepcopy(doc)
    parts = path.replace("[", ".[").split(".")
    target = doc
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    last = parts[-1]
    target[int(last[1:-1]) if last.startswith("[") else last] = value
    return doc


def drop_at(doc: dict, path: str) -> dict:
    doc = set_at(doc, path, None)
    parent, _, key = path.rpartition(".")
    target = doc
    for part in parent.replace("[", ".[").split("."):
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    del target[key]
    return doc


VALID = document()
NUMBERS = numeric_paths(VALID)
CONTROL_KEY = copy.deepcopy(VALID)
CONTROL_KEY["gates"][1]["records"][0]["\x1b[2J"] = 1
#: Hostile files: name -> (content, a text the refusal names).
CORPUS: dict[str, tuple[str, str]] = {
    "empty": ("", "the file is empty"),
    "not-json": ("{", "it is not JSON"),
    "a-list": ("[1, 2]", "it holds a list"),
    "a-number": ("3", "it holds 3"),
    "no-gates": (json.dumps({"schema_version": 3}), "gates: missing"),
    "gates-not-a-list": (json.dumps({"gates": {}}), "gates: expected a list"),
    "gate-a-list": (json.dumps({"gates": [[]]}), "gates[0]: expected an object"),
    "nan-rate": (
        json.dumps(set_at(VALID, "gates[1].summary.success_rate", float("nan"))),
        "gates[1].summary.success_rate",
    ),
    "rate-above-one": (
        json.dumps(set_at(VALID, "gates[1].summary.success_rate", 1.5)),
        "gates[1].summary.success_rate: expected a number in [0, 1], found 1.5",
    ),
    "negative-count": (
        json.dumps(set_at(VALID, "gates[1].summary.attacked", -1)),
        "gates[1].summary.attacked: expected a non-negative integer, found -1",
    ),
    "bool-count": (
        json.dumps(set_at(VALID, "gates[1].records[0].queries", True)),
        "gates[1].records[0].queries",
    ),
    "unknown-status": (json.dumps(set_at(VALID, "gates[0].status", "won")), "unknown gate status"),
    "status-without-name": (
        json.dumps({"gates": [{"status": "passed"}]}),
        "gates[0].name: missing",
    ),
    "record-missing-field": (json.dumps(drop_at(VALID, "gates[1].records[3].success")), "success"),
    "record-unknown-field": (
        json.dumps(set_at(VALID, "gates[1].records[3].verdict", "pass")),
        "gates[1].records[3].verdict: not a field",
    ),
    "pixel-values-text": (
        json.dumps(set_at(VALID, "gates[1].records[0].pixels[0].values", "16")),
        "gates[1].records[0].pixels[0].values: expected a list",
    ),
    "example-not-base64": (
        json.dumps(set_at(VALID, "gates[1].examples[0].clean_png", "<script>")),
        "gates[1].examples[0].clean_png",
    ),
    "settings-budget-text": (
        json.dumps(set_at(VALID, "gates[1].settings.budget", "20")),
        "gates[1].settings.budget",
    ),
    "settings-unknown-key": (
        json.dumps(set_at(VALID, "gates[1].settings.budgett", 20)),
        "gates[1].settings.budgett",
    ),
    "control-key": (json.dumps(CONTROL_KEY), "gates[1].records[0].'\\x1b[2J': not a field"),
    "name-a-number": (json.dumps(set_at(VALID, "gates[1].name", 7)), "gates[1].name"),
    "schema-2": (json.dumps(set_at(VALID, "schema_version", 2)), "older pytest-onepixel"),
    "schema-text": (json.dumps(set_at(VALID, "schema_version", "3")), "schema_version"),
}


@pytest.fixture
def corpus(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.json").write_text(json.dumps(VALID))
    for name, (text, _) in CORPUS.items():
        (tmp_path / f"{name}.json").write_text(text)
    return tmp_path


def refused(capsys, name: str, needle: str) -> None:
    """The refusal is one paragraph naming the file and the field, without a traceback."""
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert f"{name}.json" in message and needle in message, message
    assert "\n" not in message and "Traceback" not in message, message
    assert "\x1b" not in message, message
    assert re.match(r"pytest-onepixel \w+: ", message), message
    assert not re.match(r"pytest-onepixel[^:]*: pytest-onepixel", message), message  # named once


READERS = {
    "show": lambda name: ["show", f"{name}.json"],
    "compare-old": lambda name: ["compare", f"{name}.json", "good.json"],
    "compare-new": lambda name: ["compare", "good.json", f"{name}.json"],
    "html": lambda name: ["html", f"{name}.json", "-o", "page.html"],
    "merge": lambda name: ["merge", f"{name}.json", "--report", "m.json"],
    "merge-compare": lambda name: ["merge", "good.json", "--report", "m.json", "--compare",
                                   f"{name}.json"],
}  # fmt: skip


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_reader_refuses_every_hostile_report(corpus, capsys, reader, name) -> None:
    if reader == "merge-compare":  # the shards are fine: only the baseline is hostile
        shards = shard_documents(2)
        for index, shard in enumerate(shards, 1):
            (corpus / f"s{index}.json").write_text(json.dumps(shard))
        args = ["merge", "s1.json", "s2.json", "--report", "m.json", "--compare", f"{name}.json"]
    else:
        args = READERS[reader](name)
    assert main(args) == 2
    refused(capsys, name, CORPUS[name][1])
    assert not (corpus / "page.html").exists() and not (corpus / "m.json").exists()


@pytest.mark.parametrize("path", NUMBERS)
def test_a_text_in_any_numeric_field_is_named(tmp_path, path) -> None:
    """Every number the schema reads, replaced by the same number as a string."""
    report = tmp_path / "r.json"
    report.write_text(json.dumps(set_at(VALID, path, "0.0")))
    with pytest.raises(ReportError) as error:
        read_document(report)
    # a setting is validated whole (settings/gate_settings.py): its error names the setting
    named = re.sub(r"(settings\.\w+)\[\d+\]$", r"\1", path)
    assert f"{report}" in str(error.value)
    assert f"{named}: " in str(error.value) and "'0.0'" in str(error.value)


def test_the_valid_report_reads_back_whole(tmp_path) -> None:
    report = tmp_path / "r.json"
    report.write_text(json.dumps(VALID))
    _, outcomes = read_document(report)
    assert [o.to_json() for o in outcomes] == VALID["gates"]
    assert len(NUMBERS) > 60  # the walk sees summary, curve, records, examples, settings


def test_the_compare_baseline_of_a_pytest_run_is_checked(pytester) -> None:
    """--onepixel-compare with each hostile report: a usage error naming the file and field."""
    for name, (text, needle) in CORPUS.items():
        (pytester.path / f"{name}.json").write_text(text)
        result = pytester.runpytest(f"--onepixel-compare={name}.json")
        assert result.ret == pytest.ExitCode.USAGE_ERROR, name
        err = result.stderr.str()
        assert f"--onepixel-compare: {name}.json" in err or name in err, err
        assert needle in err and "Traceback" not in err and "\x1b" not in err, err


# -- hostile but valid: control characters and markup in every string --------------------------

CONTROL = "evil\x1b[2J\x1b]0;owned\x07\u202e"
MARKUP = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def hostile_strings(text: str) -> dict:
    gate = outcome(f"gate-{text}", replace(SETTINGS, input_name=text), class_names=[text, text])
    gate = replace(
        gate,
        nodeid=f"onepixel.yaml::{text}",
        reasons=(text,),
        notes=(text,),
        model={"description": text, "hash": text},
        data={**gate.data, "source": text, "hash": text},
        measured=measured(backend=text, layout=text, notes=(text,)),
        examples=(replace(gate.examples[0], label=text, adversarial=text, file=text),),
        records=tuple(replace(r, file=text) for r in gate.records),
    )
    broken = GateOutcome.errored(text, text, f"onepixel.yaml::{text}-error")
    doc = document(gate, broken)
    doc["created"] = text
    return doc


def test_control_characters_never_reach_the_terminal(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    doc = hostile_strings(CONTROL)
    (tmp_path / "r.json").write_text(json.dumps(doc))
    old = copy.deepcopy(doc)
    ran = next(gate for gate in old["gates"] if "summary" in gate)
    ran["summary"]["success_rate"] = 0.0
    ran["data"]["hash"] = "another sample"
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert main(["show", "r.json"]) == 0
    assert main(["compare", "old.json", "r.json"]) == 1
    out = capsys.readouterr().out
    for char in "\x1b\x07\u202e":
        assert char not in out
    assert "evil\\x1b[2J" in out
    assert "the sampled data differ from the baseline's" in out


def test_markup_never_reaches_the_html_page(tmp_path, monkeypatch) -> None:
    """Needs the escaping HTML writer (issue 20, point 4; another change)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.json").write_text(json.dumps(hostile_strings(MARKUP)))
    assert main(["html", "r.json", "-o", "page.html"]) == 0
    page = (tmp_path / "page.html").read_text()
    assert "<script" not in page
    assert live_markup(page) == []


def live_markup(page: str) -> list[str]:
    """Script elements and event-handler attributes the browser would parse from `page`
    (escaped text, `&lt;img onerror=...` or inside a quoted attribute, is inert)."""
    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(f"<{tag} {name}=" for name, _ in attrs if name.startswith("on"))
            if tag == "script":
                found.append("<script")

    Parser().feed(page)
    return found


# -- doctored shards: records that disagree with themselves or with their header ---------------


def shard_documents(count: int) -> list[dict]:
    """The `count` shard reports of the gate (shard K holds every count-th image, sample order)."""
    whole = outcome()
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
        documents.append(document(part))
    return documents


#: Shard 2 of 2 holds sample positions 1 (fooled), 4 (held), 5 (misclassified), 7 (held).
DOCTORED = {
    "success-without-first-query": (
        {"records[0].first_success_query": None},
        "is a success without a first_success_query",
    ),
    "flipped-success": (
        {"records[1].success": True},
        "is a success without a first_success_query",
    ),
    "flipped-failure": ({"records[0].success": False}, "is no success but has"),
    "over-budget": ({"records[1].queries": 25}, "25 queries, more than the budget 20"),
    "first-after-queries": ({"records[0].first_success_query": 15}, "first fooled at query 15"),
    "misclassified-attacked": ({"records[0].clean_correct": False}, "attacked but misclassified"),
    "header-attacked": ({"shard.attacked": 5}, "does not match s1.json in its attacked set"),
    "attack-dropped": (
        {"records[1].attacked": False, "records[1].queries": 0, "records[1].pixels": []},
        "2 attacked image(s) in the records, but shard 2/2 of an attacked set of 6 holds 3",
    ),
}


@pytest.mark.parametrize("case", sorted(DOCTORED))
def test_merge_refuses_doctored_records(tmp_path, monkeypatch, capsys, case) -> None:
    monkeypatch.chdir(tmp_path)
    changes, message = DOCTORED[case]
    first, second = shard_documents(2)
    (tmp_path / "s1.json").write_text(json.dumps(first))
    (tmp_path / "s2.json").write_text(json.dumps(second))
    assert main(["merge", "s1.json", "s2.json", "--report", "m.json"]) == 0
    capsys.readouterr()
    for path, value in changes.items():
        second = set_at(second, f"gates[0].{path}", value)
    (tmp_path / "s2.json").write_text(json.dumps(second))
    assert main(["merge", "s1.json", "s2.json", "--report", "m.json"]) == 2
    refused(capsys, "s2", message)
