"""The bench models in one table: what each is, how to load it, and the images it is measured on.

- digits: 8x8x1, 0..16, the example project's release CNN (committed); 300 held-out digits.
- photos: 32x32x3, a CNN on crops of ten packaged photographs (photos_model.py); 300 crops.
- colour: 32x32x3, SmallCNN on colour digits (colour_digits.py, workloads.py), the harder
  workload; 300 held-out images.
- resnet: 32x32x3, ResNet-18 (CIFAR variant) trained briefly on colour digits; 8 images (it
  runs at ~100 images/s here, so its exhaustive limit alone costs ~11 min).
- resnet_fragile: the same ResNet-18 trained without the augmented copies and for 40 steps
  (workloads.RESNET_FRAGILE; accuracy 0.880), so one pixel fools some images; the first 40
  held-out images (resnet_fragile.py measures its strength on a stated selection).
- resnet224: 224x224x3, ResNet-18 (ImageNet variant) with random weights, for speed and memory.

Every loader returns a `Bench`: the ONNX path, a function giving the PyTorch module, the images
(uint8 NCHW) and labels, and the pixel range. Model files are built by committed, seeded
scripts into bench/.cache/ (not committed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Bench:
    name: str
    title: str
    onnx: Path
    module: Callable[[], object]  # the PyTorch nn.Module (a torch.export module for digits)
    images: np.ndarray
    labels: np.ndarray
    pixel_range: tuple[int, int]

    @property
    def high(self) -> int:
        return self.pixel_range[1]

    def corner_colours(self) -> list[list[int]]:
        channels = self.images.shape[1]
        return [[self.high if (j >> (channels - 1 - c)) & 1 else 0 for c in range(channels)]
                for j in range(2**channels)]  # fmt: skip


def _pt2_module(path: Path) -> Callable[[], object]:
    def load() -> object:
        import torch

        return torch.export.load(str(path)).module()

    return load


def digits() -> Bench:
    from digits_model import EXAMPLE, digits_onnx

    path, images, labels = digits_onnx("release")
    module = _pt2_module(EXAMPLE / "models" / "digits.pt2")
    title = "digits CNN, 8x8x1 (load_digits; the example's release model)"
    return Bench("digits", title, path, module, images[:300], labels[:300], (0, 16))


def photos() -> Bench:
    from photos_model import photos_onnx

    path, images, labels = photos_onnx()
    title = "photos CNN, 32x32x3 (crops of packaged photographs)"
    return Bench("photos", title, path, lambda: None, images[:300], labels[:300], (0, 255))


def colour() -> Bench:
    from workloads import colour_cnn, module_from_cache

    onnx, _, images, labels = colour_cnn()
    title = "colour-digits CNN, 32x32x3 (the harder workload)"
    module = lambda: module_from_cache(onnx)  # noqa: E731
    return Bench("colour", title, onnx, module, images[:300], labels[:300], (0, 255))


def resnet(count: int = 8) -> Bench:
    from workloads import module_from_cache, resnet_cifar

    onnx, _, images, labels = resnet_cifar()
    title = "ResNet-18 (CIFAR variant), 32x32x3, colour digits"
    module = lambda: module_from_cache(onnx)  # noqa: E731
    return Bench("resnet", title, onnx, module, images[:count], labels[:count], (0, 255))


def resnet_fragile(count: int = 40) -> Bench:
    from workloads import module_from_cache
    from workloads import resnet_fragile as build

    onnx, _, images, labels = build()
    title = "ResNet-18 (CIFAR variant), 32x32x3, colour digits, fragile (no augmented copies)"
    module = lambda: module_from_cache(onnx)  # noqa: E731
    return Bench("resnet_fragile", title, onnx, module, images[:count], labels[:count], (0, 255))


def resnet224(count: int = 100) -> Bench:
    from workloads import module_from_cache, resnet224_images
    from workloads import resnet224 as build

    onnx, _ = build()
    images, labels = resnet224_images(count)
    title = "ResNet-18 (ImageNet variant), 224x224x3, random weights"
    module = lambda: module_from_cache(onnx)  # noqa: E731
    return Bench("resnet224", title, onnx, module, images, labels, (0, 255))


STRENGTH = {"digits": digits, "photos": photos, "colour": colour, "resnet": resnet}
