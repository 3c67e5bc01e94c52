"""Full-batch gradient descent with self-distillation labels (Algorithm 1) and its baselines.

Methods
    self-distill   ŷ_t = α_t·y + (1 − α_t)·h(f(W_t, X))       (Algorithm 1, full batch, MSE)
    gd             α_t ≡ 1: plain GD on the noisy labels y      (memorises the noise)
    early-stop     plain GD, reporting the stopping time of Li, Soltanolkotabi & Oymak (2019)
                   and the best-clean-ℓ2 iterate (an oracle no practitioner has)

Every run reports the oracle and the LSO19 stopping point, so the three methods compare on the
same footing. The loop logs the Theorem 1 quantities of ``trajectory.COLUMNS`` every
``log_every`` steps; T1, the oracle and divergence are checked at every step.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Literal, Optional

import numpy as np

from .backend import resolve_backend
from .covariance import lambda_of
from .data import ClusterableData
from .errors import check_array, check_choice, check_instance, check_int, check_real
from .kernels import lambda_max, support_basis, track_spectrum
from .network import TwoLayerNet
from .schedules import T2, label_function, parse_schedule
from .step import GradientStep
from .trajectory import Trajectory

METHODS = ("self-distill", "gd", "early-stop")
LR_RULES = ("auto", "theorem")
DIVERGE_FACTOR = 1e6   # a loss above this multiple of max(initial loss, 1) counts as exploding
LSO_DELTA = 0.1        # failure probability δ inside the LSO19 stopping time
_OWNER = "train"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run besides the data and W₀ (saved with every result)."""

    method: Literal["self-distill", "gd", "early-stop"] = "self-distill"
    steps: int = 3000                  # GD steps
    lr: "float | str" = "auto"         # a number, 'auto' (1/λ_max(J₀J₀ᵀ); None means this) or 'theorem' (1/(2Γ²n))
    schedule: str = "linear"           # α_t spec, see schedules.py; ignored (α ≡ 1) for gd, early-stop
    label_fn: str = "clipped"          # h: 'clipped' (Theorem 1), 'sign' (hardmax), 'identity'
    rho_h: Optional[float] = None      # ρ inside the clipped h; None = the data's realised max ρ_l
    backend: str = "numpy"
    device: str = "cpu"
    dtype: str = "float64"
    log_every: int = 10                # log a trajectory row every this many steps (and the last)

    def validated(self) -> "TrainConfig":
        check_choice("method", self.method, _OWNER, METHODS)
        check_int("steps", self.steps, _OWNER, low=1)
        check_int("log_every", self.log_every, _OWNER, low=1)
        if isinstance(self.lr, str):
            check_choice("lr", self.lr, _OWNER, LR_RULES)
        else:
            check_real("lr", self.lr, _OWNER, low=0.0, low_open=True)
        if self.rho_h is not None:
            check_real("rho_h", self.rho_h, _OWNER, low=0.0, high=0.5, high_open=True)
        resolve_backend(self.backend, self.device, self.dtype, _OWNER)
        return self


def check_train_args(data, net) -> None:
    """The public boundary of ``train``: a data set and a network that fit together, finite
    weights, and a run that fits in memory."""
    from .sizes import check_size, train_bytes
    check_instance("data", data, _OWNER, ClusterableData, "a ClusterableData (from "
                   "theorem_lab.make_clusterable)")
    check_instance("net", net, _OWNER, TwoLayerNet, "a TwoLayerNet (from "
                   "theorem_lab.TwoLayerNet.init)")
    check_array("net.W", net.W, _OWNER, ndim=2, cols=data.d,
                cols_why=f" (the data have d = {data.d} features)")
    check_array("net.v", net.v, _OWNER, ndim=1, length=net.k,
                length_why=f" (one per hidden unit: W has k = {net.k} rows)")
    check_size(_OWNER, {"n": "data", "d": "data", "k": "net", "n_test": "data"},
               train_bytes(data.n, data.d, net.k, data.X_test.shape[0]),
               what=f"the run's weights and (n, k) activations (n={data.n}, k={net.k})")


