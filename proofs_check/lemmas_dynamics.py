"""Lemmas 5–8, stage II and Theorem 1's conclusion, on a ``PairedRun`` (spec §3.5–§3.9, E-5..E-40).

Statements that the paper proves under hypotheses are returned under two kinds of keys:
``"hyp: …"`` (is the hypothesis true on this run? informational) and the conclusion itself,
suffixed ``[hyp ok]`` when every hypothesis it needs holds and ``[hyp fail]`` otherwise, so a
violation is only a counterexample to the paper when it carries ``[hyp ok]``. Checks over many
steps t are reduced to the worst step (max ratio); its step is in the note.

"Measured" constants (spec §5.3): α = min_t σ_min(J, S) along the run, Θ = max_t ‖rᶜ_t‖,
M = 1 + max_t max(‖W_t‖_F, ‖W̃_t‖_F)/√k, ε = max_i ‖x_i − x̃_i‖; β = Γ√n and L = Γ√n/√k are the
paper's (always valid by Lemmas 1–2).
"""

from __future__ import annotations

import math

import numpy as np

from theorem_lab.kernels import (as_sum, average_jacobian, gram, jac_difference, jacobian_gram,
                                 sigma_min, sigma_min_of_gram, spectral_norm, support_basis)

from .check import Check, check_identity, check_le
from .runs import PairedRun


def _worst(checks: "list[tuple[int, Check]]") -> Check:
    """The step with the largest ratio, named in the note; holds iff every step holds."""
    t, c = max(checks, key=lambda tc: tc[1].ratio)
    return Check(c.lhs, c.rhs, c.ratio, all(ch.holds for _, ch in checks), f"worst t={t}")


def _tag(ok: bool) -> str:
    return "[hyp ok]" if ok else "[hyp fail]"


def _side(run: PairedRun, which: str):
    """(X, W history, basis U of S) for the X-run ('x', S = ℝⁿ) or the centre run ('c', S = S₊)."""
    if which == "x":
        return run.data.X, run.W, np.eye(run.data.n)
    return run.data.X_centers, run.Wc, support_basis(run.data.cluster)


def G_step(run: PairedRun, t: int, which: str = "x") -> np.ndarray:
    """G_t = J̄(W_{t+1}, W_t, ·) J(W_t, ·)ᵀ ∈ ℝ^{n×n} (spec §1.10)."""
    X, W, _ = _side(run, which)
    return np.asarray(gram(average_jacobian(W[t + 1], W[t], X), as_sum(W[t], X), run.activation,
                           v=run.v), dtype=np.float64)


def sigma_min_S(run: PairedRun, t: int, which: str) -> float:
    """σ_min(J(W_t, ·), S) (Definition 5), by ``theorem_lab.kernels.sigma_min``."""
    X, W, U = _side(run, which)
    return sigma_min(W[t], X, run.activation, basis=None if which == "x" else U, v=run.v)


def measured(run: PairedRun) -> dict:
    """α (each run), Θ, M, ε, β, L of the run (spec §5.3)."""
    n, k, G = run.data.n, run.k, run.activation.Gamma
    T = run.T
    return {"alpha_c": min(sigma_min_S(run, t, "c") for t in range(T + 1)),
            "alpha_x": min(sigma_min_S(run, t, "x") for t in range(T + 1)),
            "Theta": float(np.linalg.norm(run.rc, axis=1).max()),
            "Theta_bar": float(np.linalg.norm(run.rbar_c, axis=1).max()),
            "M": 1 + max(np.linalg.norm(run.W.reshape(T + 1, -1), axis=1).max(),
                         np.linalg.norm(run.Wc.reshape(T + 1, -1), axis=1).max()) / math.sqrt(k),
            "eps": run.data.eps_observed, "beta": G * math.sqrt(n), "L": G * math.sqrt(n / k)}


# --- Lemma 5 (E-5) ------------------------------------------------------------------------------

