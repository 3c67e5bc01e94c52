"""Lazy training, measured: how far W_t moves from W₀ and how σ_min(J(W_t, X̃), S₊) changes
along self-distillation, across widths (the picture behind Lemmas 1–2 and 6).

Lemma 1 and the stage-I induction keep W_t inside a ball of radius R around W₀ on which
σ_min(J(W, X̃), S₊) ≥ α/2; with ‖W₀‖_F ≈ √(kd) and ‖W_t − W₀‖_F of order √n·(residual)/σ_min
(independent of k in function space at the step size 1/λ_max), the relative movement
‖W_t − W₀‖_F/‖W₀‖_F should fall like k^{-1/2}: the wider the network, the lazier. Here both
are measured on the same data and seed at every width, and the exponent is fitted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LazyConfig:
    """One lazy-training experiment (the widths share data, seed and schedule)."""

    widths: tuple = (64, 256, 1024, 4096)   # k values (even)
    n: int = 200                             # training points
    clusters: int = 4                        # K
    dim: int = 20                            # d
    eps: float = 0.1                         # cluster radius ε
    rho: float = 0.3                         # label noise ρ
    activation: str = "tanh"
    steps: int = 400
    schedule: str = "linear"                 # α_t of Algorithm 1
    track_every: int = 20                    # σ_min(J, S₊) every this many steps (n×n eig each)
    seed: int = 0

    def as_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}


def run_width(cfg: LazyConfig, width: int) -> dict:
    """Self-distillation at one width: per logged step ‖W_t − W₀‖_F and, per tracked step,
    σ_min(J(W_t, X̃), S₊); plus ‖W₀‖_F."""
    import theorem_lab as tl

    from theorem_lab.network import init_seed

    data = tl.make_clusterable(n=cfg.n, K=cfg.clusters, d=cfg.dim, eps=cfg.eps, rho=cfg.rho,
                               seed=cfg.seed, n_test=0)
    net = tl.TwoLayerNet.init(d=cfg.dim, k=width, activation=cfg.activation,
                              seed=init_seed(cfg.seed))
    traj = tl.train(data, net, method="self-distill", steps=cfg.steps, schedule=cfg.schedule,
                    log_every=cfg.track_every, track_every=cfg.track_every)
    tracked = traj.tracked
    return {"width": width, "W0_norm": float(np.linalg.norm(net.W)),
            "step": traj.columns["step"].tolist(), "dist_init": traj.columns["dist_init"].tolist(),
            "l2_clean": traj.columns["l2_clean"].tolist(),
            "tracked_step": np.asarray(tracked["tracked_step"]).tolist(),
            "sigma_min_S": np.asarray(tracked["sigma_min_S+"]).tolist()}


def scaling(results: list) -> dict:
    """Fit ‖W_T − W₀‖_F/‖W₀‖_F ∝ k^s over the widths (least squares in log–log) and the largest
    relative change of σ_min(J, S₊) along training at each width."""
    ks = np.array([r["width"] for r in results], dtype=float)
    rel = np.array([r["dist_init"][-1] / r["W0_norm"] for r in results])
    out = {"relative_move": rel.tolist(), "sigma_change": [
        float(np.max(np.abs(np.asarray(r["sigma_min_S"]) / r["sigma_min_S"][0] - 1)))
        for r in results]}
    if len(ks) >= 2 and np.all(rel > 0):
        from .fits import fit_power_law
        fit = fit_power_law(ks, rel)
        out.update(exponent=fit["exponent"], exponent_se=fit["se"], intercept=fit["intercept"])
    return out


def run(cfg: LazyConfig, progress=lambda width: None) -> dict:
    results = []
    for k in cfg.widths:
        results.append(run_width(cfg, k))
        progress(k)
    return {"config": cfg.as_dict(), "widths": results, "scaling": scaling(results)}
