"""Images in pixel space, and writing k-pixel changes into model batches.

The attack searches in raw pixel space (0-255 or 0-1, as the data are stored) so that every
adversarial image it reports is one the user could actually save in the data's own dtype. This
module owns that space: it validates the images and their layout, turns continuous DE candidates
into realizable pixel changes (floored positions, values rounded to the dtype), and writes them into
a reusable float32 batch for the model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .layouts import LAYOUTS, channel_last_view, convert_layout


@dataclass(frozen=True)
class PixelChanges:
    """Realized changes of m candidates: rows, cols (m, k) ints; values (m, k, C) in the dtype."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    def __getitem__(self, part: slice) -> PixelChanges:
        return PixelChanges(self.rows[part], self.cols[part], self.values[part])

    def pixels_of(self, candidate: int) -> tuple[tuple[int, int, tuple[float, ...]], ...]:
        """Candidate `candidate`'s changes as plain (row, col, values) tuples for a record."""
        return tuple(
            (int(row), int(col), tuple(v.item() for v in values))
            for row, col, values in zip(
                self.rows[candidate], self.cols[candidate], self.values[candidate], strict=True
            )
        )


@dataclass(frozen=True)
class ImageSet:
    """Validated images in their own layout, and a float32 copy in the model's input layout.

    Pixel changes are (row, col, values): the same in any layout. The search writes them into
    batches laid out for the model (`model_images`, transposed once up front), while records and
    adversarial images stay in the data's own layout (`images`, `layout`).
    """

    images: np.ndarray
    layout: str
    pixel_range: tuple[float, float]
    model_layout: str
    model_images: np.ndarray = field(repr=False, compare=False)

    @classmethod
    def from_user(
        cls,
        images: object,
        layout: str,
        pixel_range: tuple[float, float] | None,
        model_layout: str | None = None,
    ) -> ImageSet:
        """Check the images the way a user will want them checked: rank, dtype, layout, range.

        `layout` is the images' own axis order; `model_layout` the one the model takes (None:
        the same). 3-D (N, H, W) images gain a channel axis for a model that names a layout."""
        array = np.asarray(images)
        if array.ndim not in (3, 4):
            raise InputError(
                f"images must be an array of shape (N, C, H, W) or (N, H, W, C) per `layout`, "
                f"or (N, H, W) for one channel; found an array of rank {array.ndim} with shape "
                f"{array.shape}. Stack single images with np.stack or add the batch axis."
            )
        if array.shape[0] == 0:
            raise InputError(f"images is empty (shape {array.shape}): give at least one image.")
        if array.dtype.kind not in "uif":
            raise InputError(
                f"images must hold integer or float pixels; found dtype {array.dtype}. "
                "Convert them with images.astype(np.uint8) or images.astype(np.float32)."
            )
        for name, value in (("data layout", layout), ("model layout", model_layout or layout)):
            if value not in LAYOUTS:
                raise InputError(f"{name} must be one of {LAYOUTS}; found {value!r}.")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
            raise InputError(
                f"images hold NaN or infinite pixel values ({len(bad)} of {len(array)} images, "
                f"the first at position {bad[0]}); clean or drop those images."
            )
        lo, hi = _pixel_range(array, pixel_range)
        if array.dtype.kind in "ui":
            limits = np.iinfo(array.dtype)
            if lo < limits.min or hi > limits.max:
                raise InputError(
                    f"pixel_range ({lo:g}, {hi:g}) does not fit the images' dtype {array.dtype} "
                    f"({limits.min}..{limits.max}); adversarial values could not be stored."
                )
        found_lo, found_hi = float(array.min()), float(array.max())
        if found_lo < lo or found_hi > hi:
            raise InputError(
                f"image values must lie in pixel_range ({lo:g}, {hi:g}); found values from "
                f"{found_lo:g} to {found_hi:g}. Pass the range your data are stored in, e.g. "
                "pixel_range=(0, 255) for 8-bit images kept as floats."
            )
        for_model = _for_model(array, layout, model_layout)
        return cls(array, layout, (lo, hi), model_layout or layout, for_model)

    @property
    def channel_last(self) -> np.ndarray:
        """(N, H, W, C) view of the images, whatever their layout; no copy."""
        return channel_last_view(self.images, self.layout)

    @property
    def height(self) -> int:
        return self.channel_last.shape[1]

    @property
    def width(self) -> int:
        return self.channel_last.shape[2]

    @property
    def channels(self) -> int:
        return self.channel_last.shape[3]

    @property
    def is_integer(self) -> bool:
        return self.images.dtype.kind in "ui"

    def realize(self, candidates: np.ndarray) -> PixelChanges:
        """Turn continuous candidates (m, k, 2 + C) into pixel changes the data's dtype can hold.

        Rows and columns are floored (the paper searches them as reals); values are clipped to the
        pixel range and rounded for integer dtypes, so the model is only ever queried on images
        that exist.
        """
        rows = np.minimum(np.floor(candidates[..., 0]), self.height - 1).astype(np.intp)
        cols = np.minimum(np.floor(candidates[..., 1]), self.width - 1).astype(np.intp)
        values = np.clip(candidates[..., 2:], *self.pixel_range)
        if self.is_integer:
            values = np.rint(values)
        return PixelChanges(rows, cols, values.astype(self.images.dtype))

    def write_batch(
        self, out: np.ndarray, owners: np.ndarray, changes: PixelChanges | None
    ) -> np.ndarray:
        """Fill `out[:m]` with images `owners` as float32, each with its pixel changes applied.

        One gather straight into `out` and one scatter at flat (C-order) indices, whatever the
        model's layout: no Python loop over candidates or pixels, no temporary batch. Where a
        candidate names the same pixel twice the later write wins, so at most k pixels differ
        from the original.
        """
        m = len(owners)
        batch = out[:m]
        np.take(self.model_images, owners, axis=0, out=batch, mode="clip")  # owners are valid
        if changes is not None and m:
            image, row, col, channel = self._flat_steps
            offsets = (np.arange(m) * image)[:, None] + changes.rows * row + changes.cols * col
            values = changes.values
            if values.shape[-1] > 1:
                offsets = offsets[..., None] + np.arange(values.shape[-1]) * channel
            np.put(batch, offsets.ravel(), values.ravel())
        return batch

    @functools.cached_property
    def _flat_steps(self) -> tuple[int, int, int, int]:
        """How far a C-order flat index moves for one image, row, column and channel of a batch
        in the model's layout (0 for the channel of 3-D images, which have one)."""
        per_image = self.model_images.shape[1:]
        steps = np.cumprod((1, *per_image[:0:-1]))[::-1]  # C-order steps of each image axis
        if len(per_image) == 2:
            return int(np.prod(per_image)), int(steps[0]), int(steps[1]), 0
        axes = (1, 2, 0) if self.model_layout == "NCHW" else (0, 1, 2)  # row, column, channel
        row, col, channel = (int(steps[axis]) for axis in axes)
        return int(np.prod(per_image)), row, col, channel


def _for_model(images: np.ndarray, layout: str, model_layout: str | None) -> np.ndarray:
    """The images as float32 in the model's layout: transposed if 4-D in the other layout; a
    channel axis added to 3-D images for a model that names its layout (one that says NCHW
    takes (N, 1, H, W))."""
    array = images.astype(np.float32)
    if model_layout is None:
        return array
    if array.ndim == 3:
        return array[:, None] if model_layout == "NCHW" else array[..., None]
    return np.ascontiguousarray(convert_layout(array, layout, model_layout))


def _pixel_range(array: np.ndarray, pixel_range: tuple[float, float] | None) -> tuple[float, float]:
    if pixel_range is None:
        return (0.0, 255.0) if array.dtype.kind in "ui" else (0.0, 1.0)
    try:
        lo, hi = (float(v) for v in pixel_range)
    except (TypeError, ValueError):
        raise InputError(
            f"pixel_range must be two numbers (low, high); found {pixel_range!r}."
        ) from None
    if not lo < hi:
        raise InputError(f"pixel_range must have low < high; found ({lo:g}, {hi:g}).")
    return lo, hi
