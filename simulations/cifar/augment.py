"""Batched on-device augmentation (no DataLoader workers): uint8 images in, normalised float out.

As the paper (after Lee et al. 2015): mean subtraction (we also divide by the per-channel std),
random crops after padding 4 pixels on each side (the padding is zeros in normalised units, i.e.
the channel mean, as airbench does), random horizontal flips. Every random draw comes from an
explicit ``torch.Generator`` so that the augmentation stream is the same for every method and is
restored on resume.
"""

from __future__ import annotations

import torch


def channel_stats(x_uint8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (in [0, 1] units) of a uint8 batch (N, C, H, W): shapes (C,)."""
    x = x_uint8.float().div_(255)
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)).clamp_min(1e-3)


def normalise(x_uint8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
              dtype=torch.float32) -> torch.Tensor:
    x = x_uint8.to(dtype).div_(255)
    return (x - mean.to(dtype).view(1, -1, 1, 1)) / std.to(dtype).view(1, -1, 1, 1)


def crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """Random pad-``pad`` crops and horizontal flips of a normalised batch (N, C, H, W), batched.

    One offset pair (dy, dx) ∈ [0, 2·pad]² and one flip bit per image, drawn on the CPU from
    ``generator`` (so the stream does not depend on the device), then applied with one gather.
    """
    n, c, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5 if flip else torch.zeros(n, dtype=torch.bool)
    dev = x.device
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = offsets[0].to(dev).view(n, 1) + torch.arange(h, device=dev).view(1, h)        # (n, h)
    cols = torch.arange(w, device=dev).view(1, w).expand(n, w)
    cols = torch.where(flips.to(dev).view(n, 1), w - 1 - cols, cols) + offsets[1].to(dev).view(n, 1)
    idx_r = rows.view(n, 1, h, 1).expand(n, c, h, w + 2 * pad)
    out = padded.gather(2, idx_r)                                                          # (n,c,h,W+2p)
    idx_c = cols.view(n, 1, 1, w).expand(n, c, h, w)
    return out.gather(3, idx_c)
