"""Read the JSON reports of pytest-onepixel runs from the command line, as `pytest-benchmark
compare` does for benchmark runs.

    pytest-onepixel show REPORT                  the summary table of a JSON report
    pytest-onepixel compare OLD NEW [--tolerance RISE]
                                                 per-gate change of the success rate; exit 1
                                                 when a gate's rate rose beyond the rule
    pytest-onepixel html REPORT -o FILE          the self-contained HTML report of a JSON report
    pytest-onepixel merge SHARD.json... --report MERGED.json [--compare OLD] [--gallery DIR]
                                                 [--html FILE]
                                                 one verdict per gate from the N shard reports of
                                                 a run split with --onepixel-shard K/N; exit 1
                                                 when a gate fails
    pytest-onepixel calibrate [--margin M] [--report FILE] [PYTEST ARGS...]
                                                 run the gates in full and propose for each a
                                                 max_success_rate (YAML lines to paste); exit 1
                                                 when a gate could not be measured

A report can be a path or `last` (the newest run saved under .onepixel/ in the current
folder). Every report is read as untrusted input: one that is not a pytest-onepixel JSON report
(not JSON, edited, truncated, a field of the wrong type) is refused with a message naming the
file and the field. Exit codes: 0 fine, 1 a regression or a failing gate, 2 a usage error or a
refused report (the message says which file).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .errors import ConfigError
from .gate.compare import compare, load_baseline, rule_for
from .reports.json_report import read_report
from .reports.text import compare_lines, table_lines, terminal_text

PROG = "pytest-onepixel"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    # calibrate hands every argument it does not know to pytest; the other commands take none
    arguments, rest = parser.parse_known_args(argv)
    if rest and arguments.command != "calibrate":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if "--" in rest:  # `calibrate -- ARGS`: ARGS go to pytest even where they look like ours
        rest.remove("--")
    arguments.pytest_args = rest
    try:
        return arguments.run(arguments)
    except ConfigError as error:
        _say(f"{PROG} {arguments.command}: {error}", file=sys.stderr)
        return 2


def _say(text: object = "", file: object = None) -> None:
    """Print a line with its control characters escaped (reports/text.py `terminal_text`):
    names and messages come from report files, which are untrusted."""
    print(terminal_text(text), file=file or sys.stdout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")
    show = commands.add_parser("show", help="print the summary table of a JSON report")
    show.add_argument("report", help="a pytest-onepixel JSON report, or 'last'")
    show.set_defaults(run=_show)
    diff = commands.add_parser("compare", help="compare two reports gate by gate")
    diff.add_argument("old", help="the baseline report, or 'last'")
    diff.add_argument("new", help="the report to judge")
    diff.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="largest acceptable rise of a success rate (default: the new rate's interval)",
    )
    diff.set_defaults(run=_compare)
    page = commands.add_parser("html", help="write the HTML report of a JSON report")
    page.add_argument("report", help="a pytest-onepixel JSON report, or 'last'")
    page.add_argument("-o", "--output", required=True, type=Path, help="the HTML file to write")
    page.set_defaults(run=_html)
    merge = commands.add_parser("merge", help="judge every gate on the union of its shards")
    merge.add_argument("shards", nargs="+", type=Path, help="the N shard reports")
    merge.add_argument("--report", required=True, type=Path, help="the merged JSON report")
    merge.add_argument("--compare", default=None, help="a baseline report, or 'last'")
    merge.add_argument("--tolerance", type=float, default=None, help="as for compare")
    merge.add_argument("--gallery", type=Path, default=None, help="write galleries and curves")
    merge.add_argument("--html", type=Path, default=None, help="write the HTML report")
    merge.set_defaults(run=_merge)
    _calibrate_parser(commands)
    return parser


def _calibrate_parser(commands: argparse._SubParsersAction) -> None:
    from .reports.calibrate import DEFAULT_MARGIN, RULE

    calibrate = commands.add_parser(
        "calibrate",
        allow_abbrev=False,  # a pytest option must never pass for an abbreviation of ours
        usage=f"{PROG} calibrate [--margin M] [--report FILE] [PYTEST ARGS...]",
        help="run the gates in full and propose a max_success_rate for each",
        description=(
            "Run `python -m pytest --onepixel-full PYTEST ARGS` (every image of every gate "
            "attacked, no early verdict) and propose for each gate a max_success_rate: "
            f"{RULE}. Prints each gate's measured rate, its interval and the proposal, then "
            "the lines to paste into its YAML file or test. Arguments calibrate does not know "
            "go to pytest (after `--`, all of them do). Exit codes: 0 every gate measured, "
            "1 a gate could not be measured (named), 2 a usage error or an unreadable report."
        ),
    )
    calibrate.add_argument(
        "--margin",
        type=_margin,
        default=DEFAULT_MARGIN,
        metavar="M",
        help=f"added to the interval's upper end (default {DEFAULT_MARGIN})",
    )
    calibrate.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="keep the measuring run's JSON report here (default: a temporary file)",
    )
    calibrate.set_defaults(run=_calibrate)


def _margin(text: str) -> float:
    try:
        margin = float(text)
    except ValueError:
        margin = math.nan
    if not 0.0 <= margin <= 1.0:
        raise argparse.ArgumentTypeError(
            f"--margin: expected a number from 0 to 1, found {text!r} (a margin of success "
            "rate added to the measured interval's upper end, e.g. 0.05)"
        )
    return margin


def _show(arguments: argparse.Namespace) -> int:
    document, outcomes = read_report(_resolve(arguments.report))
    _say(f"{arguments.report}: {len(outcomes)} gate(s), created {document.get('created')}")
    state = document.get("state")
    if state == "usage error":
        _say(f"the run stopped on a usage error before any gate ran: {document.get('usage_error')}")
    elif state == "running":
        _say("the run never finished (killed?): gates not run are listed as such")
    elif document.get("interrupted"):
        _say("the run was interrupted: gates not run are listed as such")
    for line in table_lines(outcomes):
        _say(line)
    return 0


def _compare(arguments: argparse.Namespace) -> int:
    baseline = load_baseline(_resolve(arguments.old), None)
    _, outcomes = read_report(_resolve(arguments.new))
    rule = rule_for(arguments.tolerance)
    compared = [
        replace(outcome, compare=compare(outcome, baseline, rule))
        for outcome in outcomes
        if outcome.summary is not None
    ]
    for line in compare_lines(compared):
        _say(line)
    gone = sorted(set(baseline) - {o.key for o in outcomes} - {o.name for o in outcomes})
    if gone:
        _say(f"in the baseline only: {', '.join(gone)}")
    regressions = [o for o in compared if o.compare is not None and not o.compare.passed]
    for outcome in regressions:
        _say(f"regression: {outcome.name}: {outcome.compare.reason}")
    return 1 if regressions else 0


def _html(arguments: argparse.Namespace) -> int:
    from .reports.visuals import write_pictures

    path = _resolve(arguments.report)
    document, outcomes = read_report(path)
    title = f"pytest-onepixel report: {path.name}"
    created = str(document.get("created", ""))
    for line in write_pictures(outcomes, None, arguments.output, created, title):
        _say(line)
    return 0


def _merge(arguments: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .gate.merge import merge_shards
    from .reports.json_report import report_document, write_atomically
    from .reports.visuals import write_pictures
    from .version import __version__

    outcomes = merge_shards([(path, read_report(path)[1]) for path in arguments.shards])
    if arguments.compare is not None:
        baseline = load_baseline(_resolve(arguments.compare), "--compare")
        rule = rule_for(arguments.tolerance)
        outcomes = [o.compared(compare(o, baseline, rule)) for o in outcomes]
    options = {"merged_from": [str(path) for path in arguments.shards]}
    merged = report_document(outcomes, options, __version__)
    # as a finished run's report says (plugin/report_file.py), so the two read alike
    merged.update(state="finished", interrupted=False, signal=None)
    write_atomically(arguments.report, merged)
    for line in table_lines(outcomes):
        _say(line)
    if arguments.compare is not None:
        for line in compare_lines(outcomes):
            _say(line)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for line in write_pictures(outcomes, arguments.gallery, arguments.html, created):
        _say(line)
    _say(f"merged report: {arguments.report}")
    return 0 if all(o.passed for o in outcomes) else 1


def _calibrate(arguments: argparse.Namespace) -> int:
    import subprocess
    import tempfile

    from .reports.calibrate import Calibration

    _refuse_calibrate_options(arguments.pytest_args)
    with tempfile.TemporaryDirectory(prefix="onepixel-calibrate-") as folder:
        report = arguments.report or Path(folder) / "calibrate.json"
        report.unlink(missing_ok=True)  # an older file must not pass for this run's report
        command = [sys.executable, "-m", "pytest", "--onepixel-full"]
        command += [f"--onepixel-report={report}", *arguments.pytest_args]
        code = subprocess.run(command, check=False).returncode
        if code not in (0, 1, 5):  # 1: a gate (or another test) failed, which is measured
            name = _PYTEST_EXIT.get(code, "unknown")
            raise ConfigError(
                f"pytest exited with code {code} ({name}): its output above says why; no "
                "threshold was proposed."
            )
        outcomes = read_report(report)[1] if report.is_file() else []
    if not outcomes:
        raise ConfigError(
            f"no onepixel gate ran in `pytest {' '.join(arguments.pytest_args)}`: name the "
            "gate files or test folders to measure (e.g. `pytest-onepixel calibrate "
            "onepixel.yaml tests/`), or run it in the folder where pytest collects them."
        )
    calibration = Calibration.of(outcomes, arguments.margin)
    _say()
    for line in calibration.lines():
        _say(line)
    return calibration.exit_code


_PYTEST_EXIT = {2: "interrupted", 3: "internal error", 4: "usage error"}


def _refuse_calibrate_options(pytest_args: Sequence[str]) -> None:
    """Options that would make the run measure something else than every gate in full."""
    refused = {
        "--onepixel-shard": "calibrate measures whole gates; drop it (or the ini key)",
        "--onepixel-report": "use calibrate's --report FILE to keep the measuring run's report",
    }
    for argument in pytest_args:
        for option, why in refused.items():
            if argument.split("=")[0] == option:
                raise ConfigError(f"{option}: {why}.")


def _resolve(report: str) -> Path:
    if report != "last":
        return Path(report)
    from .reports.history import FOLDER, newest

    found = newest(Path.cwd())
    if found is None:
        raise ConfigError(f"'last': no run is saved under {Path.cwd() / FOLDER}.")
    return found


if __name__ == "__main__":
    sys.exit(main())
