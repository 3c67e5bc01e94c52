"""The training loop of the image experiments (one screen; the reasoning first).

SGD with momentum and weight decay on mini-batches of the noisy training set; the learning rate
is a pure function of the SGD step (linear warm-up, then cosine to 0), so resuming needs only the
step count. Each epoch draws one permutation from the data-order generator and one crop/flip
stream from the augmentation generator: both are seeded by ``seed`` alone, so every method sees
the same batches and the same augmentations and the methods differ only in the loss
(``methods.loss_fn``). Metrics stay on the device during an epoch (one host sync per epoch,
plus the progress bar's every ``PROGRESS_EVERY`` steps). After each epoch: evaluate (training set
against the noisy and the true labels, noisy validation, true test), then ``on_epoch(row, state)``
checkpoints and stores.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext

import torch

from .augment import crop_flip, normalise
from .methods import loss_fn

PROGRESS_EVERY = 20
EVAL_BATCH = 1024


def lr_at(step: int, total: int, lr_max: float, warmup: int) -> float:
    """Learning rate at SGD step ``step`` of ``total``: linear warm-up, then cosine lr_max → 0."""
    if step < warmup:
        return lr_max * (step + 1) / warmup
    return 0.5 * lr_max * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def autocast(device: str):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else nullcontext()


@torch.no_grad()
def accuracy(model, x, labels: list, split, device: str) -> list:
    """Accuracies of the eval-mode model on uint8 images x against each label tensor in ``labels``."""
    if x.shape[0] == 0:
        return [float("nan")] * len(labels)
    model.eval()
    hits = torch.zeros(len(labels), device=x.device)
    for i in range(0, x.shape[0], EVAL_BATCH):
        xb = normalise(x[i:i + EVAL_BATCH], split.mean, split.std)
        if device == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            pred = model(xb).argmax(1)
        for j, y in enumerate(labels):
            hits[j] += (pred == y[i:i + EVAL_BATCH]).sum()
    return (hits / x.shape[0]).tolist()


def train(cfg, split, model, opt, state: dict, on_epoch, bar=None, loss=None) -> list:
    """Train from ``state`` (epoch, rows, generators) to ``cfg.epochs``; return the epoch rows.

    ``loss(logits, xb, y, step) -> (loss, α_t, batch accuracy)`` replaces the method's loss
    (the distillation students of ``kd``); default ``methods.loss_fn`` of ``cfg``'s method."""
    n, bs = split.x_train.shape[0], cfg.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total = cfg.epochs * steps_per_epoch
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    method = cfg.method_config(total)
    if loss is None:
        loss = lambda logits, xb, y, step: loss_fn(method, logits, y, step)   # noqa: E731
    step_fn = torch.compile(model) if cfg.compile else model
    rows = state["rows"]
    for epoch in range(state["epoch"], cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=state["order"]).to(split.x_train.device)
        sums = torch.zeros(3, device=split.x_train.device)          # loss, α_t, count
        if bar is not None:
            bar.reset(total=steps_per_epoch)
            bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
        for b in range(steps_per_epoch):
            step = epoch * steps_per_epoch + b
            idx = perm[b * bs:(b + 1) * bs]
            xb = normalise(split.x_train[idx], split.mean, split.std)
            if cfg.augment:
                xb = crop_flip(xb, state["aug"])
            if cfg.device == "cuda":
                xb = xb.contiguous(memory_format=torch.channels_last)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg.lr, warmup)
            with autocast(cfg.device):
                logits = step_fn(xb)
            value, alpha, acc = loss(logits, xb, split.y_noisy[idx], step)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sums += torch.stack([value.detach(), alpha.detach(), torch.ones_like(alpha)])
            if bar is not None:
                bar.update(1)
                if b % PROGRESS_EVERY == 0:
                    bar.set_postfix(loss=f"{value.item():.3f}", acc=f"{acc.item():.3f}")
        loss_sum, alpha_sum, count = sums.tolist()
        tr_noisy, tr_true = accuracy(model, split.x_train, [split.y_noisy, split.y_true], split, cfg.device)
        (val,) = accuracy(model, split.x_val, [split.y_val], split, cfg.device)
        (test,) = accuracy(model, split.x_test, [split.y_test], split, cfg.device)
        rows.append({"step": epoch + 1, "train_loss": loss_sum / count, "train_acc_noisy": tr_noisy,
                     "train_acc_true": tr_true, "val_acc_noisy": val, "test_acc": test,
                     "alpha_mean": alpha_sum / count, "lr": opt.param_groups[0]["lr"],
                     "epoch_seconds": time.perf_counter() - t0})
        state["epoch"] = epoch + 1
        on_epoch(rows[-1], state)
    return rows

