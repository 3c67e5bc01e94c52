"""The networks of the paper's image experiments, for inputs of 1 or 3 channels, 28 or 32 px.

    shake-shake-26-2x32d  Gastaldi (2017): Table 1's network (≈ 2.9 M parameters)
    resnet56              He et al. (2016), CIFAR variant, option-A shortcuts (≈ 0.85 M)
    wrn-28-10             Zagoruyko & Komodakis (2016), pre-activation (≈ 36.5 M): §2.1's teacher
    cnn                   the paper's Table 2 student: 3 × (conv3x3-bn-relu-maxpool2) with
                          32/64/128 channels, fc 512 + bn (+ relu), dropout, fc C
    fast                  a small fast net in the spirit of airbench (conv-pool-bn-gelu groups of
                          widths w, 4w, 4w), without any of its noise-robust tricks (no label
                          smoothing, no test-time augmentation, no example selection)

Table 2 leaves padding and the activation after "fc 512, bn" unstated; we use 'same' padding
(32 → 16 → 8 → 4 px) and a ReLU there (two stacked linear maps would collapse otherwise).
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from theorem_lab.errors import check_choice

MODELS = ("shake-shake-26-2x32d", "resnet56", "wrn-28-10", "cnn", "fast")
PUBLISHED_PARAMS = {   # published parameter counts (millions) for 10 classes, 3 × 32 × 32 inputs
    "shake-shake-26-2x32d": 2.9, "resnet56": 0.85, "wrn-28-10": 36.5,
}


def conv3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


# --- ResNet-56 -------------------------------------------------------------------------------

class _BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = conv3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.c2, self.b2 = conv3(cout, cout), nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def shortcut(self, x):
        """Option A: subsample and zero-pad the new channels (no parameters)."""
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.extra:
            x = F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
        return x

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(out)) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-(6n+2) for CIFAR: stages of 16, 32, 64 channels, n basic blocks each."""

    def __init__(self, in_ch, classes, n=9):
        super().__init__()
        self.stem = nn.Sequential(conv3(in_ch, 16), nn.BatchNorm2d(16), nn.ReLU())
        blocks, cin = [], 16
        for i, cout in enumerate((16, 32, 64)):
            for j in range(n):
                blocks.append(_BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1))


# --- WRN-28-10 -------------------------------------------------------------------------------

class _PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.b1, self.c1 = nn.BatchNorm2d(cin), conv3(cin, cout, stride)
        self.b2, self.c2 = nn.BatchNorm2d(cout), conv3(cout, cout)
        self.proj = None if (cin == cout and stride == 1) else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        o = F.relu(self.b1(x))
        short = x if self.proj is None else self.proj(o)
        return self.c2(F.relu(self.b2(self.c1(o)))) + short


class WideResNet(nn.Module):
    """WRN-depth-k: 3 groups of (depth−4)/6 pre-activation blocks, widths 16k, 32k, 64k."""

    def __init__(self, in_ch, classes, depth=28, k=10):
        super().__init__()
        n = (depth - 4) // 6
        self.stem = conv3(in_ch, 16)
        blocks, cin = [], 16
        for i, cout in enumerate((16 * k, 32 * k, 64 * k)):
            for j in range(n):
                blocks.append(_PreActBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        o = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(o, 1).flatten(1))


# --- Shake-Shake 26 2x32d --------------------------------------------------------------------

def shake(b1: torch.Tensor, b2: torch.Tensor, training: bool) -> torch.Tensor:
    """Shake-Shake-Image mixing: forward α·b1 + (1−α)·b2 with α ~ U(0,1) per image, backward with
    an independent β ~ U(0,1) (Gastaldi 2017); evaluation uses ½(b1 + b2)."""
    if not training:
        return 0.5 * (b1 + b2)
    shape = (b1.shape[0], 1, 1, 1)
    alpha = torch.rand(shape, device=b1.device, dtype=b1.dtype)
    beta = torch.rand(shape, device=b1.device, dtype=b1.dtype)
    d = b1 - b2
    return b2 + d * beta + (d * (alpha - beta)).detach()


