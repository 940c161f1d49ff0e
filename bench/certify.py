"""Exact verdicts (`search: certify`) on the bench models: decided share, proof time, and the
certified and fooled counts next to the corner-exhaustive and any-value limits.

For every attacked image (classified correctly), the proof's outcome is compared with two
brute-force answers on the real model: every position x every corner colour (what `search:
exhaustive` covers) and, where the data are small integers, every position x every value (the
exact answer the proof must match). Every image where a non-corner value fools and corners do
not is named. Also measured: the wall time of bounding one box over one model pass (the proof
counts `proof.box_cost(C)` passes per box).

    python bench/certify.py [digits colour:20 ...]  (default digits; :N caps images) -> certify.md
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from models import STRENGTH, Bench

from pytest_onepixel.certify import certify_images, graph_of
from pytest_onepixel.certify.margins import bound_boxes
from pytest_onepixel.certify.proof import box_cost
from pytest_onepixel.certify.queries import with_pixels
from pytest_onepixel.models.onnx_model import OnnxModel

OUT = Path(__file__).resolve().parent / "certify.md"
#: any-value enumeration only where it is affordable (positions x values^C images per image)
ENUMERATE_UP_TO = 20_000


def fooled_by(model, image, label, colours: np.ndarray) -> bool:
    height, width = image.shape[-2:]
    rows, cols = np.divmod(np.arange(height * width), width)
    positions = np.repeat(np.stack([rows, cols], 1), len(colours), axis=0)
    values = np.tile(colours, (height * width, 1))
    for start in range(0, len(values), 4096):
        part = slice(start, start + 4096)
        batch = with_pixels(image, "NCHW", positions[part], values[part])
        if (model.predict(batch).argmax(1) != label).any():
            return True
    return False


def box_over_pass(model, graph, image, label) -> float:
    """Wall time of bounding one box (chunks of 64) over one model pass (batches of 64)."""
    channels, height, width = image.shape
    rows, cols = np.divmod(np.arange(64) % (height * width), width)
    positions = np.stack([rows, cols], 1)
    low, high = np.zeros((64, channels)), np.full((64, channels), float(image.max()))
    start = time.perf_counter()
    bound_boxes(graph, image, "NCHW", label, positions, low, high)
    bound = time.perf_counter() - start
    batch = np.repeat(image[None], 64, axis=0)
    start = time.perf_counter()
    model.predict(batch)
    return bound / (time.perf_counter() - start)


def measure(bench: Bench, count: int) -> list[str]:
    model = OnnxModel(bench.onnx, threads=1)
    images = bench.images.astype(np.float32)
    keep = model.predict(images).argmax(1) == bench.labels
    images, labels = images[keep][:count], bench.labels[keep][:count]
    graph = graph_of(model, images.shape[1:])
    start = time.perf_counter()
    records = certify_images(model, images, labels, bench.pixel_range, integer=True, graph=graph)
    seconds = (time.perf_counter() - start) / len(images)
    channels = images.shape[1]
    corners = np.array(bench.corner_colours(), dtype=np.float32)
    levels = np.arange(bench.pixel_range[0], bench.pixel_range[1] + 1, dtype=np.float32)
    every = np.array(list(itertools.product(levels, repeat=channels)), dtype=np.float32)
    exact = len(every) * images.shape[2] * images.shape[3] <= ENUMERATE_UP_TO
    lines, named, wrong = [], [], []
    tally = Counter(r.outcome for r in records)
    corner_count = any_count = 0
    for index, (image, label, record) in enumerate(zip(images, labels, records, strict=True)):
        by_corner = fooled_by(model, image, label, corners)
        by_any = fooled_by(model, image, label, every) if exact else None
        corner_count += by_corner
        any_count += bool(by_any)
        if by_any and not by_corner:
            named.append(f"{index} ({record.outcome}, {record.position} = {record.value})")
        if exact and (record.outcome == "certified") == bool(by_any):
            wrong.append(str(index))
    ratio = box_over_pass(model, graph, images[0], int(labels[0]))
    decided = tally["fooled"] + tally["certified"]
    lines.append(
        f"| {bench.name} | {len(images)} | {tally['fooled']} | {tally['certified']} | "
        f"{tally['undecided']} | {decided / len(images):.1%} | {corner_count} | "
        f"{any_count if exact else 'n/a'} | {seconds:.3f} | "
        f"{np.mean([r.passes for r in records]):,.0f} | "
        f"{ratio:.0f} (counted {box_cost(channels)}) |"
    )
    lines.append("")
    lines.append(f"- {bench.name}: non-corner-only fooled images: {', '.join(named) or 'none'}")
    lines.append(f"- {bench.name}: proof outcomes contradicting enumeration: {wrong or 'none'}")
    return lines


def main(names: list[str]) -> None:
    header = [
        "# Exact verdicts (`search: certify`)",
        "",
        "Written by `python bench/certify.py`; one shared 2-core CPU, one thread.",
        "",
        "| model | attacked | fooled | certified | undecided | decided | corner limit | "
        "any-value limit | s / image | passes / image | box / pass (wall) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    body = []
    for spec in names:
        name, _, count = spec.partition(":")
        body += measure(STRENGTH[name](), int(count or 300))
    rows = [line for line in body if line.startswith("|")]
    notes = [line for line in body if line.startswith("-")]
    OUT.write_text("\n".join([*header, *rows, "", *notes]) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    main(sys.argv[1:] or ["digits"])
