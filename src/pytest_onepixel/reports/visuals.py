"""The outputs people look at, made when a session (or `pytest-onepixel merge`) ends: each
gate's gallery and robustness curve in the `--onepixel-gallery` folder, and one self-contained
HTML report (`--onepixel-html`).

Examples (the rendered pictures) are made where the gate ran, from its images, while they are
at hand (`examples_for`); everything else here works from outcomes alone, so it works the same
under pytest-xdist and for reports read back from JSON. Pillow and matplotlib are optional: a
missing one skips what it draws, with one line saying so.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import OnePixelWarning
from ..gate.outcome import Example, GateOutcome
from ..result import AttackResult
from .json_report import write_text_atomically
from .names import slug


def examples_for(result: AttackResult, class_names: Sequence[str] | None) -> tuple[Example, ...]:
    """The gate's most confident successes, rendered (none when its gallery is off or Pillow is
    not installed: then the gallery says so)."""
    if not result.settings.gallery:
        return ()
    try:
        from .gallery import render_examples
    except ImportError:
        return ()
    try:
        return render_examples(
            result.images,
            result.layout,
            result.records,
            result.measured.pixel_range,
            class_names=class_names,
            count=result.settings.examples,
            files=[record.file for record in result.records],
        )
    except ImportError:
        return ()


#: Each judged gate's robustness curve by key: (PNG bytes, SVG text), drawn once per run.
Curves = dict[str, tuple[bytes, str]]


def write_pictures(
    outcomes: Sequence[GateOutcome],
    gallery: Path | None,
    page: Path | None,
    created: str,
    title: str = "pytest-onepixel report",
) -> list[str]:
    """The gallery folder and the HTML report, each when asked for, from one drawing of every
    gate's curve (skipped, with one line, when matplotlib is missing); the summary's lines."""
    if gallery is None and page is None:
        return []
    from .curve_plot import matplotlib_missing_reason

    missing = matplotlib_missing_reason()
    curves, lost = draw_curves(outcomes) if missing is None else ({}, [])
    lines = [] if gallery is None else write_gallery(gallery, outcomes, curves)
    lines += [] if page is None else write_html(page, outcomes, created, curves, title)
    if missing is not None:
        lines.append(f"robustness curves skipped: {missing}")
    return lines + lost


def draw_curves(outcomes: Sequence[GateOutcome]) -> tuple[Curves, list[str]]:
    """Every judged gate's curve, and a line (and a warning) for each one that could not be
    drawn: that gate's curve is left out of the gallery and the page, nothing else."""
    from .curve_plot import curve_figures

    curves: Curves = {}
    lost: list[str] = []
    for outcome in outcomes:
        if outcome.summary is None or outcome.spec is None or not outcome.curve:
            continue
        try:
            curves[outcome.key] = curve_figures(outcome)
        except Exception as error:  # a picture is never worth the run
            lost.append(
                f"could not draw the robustness curve of gate {outcome.name!r}: "
                f"{type(error).__name__}: {error}"
            )
            _warn(lost[-1])
    return curves, lost


def write_gallery(folder: Path, outcomes: Sequence[GateOutcome], curves: Curves) -> list[str]:
    """One PNG grid and one curve (PNG and SVG, when drawn) per gate that ran, each named by
    `picture_stem`. A picture that cannot be drawn or written is a warning and a summary line:
    the run's verdicts, report and other pictures do not depend on it."""
    shown = [o for o in outcomes if o.summary is not None]
    lost: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        lost.append(f"could not write the gallery folder {folder}: {error}")
        shown = []
    grids = 0
    for outcome in shown:
        stem = picture_stem(outcome.key)
        for suffix, draw in _pictures(outcome, curves).items():
            problem = _save(folder / f"{stem}{suffix}", draw, outcome.name)
            if problem:
                lost.append(problem)
            elif suffix == ".png":
                grids += 1
    lines = [f"gallery: {folder} ({grids} gallery grid(s), {len(shown)} gate(s))"]
    if shown and not any(o.examples for o in shown):
        lines.append("no gallery grid: no gate had a success, or Pillow is not installed")
    for problem in lost:
        _warn(problem)
    return lines + lost


def _pictures(outcome: GateOutcome, curves: Curves) -> dict[str, Callable[[], bytes]]:
    """A gate's pictures by file suffix, each drawn only when it is written."""
    pictures: dict[str, Callable[[], bytes]] = {}
    if outcome.examples:
        from .gallery import gallery_png

        pictures[".png"] = lambda: gallery_png(outcome.name, outcome.examples)
    if outcome.key in curves:
        png, svg = curves[outcome.key]
        pictures[".curve.png"] = lambda: png
        pictures[".curve.svg"] = lambda: svg.encode("utf-8")
    return pictures


def _save(path: Path, draw: Callable[[], bytes], name: str) -> str | None:
    """Draw and write one picture; None, or one line saying which picture was lost and why.
    Any Exception (a full disk, a path taken by a folder, a drawing library's error) costs
    this picture only; KeyboardInterrupt and SystemExit still stop the run."""
    try:
        path.write_bytes(draw())
    except Exception as error:  # a picture is never worth the run
        with contextlib.suppress(OSError):  # half written, or an older run's: not this run's
            path.unlink()
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        return f"could not write {path} (gate {name!r}): {type(error).__name__}: {why}"
    return None


def _warn(message: str) -> None:
    """A OnePixelWarning; under `-W error` (or `filterwarnings = error`) the summary line
    alone says it, since the warning raised here would end the session without its summary."""
    with contextlib.suppress(OnePixelWarning):
        warnings.warn(message, OnePixelWarning, stacklevel=3)


def write_html(
    path: Path, outcomes: Sequence[GateOutcome], created: str, curves: Curves, title: str
) -> list[str]:
    from .html import html_report

    svgs = {key: svg for key, (_, svg) in curves.items()}
    write_text_atomically(path, html_report(outcomes, title, created, svgs))
    return [f"HTML report: {path}"]


def picture_stem(key: str) -> str:
    """A gate's file name in the gallery folder, without suffix: its key's readable part and a
    hash of the whole key (reports/names.py), so long names fit and no two gates share a file."""
    return slug(key)
