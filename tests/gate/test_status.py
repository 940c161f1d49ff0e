"""`GateStatus`: the JSON report keeps plain strings; reading it back gives the enum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_onepixel.errors import ConfigError
from pytest_onepixel.gate.outcome import GateOutcome
from pytest_onepixel.gate.status import GateStatus
from pytest_onepixel.reports.json_report import read_report

#: One outcome per status; only the status and the text around it matter here.
OUTCOMES = {
    status: GateOutcome(name="g", status=status, nodeid="t.py::g", reasons=("why",))
    for status in GateStatus
}
OUTCOMES[GateStatus.ERROR] = GateOutcome.errored("g", "boom", "t.py::g")


@pytest.mark.parametrize("status", list(OUTCOMES), ids=str)
def test_json_round_trip_keeps_the_string_and_the_enum(status: GateStatus) -> None:
    outcome = OUTCOMES[status]
    assert outcome.status is status
    text = json.dumps(outcome.to_json())
    entry = json.loads(text)
    assert f'"status": "{status.value}"' in text and type(entry["status"]) is str
    back = GateOutcome.from_json(entry)
    assert back.status is status and back == outcome


def test_members_print_as_their_report_strings() -> None:
    assert [s.value for s in GateStatus] == [
        "passed",
        "failed",
        "error",
        "not run",
        "shard",
        "deselected",
    ]
    assert f"{GateStatus.NOT_RUN}" == str(GateStatus.NOT_RUN) == "not run"
    assert json.dumps([GateStatus.SHARD]) == '["shard"]'
    assert GateStatus.PASSED.has_verdict and not GateStatus.SHARD.has_verdict


def test_a_plain_string_becomes_its_member() -> None:
    assert GateOutcome(name="g", status="shard").status is GateStatus.SHARD


def test_an_old_report_without_status_reads_it_from_passed() -> None:
    entry = {"name": "g", "passed": False}
    assert GateOutcome.from_json(entry).status is GateStatus.FAILED


def test_an_unknown_status_is_named(tmp_path: Path) -> None:
    entry = {**OUTCOMES[GateStatus.ERROR].to_json(), "status": "flaky"}
    with pytest.raises(ValueError, match="unknown gate status 'flaky'; expected one of 'passed'"):
        GateOutcome.from_json(entry)
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"gates": [entry]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"report.json is not a .* report .*'flaky'"):
        read_report(path)
