"""A tiny CNN whose arithmetic is exact in float32, for comparing model adapters bit for bit.

Weights are multiples of 1/8 and pixels are integers 0..16, so every product and sum is exactly
representable: torch, TorchScript, torch.export and ONNX Runtime must then agree to the last bit,
and attacks through any of them must give identical records.
"""

from __future__ import annotations

import torch


class TinyNet(torch.nn.Module):
    def __init__(self, channels: int = 1, classes: int = 3, size: int = 6) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * size * size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


class ChannelsLast(torch.nn.Module):
    """The same network taking NHWC input, to export an NHWC graph."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.permute(0, 3, 1, 2))


def make() -> TinyNet:
    """Factory named by the string 'tinynet:make' in tests."""
    torch.manual_seed(0)
    net = TinyNet()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.copy_(torch.round(torch.randn_like(parameter) * 4) / 8)
    return net.eval()
