"""Tiny networks and an exact enumerator for the certify tests (C = 3, images of 4 x 4 or 5 x 5,
integer pixels 0..7: every position x every value is 16-25 x 512 images, cheap to enumerate)."""

from __future__ import annotations

import numpy as np
import torch

from pytest_onepixel.certify.queries import with_pixels
from pytest_onepixel.models.torch_model import TorchModel

HIGH = 7
COLOURS = np.stack(np.meshgrid(*[np.arange(HIGH + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)


class Standardise(torch.nn.Module):
    """Per-image standardisation over the whole image, (x - mean) / (std + eps)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - x.mean(dim=(1, 2, 3), keepdim=True)
        return centred / (x.std(dim=(1, 2, 3), keepdim=True) + 1e-5)


class Residual(torch.nn.Module):
    """conv -> relu, a residual block (conv + skip, LeakyReLU), a pool, a linear head."""

    def __init__(self, width: int, classes: int, size: int, pool: str) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, width, 3, padding=1)
        self.inner = torch.nn.Conv2d(width, width, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2) if pool == "max" else torch.nn.AvgPool2d(2)
        self.head = torch.nn.Linear(width * (size // 2) ** 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        h = torch.nn.functional.leaky_relu(h + self.inner(h), 0.1)
        return self.head(self.pool(h).flatten(1))


def plain(width: int, classes: int, size: int, pool: str) -> torch.nn.Module:
    """conv -> relu -> pool -> flatten -> linear."""
    pooling = torch.nn.MaxPool2d(2) if pool == "max" else torch.nn.AvgPool2d(2)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, padding=1),
        torch.nn.ReLU(),
        pooling,
        torch.nn.Flatten(),
        torch.nn.Linear(width * (size // 2) ** 2, classes),
    )


def random_net(
    seed: int, residual: bool, pool: str = "max", size: int = 4, standardise: bool = False
) -> TorchModel:
    torch.manual_seed(seed)
    build = Residual if residual else plain
    module = build(4, 3, size, pool)
    if standardise:
        module = torch.nn.Sequential(Standardise(), module)
    module = module.eval()
    return TorchModel(module, description=f"net {seed}", content_hash=str(seed))


def attacked(model, count: int, seed: int, size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Random integer images and the model's own labels for them (all correctly classified)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, HIGH + 1, (count, 3, size, size)).astype(np.float32)
    return images, model.predict(images).argmax(1)


def fooled_by_enumeration(model, image: np.ndarray, label: int) -> bool:
    """Whether any position x any integer colour changes the class (the exact answer)."""
    size = image.shape[1]
    rows, cols = np.divmod(np.arange(size * size), size)
    positions = np.repeat(np.stack([rows, cols], 1), len(COLOURS), axis=0)
    values = np.tile(COLOURS, (size * size, 1))
    scores = model.predict(with_pixels(image, "NCHW", positions, values))
    return bool((scores.argmax(1) != label).any())
