"""Scale and per-channel normalisation applied just before the model.

The attack perturbs images in raw pixel space (0-255 or 0-1) so every adversarial image is one
the user can save; the model may want `(x * scale - mean) / std`. Applying that here, to the
whole perturbed batch in one vectorised step, keeps both sides honest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ImageFitError
from .base import Model


class PreprocessedModel:
    """A Model whose inputs are scaled and normalised per channel first. `preprocess` was
    validated with the settings (validators.preprocess); only its channel count is checked
    here, against the first batch, since only the images know it."""

    def __init__(self, inner: Model, preprocess: Mapping[str, object], layout: str) -> None:
        self.inner = inner
        self.preprocess = dict(preprocess)
        self.scale = np.float32(preprocess.get("scale", 1.0))
        self.mean = np.atleast_1d(np.asarray(preprocess.get("mean", 0.0), dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(preprocess.get("std", 1.0), dtype=np.float32))
        self.layout = layout
        self.num_classes = inner.num_classes
        self.description = f"{inner.description} with preprocess {dict(preprocess)}"
        self.content_hash = inner.content_hash

    def predict(self, batch: np.ndarray) -> np.ndarray:
        mean, std = (
            self._broadcastable(n, v, batch) for n, v in (("mean", self.mean), ("std", self.std))
        )
        return self.inner.predict(((batch * self.scale - mean) / std).astype(np.float32))

    def _broadcastable(self, name: str, vector: np.ndarray, batch: np.ndarray) -> np.ndarray:
        if len(vector) == 1:
            return vector[0]
        axis = 1 if self.layout == "NCHW" else 3
        channels = batch.shape[axis] if batch.ndim == 4 else 1
        if len(vector) != channels:
            raise ImageFitError(
                f"preprocess {name} has {len(vector)} values but the images have {channels} "
                "channel(s); give one value per channel or a single value."
            )
        shape = [1] * batch.ndim
        shape[axis] = -1
        return vector.reshape(shape)

    def around(self, inner: Model) -> PreprocessedModel:
        """The same preprocessing in front of another model (e.g. the inner model's twin)."""
        return PreprocessedModel(inner, self.preprocess, self.layout)

    def check_fits(self, image_shape: tuple[int, ...], layout: str) -> None:
        check = getattr(self.inner, "check_fits", None)
        if check is not None:
            check(image_shape, layout)
