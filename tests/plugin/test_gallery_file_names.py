"""Gate names that become file names (issue 20, point 5): every gate gets a bounded,
collision-free file stem in the gallery folder, and a picture that cannot be written is a
warning and a summary line, never a lost run."""

from __future__ import annotations

import pytest
from conftest import write_gates

# PIL.Image imported here, before pytester snapshots sys.modules: Pillow keeps its format
# registry in that module, and a copy imported inside an in-process run is dropped after it.
pytest.importorskip("PIL.Image")

LONG = "g" * 300


def gates(*names: str) -> str:
    """A gate file with one passing gate per name (quoted: names hold '/' and spaces)."""
    entries = "".join(
        f'  - {{name: "{name}", model: models/tiny.onnx, data: data/holdout.npz}}\n'
        for name in names
    )
    return (
        "defaults: {samples: 20, pixel_range: [0, 16], budget: 20, max_success_rate: 1.0,"
        " preset: continuous}\nmodels:\n" + entries
    )


def test_a_300_character_gate_name_writes_every_output(repo) -> None:
    write_gates(repo, gates(LONG, "short"))
    result = repo.runpytest(
        "--onepixel-gallery=pictures", "--onepixel-html=report.html", "--onepixel-report=r.json"
    )
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*onepixel gates*", "gallery: *pictures*", "HTML report: *"])
    page = (repo.path / "report.html").read_text()
    assert f'data-gate="{LONG}"' in page and 'data-gate="short"' in page
    pictures = sorted(path.name for path in (repo.path / "pictures").iterdir())
    assert len(pictures) == 2 * 3  # a grid, a curve PNG and a curve SVG per gate
    assert all(len(name) <= 100 for name in pictures), pictures
    assert any(name.startswith("onepixel.yaml_ggg") for name in pictures)


def test_names_that_differ_only_in_unsafe_characters_get_their_own_files(repo) -> None:
    write_gates(repo, gates("a/b", "a_b", "a b"))
    repo.runpytest("--onepixel-gallery=pictures").assert_outcomes(passed=3)
    grids = sorted((repo.path / "pictures").glob("*.png"))
    grids = [path for path in grids if not path.name.endswith(".curve.png")]
    assert len(grids) == 3, [path.name for path in grids]
    assert len({path.read_bytes() for path in grids}) == 3  # each gate's own picture
    assert all(path.name.startswith("onepixel.yaml_a_b-") for path in grids)


def test_a_picture_that_cannot_be_written_is_a_warning(repo) -> None:
    """The first gate's grid path is taken by a folder: that one picture is lost, with a
    warning and a line in the summary; the run passes and the other pictures are written."""
    from pytest_onepixel.reports.visuals import picture_stem

    write_gates(repo, gates("blocked", "fine"))
    blocked = repo.path / "pictures" / f"{picture_stem('onepixel.yaml::blocked')}.png"
    blocked.mkdir(parents=True)
    result = repo.runpytest("--onepixel-gallery=pictures", "--onepixel-html=report.html")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*OnePixelWarning: could not write *blocked*.png*"])
    result.stdout.fnmatch_lines(
        ["gallery: *", "could not write *blocked*.png (gate 'blocked'): *Is a directory", "HTML*"]
    )
    fine = picture_stem("onepixel.yaml::fine")
    for suffix in (".png", ".curve.png", ".curve.svg"):
        assert (repo.path / "pictures" / f"{fine}{suffix}").is_file()
    assert (
        repo.path / "pictures" / f"{picture_stem('onepixel.yaml::blocked')}.curve.svg"
    ).is_file()
    assert 'data-gate="blocked"' in (repo.path / "report.html").read_text()


def test_under_w_error_the_summary_line_still_says_it(repo) -> None:
    """With the warning turned into an error, the lost picture is still only a summary line."""
    from pytest_onepixel.reports.visuals import picture_stem

    write_gates(repo, gates("blocked"))
    (repo.path / "pictures" / f"{picture_stem('onepixel.yaml::blocked')}.png").mkdir(parents=True)
    result = repo.runpytest(
        "--onepixel-gallery=pictures",
        "-W",
        "error:could not write:pytest_onepixel.errors.OnePixelWarning",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["could not write *blocked*.png (gate 'blocked'): *"])


def test_the_warning_is_a_onepixel_warning(tmp_path) -> None:
    """Outside pytest (`pytest-onepixel merge`), the lost picture is a OnePixelWarning."""
    from pytest_onepixel.errors import OnePixelWarning
    from pytest_onepixel.gate.outcome import GateOutcome
    from pytest_onepixel.reports.visuals import picture_stem, write_gallery

    outcome = GateOutcome(name="gate", status="passed")
    outcome = outcome.__class__(**{**outcome.__dict__, "summary": object()})
    (tmp_path / f"{picture_stem('gate')}.curve.png").mkdir()
    with pytest.warns(OnePixelWarning, match="could not write"):
        lines = write_gallery(tmp_path, [outcome], {"gate": (b"\x89PNG", "<svg/>")})
    assert any("could not write" in line for line in lines)
    assert (tmp_path / f"{picture_stem('gate')}.curve.svg").read_text() == "<svg/>"
