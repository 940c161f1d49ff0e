"""Colour digits: a harder 32x32x3 one-pixel workload built only from packaged data.

Why: the example's 8x8x1 digits are cheap to enumerate but tiny, and the photos stand-in
(photos_model.py) has CIFAR's format but is a texture task that one pixel almost never flips
(~4% even for exhaustive search). Here each of scikit-learn's bundled 8x8 `load_digits` images
(values 0..16, no download) is upscaled 3x to 24x24, put at a random shift inside a 32x32
canvas, and drawn as a random *bright* colour stroke over a random *dark* background, the digit's
intensity blending foreground over background. A bright thin stroke on a dark ground is where a
single wrong-coloured pixel can matter (it can bridge or break a stroke), so a model of CIFAR's
format gets a one-pixel robustness that is neither trivial nor hopeless, and exhaustive search
(1024 positions x 8 corner colours) still gives the ground-truth limit.

Splits: a stratified 70/30 split of the 1797 digits (seeded). Every training digit appears in
TRAIN_COPIES differently coloured/shifted copies (augmentation); every held-out digit exactly
once, in the split's seeded shuffled order, so "the first 300 held-out images" is a fixed,
class-mixed sample. Everything is seeded; `load()` returns the same arrays on every call.
"""

from __future__ import annotations

from functools import cache

import numpy as np

SEED = 0
SCALE = 3  # 8x8 -> 24x24
SIDE = 32
TEST_FRACTION = 0.3
TRAIN_COPIES = 4
# Every channel of the stroke colour in [128, 255] with one channel at 255 (bright), every
# channel of the background in [0, 89] (dark). A first version used [170, 255] over [0, 59]: the
# SmallCNN then resisted all but 4.7% of the held-out images even under exhaustive search; this
# lower contrast puts the limit near 10% (see workloads.md).
FOREGROUND = (128, 256)
BACKGROUND = (0, 90)


def upscale(digits: np.ndarray) -> np.ndarray:
    """(N, 8, 8) intensities 0..16 to (N, 24, 24) coverage in 0..1, bilinear (pixel centres
    aligned as in image resizing), so strokes get soft edges like a photographed digit."""
    size = digits.shape[-1]
    centres = (np.arange(size * SCALE) + 0.5) / SCALE - 0.5
    low = np.clip(np.floor(centres).astype(int), 0, size - 1)
    high = np.clip(low + 1, 0, size - 1)
    weight = np.clip(centres - low, 0.0, 1.0)
    grid = digits.astype(np.float64) / 16.0
    rows = grid[:, low, :] * (1 - weight)[None, :, None] + grid[:, high, :] * weight[None, :, None]
    return rows[:, :, low] * (1 - weight) + rows[:, :, high] * weight


def render(coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw each (24, 24) coverage map at a random shift on a 32x32 canvas in a random bright
    colour over a random dark background; uint8 NCHW (N, 3, 32, 32)."""
    n, size = len(coverage), coverage.shape[-1]
    foreground = rng.integers(*FOREGROUND, (n, 3)).astype(np.float64)
    foreground[np.arange(n), rng.integers(0, 3, n)] = 255.0  # one saturated channel: bright
    background = rng.integers(*BACKGROUND, (n, 3)).astype(np.float64)
    canvas = np.zeros((n, SIDE, SIDE))
    rows, cols = rng.integers(0, SIDE - size + 1, (2, n))
    for i in range(n):
        canvas[i, rows[i] : rows[i] + size, cols[i] : cols[i] + size] = coverage[i]
    alpha = canvas[:, None]  # (N, 1, 32, 32)
    blended = background[:, :, None, None] * (1 - alpha) + foreground[:, :, None, None] * alpha
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


@cache
def _splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=TEST_FRACTION, stratify=digits.target,
        random_state=SEED,
    )  # fmt: skip
    rng = np.random.default_rng(SEED)
    train = render(np.tile(upscale(x_train), (TRAIN_COPIES, 1, 1)), rng)
    test = render(upscale(x_test), rng)
    labels = np.tile(y_train, TRAIN_COPIES).astype(np.int64)
    return {"train": (train, labels), "test": (test, y_test.astype(np.int64))}


def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    """("train" | "test") -> (images uint8 (N, 3, 32, 32) NCHW, labels int64 (N,)).

    Train: TRAIN_COPIES x 1257 images; test: 540 images, one per held-out digit. Copies are
    returned, so callers may modify them.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    images, labels = _splits()[split]
    return images.copy(), labels.copy()


if __name__ == "__main__":
    for name in ("train", "test"):
        x, y = load(name)
        print(name, x.shape, x.dtype, y.shape, np.bincount(y), x.min(), x.max())
