"""Rates a dashboard can chart: an early-stopped gate's success rate is over the images attacked
before its verdict settled, and both the JSON summary and the JUnit properties say so (and over
how many images), so a chart of `success_rate` across runs can tell those points from full ones.
With 40 samples and threshold 0 the tiny gate's verdict is settled after 16 of 35 attacked."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import write_gates

GATE = """\
models:
  - {name: g, model: models/tiny.onnx, data: data/holdout.npz, samples: 40, budget: 20,
     pixel_range: [0, 16], preset: continuous, max_success_rate: 0.0}
"""


def _run(repo: pytest.Pytester, *args: str) -> tuple[dict, dict]:
    """The gate's JSON summary and its JUnit properties (name -> value)."""
    repo.runpytest("--onepixel-report=r.json", "--junitxml=junit.xml", *args)
    summary = json.loads((repo.path / "r.json").read_text())["gates"][0]["summary"]
    tree = ET.parse(repo.path / "junit.xml")
    properties = {p.get("name"): p.get("value") for p in tree.iter("property")}
    return summary, properties


def test_an_early_verdict_labels_its_rate_in_json_and_junit(repo) -> None:
    write_gates(repo, GATE)
    summary, properties = _run(repo)
    assert summary["settled_after"] == summary["attacked"] == 16 and summary["skipped"] == 19
    assert summary["early_verdict"] is True
    assert summary["rate_over"] == (
        "the 16 images attacked before the early verdict (of 35 in the attacked set; "
        "--onepixel-full attacks all)"
    )
    assert properties["onepixel_early_verdict"] == "true"
    assert properties["onepixel_rate_over"] == summary["rate_over"]
    assert properties["onepixel_attacked"] == "16"
    assert float(properties["onepixel_success_rate"]) == summary["success_rate"]


def test_a_full_run_says_its_rate_is_over_the_whole_attacked_set(repo) -> None:
    write_gates(repo, GATE)
    summary, properties = _run(repo, "--onepixel-full")
    assert summary["settled_after"] is None and summary["attacked"] == 35
    assert summary["early_verdict"] is False
    assert summary["rate_over"] == "all 35 images of the attacked set"
    assert properties["onepixel_early_verdict"] == "false"
    assert properties["onepixel_rate_over"] == "all 35 images of the attacked set"


def test_a_cached_early_verdict_is_labelled_the_same(repo) -> None:
    write_gates(repo, GATE)
    first = _run(repo)
    again = _run(repo)
    assert json.loads((repo.path / "r.json").read_text())["gates"][0]["cached"] is True
    assert again == first


def test_reports_read_back_the_label_and_refuse_one_that_disagrees(repo, capsys) -> None:
    from pytest_onepixel.cli import main
    from pytest_onepixel.reports.json_report import read_report

    write_gates(repo, GATE)
    _run(repo)
    path = repo.path / "r.json"
    assert read_report(path)[1][0].summary.early_verdict is True
    document = json.loads(path.read_text())
    summary = document["gates"][0]["summary"]
    del summary["early_verdict"], summary["rate_over"]  # a report written before the label
    path.write_text(json.dumps(document))
    assert read_report(path)[1][0].summary.early_verdict is True
    summary["early_verdict"] = False
    path.write_text(json.dumps(document))
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert "gates[0].summary.early_verdict: false disagrees with settled_after 16" in err


def test_a_certify_gate_puts_its_bracket_in_junit(repo) -> None:
    write_gates(
        repo, GATE.replace("max_success_rate: 0.0", "max_success_rate: 0.9, search: certify")
    )
    summary, properties = _run(repo, "--onepixel-full")
    low, high = summary["bracket"]
    assert float(properties["onepixel_bracket_low"]) == low
    assert float(properties["onepixel_bracket_high"]) == high
    assert int(properties["onepixel_certified"]) == summary["certified"]
    assert int(properties["onepixel_undecided"]) == summary["undecided"]
    assert "onepixel_bracket_low" not in _run(repo, "--onepixel-search=de")[1]
