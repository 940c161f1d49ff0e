"""The outputs people look at, made when a session (or `pytest-onepixel merge`) ends: each
gate's gallery and robustness curve in the `--onepixel-gallery` folder, and one self-contained
HTML report (`--onepixel-html`).

Examples (the rendered pictures) are made where the gate ran, from its images, while they are
at hand (`examples_for`); everything else here works from outcomes alone, so it works the same
under pytest-xdist and for reports read back from JSON. Pillow and matplotlib are optional: a
missing one skips what it draws, with one line saying so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..gate.outcome import Example, GateOutcome
from ..result import AttackResult
from .json_report import write_text_atomically


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
    from .curve_plot import curve_figures, matplotlib_missing_reason

    missing = matplotlib_missing_reason()
    curves: Curves = {}
    if missing is None:
        curves = {o.key: curve_figures(o) for o in outcomes if o.summary is not None}
    lines = [] if gallery is None else write_gallery(gallery, outcomes, curves)
    lines += [] if page is None else write_html(page, outcomes, created, curves, title)
    if missing is not None:
        lines.append(f"robustness curves skipped: {missing}")
    return lines


def write_gallery(folder: Path, outcomes: Sequence[GateOutcome], curves: Curves) -> list[str]:
    """One PNG grid and one curve (PNG and SVG, when drawn) per gate that ran."""
    folder.mkdir(parents=True, exist_ok=True)
    shown = [o for o in outcomes if o.summary is not None]
    for outcome in shown:
        stem = file_stem(outcome)
        if outcome.examples:
            from .gallery import gallery_png

            (folder / f"{stem}.png").write_bytes(gallery_png(outcome.name, outcome.examples))
        if outcome.key in curves:
            png, svg = curves[outcome.key]
            (folder / f"{stem}.curve.png").write_bytes(png)
            (folder / f"{stem}.curve.svg").write_text(svg, encoding="utf-8")
    pictures = sum(bool(o.examples) for o in shown)
    lines = [f"gallery: {folder} ({pictures} gallery grid(s), {len(shown)} gate(s))"]
    if shown and not pictures:
        lines.append("no gallery grid: no gate had a success, or Pillow is not installed")
    return lines


def write_html(
    path: Path, outcomes: Sequence[GateOutcome], created: str, curves: Curves, title: str
) -> list[str]:
    from .html import html_report

    svgs = {key: svg for key, (_, svg) in curves.items()}
    write_text_atomically(path, html_report(outcomes, title, created, svgs))
    return [f"HTML report: {path}"]


def file_stem(outcome: GateOutcome) -> str:
    """A file name for a gate: its node id (or name) with anything unsafe replaced."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", outcome.key).strip("_") or "gate"
