"""Image layouts (NCHW, NHWC), free of numpy so the settings table can name them cheaply.

The functions take and return numpy arrays but only call their methods, so importing this
module imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

LAYOUTS = ("NCHW", "NHWC")


def guess_layout(shape: tuple[int, ...], prefer: str | None = None) -> str:
    """The layout of a batch of this shape: NHWC when a 4-D batch has a channel-sized last axis
    (1, 3 or 4) and not a channel-sized axis 1, NCHW for the opposite; when the shape cannot
    tell (both or neither, or 3-D where it does not matter), `prefer`, else NCHW."""
    if len(shape) == 4:
        first, last = shape[1] in (1, 3, 4), shape[3] in (1, 3, 4)
        if last and not first:
            return "NHWC"
        if first and not last:
            return "NCHW"
    return prefer or "NCHW"


def channel_last_view(array: Any, layout: str) -> Any:
    """(N, H, W, C) view of a batch in `layout` (or of an (N, H, W) batch); writes go through."""
    if array.ndim == 3:
        return array[..., None]
    return array.transpose(0, 2, 3, 1) if layout == "NCHW" else array


def convert_layout(images: Any, source: str, target: str) -> Any:
    """4-D images from `source` to `target` axis order, as a contiguous copy (image folders
    load as NHWC; most PyTorch-exported models take NCHW)."""
    if images.ndim != 4 or source == target:
        return images
    order = (0, 3, 1, 2) if target == "NCHW" else (0, 2, 3, 1)
    return images.transpose(order).copy()
