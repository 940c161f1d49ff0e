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
from typing import Any

from ..gate.outcome import Example, GateOutcome
from ..result import AttackResult
from .json_report import write_text_atomically


def examples_for(
    result: AttackResult, settings: dict[str, Any], class_names: Sequence[str] | None
) -> tuple[Example, ...]:
    """The gate's most confident successes, rendered (none when its gallery is off or Pillow is
    not installed: then the gallery says so)."""
    if not settings.get("gallery", True):
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
            tuple(result.settings["pixel_range"]),
            class_names=class_names,
            count=settings.get("examples", 16),
            files=[record.file for record in result.records],
        )
    except ImportError:
        return ()


def write_gallery(folder: Path, outcomes: Sequence[GateOutcome]) -> list[str]:
    """One PNG grid and one curve (PNG and SVG) per gate that ran; the summary's lines."""
    from .curve import curve_figures, matplotlib_missing_reason

    folder.mkdir(parents=True, exist_ok=True)
    lines, shown = [], [o for o in outcomes if o.summary is not None]
    missing_matplotlib = matplotlib_missing_reason()
    for outcome in shown:
        stem = file_stem(outcome)
        if outcome.examples:
            from .gallery import gallery_png

            (folder / f"{stem}.png").write_bytes(gallery_png(outcome.name, outcome.examples))
        if missing_matplotlib is None:
            png, svg = curve_figures(outcome)
            (folder / f"{stem}.curve.png").write_bytes(png)
            (folder / f"{stem}.curve.svg").write_text(svg, encoding="utf-8")
    pictures = sum(bool(o.examples) for o in shown)
    lines.append(f"gallery: {folder} ({pictures} gallery grid(s), {len(shown)} gate(s))")
    if missing_matplotlib is not None:
        lines.append(f"robustness curves skipped: {missing_matplotlib}")
    if shown and not pictures:
        lines.append("no gallery grid: no gate had a success, or Pillow is not installed")
    return lines


def write_html(path: Path, outcomes: Sequence[GateOutcome], created: str) -> list[str]:
    from .curve import curve_figures, matplotlib_missing_reason
    from .html import html_report

    curves = {}
    if matplotlib_missing_reason() is None:
        curves = {o.key: curve_figures(o)[1] for o in outcomes if o.summary is not None}
    document = html_report(outcomes, "pytest-onepixel report", created, curves)
    write_text_atomically(path, document)
    return [f"HTML report: {path}"]


def file_stem(outcome: GateOutcome) -> str:
    """A file name for a gate: its node id (or name) with anything unsafe replaced."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", outcome.key).strip("_") or "gate"
