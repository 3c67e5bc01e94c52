"""Batched crop/flip equals the per-image definition; the stream is the generator's."""

import torch

from theorem_lab.simulations.cifar.augment import channel_stats, crop_flip, normalise


def test_crop_flip_matches_per_image_reference():
    x = torch.randn(5, 3, 8, 8)
    g = torch.Generator().manual_seed(7)
    out = crop_flip(x, g, pad=2)
    g = torch.Generator().manual_seed(7)
    offsets = torch.randint(0, 5, (2, 5), generator=g)
    flips = torch.rand(5, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(5):
        dy, dx = offsets[:, i].tolist()
        crop = padded[i, :, dy:dy + 8, dx:dx + 8]
        if flips[i]:
            crop = crop.flip(-1)
        torch.testing.assert_close(out[i], crop)


def test_normalise_uses_channel_stats():
    x = torch.randint(0, 256, (50, 3, 4, 4), dtype=torch.uint8)
    mean, std = channel_stats(x)
    z = normalise(x, mean, std)
    torch.testing.assert_close(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)
