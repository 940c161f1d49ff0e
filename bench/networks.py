"""Plain PyTorch networks for the benchmark workloads (no torchvision: its only wheel here is a
CUDA build that breaks beside CPU torch, so ResNet-18 is written out here).

Every network takes float32 NCHW input in raw 0..255 pixel values and does its own /255 scaling
and mean/std normalisation in `forward`, so the exported ONNX / torch.export graphs take raw
pixels: the attack perturbs pixels in 0..255 and needs no `preprocess=` argument, like a model a
user would ship. All of them export with a dynamic batch dimension (`export_onnx`, `export_pt2`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """Raw 0..255 pixels to ``(x / 255 - mean) / std`` per channel, inside the graph."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x / 255.0 - self.mean) / self.std


class BasicBlock(nn.Module):
    """ResNet's two-conv residual block; a 1x1 conv + BN shortcut when the shape changes."""

    def __init__(self, inputs: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016): BasicBlocks [2, 2, 2, 2], widths 64/128/256/512.

    `cifar=True` is the usual 32x32 variant (3x3 stride-1 stem, no max-pool, so the last stage
    still sees 4x4 maps); `cifar=False` is the ImageNet one (7x7 stride-2 stem + 3x3 stride-2
    max-pool, for 224x224). Weights are initialised as torchvision does (Kaiming normal, fan-out;
    BatchNorm to identity), so a seeded random network looks like an untrained torchvision one.
    """

    def __init__(
        self,
        num_classes: int = 10,
        *,
        cifar: bool = True,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.normalize = Normalize(mean, std)
        if cifar:
            stem: list[nn.Module] = [nn.Conv2d(3, 64, 3, 1, 1, bias=False)]
        else:
            stem = [nn.Conv2d(3, 64, 7, 2, 3, bias=False)]
        stem += [nn.BatchNorm2d(64), nn.ReLU(inplace=True)]
        if not cifar:
            stem.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*stem)
        widths, layers, inputs = (64, 128, 256, 512), [], 64
        for stage, width in enumerate(widths):
            stride = 1 if stage == 0 else 2
            blocks = [BasicBlock(inputs, width, stride), BasicBlock(width, width, 1)]
            layers.append(nn.Sequential(*blocks))
            inputs = width
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.normalize(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class SmallCNN(nn.Module):
    """A small CIFAR-size CNN (32x32x3, 10 classes): three conv-BN-ReLU-max-pool stages
    (32 -> 16 -> 8 -> 4) and a linear layer.

    Small on purpose: the benchmark enumerates every one-pixel image of each held-out image
    (1024 positions x 8 colours = 8192 forward passes per image), so its forward pass must cost
    well under a millisecond per image on 2 cores, while it still learns colour digits to >= 95%.
    Widths 8/16/32 (0.8M multiply-adds per image) learn colour digits as well as 16/32/64 (98.5%
    vs 99.1%) at about half the cost, and are less one-pixel robust, which the workload wants.
    """

    def __init__(
        self,
        num_classes: int = 10,
        widths: Sequence[int] = (8, 16, 32),
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
    ) -> None:
        super().__init__()
        self.normalize = Normalize(mean, std)
        layers: list[nn.Module] = []
        inputs = 3
        for width in widths:
            layers += [
                nn.Conv2d(inputs, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            inputs = width
        self.features = nn.Sequential(*layers)
        side = 32 // 2 ** len(widths)
        self.fc = nn.Linear(inputs * side * side, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(self.normalize(x)), 1))


INPUT, OUTPUT = "pixels", "logits"


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """ONNX (TorchScript exporter, opset 17) with a dynamic batch axis "n"; written to a
    temporary name first so an interrupted export never leaves a file the cache would trust."""
    temporary = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(temporary),
            dynamo=False,
            opset_version=17,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "n"}, OUTPUT: {0: "n"}},
        )
    temporary.replace(path)


def export_pt2(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """torch.export program with a dynamic batch dimension, saved as .pt2 (via a temporary name).

    The example batch must have at least 2 images: torch.export specialises a size-1 dimension.
    """
    batch = torch.export.Dim("n", min=1, max=65536)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    temporary = path.with_suffix(".tmp.pt2")
    torch.export.save(program, str(temporary))
    temporary.replace(path)


def load_pt2(path: Path) -> nn.Module:
    """The callable module of a saved torch.export program."""
    return torch.export.load(str(path)).module()
