"""Anisotropic information retrieval (AIR, spec §1.11, E-43/E-44) on clusterable data.

The NTK Gram H = J Jᵀ (empirical, at initialisation or at step t of GD) or its infinite-width
limit Σ(X) (Definition 2) is eigendecomposed, H = Σ_i λ_i e_i e_iᵀ, λ₁ ≥ λ₂ ≥ …. For a label
vector z the *top-K fraction* is

    ρ_K(z) = ‖P_K z‖₂ / ‖z‖₂,     P_K = Σ_{i ≤ K} e_i e_iᵀ

(the paper's "informative information" ρ₅ with K = 5; here K defaults to the number of
clusters). Figure 2: ρ_K(y) for label-noise levels 0, 0.1, …, 0.5 (it should decrease).
Figure 5: the information gain ρ_K(ŷ_t) − ρ_K(y) of the self-distillation targets
ŷ_t = α_t y + (1 − α_t) h(f(W_t, X)) over the first iterations (it should be mostly > 0).
How close the top-K eigenspace is to S₊ is reported as principal angles (radians).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.linalg import subspace_angles

import theorem_lab as tl
from theorem_lab import kernels
from theorem_lab.covariance import infinite_width_gram
from theorem_lab import engine
from theorem_lab.engine import RunInputs, log_steps
from theorem_lab.errors import check_choice, check_int, check_real, check_unique
from theorem_lab.network import init_seed
from theorem_lab.schedules import parse_schedule

NTK_MODES = ("empirical", "infinite")
_OWNER = "air"


# --------------------------------------------------------------------------- pure functions
def ntk_eigh(X, activation, W=None, mode: str = "empirical", v=None):
    """(λ, E): eigenvalues in decreasing order and eigenvectors (columns) of the NTK Gram.

    ``mode='empirical'``: J(W, X)J(W, X)ᵀ at the given W; ``'infinite'``: Σ(X). float64, host.
    """
    check_choice("mode", mode, _OWNER, NTK_MODES)
    if mode == "infinite":
        H = tl.to_numpy(infinite_width_gram(X, activation))
    else:
        H = tl.to_numpy(kernels.jacobian_gram(W, X, activation, v=v))
    H = (np.asarray(H, dtype=np.float64) + np.asarray(H, dtype=np.float64).T) / 2
    lam, E = np.linalg.eigh(H)
    return lam[::-1], E[:, ::-1]


def topk_fraction(E, z, K: int) -> float:
    """ρ_K(z) = ‖E_Kᵀ z‖₂ / ‖z‖₂ with E_K the first K columns of E (orthonormal)."""
    z = np.asarray(tl.to_numpy(z), dtype=np.float64)
    nz = np.linalg.norm(z)
    return float(np.linalg.norm(E[:, :K].T @ z) / nz) if nz > 0 else float("nan")


def support_angles(E, cluster, K: "int | None" = None) -> np.ndarray:
    """Principal angles (radians, ascending) between span(e_1..e_K) and S₊ (Definition 4)."""
    U = kernels.support_basis(cluster)
    K = U.shape[1] if K is None else K
    return np.sort(subspace_angles(E[:, :K], U))


def noisy_labels(y_true, noise: float, seed: int) -> np.ndarray:
    """y_true with each label flipped independently with probability ``noise`` (Figure 2)."""
    flip = np.random.default_rng(seed).random(len(y_true)) < noise
    return np.where(flip, -y_true, y_true).astype(np.float64)


# --------------------------------------------------------------------------- experiments
@dataclass(frozen=True)
class AirConfig:
    """One AIR experiment on clusterable data (saved with its results)."""

    n: int = 200                 # training points
    K: int = 5                   # clusters
    d: int = 20                  # input dimension
    eps: float = 0.3             # cluster radius ε
    width: int = 1024            # k (empirical NTK)
    activation: str = "tanh"
    seeds: tuple = (0, 1, 2, 3, 4)
    topk: "int | None" = None    # K of ρ_K; None = number of clusters
    ntk: str = "empirical"       # 'empirical' (at init / at step t) or 'infinite' (Σ(X))
    noise_levels: tuple = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    rho: float = 0.3             # label noise of the Figure 5 runs (make_clusterable)
    iterations: int = 1500       # Figure 5 horizon
    every: int = 50              # Figure 5: evaluate every this many steps
    schedule: str = "linear"     # α_t of Algorithm 1 in Figure 5
    label_fn: str = "sign"       # h in Figure 5 (the paper's experiments use hardmax)
    lr: "float | None" = None    # None: 1/λ_max(J₀J₀ᵀ)

    def validated(self) -> "AirConfig":
        check_int("n", self.n, _OWNER, low=4)
        check_int("K", self.K, _OWNER, low=2)
        check_int("d", self.d, _OWNER, low=2)
        check_real("eps", self.eps, _OWNER, low=0.0, high=2.0, low_open=True)
        check_real("rho", self.rho, _OWNER, low=0.0, high=0.5, high_open=True)
        check_int("width", self.width, _OWNER, low=2, even=True)
        check_choice("ntk", self.ntk, _OWNER, NTK_MODES)
        check_choice("activation", self.activation, _OWNER, tl.ACTIVATIONS)
        for p in self.noise_levels:
            check_real("noise", p, _OWNER, low=0.0, high=0.5)
        if self.topk is not None:
            check_int("topk", self.topk, _OWNER, low=1, high=self.n)
        check_int("iterations", self.iterations, _OWNER, low=1)
        check_int("every", self.every, _OWNER, low=1)
        if self.lr is not None:
            check_real("lr", self.lr, _OWNER, low=0.0, low_open=True)
        if not self.seeds:
            raise tl.ParameterError("The 'seeds' parameter of air must be a non-empty list of "
                                    "integers. Got () instead.")
        for s in self.seeds:
            check_int("seeds", s, _OWNER, low=0)
        check_unique(list(self.seeds), "seeds", _OWNER, self.seeds)
        return self

    @property
    def k_top(self) -> int:
        return self.K if self.topk is None else self.topk


def _instance(cfg: AirConfig, seed: int, rho: float = 0.0):
    data = tl.make_clusterable(n=cfg.n, K=cfg.K, d=cfg.d, eps=cfg.eps, rho=rho, seed=seed, n_test=0)
    net = tl.TwoLayerNet.init(d=cfg.d, k=cfg.width, activation=cfg.activation,
                              seed=init_seed(seed))
    return data, net


def figure2(cfg: AirConfig) -> dict:
    """ρ_K(y) for each noise level and seed; plus the S₊ principal angles of each instance."""
    cfg = cfg.validated()
    frac = np.zeros((len(cfg.seeds), len(cfg.noise_levels)))
    angles = []
    for a, seed in enumerate(cfg.seeds):
        data, net = _instance(cfg, seed)
        _, E = ntk_eigh(data.X, cfg.activation, net.W, cfg.ntk)
        angles.append(support_angles(E, data.cluster, cfg.K))
        for b, p in enumerate(cfg.noise_levels):
            frac[a, b] = topk_fraction(E, noisy_labels(data.y_true, p, seed * 1000 + b), cfg.k_top)
    return {"noise": np.asarray(cfg.noise_levels), "fraction": frac,
            "mean": frac.mean(axis=0), "std": frac.std(axis=0, ddof=1) if len(cfg.seeds) > 1
            else np.zeros(len(cfg.noise_levels)),
            "max_angle": np.array([a[-1] for a in angles]), "angles": angles}


def algorithm1_inputs(data, net, cfg: AirConfig) -> RunInputs:
    """The engine's inputs for Algorithm 1 on ``data`` from ``net.W`` (α_t from ``cfg.schedule``),
    with η = ``cfg.lr`` or 1/λ_max(J₀J₀ᵀ). No test set."""
    X = data.X
    sched = parse_schedule(cfg.schedule, cfg.iterations)
    eta = cfg.lr if cfg.lr is not None else 1.0 / kernels.lambda_max(net.W, X, net.activation)
    alpha = None if sched.adaptive else sched.values(cfg.iterations)
    return RunInputs(X=X, y=data.y, y_true=data.y_true, X_test=np.zeros((0, X.shape[1])),
                     y_test=np.zeros(0), U=kernels.support_basis(data.cluster), W0=net.W, lr=eta,
                     alpha=alpha, adaptive_lam=sched.params.get("lam", 1.0),
                     label_fn=cfg.label_fn, rho_h=data.rho)


def self_distill_gain(data, net, cfg: AirConfig) -> dict:
    """Run Algorithm 1 (full batch, MSE) for ``cfg.iterations`` steps; every ``cfg.every`` steps
    return ρ_K(ŷ_t), ρ_K(y), the gain, and the largest principal angle to S₊. The eigenspace is
    the empirical NTK at W_t (``ntk='empirical'``) or Σ(X) (``'infinite'``)."""
    X, y = data.X, data.y
    E_inf = ntk_eigh(X, net.activation, mode="infinite")[1] if cfg.ntk == "infinite" else None
    run = algorithm1_inputs(data, net, cfg)
    rows = []

    def evaluate(t, W, f, target, alpha):                    # every cfg.every steps (and the last)
        E = E_inf if E_inf is not None else ntk_eigh(X, net.activation, np.asarray(W[0]))[1]
        ry, rt = topk_fraction(E, y, cfg.k_top), topk_fraction(E, target[0], cfg.k_top)
        rows.append((t, float(alpha[0]), ry, rt, rt - ry, support_angles(E, data.cluster)[-1]))

    engine.run([run], net.v, net.activation, cfg.iterations,
               tl.resolve_backend("numpy", "cpu", "float64", _OWNER),
               log_steps(cfg.iterations, cfg.iterations), observe=evaluate,
               observe_at=log_steps(cfg.iterations, cfg.every))
    cols = np.array(rows)
    return {"step": cols[:, 0], "alpha": cols[:, 1], "fraction_y": cols[:, 2],
            "fraction_target": cols[:, 3], "gain": cols[:, 4], "max_angle": cols[:, 5], "lr": run.lr}


def figure5(cfg: AirConfig) -> dict:
    """Information gain ρ_K(ŷ_t) − ρ_K(y) over the first ``iterations`` steps, per seed."""
    cfg = cfg.validated()
    runs = [self_distill_gain(*_instance(cfg, seed, cfg.rho), cfg) for seed in cfg.seeds]
    gain = np.stack([r["gain"] for r in runs])                          # (seeds, evals)
    return {"step": runs[0]["step"], "gain": gain, "mean": gain.mean(axis=0),
            "std": gain.std(axis=0, ddof=1) if len(runs) > 1 else np.zeros(gain.shape[1]),
            "fraction_y": np.stack([r["fraction_y"] for r in runs]),
            "fraction_target": np.stack([r["fraction_target"] for r in runs]),
            "max_angle": np.stack([r["max_angle"] for r in runs]),
            "positive_share": float(np.mean(gain[:, 1:] > 0)) if gain.shape[1] > 1 else float("nan")}


def shown_modes(n: int, K: int) -> list:
    """The eigen-directions drawn one by one (1-based, distinct): the top one, the last of the
    top K (S₊'s share), the first after it, one in the middle of the spectrum and the last."""
    return sorted({1, K, min(K + 1, n), max(1, n // 2), n})


def modes(cfg: AirConfig) -> dict:
    """AIR mode by mode (Section 2.3; Arora et al. 2019), on the first seed's instance.

    With H = Σ_i λ_i e_i e_iᵀ the NTK at W₀ (or Σ(X)): the label energy of every mode,
    (e_iᵀỹ)²/n (clean) and (e_iᵀy)²/n (noisy, ρ = ``cfg.rho``); and, every ``cfg.every`` steps
    of GD on y and of Algorithm 1 (same W₀, same η), the residual's projections on the modes
    ``shown_modes``: e_iᵀ(f(W_t, X) − y) and e_iᵀ(f(W_t, X) − ỹ). For GD on y the frozen-kernel
    prediction is e_iᵀ(f_t − y) = (1 − ηλ_i)^t e_iᵀ(f_0 − y) (exact for the linearised network;
    the gap is the kernel's drift). Rows of the residual arrays follow ``shown`` (1-based)."""
    cfg = cfg.validated()
    data, net = _instance(cfg, cfg.seeds[0], cfg.rho)
    X, y = data.X, data.y
    lam, E = ntk_eigh(X, net.activation, net.W, cfg.ntk)
    sd = algorithm1_inputs(data, net, cfg)
    runs = [replace(sd, alpha=np.ones(cfg.iterations + 1)), sd]          # GD on y, Algorithm 1
    eta = sd.lr
    shown = shown_modes(data.n, cfg.K)
    Es = E[:, [i - 1 for i in shown]]
    steps, coef = [], []

    def record(t, W, f, target, alpha):
        steps.append(t)
        coef.append(Es.T @ (np.asarray(tl.to_numpy(f), dtype=np.float64) - y).T)       # (modes, 2)

    engine.run(runs, net.v, net.activation, cfg.iterations,
               tl.resolve_backend("numpy", "cpu", "float64", _OWNER),
               log_steps(cfg.iterations, cfg.iterations), observe=record,
               observe_at=log_steps(cfg.iterations, cfg.every))
    c = np.stack(coef, axis=1)                                  # (modes, steps, 2), to y
    to_clean = (Es.T @ (y - data.y_true))[:, None]              # e_iᵀ(y − ỹ)
    t = np.asarray(steps, dtype=np.float64)
    lam_s = lam[[i - 1 for i in shown]]
    return {"lam": lam, "energy_clean": (E.T @ data.y_true) ** 2 / data.n,
            "energy_noisy": (E.T @ y) ** 2 / data.n, "shown": shown, "step": t, "lr": eta,
            "gd_noisy": c[:, :, 0], "sd_noisy": c[:, :, 1],
            "gd_clean": c[:, :, 0] + to_clean, "sd_clean": c[:, :, 1] + to_clean,
            "gd_predicted": (1.0 - eta * lam_s)[:, None] ** t[None, :] * c[:, :1, 0],
            "K": cfg.K, "n": data.n, "rho": data.rho, "seed": cfg.seeds[0],
            "schedule": cfg.schedule, "ntk": cfg.ntk}


def config_dict(cfg: AirConfig) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()}


def ntk_dynamics(data, net, steps: int = 20, lr: "float | None" = None) -> dict:
    """E-43 on plain GD (targets y): per step t,

    exact      ‖u_{t+1} − y − (I − ηH_t)(u_t − y)‖ / ‖u_t − y‖ with H_t = J̄(W_{t+1}, W_t) J_tᵀ
               (exact up to quadrature: should be round-off)
    H_vs_Hhat  ‖H_t − Ĥ_t‖ / ‖Ĥ_t‖, Ĥ_t = J_t J_tᵀ (→ 0 as k → ∞)
    modewise   max_i |⟨u_{t+1} − y, e_i⟩ − (1 − ηλ_i)⟨u_t − y, e_i⟩| / ‖u_t − y‖ for the
               eigenpairs of Ĥ_0 (the frozen-kernel prediction; → 0 as k → ∞)
    """
    X, y, act = data.X, data.y, net.activation
    eta = lr if lr is not None else 1.0 / kernels.lambda_max(net.W, X, act)
    lam0, E0 = ntk_eigh(X, act, net.W)
    W = np.array(net.W, copy=True)
    out = {"exact": [], "H_vs_Hhat": [], "modewise": []}
    for _ in range(steps):
        u = net.with_weights(W).forward(X)
        W1 = W - eta * net.with_weights(W).gradient(X, y)
        u1 = net.with_weights(W1).forward(X)
        H = kernels.gram(kernels.average_jacobian(W1, W, X), kernels.as_sum(W, X), act)
        Hhat = kernels.jacobian_gram(W, X, act)
        r, r1 = u - y, u1 - y
        nr = np.linalg.norm(r)
        out["exact"].append(np.linalg.norm(r1 - (r - eta * H @ r)) / nr)
        out["H_vs_Hhat"].append(np.linalg.norm(H - Hhat, 2) / np.linalg.norm(Hhat, 2))
        out["modewise"].append(np.max(np.abs(E0.T @ r1 - (1 - eta * lam0) * (E0.T @ r))) / nr)
        W = W1
    return {k: np.asarray(v) for k, v in out.items()} | {"lr": eta}
