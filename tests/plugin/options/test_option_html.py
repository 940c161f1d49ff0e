"""--onepixel-html / onepixel_html: write one self-contained HTML report of every gate."""

from __future__ import annotations

from options_helpers import write_gate, write_ini


def test_the_option_writes_an_html_report(repo) -> None:
    write_gate(repo)
    assert "HTML report" not in repo.runpytest().stdout.str()
    result = repo.runpytest("--onepixel-html=out/report.html")
    result.stdout.fnmatch_lines([f"HTML report: {repo.path / 'out' / 'report.html'}"])
    text = (repo.path / "out" / "report.html").read_text()
    assert text.lstrip().lower().startswith("<!doctype html") and ">g<" in text
    assert "<script src=" not in text and "<link " not in text  # self-contained


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, html="from-ini.html")
    repo.runpytest()
    assert (repo.path / "from-ini.html").exists()
    (repo.path / "from-ini.html").unlink()
    repo.runpytest("--onepixel-html=from-cli.html")
    assert (repo.path / "from-cli.html").exists() and not (repo.path / "from-ini.html").exists()
