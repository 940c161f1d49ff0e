"""`pytest-onepixel`: saved reports from the command line, as `pytest-benchmark compare` does for
benchmark runs.

    pytest-onepixel show REPORT                  the summary table of a JSON report
    pytest-onepixel compare OLD NEW [--tolerance RISE]
                                                 per-gate change of the success rate; exit 1
                                                 when a gate's rate rose beyond the rule
    pytest-onepixel html REPORT -o FILE          the self-contained HTML report of a JSON report

A report can be a path or `last` (the newest run saved under .onepixel/ in the current
folder). Exit codes: 0 fine, 1 a regression, 2 a usage error (the message says which file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .errors import ConfigError
from .gate.compare import compare, load_baseline, rule_for
from .reports.json_report import read_report, write_text_atomically
from .reports.text import compare_lines, table_lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments)
    except ConfigError as error:
        print(f"pytest-onepixel: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-onepixel", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
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
    return parser


def _show(arguments: argparse.Namespace) -> int:
    document, outcomes = read_report(_resolve(arguments.report))
    print(f"{arguments.report}: {len(outcomes)} gate(s), created {document.get('created')}")
    if document.get("interrupted"):
        print("the run was interrupted: gates not run are listed as such")
    for line in table_lines(outcomes):
        print(line)
    return 0


def _compare(arguments: argparse.Namespace) -> int:
    baseline = load_baseline(_resolve(arguments.old), "pytest-onepixel compare")
    _, outcomes = read_report(_resolve(arguments.new))
    rule = rule_for(arguments.tolerance)
    compared = [
        replace(outcome, compare=compare(outcome, baseline, rule))
        for outcome in outcomes
        if outcome.summary is not None
    ]
    for line in compare_lines(compared):
        print(line)
    gone = sorted(set(baseline) - {o.key for o in outcomes} - {o.name for o in outcomes})
    if gone:
        print(f"in the baseline only: {', '.join(gone)}")
    regressions = [o for o in compared if o.compare is not None and not o.compare.passed]
    for outcome in regressions:
        print(f"regression: {outcome.name}: {outcome.compare.reason}")
    return 1 if regressions else 0


def _html(arguments: argparse.Namespace) -> int:
    from .reports.curve import curve_figures, matplotlib_missing_reason
    from .reports.html import html_report

    path = _resolve(arguments.report)
    document, outcomes = read_report(path)
    curves: dict[str, str] = {}
    missing = matplotlib_missing_reason()
    if missing is None:
        curves = {o.key: curve_figures(o)[1] for o in outcomes if o.summary is not None}
    else:
        print(f"robustness curves skipped: {missing}")
    title = f"pytest-onepixel report: {path.name}"
    page = html_report(outcomes, title, str(document.get("created", "")), curves)
    write_text_atomically(arguments.output, page)
    print(f"HTML report: {arguments.output}")
    return 0


def _resolve(report: str) -> Path:
    if report != "last":
        return Path(report)
    from .reports.history import FOLDER, newest

    found = newest(Path.cwd())
    if found is None:
        raise ConfigError(f"'last': no run is saved under {Path.cwd() / FOLDER}.")
    return found
