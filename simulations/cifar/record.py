"""Checkpoints and store rows of a training run.

``<out>/<run_id>/checkpoint.pt`` is rewritten atomically after every epoch (model, optimizer,
the data-order and augmentation generators, torch's global RNG for dropout and shake-shake, and
the per-epoch rows so far), so a kill loses at most the current epoch and a rerun of the same
command resumes the same trajectory. ``<out>/<run_id>/labels.npz`` holds the noisy labels and the
split indices, computed once.

The store is the sweeps' ``ResultStore`` (``<out>/results.sqlite``): one ``runs`` row per run
(status 'running' while it trains, then 'finished'; 'interrupted' after Ctrl-C), and one
``trajectory`` row per epoch with ``step`` = epoch and the columns of ``EPOCH_COLUMNS``. The run
row and its epoch rows are rewritten in one transaction after every epoch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

EPOCH_COLUMNS = ("train_loss", "train_acc_noisy", "train_acc_true", "val_acc_noisy", "test_acc",
                 "alpha_mean", "lr", "epoch_seconds")


def run_dir(out, run_id: str) -> Path:
    return Path(out) / run_id


def save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> "dict | None":
    return torch.load(path, map_location="cpu", weights_only=False) if path.is_file() else None


def rng_state(order: torch.Generator, aug: torch.Generator) -> dict:
    return {"order": order.get_state(), "aug": aug.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def restore_rng(state: dict, order: torch.Generator, aug: torch.Generator) -> None:
    order.set_state(state["order"])
    aug.set_state(state["aug"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_labels(path: Path, arrays: dict) -> None:
    if not path.is_file():
        np.savez_compressed(path, **arrays)


def summarise(rows: list) -> dict:
    """Last-epoch test accuracy and the test accuracy at the best noisy-validation epoch (the
    first such epoch; with no validation split, the last epoch)."""
    if not rows:
        return {}
    last = rows[-1]
    vals = [r["val_acc_noisy"] for r in rows]
    best = rows[int(np.nanargmax(vals))] if not all(np.isnan(v) for v in vals) else last
    return {"epochs_done": int(last["step"]), "test_acc_last": last["test_acc"],
            "test_acc_at_best_val": best["test_acc"], "best_val_epoch": int(best["step"]),
            "best_val_acc_noisy": best["val_acc_noisy"], "train_acc_noisy_last": last["train_acc_noisy"],
            "train_acc_true_last": last["train_acc_true"], "peak_test_acc": max(r["test_acc"] for r in rows)}


def store_record(cfg, run_id: str, status: str, rows: list, info: dict, env: dict,
                 started: float, ended: float, error: "str | None" = None) -> dict:
    """The ``ResultStore.write`` record of a run (the same fields the sweeps write)."""
    summary = {**summarise(rows), "noise_realised_rate": info["noise"]["realised_rate"],
               "settings": cfg.hashed()}
    cell = f"{cfg.dataset} {cfg.noise_type} p={cfg.noise_rate:g} {cfg.model}"
    return {"run_id": run_id, "cell": cell, "method": cfg.method, "seed": cfg.seed, "status": status,
            "error": error, "started": started, "ended": ended, "seconds": ended - started,
            "task_id": run_id, "config": cfg.hashed(), "summary": summary, "info": info,
            "environment": env, "rows": rows}
