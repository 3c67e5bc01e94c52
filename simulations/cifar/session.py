"""One training run end to end: data → noise/split → model → resume or start → train → store.

The run_id is the hash of the resolved config (``TrainConfig.hashed``), as for the sweeps, so the
same command finds its own checkpoint and store row. Order of the seeded draws: the model's
initialisation from ``torch.manual_seed(seed)``; the data order and the augmentation stream from
their own generators seeded (seed, stream); on resume all three are restored from the checkpoint.

``run(write_store=False)`` (a grid's worker): checkpoints as usual but leaves the store to the
coordinator, which writes the returned record (DESIGN.md: only the coordinating process writes).
"""

from __future__ import annotations

import time

import torch

from theorem_lab.simulations.grid import config_hash
from theorem_lab.simulations.store import ResultStore
from theorem_lab.simulations.sweep import environment

from . import record as R
from .data import load
from .download import download
from .models import build, count_params
from .split import make_split
from .train import train

ORDER_STREAM, AUG_STREAM = 1, 2


class Session:
    """One stored, resumable run of ``cfg``. ``extra``: settings outside ``TrainConfig`` that
    change the outcome (a distillation student's teacher and KD settings): hashed into the run_id
    and stored in its config, ``extra['method']`` as the row's method. ``loss``: the ``train``
    loop's loss hook that goes with them."""

    def __init__(self, cfg, extra: "dict | None" = None, loss=None):
        self.cfg, self.extra, self.loss = cfg, dict(extra or {}), loss
        self.run_id = config_hash({**cfg.hashed(), **self.extra})
        self.dir = R.run_dir(cfg.out, self.run_id)

    def weights_path(self, epoch: int):
        """The weights kept after ``epoch`` (``TrainConfig.keep_epochs``)."""
        return self.dir / f"epoch_{epoch}.pt"

    def _generator(self, stream: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.cfg.seed * 1000 + stream)

    def run(self, on_row=lambda row: None, write_store: bool = True) -> dict:
        cfg = self.cfg
        if cfg.download:
            download(cfg.dataset, cfg.data_dir, cfg.download_url)
        data = load(cfg.dataset, cfg.data_dir, synthetic_shape=cfg.shape,
                    synthetic_train=cfg.synthetic_train, synthetic_test=cfg.synthetic_test,
                    synthetic_signal=cfg.synthetic_signal)
        split = make_split(data, cfg, cfg.device)
        self.dir.mkdir(parents=True, exist_ok=True)
        R.save_labels(self.dir / "labels.npz", split.arrays)
        torch.manual_seed(cfg.seed)
        c, h, _ = data.shape
        model = build(cfg.model, c, data.classes, h, cfg.width).to(cfg.device)
        if cfg.device == "cuda":
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                              weight_decay=cfg.weight_decay)
        state = {"epoch": 0, "rows": [], "order": self._generator(ORDER_STREAM),
                 "aug": self._generator(AUG_STREAM), "started": time.time()}
        ckpt_path = self.dir / "checkpoint.pt"
        ckpt = R.load_checkpoint(ckpt_path)
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            R.restore_rng(ckpt["rng"], state["order"], state["aug"])
            state.update(epoch=ckpt["epoch"], rows=ckpt["rows"], started=ckpt["started"])
            for row in state["rows"]:
                on_row(row)
        info = {"parameters": count_params(model), "noise": split.noise,
                "noise_convention": cfg.noise_convention if cfg.noise_type == "symmetric" else None,
                "alpha_clip": cfg.alpha_clip, "n_train": int(split.x_train.shape[0]),
                "n_val": int(split.x_val.shape[0]), "n_test": int(split.x_test.shape[0]),
                "labels_file": str(self.dir / "labels.npz"), "profile": cfg.profile}
        env = environment({"backend": "torch", "device": cfg.device,
                           "dtype": "bfloat16-autocast" if cfg.device == "cuda" else "float32"},
                          torch.get_num_threads())
        store = ResultStore(cfg.out) if write_store else None

        def write(status, error=None):
            rec = R.store_record(cfg, self.run_id, status, state["rows"], info, env,
                                 state["started"], time.time(), error)
            if self.extra:
                rec["config"] = {**rec["config"], **self.extra}
                rec["method"] = self.extra.get("method", rec["method"])
            if store is not None:
                store.write(rec)
            return rec

        def on_epoch(row, st):
            if st["epoch"] in cfg.keep_epochs:
                R.save_checkpoint(self.weights_path(st["epoch"]), model.state_dict())
            R.save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                          "rng": R.rng_state(st["order"], st["aug"]),
                                          "epoch": st["epoch"], "rows": st["rows"],
                                          "started": st["started"], "config": cfg.hashed()})
            write("finished" if st["epoch"] == cfg.epochs else "running")
            on_row(row)

        bar = None
        if cfg.progress and state["epoch"] < cfg.epochs:
            from tqdm import tqdm
            bar = tqdm(total=0, unit="step", leave=False, dynamic_ncols=True, disable=None)
        try:
            train(cfg, split, model, opt, state, on_epoch, bar, self.loss)
        except KeyboardInterrupt:
            write("interrupted", "KeyboardInterrupt")
            raise
        finally:
            if bar is not None:
                bar.close()
        rec = write("finished")
        if store is not None:
            store.close()
        return rec
