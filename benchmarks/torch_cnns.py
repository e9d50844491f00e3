"""PyTorch CNNs for the ONNX tests (tests/interop/test_onnx_cnn.py) and the ONNX inference benchmark
(benchmarks/onnx_infer.py); imported only where torch is known to exist.

- :class:`SmallCnn`: Conv/BatchNorm/ReLU/MaxPool/AvgPool, a residual Add, global average
  pooling, Flatten and a Linear (Gemm) head;
- :func:`resnet18`: ResNet-18's shape (BasicBlocks [2, 2, 2, 2] of 64–512 channels, a 7×7
  stride-2 stem and max pool) with random weights, for 3×64×64 inputs;
- :class:`UNetish`: an encoder/decoder with a skip concatenation, a ConvTranspose up-sampling,
  bilinear and nearest ``interpolate`` (Resize) and reflect/replicate padding (Pad).

Batch-norm running statistics are randomised so that inference really uses them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def randomise_batchnorm(module: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return module


class SmallCnn(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                   nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))  # fmt: skip
        self.pool = nn.AvgPool2d(2, padding=1, count_include_pad=False)
        self.head = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = F.relu(h + self.block(h))
        h = F.adaptive_avg_pool2d(self.pool(h), 1)
        return self.head(torch.flatten(h, 1))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    def __init__(self, classes: int = 10, width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))  # fmt: skip
        blocks, cin = [], width
        for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
            blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def resnet18(classes: int = 10, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return randomise_batchnorm(ResNet18(classes), seed)


class UNetish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.mid = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = nn.Conv2d(16, 8, 3)
        self.out = nn.Conv2d(8, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.enc(x)  # [8, H, W]
        m = self.mid(F.max_pool2d(e, 2))  # [16, H/2, W/2]
        u = self.up(m)  # [8, H, W]
        d = F.relu(self.dec(F.pad(torch.cat([u, e], 1), (1, 1, 1, 1), mode="reflect")))
        small = F.interpolate(F.avg_pool2d(d, 2), scale_factor=2, mode="bilinear", align_corners=False)
        coarse = F.interpolate(F.max_pool2d(d, 4), scale_factor=4, mode="nearest")
        return self.out(F.pad(small + coarse + d, (1, 1, 1, 1), mode="replicate"))
