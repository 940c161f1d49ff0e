"""A small, reproducible digits CNN exported to ONNX, shared by the benchmarks in bench/.

Why this model: scikit-learn bundles the 8x8 digits set (no download), a tiny CNN reaches ~98%
test accuracy on it in seconds on a laptop CPU, and 8x8 images with 17 integer pixel values make
exhaustive one-pixel search cheap (64 positions x 17 values = 1088 images per image). That gives
the attack engine a ground-truth strength limit to be measured against.

The model takes raw pixel values 0..16 as float32 NCHW (N, 1, 8, 8) and scales them inside, so the
engine works in the data's own integer pixel space. The trained model is cached as ONNX in
bench/.cache/ (git-ignored), keyed by the training settings, so reruns skip training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

SEED = 0
EPOCHS = 40
BATCH = 64
LR = 3e-3
THREADS = 2
TEST_SIZE = 0.3

DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels); images uint8 (N, 1, 8, 8) 0..16.

    Stratified and seeded so every benchmark attacks the same test images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.uint8)[:, None]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_SIZE, stratify=labels, random_state=SEED
    )
    return x_train, y_train, x_test, y_test


def digits_onnx(cache_dir: Path = DEFAULT_CACHE) -> tuple[Path, np.ndarray, np.ndarray]:
    """(onnx path, test images uint8 (N, 1, 8, 8), test labels int64); trains on a cache miss."""
    x_train, y_train, x_test, y_test = digits_split()
    settings = {"seed": SEED, "epochs": EPOCHS, "batch": BATCH, "lr": LR, "arch": "cnn16-32-64"}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir / f"digits_cnn_{key}.onnx"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _train_and_export(x_train, y_train, x_test, y_test, path)
    return path, x_test, y_test


def _train_and_export(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    path: Path,
) -> None:
    """Train the CNN deterministically and write it to `path` (atomically, via a temp file)."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)

    class DigitsCNN(nn.Module):
        """conv16 -> conv32 -> maxpool -> fc64 -> fc10, on raw 0..16 pixels scaled inside."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(32 * 4 * 4, 64),
                nn.ReLU(),
                nn.Linear(64, 10),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.features(x / 16.0)

    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    xs = torch.from_numpy(x_train.astype(np.float32))
    ys = torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(xs), generator=generator)
        for start in range(0, len(xs), BATCH):
            idx = order[start : start + BATCH]
            optimizer.zero_grad()
            loss_fn(model(xs[idx]), ys[idx]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test.astype(np.float32))).argmax(1).numpy()
    print(f"digits CNN trained: test accuracy {(predicted == y_test).mean():.4f} ({EPOCHS} epochs)")

    tmp = path.with_suffix(".tmp.onnx")
    example = torch.zeros(2, 1, 8, 8)
    try:
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
    except Exception as error:  # legacy exporter removed or broken: fall back to dynamo
        print(f"legacy ONNX exporter failed ({type(error).__name__}: {error}); using dynamo")
        batch = torch.export.Dim("batch", min=1)
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            dynamo=True,
        )
    tmp.replace(path)


def correctly_classified(
    model: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Boolean mask of the images the model gets right: the set a one-pixel attack works on."""
    return model(images.astype(np.float32)).argmax(axis=1) == labels
