"""Reports people look at, from a pytest run: the gallery folder (PNG grids and robustness
curves), one HTML report, and pytest-html extras; Pillow and matplotlib missing are handled."""

from __future__ import annotations

import io

import pytest
from conftest import write_gates
from PIL import Image

from pytest_onepixel.reports.visuals import picture_stem


def test_gallery_folder_and_html_report(repo, monkeypatch) -> None:
    from pytest_onepixel.reports import curve_plot as curve

    drawn: list[str] = []
    draw = curve.curve_figures
    monkeypatch.setattr(curve, "curve_figures", lambda o: drawn.append(o.key) or draw(o))
    write_gates(repo)
    result = repo.runpytest(
        "--onepixel-budget=20", "--onepixel-gallery=pictures", "--onepixel-html=report.html"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["gallery: *pictures (2 gallery grid(s), 2 gate(s))", "HTML report: *report.html"]
    )
    pictures = repo.path / "pictures"
    for stem in map(picture_stem, ("onepixel.yaml::tiny-pass", "onepixel.yaml::tiny-fail")):
        assert Image.open(io.BytesIO((pictures / f"{stem}.png").read_bytes())).width > 200
        assert (pictures / f"{stem}.curve.png").read_bytes()[:4] == b"\x89PNG"
        assert "<svg" in (pictures / f"{stem}.curve.svg").read_text()
    page = (repo.path / "report.html").read_text()
    assert 'data-gate="tiny-pass"' in page and 'data-gate="tiny-fail"' in page
    assert page.count('class="example"') >= 2 and "http://" not in page
    assert page.count("<svg") >= 2
    assert sorted(drawn) == sorted(set(drawn)) and len(drawn) == 2  # each curve drawn once


def test_a_gate_can_opt_out_of_the_gallery(repo) -> None:
    write_gates(
        repo,
        """\
        defaults: {samples: 20, pixel_range: [0, 16], budget: 20, max_success_rate: 1.0}
        models:
          - {name: shown, model: models/tiny.onnx, data: data/holdout.npz}
          - {name: hidden, model: models/tiny.onnx, data: data/holdout.npz, gallery: false}
        """,
    )
    repo.runpytest("--onepixel-gallery=pictures").assert_outcomes(passed=2)
    assert (repo.path / "pictures" / f"{picture_stem('onepixel.yaml::shown')}.png").exists()
    assert not (repo.path / "pictures" / f"{picture_stem('onepixel.yaml::hidden')}.png").exists()


def test_without_matplotlib_the_gallery_still_works_and_curves_are_skipped(repo) -> None:
    write_gates(repo)
    repo.makeconftest("import sys\nsys.modules['matplotlib'] = None\n")
    result = repo.runpytest_subprocess("--onepixel-budget=20", "--onepixel-gallery=pictures")
    result.stdout.fnmatch_lines(
        ["robustness curves skipped: *need matplotlib*pytest-onepixel[[]report[]]*"]
    )
    assert (repo.path / "pictures" / f"{picture_stem('onepixel.yaml::tiny-fail')}.png").exists()
    assert not list((repo.path / "pictures").glob("*.curve.*"))


def test_an_unusable_gallery_folder_stops_the_run_first(repo) -> None:
    write_gates(repo)
    (repo.path / "taken").write_text("a file")
    result = repo.runpytest("--onepixel-gallery=taken")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--onepixel-gallery / ini key onepixel_gallery: *taken is a file*"]
    )


def test_pytest_html_rows_carry_verdict_gallery_and_curve(repo) -> None:
    write_gates(repo)
    repo.runpytest(
        "--onepixel-budget=20", "--html=page.html", "--self-contained-html", "-p", "html"
    )
    page = (repo.path / "page.html").read_text()
    assert "onepixel gate tiny-fail: failed" in page
    assert page.count("data:image/png;base64") >= 4  # a gallery and a curve per gate
