"""`pytest-onepixel`: saved reports from the command line, as `pytest-benchmark compare` does for
benchmark runs.

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
from .reports.json_report import read_report
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
    merge = commands.add_parser("merge", help="judge every gate on the union of its shards")
    merge.add_argument("shards", nargs="+", type=Path, help="the N shard reports")
    merge.add_argument("--report", required=True, type=Path, help="the merged JSON report")
    merge.add_argument("--compare", default=None, help="a baseline report, or 'last'")
    merge.add_argument("--tolerance", type=float, default=None, help="as for compare")
    merge.add_argument("--gallery", type=Path, default=None, help="write galleries and curves")
    merge.add_argument("--html", type=Path, default=None, help="write the HTML report")
    merge.set_defaults(run=_merge)
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
    from .reports.visuals import write_pictures

    path = _resolve(arguments.report)
    document, outcomes = read_report(path)
    title = f"pytest-onepixel report: {path.name}"
    created = str(document.get("created", ""))
    for line in write_pictures(outcomes, None, arguments.output, created, title):
        print(line)
    return 0


def _merge(arguments: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .gate.merge import merge_shards
    from .reports.json_report import report_document, write_atomically
    from .reports.visuals import write_pictures
    from .version import __version__

    outcomes = merge_shards([(path, read_report(path)[1]) for path in arguments.shards])
    if arguments.compare is not None:
        baseline = load_baseline(_resolve(arguments.compare), "pytest-onepixel merge --compare")
        rule = rule_for(arguments.tolerance)
        outcomes = [o.compared(compare(o, baseline, rule)) for o in outcomes]
    options = {"merged_from": [str(path) for path in arguments.shards]}
    write_atomically(arguments.report, report_document(outcomes, options, __version__))
    for line in table_lines(outcomes):
        print(line)
    if arguments.compare is not None:
        for line in compare_lines(outcomes):
            print(line)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for line in write_pictures(outcomes, arguments.gallery, arguments.html, created):
        print(line)
    print(f"merged report: {arguments.report}")
    return 0 if all(o.passed for o in outcomes) else 1


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
