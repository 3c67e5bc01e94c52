"""The two coupled runs of the proof (spec §1.10): the X-run and the centre run from one W₀.

    X-run       W_{t+1} = W_t − η J(W_t, X)ᵀ r_t,    r_t = f(W_t, X) − ŷ_t
    centre run  W̃_{t+1} = W̃_t − η J(W̃_t, X̃)ᵀ rᶜ_t,  rᶜ_t = f(W̃_t, X̃) − ŷᶜ_t,  W̃₀ = W₀
    targets     ŷ_t = α_t y + (1 − α_t) h(f(W_t, X))  (and ŷᶜ_t with f(W̃_t, X̃))

Every step's weights, outputs, targets and residuals are kept (float64, numpy), so a checker can
form p_t = ‖f_t − f̃_t‖, d_t = ‖W_t − W̃_t‖_F and the products G_t = J̄_{t+1,t} J_tᵀ afterwards.
Memory is (T+1)·k·d floats per run: keep k·d·T below ~10⁷ (checker configurations are small).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from theorem_lab.activations import Activation, get_activation
from theorem_lab.data import ClusterableData
from theorem_lab.errors import check_int, check_real, fail
from theorem_lab import engine
from theorem_lab.backend import resolve_backend
from theorem_lab.engine import RunInputs, log_steps
from theorem_lab.kernels import project_support, support_basis
from theorem_lab.network import output_layer
from theorem_lab.schedules import Schedule, T2, h_clipped, parse_schedule

_OWNER = "paired_run"
MAX_STORED = 50_000_000   # floats of stored weights per run (400 MB)


@dataclass(frozen=True)
class PairedRun:
    """Both runs' full histories. Arrays indexed by step t = 0..T."""

    data: ClusterableData
    activation: Activation
    v: np.ndarray            # (k,)
    eta: float
    rho_h: float             # ρ inside h (L_h = 4/(1−2ρ_h))
    alpha: np.ndarray        # (T+1,)
    W: np.ndarray            # (T+1, k, d) X-run
    Wc: np.ndarray           # (T+1, k, d) centre run
    f: np.ndarray            # (T+1, n) f(W_t, X)
    fc: np.ndarray           # (T+1, n) f(W̃_t, X̃)
    yhat: np.ndarray         # (T+1, n) ŷ_t
    yhat_c: np.ndarray       # (T+1, n) ŷᶜ_t

    @property
    def T(self) -> int:
        return self.alpha.size - 1

    @property
    def k(self) -> int:
        return self.W.shape[1]

    @property
    def L_h(self) -> float:
        return 4.0 / (1.0 - 2.0 * self.rho_h)

    def h(self, f):
        return h_clipped(np.asarray(f), self.rho_h)

    @cached_property
    def r(self) -> np.ndarray:            # (T+1, n) r_t
        return self.f - self.yhat

    @cached_property
    def rc(self) -> np.ndarray:           # (T+1, n) rᶜ_t (unprojected)
        return self.fc - self.yhat_c

    @cached_property
    def rbar_c(self) -> np.ndarray:       # (T+1, n) r̄ᶜ_t = P_{S₊} rᶜ_t
        return np.stack([project_support(r, self.data.cluster) for r in self.rc])

    @cached_property
    def p(self) -> np.ndarray:            # (T+1,) p_t = ‖f(W_t,X) − f(W̃_t,X̃)‖₂
        return np.linalg.norm(self.f - self.fc, axis=1)

    @cached_property
    def dist(self) -> np.ndarray:         # (T+1,) d_t = ‖W_t − W̃_t‖_F
        return np.linalg.norm((self.W - self.Wc).reshape(self.T + 1, -1), axis=1)

    @property
    def T2(self) -> "int | None":
        return T2(self.alpha, self.data.n)


def paired_run(data: ClusterableData, W0, activation="erf", steps: int = 100, eta="theorem",
               schedule="linear", rho_h: "float | None" = None, v=None) -> PairedRun:
    """Run Algorithm 1 (full batch, MSE, clipped h) on X and on X̃ from the same W₀.

    ``eta``: a positive float, or 'theorem' for η = 1/(2Γ²n) (T1-H4). ``schedule``: a spec for
    ``parse_schedule`` or a ``Schedule``. ``rho_h`` defaults to the data's realised ρ = max ρ_l.
    """
    act = get_activation(activation, _OWNER)
    steps = check_int("steps", steps, _OWNER, low=1)
    W0 = np.asarray(W0, dtype=np.float64)
    k, dd = W0.shape
    if (steps + 1) * k * dd > MAX_STORED:
        raise fail("steps", _OWNER, f"at most {MAX_STORED // (k * dd) - 1} for k={k}, d={dd} "
                   "(every step's weights are stored)", steps)
    n = data.n
    eta = 1.0 / (2 * act.Gamma**2 * n) if eta == "theorem" else check_real(
        "eta", eta, _OWNER, low=0.0, low_open=True)
    rho_h = data.rho if rho_h is None else check_real("rho_h", rho_h, _OWNER, low=0.0, high=0.5,
                                                       high_open=True)
    sched = schedule if isinstance(schedule, Schedule) else parse_schedule(schedule, steps)
    alpha = sched.values(steps)
    v = output_layer(k) if v is None else np.asarray(v, dtype=np.float64)
    y = data.y.astype(np.float64)

    # The two runs share W₀, y, η, α_t and h: one batch of the engine (Algorithm 1 written once).
    U = support_basis(data.cluster)
    none = np.zeros((0, dd))
    runs = [RunInputs(X=np.asarray(X, dtype=np.float64), y=y, y_true=data.y_true, X_test=none,
                      y_test=np.zeros(0), U=U, W0=W0, lr=eta, alpha=alpha, label_fn="clipped",
                      rho_h=rho_h) for X in (data.X, data.X_centers)]
    hist = []                                                   # per step: (W, f, ŷ) of both

    def keep(t, W, f, target, a):
        hist.append((np.array(W), np.array(f), np.array(target)))

    engine.run(runs, v, act, steps, resolve_backend("numpy", "cpu", "float64", _OWNER),
               log_steps(steps, steps), observe=keep, observe_at=range(steps + 1))
    Ws, fs, ys = (np.stack([h[i] for h in hist], axis=1) for i in range(3))  # (2, T+1, ...)
    out = {name: (Ws[b], fs[b], ys[b]) for b, name in enumerate(("x", "c"))}
    return PairedRun(data=data, activation=act, v=v, eta=eta, rho_h=rho_h, alpha=alpha,
                     W=out["x"][0], Wc=out["c"][0], f=out["x"][1], fc=out["c"][1],
                     yhat=out["x"][2], yhat_c=out["c"][2])
