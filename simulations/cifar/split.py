"""From a loaded data set to the tensors a run trains on: label noise on the full training set
(so CIFAR-N files, in training-set order, apply), then the stratified ``--train-subset``, then the
**noisy** validation split (labels as noisy as the training set). No clean validation set exists;
test labels are the true ones and are used for reporting only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import noise as N
from .augment import channel_stats
from .data import ImageData, stratified_subset


@dataclass
class Split:
    x_train: torch.Tensor     # (n, C, H, W) uint8 on the device
    y_noisy: torch.Tensor     # (n,) observed labels
    y_true: torch.Tensor      # (n,) true labels (never used by a method; memorisation curve)
    x_val: torch.Tensor
    y_val: torch.Tensor       # noisy validation labels (model selection may use these)
    x_test: torch.Tensor
    y_test: torch.Tensor      # true test labels (reporting only)
    mean: torch.Tensor        # (C,) channel statistics of the training images
    std: torch.Tensor
    classes: int
    arrays: dict              # numpy copies saved with the run (indices and labels)
    noise: dict               # noise.report on the training part


def make_split(data: ImageData, cfg, device) -> Split:
    """Apply ``cfg``'s noise, subset and validation split to ``data``; move it to ``device``."""
    y_obs = N.apply(data.y_train, data.classes, data.name, cfg.noise_type, cfg.noise_rate,
                    cfg.noise_seed, cfg.noise_convention, cfg.noise_file, cfg.noise_key)
    idx = np.arange(data.y_train.size)
    if cfg.train_subset:
        idx = stratified_subset(data.y_train, cfg.train_subset, cfg.split_seed)
    rng = np.random.default_rng([cfg.split_seed, 1])
    perm = rng.permutation(idx)
    n_val = int(round(cfg.val_fraction * perm.size))
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), device=device)   # noqa: E731
    x_train = t(data.x_train[train])
    mean, std = channel_stats(x_train)
    arrays = {"train_index": train, "val_index": val, "y_observed": y_obs, "y_true": data.y_train}
    return Split(x_train, t(y_obs[train]), t(data.y_train[train]), t(data.x_train[val]),
                 t(y_obs[val]), t(data.x_test), t(data.y_test), mean, std, data.classes, arrays,
                 N.report(data.y_train[train], y_obs[train], data.classes))
