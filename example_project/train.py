"""Train the example's digits classifiers and export them: run `python train.py` (needs torch and
scikit-learn: pip install 'pytest-onepixel[bench]' -c ../constraints.txt).

Data: scikit-learn's bundled 8x8 handwritten digits (`load_digits`, 1797 images, pixel values
0..16, no download), split 70/30 stratified with seed 0. The held-out 30% is written to
data/holdout.npz as `x` (uint8, N x 1 x 8 x 8), `y` and `class_names`.

Models (all take raw pixel values 0..16 as float32 NCHW and scale them inside):
- models/digits.onnx and models/digits.pt2: the release model, a small CNN trained for 40 epochs
  with augmentation that sets up to 4 random pixels per image to 0 or 16.
- models/digits_fragile.onnx: the same network and training without that augmentation: as
  accurate, but a one-pixel attack fools it far more often, so its gate fails.

Everything is seeded and uses deterministic algorithms, so a rerun on the same torch build
writes the same accuracy and the same files.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

HERE = Path(__file__).resolve().parent
SEED = 0


class DigitsCNN(nn.Module):
    """conv16 -> conv32 -> maxpool -> fc64 -> fc10 on raw 0..16 pixels."""

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


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    images = digits.images.astype(np.uint8)[:, None]
    return train_test_split(
        images, digits.target, test_size=0.3, stratify=digits.target, random_state=SEED
    )


def extreme_pixels(batch: torch.Tensor, generator: torch.Generator, most: int) -> torch.Tensor:
    """Augmentation against one-pixel attacks: set up to `most` random pixels of each image to
    0 or 16, the values one-pixel attacks mostly use."""
    batch = batch.clone()
    n = len(batch)
    for _ in range(most):
        rows = torch.randint(0, 8, (n,), generator=generator)
        cols = torch.randint(0, 8, (n,), generator=generator)
        values = torch.randint(0, 2, (n,), generator=generator).float() * 16
        keep = torch.rand(n, generator=generator) < 0.5
        current = batch[torch.arange(n), 0, rows, cols]
        batch[torch.arange(n), 0, rows, cols] = torch.where(keep, current, values)
    return batch


def train(x: np.ndarray, y: np.ndarray, epochs: int, augment: int = 0) -> DigitsCNN:
    torch.manual_seed(SEED)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        order = torch.randperm(len(xs), generator=generator)
        for start in range(0, len(xs), 64):
            batch = order[start : start + 64]
            optimizer.zero_grad()
            inputs = extreme_pixels(xs[batch], generator, augment) if augment else xs[batch]
            loss_fn(model(inputs), ys[batch]).backward()
            optimizer.step()
    return model.eval()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((model(torch.from_numpy(x.astype(np.float32))).argmax(1).numpy() == y).mean())


def export_onnx(model: nn.Module, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(2, 1, 8, 8),),
            str(path),
            dynamo=False,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
        )


def export_pt2(model: nn.Module, path: Path) -> None:
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (torch.zeros(2, 1, 8, 8),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))


def main() -> None:
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    x_train, x_test, y_train, y_test = split()
    np.savez_compressed(
        HERE / "data" / "holdout.npz",
        x=x_test,
        y=y_test.astype(np.int64),
        class_names=np.array([str(d) for d in range(10)]),
    )
    release = train(x_train, y_train, epochs=40, augment=4)
    export_onnx(release, HERE / "models" / "digits.onnx")
    export_pt2(release, HERE / "models" / "digits.pt2")
    fragile = train(x_train, y_train, epochs=40)
    export_onnx(fragile, HERE / "models" / "digits_fragile.onnx")
    print(f"held-out images: {len(y_test)}")
    print(f"digits.onnx / digits.pt2 accuracy: {accuracy(release, x_test, y_test):.4f}")
    print(f"digits_fragile.onnx accuracy:      {accuracy(fragile, x_test, y_test):.4f}")


if __name__ == "__main__":
    main()