def lso_stopping_time(data: ClusterableData, Gamma: float, lr: float, lam_C: float,
                      delta: float = LSO_DELTA) -> Optional[int]:
    """τ₀ = ⌈K/(η n λ(C)) · log(Γ√(n log(1/δ))/(1 − 2ρ))⌉, the early-stopping time of
    Li, Soltanolkotabi & Oymak (2019, Thm 2.2), with its unstated absolute constant set to 1
    (source form recalled, not verified: spec §0.1). None if λ(C) ≤ 0.
    """
    if lam_C <= 0:
        return None
    arg = Gamma * math.sqrt(data.n * math.log(1 / delta)) / (1 - 2 * data.rho)
    return int(math.ceil(data.K / (lr * data.n * lam_C) * math.log(max(arg, math.e))))


def train(data: ClusterableData, net: TwoLayerNet, method: str = "self-distill", steps: int = 3000,
          lr="auto", schedule="linear", label_fn: str = "clipped", backend: str = "numpy",
          device: str = "cpu", dtype: str = "float64", log_every: int = 10,
          rho_h: Optional[float] = None, track_every: Optional[int] = None,
          progress: Optional[Callable[[int], None]] = None) -> Trajectory:
    """Run one of ``METHODS`` from ``net.W`` on ``data``; return the ``Trajectory``.

    A non-finite or exploding loss stops the run with status 'diverged' at that step; Ctrl-C
    stops it with status 'interrupted'. Either way the trajectory so far is returned.
    ``track_every=m`` adds, every m steps, the spectral quantities of
    ``kernels.track_spectrum`` (σ_min(J(W_t, X̃), S₊), λ_min(J_tJ_tᵀ), the top-K NTK
    eigenvalues) to ``traj.tracked``; they cost an n×n eigendecomposition each.
    ``progress(t)`` is called after each step (for progress bars).
    """
    check_train_args(data, net)
    if track_every is not None:
        check_int("track_every", track_every, _OWNER, low=1)
    lr = "auto" if lr is None else lr
    cfg = TrainConfig(method, steps, lr, schedule, label_fn, rho_h, backend, device, dtype,
                      log_every).validated()
    from .sizes import check_size, trajectory_bytes
    check_size(_OWNER, {}, trajectory_bytes(steps, log_every),
               what=f"the per-step record of {steps} steps")
    sched = parse_schedule("constant:value=1" if method != "self-distill" else schedule, steps)
    bk = resolve_backend(backend, device, dtype, _OWNER)
    xp, put = bk.xp, bk.asarray
    act = net.activation
    n = data.n

    X, y, y_true = put(data.X), put(data.y), put(data.y_true)
    X_test, y_test = put(data.X_test), put(data.y_test)
    U = put(support_basis(data.cluster))                                  # (n, K) basis of S₊
    W0 = put(net.W)
    W = xp.asarray(W0, copy=True)
    v = put(net.v)
    h = label_function(label_fn, data.rho if rho_h is None else rho_h)
    step = GradientStep(X, v, act)

    lam_max = lambda_max(W0, X, act, v=v)
    if lr == "theorem":
        eta = 1.0 / (2 * act.Gamma ** 2 * n)
    elif lr == "auto":
        eta = 1.0 / lam_max
    else:
        eta = float(lr)
    lam_C = lambda_of(data.centers, act)
    tau_lso = lso_stopping_time(data, act.Gamma, eta, lam_C)

    def norm(a):
        return float(xp.linalg.vector_norm(a))

    def accuracy(f, labels):
        return float(xp.mean(xp.astype(xp.sign(f) == labels, f.dtype))) if labels.shape[0] else float("nan")

    X_centers = put(data.X_centers) if track_every is not None else None
    rows, alphas, tracked = [], [], []
    info = {"status": "finished", "lr": eta, "lr_rule": lr if isinstance(lr, str) else "fixed",
            "lambda_max_J0": lam_max, "lambda_C": lam_C, "schedule": sched.spec, "T1": None,
            "T1_stable": None, "early_stop_step": tau_lso, "diverged_step": None,
            "activation_note": act.note, "config": asdict(cfg)}
    best = (math.inf, 0, xp.asarray(W, copy=True))
    stop_W = None
    path, loss0 = 0.0, None
    started = time.perf_counter()
    t = 0
    try:
        for t in range(steps + 1):
            f = step.forward(W)                                               # (n,)
            acc_noisy = accuracy(f, y)
            alpha = sched.alpha(t, acc_noisy)
            target = y if alpha == 1.0 else alpha * y + (1 - alpha) * h(f)   # ŷ_t, detached
            r = f - target
            loss = 0.5 * float(xp.sum(r * r))
            l2_clean = norm(f - y_true)
            alphas.append(alpha)
            all_correct = bool(xp.all(xp.sign(f) == y_true))
            if all_correct and info["T1"] is None:
                info["T1"] = t
            if all_correct and info["T1_stable"] is None:
                info["T1_stable"] = t
            elif not all_correct:
                info["T1_stable"] = None
            if l2_clean < best[0]:
                best = (l2_clean, t, xp.asarray(W, copy=True))
            if t == tau_lso:
                stop_W = xp.asarray(W, copy=True)
            loss0 = loss if loss0 is None else loss0
            diverged = not math.isfinite(loss) or loss > DIVERGE_FACTOR * max(loss0, 1.0)
            if diverged or t % log_every == 0 or t == steps or (track_every and t % track_every == 0):
                f_test = net.with_weights(W).forward(X_test) if X_test.shape[0] else X_test[:, 0]
                rows.append({
                    "step": t, "alpha": alpha, "loss": loss, "l2_clean": l2_clean,
                    "l2_noisy": norm(f - y), "l2_target": math.sqrt(2 * loss),
                    "l2_target_proj": norm(U.T @ r), "acc_clean": accuracy(f, y_true),
                    "acc_noisy": acc_noisy, "margin": float(xp.min(y_true * f)),
                    "dist_init": norm(W - W0), "path_length": path,
                    "test_l2": norm(f_test - y_test), "test_acc": accuracy(f_test, y_test)})
                if track_every is not None and (t % track_every == 0 or t == steps):
                    tracked.append((t, track_spectrum(W, X, X_centers, U, act, v)))
            if diverged:
                info.update(status="diverged", diverged_step=t)
                break
            if t == steps:
                break
            G = step.gradient(r)                                              # (k, d)
            W = W - eta * G
            path += eta * norm(G)
            if progress is not None:
                progress(t + 1)
    except KeyboardInterrupt:
        info["status"] = "interrupted"

    def snapshot(Ws, at):
        fw = net.with_weights(Ws)
        f, f_test = fw.forward(X), fw.forward(X_test) if X_test.shape[0] else None
        return {"step": at, "l2_clean": norm(f - y_true), "acc_clean": accuracy(f, y_true),
                "test_acc": accuracy(f_test, y_test) if f_test is not None else float("nan"),
                "l2_noisy": norm(f - y), "margin": float(xp.min(y_true * f)),
                "dist_init": norm(Ws - W0)}

    info["steps_done"] = t
    info["T2"] = T2(np.array(alphas), n)
    info["oracle"] = snapshot(best[2], best[1])
    info["early_stop"] = snapshot(stop_W, tau_lso) if stop_W is not None else None
    info["seconds"] = time.perf_counter() - started
    traj = Trajectory.from_rows(rows, info)
    if tracked:
        names = list(tracked[0][1])
        traj.tracked = {"tracked_step": np.array([s for s, _ in tracked], dtype=float),
                        **{k: np.array([q[k] for _, q in tracked]) for k in names}}
    traj.W_final = W
    return traj