class _ShakeBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(
            nn.ReLU(), conv3(cin, cout, stride), nn.BatchNorm2d(cout),
            nn.ReLU(), conv3(cout, cout), nn.BatchNorm2d(cout)) for _ in range(2))
        self.stride = stride
        if cin != cout or stride != 1:   # two shifted 1x1 paths, concatenated (Gastaldi's skip)
            self.p1 = nn.Conv2d(cin, cout // 2, 1, bias=False)
            self.p2 = nn.Conv2d(cin, cout - cout // 2, 1, bias=False)
            self.bn = nn.BatchNorm2d(cout)
        else:
            self.p1 = None

    def shortcut(self, x):
        if self.p1 is None:
            return x
        x = F.relu(x)
        a = F.avg_pool2d(x, 1, self.stride)
        b = F.avg_pool2d(F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1)), 1, self.stride)
        return self.bn(torch.cat([self.p1(a), self.p2(b)], 1))

    def forward(self, x):
        return shake(self.branches[0](x), self.branches[1](x), self.training) + self.shortcut(x)


class ShakeShake(nn.Module):
    """Shake-Shake-(6n+2) 2×(w)d: 3 stages of n blocks, widths w, 2w, 4w, two branches each."""

    def __init__(self, in_ch, classes, depth=26, width=32):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Sequential(conv3(in_ch, 16), nn.BatchNorm2d(16))
        blocks, cin = [], 16
        for i, cout in enumerate((width, 2 * width, 4 * width)):
            for j in range(n):
                blocks.append(_ShakeBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        o = F.relu(self.blocks(self.stem(x)))
        return self.fc(F.adaptive_avg_pool2d(o, 1).flatten(1))


# --- the paper's Table 2 CNN and the fast net ------------------------------------------------

class TableTwoCNN(nn.Module):
    """Table 2 of the paper (the student of §2.1)."""

    def __init__(self, in_ch, classes, size=32, dropout=0.5):
        super().__init__()
        layers, cin = [], in_ch
        for cout in (32, 64, 128):
            layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        side = size // 8
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128 * side * side, 512), nn.BatchNorm1d(512),
                                  nn.ReLU(), nn.Dropout(dropout), nn.Linear(512, classes))

    def forward(self, x):
        return self.head(self.features(x))


class FastNet(nn.Module):
    """airbench-style: conv2x2 stem, then groups conv3x3 → maxpool2 → bn → gelu → conv3x3 → bn →
    gelu of widths w, 4w, 4w, global max-pool, linear."""

    def __init__(self, in_ch, classes, width=64):
        super().__init__()
        layers, cin = [nn.Conv2d(in_ch, 24, 2, bias=False), nn.GELU()], 24
        for cout in (width, 4 * width, 4 * width):
            layers += [conv3(cin, cout), nn.MaxPool2d(2), nn.BatchNorm2d(cout), nn.GELU(),
                       conv3(cout, cout), nn.BatchNorm2d(cout), nn.GELU()]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes, bias=False)

    def forward(self, x):
        return self.fc(F.adaptive_max_pool2d(self.features(x), 1).flatten(1))


def build(name: str, in_ch: int, classes: int, size: int, width: int = 64) -> nn.Module:
    """The model ``name`` (``MODELS``) for (in_ch, size, size) inputs and ``classes`` outputs."""
    check_choice("model", name, "cifar train", MODELS)
    if name == "resnet56":
        return ResNetCifar(in_ch, classes, n=9)
    if name == "wrn-28-10":
        return WideResNet(in_ch, classes, 28, 10)
    if name == "shake-shake-26-2x32d":
        return ShakeShake(in_ch, classes, 26, 32)
    if name == "cnn":
        return TableTwoCNN(in_ch, classes, size)
    return FastNet(in_ch, classes, width)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