def lemma5(run: PairedRun, t: int, which: str = "x") -> dict:
    """r̂ = (I − ηG_t) r_t with r̂ = f(W_{t+1}) − ŷ_t, and ŷ_t − ŷ_{t+1} = Δα(y − h_{t+1}) + (1−α_t)(h_t − h_{t+1})."""
    f, yh = (run.f, run.yhat) if which == "x" else (run.fc, run.yhat_c)
    r = f[t] - yh[t]
    G = G_step(run, t, which)
    err = np.linalg.norm((f[t + 1] - yh[t]) - (r - run.eta * G @ r))
    h0, h1 = run.h(f[t]), run.h(f[t + 1])
    a0, a1 = run.alpha[t], run.alpha[t + 1]
    dec = (a0 - a1) * (run.data.y - h1) + (1 - a0) * (h0 - h1)
    scale = max(np.linalg.norm(r), np.linalg.norm(f[t]), 1e-12)
    return {"L5 identity": check_identity(err, scale, f"t={t}", rtol=1e-8),
            "L5 target decomposition": check_identity(np.linalg.norm(yh[t] - yh[t + 1] - dec), 1.0,
                                                      f"t={t}", rtol=1e-12)}


# --- Lemma 7 (E-17, E-18, I-5) -------------------------------------------------------------------

def lemma7(run: PairedRun, t: int, which: str = "c") -> dict:
    """The Gram sandwich on S and the three contraction factors, at step t.

    Hypotheses (as re-derived, spec §3.6): ‖J̄_{t+1,t} − J_t‖ ≤ α/2 with α = σ_min(J_t, S), and
    η ≤ 1/(2β²) with β = max(‖J_t‖, ‖J̄_{t+1,t}‖) measured.
    """
    from scipy.linalg import eigh
    X, W, U = _side(run, which)
    act, eta = run.activation, run.eta
    G = G_step(run, t, which)
    JJ = np.asarray(jacobian_gram(W[t], X, act, v=run.v), dtype=np.float64)
    Jbar = average_jacobian(W[t + 1], W[t], X)
    alpha = sigma_min_of_gram(JJ, None if which == "x" else U)      # σ_min(J_t, S), Definition 5
    beta = max(math.sqrt(max(np.linalg.eigvalsh(JJ)[-1], 0.0)), spectral_norm(Jbar, act, v=run.v))
    gap = spectral_norm(jac_difference(Jbar, as_sum(W[t], X)), act, v=run.v)
    ok_gap = check_le(gap, alpha / 2, f"t={t}")
    ok_eta = check_le(eta, 1 / (2 * beta**2), f"t={t}")
    ok = ok_gap.holds and ok_eta.holds
    A = U.T @ ((G + G.T) / 2) @ U
    B = 0.5 * U.T @ JJ @ U
    if np.linalg.eigvalsh(A)[0] > 0:
        ratio = float(eigh(B, A, eigvals_only=True)[-1])     # max_u uᵀBu / uᵀAu
    else:
        ratio = math.inf
    r = run.rbar_c[t] if which == "c" else run.r[t]
    nr = float(np.linalg.norm(r))
    lhs = float(np.linalg.norm(r - eta * G @ r))
    x = eta * alpha**2
    return {
        "hyp: L7 |Jbar-J_t|<=alpha/2": ok_gap,
        "hyp: L7 eta<=1/(2beta^2)": ok_eta,
        f"L7 G>=JJ^T/2 on S {_tag(ok)}": Check(ratio, 1.0, ratio, ratio <= 1 + 1e-9, f"t={t}"),
        f"L7 JJ^T/2>=alpha^2/2 on S {_tag(ok)}": check_le(alpha**2 / 2, np.linalg.eigvalsh(B)[0],
                                                          f"t={t}", rtol=1e-7),
        "L7 |G|<=Gamma^2 n": check_le(np.linalg.norm(G, 2), act.Gamma**2 * run.data.n, f"t={t}"),
        f"I-5 (a) 1-eta a^2/2 {_tag(ok)}": check_le(lhs, (1 - x / 2) * nr, f"t={t}"),
        f"I-5 (b) sqrt(1-eta a^2/2) {_tag(ok)}": check_le(lhs, math.sqrt(max(1 - x / 2, 0)) * nr, f"t={t}"),
        f"I-5 (c) 1-eta a^2/4 {_tag(ok)}": check_le(lhs, (1 - x / 4) * nr, f"t={t}"),
    }


def lemma7_run(run: PairedRun, which: str = "c", steps=None) -> dict:
    """``lemma7`` at every step (or at ``steps``), each statement reduced to its worst step."""
    ts = range(run.T) if steps is None else steps
    per: dict = {}
    for t in ts:
        for name, c in lemma7(run, t, which).items():
            per.setdefault(name, []).append((t, c))
    return {name: _worst(v) for name, v in per.items()}
