"""Profiles: named sets of defaults. Every value can be overridden by its option.

    paper  the paper's Table 1 setting (§3.4): shake-shake 26 2x32d, SGD momentum 0.9, batch 128,
           weight decay 1e-4, cosine learning rate 0.2 → 0, 600 epochs
    fast   the fast net, a short schedule that is still long enough for plain CE to memorise
           the noise (its accuracy on the noisy training labels climbs while its test accuracy
           falls from its peak as the learning rate anneals)
    smoke  seconds on a CPU: a narrow fast net, two epochs (for tests and first runs)
"""

from __future__ import annotations

PROFILES = {
    "paper": {"model": "shake-shake-26-2x32d", "epochs": 600, "batch_size": 128, "lr": 0.2,
              "weight_decay": 1e-4, "warmup_epochs": 0.0, "width": 64},
    "fast": {"model": "fast", "epochs": 24, "batch_size": 512, "lr": 0.2, "weight_decay": 5e-4,
             "warmup_epochs": 1.0, "width": 64},
    "smoke": {"model": "fast", "epochs": 2, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4,
              "warmup_epochs": 0.0, "width": 8, "synthetic_train": 512, "synthetic_test": 256},
}
DEFAULT_PROFILE = "fast"   # the one a first user wants: minutes on a GPU, memorisation visible
