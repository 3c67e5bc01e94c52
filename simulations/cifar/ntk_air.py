"""Figures 2 and 5 of the paper on ResNet-56's empirical NTK (§2.3, §3.5, Appendix B).

The task (Appendix B): CIFAR-10 made binary, classes 2 and 7 (bird, horse) → +1, the other
eight → −1; ResNet-56 with one scalar output, MSE loss ½(f − y)², SGD with batch 128, momentum
0.9, weight decay 5e-4, learning rate 0.1. The kernel: the empirical NTK Gram Θ = J Jᵀ of a batch
X_B of 128 test images (``ntk.ntk_gram``), eigenpairs λ₁ ≥ … ≥ λ₁₂₈ with eigenvectors e_i, and

    ρ₅(z) = ‖P₅ z‖₂ / ‖z‖₂,     P₅ = Σ_{i ≤ 5} e_i e_iᵀ                (``air.topk_fraction``)

Figure 2: ρ₅(y_B^{(p)}) for the batch's labels with each sign flipped with probability p ∈ {0, 0.1,
…, 0.5} (``air.noisy_labels``, as the synthetic ``theorem-lab air``), per seed, for Θ at
initialisation and after ``train_steps`` SGD steps on the clean training labels.
Figure 5: self-distillation (Algorithm 1 with h = sign, the binary hardmax, and the paper's
adaptive α_t: 1 − α_t = λ·accuracy of sign(f) on the current training batch, clipped to [0, 1])
on training labels flipped with probability ``gain_noise``; every ``every`` iterations t the
information gain ρ₅(ŷ_t) − ρ₅(y_B), with ŷ_t = α_t·y_B + (1 − α_t)·sign(f(θ_t, X_B)) the
self-distillation target of the batch and Θ taken at θ_t.

What the paper leaves open, recorded with every result (``OPEN``): how long "after training"
trains, whether Figure 5's eigenspace is Θ at θ_t or at θ₀, Figure 5's noise level, the NTK's
BatchNorm mode (eval: running statistics), the batch (a seeded random one), seeds and error bars.

Stored records (``<out>/results.sqlite``, method ``ntk-fig2`` / ``ntk-fig5``): one per
(stage, noise level, seed) for Figure 2 and one per seed for Figure 5, keyed by the config hash;
the Grams (``<out>/ntk/<key>.npz``) and the trained weights (``<out>/ntk/<key>.pt``) are kept, so a
rerun recomputes nothing and an interrupted one keeps every finished record.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from theorem_lab.simulations.air import noisy_labels, topk_fraction
from theorem_lab.simulations.grid import config_hash
from theorem_lab.simulations.store import ResultStore
from theorem_lab.simulations.sweep import environment

from . import ntk as NTK
from .augment import channel_stats, crop_flip, normalise
from .data import load
from .models import ResNetCifar
from .record import load_checkpoint, save_checkpoint

POSITIVE = (2, 7)                       # Appendix B: "class 2, 7 to be the positive class"
DEPTHS = {"resnet56": 9, "resnet20": 3, "resnet8": 1}   # blocks per stage: depth = 6n + 2
STAGES = ("init", "trained")
TOP_K = 5                               # ρ₅
OPEN = {
    "after_training": "Figure 2's 'after training' length is not given: train_steps SGD steps on "
                      "the clean binary training labels",
    "figure5_kernel": "Figure 5's eigenspace: Θ at the current θ_t (re-computed at every evaluation)",
    "figure5_noise": "Figure 5's label noise is not given: each training and batch label flipped "
                     "with probability gain_noise",
    "alpha": "Figure 5's α_t: the adaptive rule of §3.4, 1 − α_t = λ·(batch accuracy), clipped",
    "batchnorm": "Θ in eval mode (BatchNorm running statistics), so f(θ, x_i) depends on x_i alone",
    "batch": "a seeded random batch of test images (about 20 % positive, as the task)",
    "schedule": "constant learning rate 0.1 (the appendix names no schedule); pad-4 crops and flips",
    "noise": "Figure 2's corruption: each label's sign flipped with probability p (as air)",
}


FIG2_ONLY = ("train_steps",)                            # fields only one figure depends on
FIG5_ONLY = ("iterations", "every", "gain_noise", "lam")


@dataclass(frozen=True)
class NtkAirConfig:
    profile: str = "fast"
    dataset: str = "cifar10"
    data_dir: "str | None" = None
    synthetic_train: int = 512
    synthetic_test: int = 128
    train_subset: int = 0                 # 0 = all training images
    model: str = "resnet56"
    ntk_batch: int = 128                  # images in X_B
    noise_levels: tuple = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    seeds: tuple = (0, 1, 2)
    train_steps: int = 2000               # Figure 2 "after training" (SGD steps)
    iterations: int = 1500                # Figure 5 horizon (SGD steps)
    every: int = 100                      # Figure 5: evaluate Θ every this many steps
    gain_noise: float = 0.2               # Figure 5's label noise
    lam: float = 1.0                      # λ of the adaptive α_t
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    device: str = "cpu"
    out: str = "runs/ntk-air"

    def hashed(self, figure: "int | None" = None) -> dict:
        """The fields that change a record of ``figure`` (2 or 5; None: both figures')."""
        d = asdict(self)
        drop = ("profile", "data_dir", "out", "noise_levels", "seeds", "device")
        drop += {2: FIG5_ONLY, 5: FIG2_ONLY, None: ()}[figure]
        return {k: v for k, v in d.items() if k not in drop}


PROFILES = {   # every value can be overridden by its option
    "paper": {"dataset": "cifar10", "model": "resnet56", "ntk_batch": 128, "seeds": (0, 1, 2, 3, 4),
              "train_steps": 19550, "iterations": 1500, "every": 50},
    "fast": {"dataset": "cifar10", "model": "resnet56", "ntk_batch": 128, "seeds": (0, 1, 2),
             "train_steps": 2000, "iterations": 1500, "every": 100},
    "smoke": {"dataset": "synthetic", "model": "resnet8", "ntk_batch": 16, "seeds": (0, 1),
              "train_steps": 10, "iterations": 20, "every": 10, "batch_size": 16,
              "synthetic_train": 128, "synthetic_test": 32},
}
COST = {   # estimates from the work counted (not measured here: no GPU was available)
    "paper": "ResNet-56, 5 seeds x (19 550 + 1 500 SGD steps of batch 128) and 5 x 33 NTK Grams "
             "of 128 images x 0.85 M parameters: roughly half an hour on one H100-class GPU "
             "(estimated)",
    "fast": "3 seeds x (2 000 + 1 500 steps) and 3 x 18 Grams: about 5 minutes on one GPU (estimated)",
    "smoke": "synthetic images, ResNet-8, an NTK batch of 16: about a minute on a CPU"}


def binary_labels(y: np.ndarray) -> np.ndarray:
    """Appendix B's task: +1 for classes 2 and 7, −1 for the rest (float64)."""
    return np.where(np.isin(y, POSITIVE), 1.0, -1.0)


def build_model(cfg: NtkAirConfig, channels: int = 3) -> torch.nn.Module:
    """ResNet-(6n+2) with one scalar output (``DEPTHS``)."""
    return ResNetCifar(channels, 1, n=DEPTHS[cfg.model])


def ntk_param_count(cfg: NtkAirConfig) -> int:
    """P, the number of trainable parameters (the Jacobian's columns)."""
    return NTK.param_count(build_model(cfg))


class Task:
    """The binary data on the device: training images and labels, the NTK batch, its labels."""

    def __init__(self, cfg: NtkAirConfig):
        data = load(cfg.dataset, cfg.data_dir, synthetic_shape=(3, 32, 32),
                    synthetic_train=cfg.synthetic_train, synthetic_test=cfg.synthetic_test)
        dev = cfg.device
        idx = np.arange(data.y_train.size)
        if cfg.train_subset:
            idx = np.sort(np.random.default_rng(0).choice(idx, cfg.train_subset, replace=False))
        self.x_train = torch.as_tensor(data.x_train[idx], device=dev)
        self.y_train = binary_labels(data.y_train[idx])                     # (n,) clean ±1
        self.mean, self.std = channel_stats(self.x_train)
        self.x_test, self.y_test = data.x_test, binary_labels(data.y_test)
        self.channels, self.nb = data.x_train.shape[1], cfg.ntk_batch

    def batch(self, seed: int) -> tuple[torch.Tensor, np.ndarray]:
        """X_B (normalised, on the device) and its clean labels y_B: a seeded random test batch."""
        pick = np.sort(np.random.default_rng([seed, 7]).choice(self.y_test.size, self.nb,
                                                                replace=False))
        x = normalise(torch.as_tensor(self.x_test[pick], device=self.x_train.device), self.mean, self.std)
        return x, self.y_test[pick]


def seeded_model(cfg: NtkAirConfig, seed: int, channels: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(cfg, channels).to(cfg.device)


def sgd_mse(model, task: Task, labels: torch.Tensor, cfg: NtkAirConfig, steps: int, seed: int,
            distill: bool = False, observe=None, observe_at=()) -> None:
    """``steps`` SGD steps on ½·mean (f − target)² with batch ``cfg.batch_size`` (pad-4 crops and
    flips). target = labels, or with ``distill`` Algorithm 1's ŷ_t = α_t·y + (1 − α_t)·sign(f),
    1 − α_t = λ·(accuracy of sign(f) on the batch), clipped. ``observe(t, α_t)`` is called before
    the update of each step t in ``observe_at`` (t = steps: after the last update)."""
    gen = torch.Generator().manual_seed(seed * 1000 + 3)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    n = task.x_train.shape[0]
    model.train()
    for t in range(steps + 1):
        if t == steps and t not in observe_at:
            break
        idx = torch.randint(0, n, (min(cfg.batch_size, n),), generator=gen).to(task.x_train.device)
        xb = crop_flip(normalise(task.x_train[idx], task.mean, task.std), gen)
        f = model(xb).squeeze(1)
        y = labels[idx]
        alpha = torch.ones((), device=f.device)
        target = y
        if distill:
            acc = (torch.sign(f.detach()) == y).float().mean()
            alpha = (1.0 - cfg.lam * acc).clamp(0.0, 1.0)
            target = alpha * y + (1.0 - alpha) * torch.sign(f.detach())
        if t in observe_at:
            observe(t, float(alpha))
            model.train()
        if t == steps:
            break
        loss = 0.5 * ((f - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def gram_record(model, x_batch) -> dict:
    """Θ of ``model`` on X_B, its spectrum and the PSD check."""
    G = NTK.ntk_gram(model, x_batch).numpy()
    lam, E = NTK.spectrum(G)
    return {"gram": G, "lam": lam, "E": E}


def _cached_gram(path: Path, make) -> dict:
    if path.is_file():
        with np.load(path) as z:
            G = z["gram"]
        lam, E = NTK.spectrum(G)
        return {"gram": G, "lam": lam, "E": E}
    rec = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, gram=rec["gram"])
    tmp.replace(path)
    return rec


def _spectrum_summary(lam: np.ndarray, dtype) -> dict:
    return {"lambda_min": float(lam[-1]), "lambda_max": float(lam[0]),
            "top_eigenvalues": lam[:TOP_K].tolist(), "roundoff": NTK.roundoff_bound(lam, lam.size, dtype)}


def _record(cfg, key: dict, cell: str, method: str, seed: int, summary: dict, env: dict, rows=(),
            started: float = 0.0) -> dict:
    ended = time.time()
    return {"run_id": config_hash(key), "cell": cell, "method": method, "seed": seed,
            "status": "finished", "error": None, "started": started, "ended": ended,
            "seconds": ended - started, "task_id": config_hash(key), "config": key,
            "summary": summary, "info": {"open": OPEN, "profile": cfg.profile}, "environment": env,
            "rows": list(rows)}


TRAINING = ("train_steps", "batch_size", "lr", "momentum", "weight_decay")


def stage_key(cfg: NtkAirConfig, stage: str, seed: int) -> dict:
    """What Θ of a Figure 2 stage depends on (at initialisation: not the training settings)."""
    base = cfg.hashed(2)
    if stage == "init":
        base = {k: v for k, v in base.items() if k not in TRAINING}
    return {**base, "stage": stage, "seed": int(seed)}


def noise_stream(seed: int, p: float) -> list:
    """The flips of the batch at level p: a stream of (seed, p), so a record does not depend on
    which other levels were asked for."""
    return [int(seed), int(round(p * 10 ** 6))]


def fig2_key(cfg: NtkAirConfig, stage: str, p: float, seed: int) -> dict:
    return {**stage_key(cfg, stage, seed), "figure": 2, "noise": float(p)}


def fig5_key(cfg: NtkAirConfig, seed: int) -> dict:
    return {**cfg.hashed(5), "figure": 5, "seed": int(seed)}


def run(cfg: NtkAirConfig, log=lambda line: None) -> dict:
    """Every missing record of Figures 2 and 5; returns how many were computed now."""
    out = Path(cfg.out)
    cache = out / "ntk"
    store = ResultStore(out)
    env = environment({"backend": "torch", "device": cfg.device, "dtype": "float32"},
                      torch.get_num_threads())
    done = store.final_ids()
    task, computed = None, 0
    try:
        for seed in cfg.seeds:
            keys2 = [(stage, p, fig2_key(cfg, stage, p, seed)) for stage in STAGES for p in cfg.noise_levels]
            missing2 = [(s, p, k) for s, p, k in keys2 if config_hash(k) not in done]
            k5 = fig5_key(cfg, seed)
            if not missing2 and config_hash(k5) in done:
                continue
            task = task or Task(cfg)
            xb, yb = task.batch(seed)
            y_train = torch.as_tensor(task.y_train, dtype=torch.float32, device=cfg.device)
            for stage in sorted({s for s, _, _ in missing2}, key=STAGES.index):
                started = time.time()
                model = seeded_model(cfg, seed, task.channels)
                if stage == "trained":
                    weights = cache / f"{config_hash({**stage_key(cfg, 'trained', seed), 'weights': True})}.pt"
                    if weights.is_file():
                        model.load_state_dict(load_checkpoint(weights))
                    else:
                        log(f"seed {seed}: {cfg.train_steps} SGD steps on the clean labels")
                        sgd_mse(model, task, y_train, cfg, cfg.train_steps, seed)
                        weights.parent.mkdir(parents=True, exist_ok=True)
                        save_checkpoint(weights, model.state_dict())
                gkey = config_hash({**stage_key(cfg, stage, seed), "gram": True})
                g = _cached_gram(cache / f"{gkey}.npz", lambda: gram_record(model, xb))
                spec = _spectrum_summary(g["lam"], torch.float32)
                log(f"seed {seed} {stage}: λ_max {spec['lambda_max']:.4g}, λ_min {spec['lambda_min']:.3g}")
                for p in cfg.noise_levels:
                    key = fig2_key(cfg, stage, p, seed)
                    if config_hash(key) in done:
                        continue
                    y = noisy_labels(yb, p, noise_stream(seed, p))
                    rho = topk_fraction(g["E"], y, TOP_K)
                    store.write(_record(cfg, key, f"ntk-air fig2 {stage} p={p:g}", "ntk-fig2", seed,
                                        {"rho5": rho, "flipped": float(np.mean(y != yb)), **spec},
                                        env, started=started))
                    computed += 1
            if config_hash(k5) not in done:
                computed += _figure5_seed(cfg, task, xb, yb, seed, store, env, k5, log)
    finally:
        store.close()
    return {"computed": computed}


def _figure5_seed(cfg, task, xb, yb, seed, store, env, key, log) -> int:
    started = time.time()
    y_train = noisy_labels(task.y_train, cfg.gain_noise, [seed, 5])
    labels = torch.as_tensor(y_train, dtype=torch.float32, device=cfg.device)
    yb_noisy = noisy_labels(yb, cfg.gain_noise, [seed, 6])
    model = seeded_model(cfg, seed, task.channels)
    at = sorted(set(range(0, cfg.iterations + 1, cfg.every)) | {cfg.iterations})
    rows = []

    def observe(t, alpha):
        g = gram_record(model, xb)
        model.eval()
        with torch.no_grad():
            h = torch.sign(model(xb).squeeze(1)).double().cpu().numpy()
        target = alpha * yb_noisy + (1.0 - alpha) * h                   # ŷ_t on X_B
        ry, rt = topk_fraction(g["E"], yb_noisy, TOP_K), topk_fraction(g["E"], target, TOP_K)
        rows.append({"step": t, "alpha": alpha, "rho5_y": ry, "rho5_target": rt, "gain": rt - ry,
                     "lambda_min": float(g["lam"][-1]), "lambda_max": float(g["lam"][0])})

    log(f"seed {seed}: self-distillation, {cfg.iterations} iterations, Θ every {cfg.every}")
    sgd_mse(model, task, labels, cfg, cfg.iterations, seed, distill=True, observe=observe,
            observe_at=set(at))
    gains = np.array([r["gain"] for r in rows])
    summary = {"positive_share": float(np.mean(gains[1:] > 0)) if gains.size > 1 else float("nan"),
               "mean_gain": float(gains.mean()), "final_gain": float(gains[-1])}
    store.write(_record(cfg, key, f"ntk-air fig5 noise={cfg.gain_noise:g}", "ntk-fig5", seed,
                        summary, env, rows, started))
    return 1


def collect(cfg: NtkAirConfig) -> dict:
    """The stored records of ``cfg`` as arrays (seeds × noise levels; seeds × evaluations)."""
    with ResultStore(cfg.out, readonly=True) as store:
        runs = {r["run_id"]: r for r in store.runs()}
        fig2 = {}
        for stage in STAGES:
            frac = np.array([[runs[config_hash(fig2_key(cfg, stage, p, s))]["summary"]["rho5"]
                              for p in cfg.noise_levels] for s in cfg.seeds])
            lmin = [runs[config_hash(fig2_key(cfg, stage, cfg.noise_levels[0], s))]["summary"]
                    for s in cfg.seeds]
            fig2[stage] = {"fraction": frac.tolist(), "mean": frac.mean(0).tolist(),
                           "std": (frac.std(0, ddof=1) if len(cfg.seeds) > 1 else 0 * frac[0]).tolist(),
                           "lambda_min": [m["lambda_min"] for m in lmin],
                           "lambda_max": [m["lambda_max"] for m in lmin],
                           "roundoff": [m["roundoff"] for m in lmin]}
        traj = [store.trajectory(config_hash(fig5_key(cfg, s))) for s in cfg.seeds]
    gain = np.array([t["gain"] for t in traj])
    fig5 = {"step": traj[0]["step"], "gain": gain.tolist(), "mean": gain.mean(0).tolist(),
            "std": (gain.std(0, ddof=1) if len(cfg.seeds) > 1 else 0 * gain[0]).tolist(),
            "alpha": np.array([t["alpha"] for t in traj]).mean(0).tolist(),
            "lambda_min": np.array([t["lambda_min"] for t in traj]).min(0).tolist(),
            "positive_share": float(np.mean(gain[:, 1:] > 0)) if gain.shape[1] > 1 else float("nan")}
    return {"noise": list(cfg.noise_levels), "seeds": list(cfg.seeds), "figure2": fig2, "figure5": fig5}


def with_profile(profile: str, options: dict) -> NtkAirConfig:
    """Profile defaults overridden by every option given (not None); not yet validated."""
    values = {**PROFILES[profile], **{k: v for k, v in options.items() if v is not None}}
    return replace(NtkAirConfig(), profile=profile, **values)
