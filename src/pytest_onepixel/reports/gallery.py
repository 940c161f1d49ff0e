"""Pictures of adversarial examples: a clean/adversarial pair of PNG cells per success, and one
grid PNG per gate.

A one-pixel change is invisible at its true size in an 8x8 digit and lost when a 224x224 photo
is shrunk to a thumbnail, so every picture is shown in a cell of one fixed size (small images
upscaled by a whole factor, each pixel a crisp block; large ones shrunk) and each changed pixel is
outlined in both cells, the outline drawn after scaling so that it survives the shrinking.
Pillow, numpy and the gate's classes are imported inside the functions: starting pytest must
not pay for pictures nobody asked for.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..engine.layouts import channel_last_view

if TYPE_CHECKING:
    import numpy as np

    from ..gate.outcome import Example
    from ..result import ImageRecord

#: The side of the square a picture is scaled into, and the border around it where an outline
#: of an edge pixel still fits: each cell is CELL + 2 * BORDER pixels square.
CELL = 128
BORDER = 4
#: The outline's colour (magenta: rare in photographs and digits alike) and its size: at least
#: MARKER_INNER pixels inside, MARKER_WIDTH pixels thick, even when the pixel shrinks below one.
MARKER = (255, 0, 255)
MARKER_INNER = 7
MARKER_WIDTH = 2
BACKGROUND = (240, 240, 240)
PAIRS_PER_ROW = 4
FONT_SIZE = 13
GAP = 12


def render_examples(
    images: np.ndarray,
    layout: str,
    records: Sequence[ImageRecord],
    pixel_range: tuple[float, float],
    class_names: Sequence[str] | None = None,
    count: int = 16,
    files: Sequence[str] | None = None,
) -> tuple[Example, ...]:
    """The `count` successes the model is most sure of, most confident first, as `Example`s.

    `images` are the attack's images in their own `layout` ("NCHW", "NHWC", or (N, H, W) grey),
    `records` the attack's records in the same order, `files` (if any) each image's file.
    Values are mapped from `pixel_range` to 0..255 for display only.
    """
    import numpy as np

    view = channel_last_view(np.asarray(images), layout)
    chosen = [slot for slot, record in enumerate(records) if record.success]
    chosen.sort(key=lambda slot: -(records[slot].adversarial_confidence or 0.0))
    return tuple(
        _example(
            view[slot],
            records[slot],
            pixel_range,
            class_names,
            files[slot] if files is not None else None,
        )
        for slot in chosen[:count]
    )


def _example(
    image: np.ndarray,
    record: ImageRecord,
    pixel_range: tuple[float, float],
    class_names: Sequence[str] | None,
    file: str | None,
) -> Example:
    """One success as an `Example`: the (H, W, C) `image` and its copy with the record's
    pixels applied, both drawn with the changed pixels outlined."""
    from ..gate.outcome import Example

    adversarial = image.copy()
    for row, col, values in record.pixels:
        adversarial[row, col] = values
    places = [(row, col) for row, col, _ in record.pixels]
    return Example(
        index=record.index,
        label=_class_name(record.label, class_names),
        adversarial=_class_name(record.adversarial_label, class_names),
        confidence=float(record.adversarial_confidence or 0.0),
        pixels=tuple(
            (int(row), int(col), tuple(float(v) for v in values))
            for row, col, values in record.pixels
        ),
        clean_png=cell_png(image, places, pixel_range),
        adversarial_png=cell_png(adversarial, places, pixel_range),
        file=file,
    )


def cell_png(
    image: np.ndarray, places: Sequence[tuple[int, int]], pixel_range: tuple[float, float]
) -> bytes:
    """One (H, W, C) image as a display cell, PNG-encoded, with each (row, col) in `places`
    outlined. One channel is shown grey, three or more as colour (the first three)."""
    Image, ImageDraw, _ = _pillow()
    height, width = image.shape[:2]
    picture = Image.fromarray(_display_bytes(image, pixel_range)).convert("RGB")
    scale = _scale(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    cell = Image.new("RGB", (CELL + 2 * BORDER,) * 2, BACKGROUND)
    left, top = (CELL + 2 * BORDER - size[0]) // 2, (CELL + 2 * BORDER - size[1]) // 2
    cell.paste(picture.resize(size, resample), (left, top))
    draw = ImageDraw.Draw(cell)
    for row, col in places:
        x0, x1 = _marker_span(left, col, scale)
        y0, y1 = _marker_span(top, row, scale)
        draw.rectangle((x0, y0, x1, y1), outline=MARKER, width=MARKER_WIDTH)
    return _png(cell)


def _display_bytes(image: np.ndarray, pixel_range: tuple[float, float]) -> np.ndarray:
    """0..255 uint8 of shape (H, W) or (H, W, 3): what Pillow shows as grey or colour."""
    import numpy as np

    low, high = pixel_range
    span = (high - low) or 1.0
    scaled = (image.astype(np.float64) - low) * (255.0 / span)
    shown = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return shown[..., :3] if shown.shape[-1] >= 3 else shown[..., 0]


def _scale(height: int, width: int) -> float:
    """Display pixels per image pixel: a whole number when enlarging (every pixel an equal
    block), a fraction when shrinking."""
    side = max(height, width)
    return float(CELL // side) if side <= CELL else CELL / side


def _marker_span(offset: int, index: int, scale: float) -> tuple[int, int]:
    """The outline's first and last display coordinate along one axis: around the pixel's
    scaled extent, widened to at least MARKER_INNER display pixels inside."""
    start, end = offset + index * scale, offset + (index + 1) * scale
    middle = (start + end) / 2
    half = max(end - start, MARKER_INNER) / 2
    return round(middle - half) - MARKER_WIDTH, round(middle + half) + MARKER_WIDTH - 1


def gallery_png(name: str, examples: Sequence[Example]) -> bytes:
    """One PNG for a gate: its name, then a clean | adversarial pair per example with the
    caption "true -> adversarial (confidence)" and the image's index, PAIRS_PER_ROW per row."""
    Image, ImageDraw, ImageFont = _pillow()
    font = ImageFont.load_default(size=FONT_SIZE)
    cells = [
        (Image.open(io.BytesIO(e.clean_png)), Image.open(io.BytesIO(e.adversarial_png)))
        for e in examples
    ]
    cell_w = max((max(a.width, b.width) for a, b in cells), default=CELL + 2 * BORDER)
    cell_h = max((max(a.height, b.height) for a, b in cells), default=CELL + 2 * BORDER)
    line = FONT_SIZE + 4
    slot_w, slot_h = 2 * cell_w + 2 + GAP, cell_h + 2 * line + GAP
    columns = max(1, min(PAIRS_PER_ROW, len(examples)))
    rows = -(-len(examples) // columns)
    title_h = line + GAP
    sheet = Image.new("RGB", (GAP + columns * slot_w, title_h + rows * slot_h), "white")
    draw = ImageDraw.Draw(sheet)
    found = f"{len(examples)} adversarial example(s)" if examples else "no adversarial examples"
    draw.text((GAP, GAP // 2), f"{name}: {found}", "black", font)
    for number, (example, (clean, adversarial)) in enumerate(zip(examples, cells, strict=True)):
        x = GAP + (number % columns) * slot_w
        y = title_h + (number // columns) * slot_h
        sheet.paste(clean.convert("RGB"), (x, y))
        sheet.paste(adversarial.convert("RGB"), (x + cell_w + 2, y))
        draw.text((x, y + cell_h + 2), caption(example), "black", font)
        draw.text((x, y + cell_h + 2 + line), f"image {example.index}", "dimgray", font)
    return _png(sheet)


def caption(example: Example, arrow: str = "->") -> str:
    """ "7 -> 1 (0.93)": the true class, the adversarial one and the model's confidence in it.
    The PNG keeps to ASCII (Pillow's default font has no arrow glyph); HTML passes "→"."""
    return f"{example.label} {arrow} {example.adversarial} ({example.confidence:.2f})"


def _class_name(label: int | None, class_names: Sequence[str] | None) -> str:
    if label is None or class_names is None or not 0 <= label < len(class_names):
        return str(label)
    return str(class_names[label])


def _png(picture: Any) -> bytes:
    stream = io.BytesIO()
    picture.save(stream, format="PNG", optimize=True)
    return stream.getvalue()


def _pillow() -> tuple[Any, Any, Any]:
    """PIL's Image, ImageDraw and ImageFont, or an ImportError that says how to install them."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise ImportError(
            "drawing adversarial examples needs Pillow: pip install 'pytest-onepixel[images]'"
        ) from None
    return Image, ImageDraw, ImageFont
