"""`pytest-onepixel calibrate [--margin M] [--report FILE] [PYTEST ARGS...]`: run the gates in
full (`pytest --onepixel-full` in a subprocess), then propose per gate a `max_success_rate` =
the upper end of its measured interval + the margin, rounded up to 0.01, as lines to paste.

The tiny gates of tests/conftest.py at budget 20 in full: 7 of 17 attacked images fooled,
success rate 0.412, 95% interval [0.184, 0.671]; with the default margin 0.05 -> 0.73 (an
early verdict stops the passing gate after 16 of them, at 0.438)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import CHECK_PREAMBLE, GATES, write_gates

from pytest_onepixel.cli import main

BUDGET = "--onepixel-budget=20"
LINE = "    max_success_rate: 0.73  # measured 0.412 [0.184, 0.671] on 17 images"


def _calibrate(capfd, *argv: str) -> tuple[int, str, str]:
    """main(["calibrate", *argv]): its exit code, its own output (what follows pytest's) and
    stderr."""
    code = main(["calibrate", *argv])
    out, err = capfd.readouterr()
    return code, out[out.find("calibrate: ") :], err  # calibrate's own lines, after pytest's


def test_proposals_are_printed_as_yaml_lines_and_pass_when_pasted(repo, capfd) -> None:
    write_gates(repo)
    code, out, _ = _calibrate(capfd, BUDGET, "--report=calibration.json")
    assert code == 0, out
    lines = out.splitlines()
    assert "2 gates measured with --onepixel-full" in out
    assert "margin 0.05" in out
    table = lines[2:]
    assert table[0].split()[-1] == "proposed" and table[2].split() == [
        "tiny-fail", "17", "7", "0.412", "[0.184,", "0.671]", "0.000", "FAIL", "0.73",
    ]  # fmt: skip
    assert table[3].split()[0] == "tiny-pass" and table[3].split()[-1] == "0.73"
    paste = lines[lines.index("paste into onepixel.yaml, under each gate's entry:") + 1 :]
    assert paste[:4] == ["  - name: tiny-fail", LINE, "  - name: tiny-pass", LINE]
    assert "note: tiny-fail's proposal 0.73 is above its threshold 0.000: loosening a gate" in out
    assert "note: tiny-pass" not in out
    report = json.loads((repo.path / "calibration.json").read_text())
    assert [g["full"] for g in report["gates"]] == [True, True]
    assert all(g["summary"]["early_verdict"] is False for g in report["gates"])
    # pasted in, both gates pass, even in strict mode (the interval's upper end is below)
    write_gates(repo, GATES.replace("1.0", "0.73").replace("0.0", "0.73"))
    repo.runpytest(BUDGET).assert_outcomes(passed=2)
    write_gates(repo, GATES.replace("1.0", "0.73").replace("0.0", "0.73") + "    gate: strict\n")
    repo.runpytest(BUDGET, "--onepixel-full").assert_outcomes(passed=2)


def test_the_margin_changes_the_proposal_and_a_bad_one_is_a_usage_error(repo, capfd) -> None:
    write_gates(repo)
    code, out, _ = _calibrate(capfd, "--margin", "0", BUDGET, "-k", "pass")
    assert code == 0
    assert "    max_success_rate: 0.68  # measured 0.412 [0.184, 0.671] on 17 images" in out
    assert out.count("tiny-fail") == 1
    assert "left out of this run (-k, -m, ...): tiny-fail" in out
    for bad in ("abc", "-0.1", "1.5"):
        with pytest.raises(SystemExit) as done:
            main(["calibrate", "--margin", bad])
        assert done.value.code == 2
        assert f"--margin: expected a number from 0 to 1, found {bad!r}" in capfd.readouterr().err


def test_a_python_gate_gets_its_marker_line(repo, capfd) -> None:
    repo.makepyfile(
        test_gate=CHECK_PREAMBLE
        + """
@pytest.mark.onepixel(max_success_rate=1.0, budget=20, preset="continuous")
def test_robust(onepixel):
    onepixel.check(model, IMAGES, LABELS, pixel_range=(0, 16))
"""
    )
    code, out, _ = _calibrate(capfd, "test_gate.py")
    assert code == 0, out
    lines = out.splitlines()
    start = lines.index("paste into test_gate.py (@pytest.mark.onepixel or onepixel.check()):")
    assert lines[start + 1] == "  test_robust:"
    assert lines[start + 2].startswith("    @pytest.mark.onepixel(max_success_rate=0.")
    assert "# measured " in lines[start + 2]


def test_a_gate_that_could_not_run_exits_1_and_is_named(repo, capfd) -> None:
    missing = "data/no.npz\n    max_success_rate: 0.0"  # tiny-fail's data file
    write_gates(repo, GATES.replace("data/holdout.npz\n    max_success_rate: 0.0", missing))
    code, out, _ = _calibrate(capfd, BUDGET)
    assert code == 1
    assert "not measured: tiny-fail: error: " in out and "no.npz" in out
    assert "  - name: tiny-pass" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--onepixel-shard=1/2",), "--onepixel-shard: calibrate measures whole gates"),
        (("--onepixel-report=x.json",), "--onepixel-report: use calibrate's --report FILE"),
        (("--no-such-option",), "pytest exited with code 4 (usage error)"),
        (("empty_dir",), "no onepixel gate ran"),
    ],
)
def test_usage_errors_exit_2_with_one_paragraph(repo, capfd, args, message) -> None:
    (repo.path / "empty_dir").mkdir()
    code, _, err = _calibrate(capfd, *args)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("pytest-onepixel calibrate: ")
    assert message in err and "Traceback" not in err


def test_help_states_the_rule(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["calibrate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    rule = "the upper end of the measured rate's interval plus the margin, rounded up to 0.01"
    assert rule in out
    assert "pytest-onepixel calibrate [--margin M] [--report FILE] [PYTEST ARGS...]" in out


def test_the_console_script_runs_it(repo) -> None:
    write_gates(repo)
    script = shutil.which("pytest-onepixel", path=os.path.dirname(sys.executable))
    done = subprocess.run(
        [script, "calibrate", "--margin=0.1", "-q", BUDGET],
        cwd=repo.path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "    max_success_rate: 0.78  # measured 0.412 [0.184, 0.671] on 17 images" in done.stdout
