"""Lemmas 1–4 and the derived bounds behind Issues I-2, I-8, I-9 (spec §3.1–§3.4, E-9..E-16, E-36).

Each function takes concrete arrays and returns ``{name: Check}``. Spectral norms of Jacobian
combinations come from ``theorem_lab.kernels`` (J is never formed). ε is the *observed* radius
max_i ‖x_i − x̃_i‖₂, the smallest ε for which the data are ε-clusterable.
"""

from __future__ import annotations

import math

import numpy as np

from theorem_lab.activations import get_activation
from theorem_lab.covariance import Lambda, lambda_of
from theorem_lab.data import ClusterableData
from theorem_lab.kernels import (average_jacobian, jac_difference, jacobian_diff_norm, jacobian_gram,
                                 jacobian_norm, sigma_min, spectral_norm, support_basis)

from .check import check_ge, check_identity, check_le


def _spec(A) -> float:
    return float(np.linalg.norm(np.asarray(A, dtype=np.float64), 2))


def data_constants(data: ClusterableData, activation) -> dict:
    """λ(C), λ(X), Λ, c_low, c_up, ρ, ε_obs of a data set (Q-1, Q-2); λ and Λ as
    ``theorem_lab.covariance.Lambda`` defines them."""
    m = Lambda(data.X, data.centers, activation)
    return {"lambda_C": m["lambda_C"], "lambda_X": m["lambda_X"], "Lambda": m["Lambda"],
            "c_low": data.c_low,
            "c_up": data.c_up, "rho": data.rho, "eps_obs": data.eps_observed, "n": data.n,
            "K": data.K, "d": data.d}


# --- Lemma 1 (E-9, E-10, E-11) ---------------------------------------------------------------

def lemma1_lipschitz(W, W2, X, activation) -> dict:
    """(L1-i) ‖J(W,X) − J(W̃,X)‖ ≤ Γ√n/√k ‖W − W̃‖_F, and the sharper Γ‖X‖/√k ‖W − W̃‖_F."""
    act = get_activation(activation, "lemma1")
    n, k = X.shape[0], W.shape[0]
    lhs = jacobian_diff_norm(W, X, W2, X, act)
    dW = float(np.linalg.norm(W - W2))
    return {"L1-i": check_le(lhs, act.Gamma * math.sqrt(n / k) * dW),
            "L1-i sharp": check_le(lhs, act.Gamma * _spec(X) / math.sqrt(k) * dW)}


def lemma1_norm(W, X, activation) -> dict:
    """(L1-ii) ‖J(W,X)‖ ≤ Γ‖X‖ ≤ Γ√n; (E-14) σ_min(J(W,X)) ≤ Γ."""
    act = get_activation(activation, "lemma1")
    nJ = jacobian_norm(W, X, act)
    out = {"L1-ii": check_le(nJ, act.Gamma * math.sqrt(X.shape[0])),
           "L1-ii sharp": check_le(nJ, act.Gamma * _spec(X))}
    if X.shape[0] <= W.size:
        out["E-14 sigma_min<=Gamma"] = check_le(sigma_min(W, X, act), act.Gamma)
    return out


def lemma1_width(n: int, lam_X: float, Gamma: float, delta: float, sharp_norm_sq=None) -> float:
    """(L1-iii) width threshold 20Γ²n log(n/δ)/λ(X) (or with ‖X‖² in place of n)."""
    m = n if sharp_norm_sq is None else sharp_norm_sq
    return 20 * Gamma**2 * m / lam_X * math.log(n / delta)


def lemma1_sigma_min(W0, X, activation, lam_X: float) -> dict:
    """(L1-iii) one draw: σ_min(J(W₀,X)) ≥ √(λ(X)/2) (probabilistic: judge by frequency)."""
    s = sigma_min(W0, X, activation)
    return {"L1-iii": check_ge(s, math.sqrt(max(lam_X, 0.0) / 2))}


# --- Lemma 2 (E-12, E-13, E-6) -----------------------------------------------------------------

def lemma2_deterministic(W, W2, data: ClusterableData, activation) -> dict:
    """(L2-i), (L2-ii), (L2-iv), the I-2 intermediate, and the derived σ_min(·,S₊) ≥ √min n_l σ_min(J(W,C))."""
    act = get_activation(activation, "lemma2")
    Xc = data.X_centers
    n, k = data.n, W.shape[0]
    lhs = jacobian_diff_norm(W, Xc, W2, Xc, act)
    dW = float(np.linalg.norm(W - W2))
    G = np.asarray(jacobian_gram(W, Xc, act))
    U = support_basis(data.cluster)
    Pperp = np.eye(n) - U @ U.T
    leak = math.sqrt(max(_spec(Pperp @ G @ Pperp), 0.0))     # ‖(I − P_{S₊}) J(W, X̃)‖
    out = {"L2-i": check_le(lhs, act.Gamma * math.sqrt(n / k) * dW),
           "L2-i c_up": check_le(lhs, act.Gamma * math.sqrt(data.c_up * n / k) * dW),
           "L2-ii": check_le(jacobian_norm(W, Xc, act), act.Gamma * math.sqrt(n)),
           "L2-iv range in S+": check_identity(leak, math.sqrt(_spec(G)), rtol=1e-6),
           "I-2 c_up<=1": check_le(data.c_up, 1.0, "the printed step Γ√(c_up n) ≤ Γ√n")}
    if data.K <= W.size:
        s_plus = sigma_min(W, Xc, act, basis=U)
        s_C = sigma_min(W, data.centers, act)
        out["L2-iii intermediate"] = check_ge(s_plus, math.sqrt(data.cluster_sizes.min()) * s_C,
                                             rtol=1e-7)
    return out


def lemma2_width(K: int, lam_C: float, Gamma: float, delta: float) -> float:
    """(L2-iii) width threshold 20Γ²K log(K/δ)/λ(C)."""
    return 20 * Gamma**2 * K / lam_C * math.log(K / delta)


def lemma2_sigma_min(W0, data: ClusterableData, activation, lam_C: float) -> dict:
    """(L2-iii) one draw: σ_min(J(W₀,X̃),S₊) ≥ √(c_low n λ(C)/(2K))."""
    s = sigma_min(W0, data.X_centers, activation, basis=support_basis(data.cluster))
    return {"L2-iii": check_ge(s, math.sqrt(data.c_low * data.n * max(lam_C, 0.0) / (2 * data.K)))}


# --- Lemmas 3 and 4 (E-15, E-16) ---------------------------------------------------------------

def lemma3(W, Wt, data: ClusterableData, activation) -> dict:
    """(3) ‖J(W,X) − J(W̃,X̃)‖ ≤ Γ√n/√k(‖W − W̃‖_F + ‖W̃‖ε + √kε), and its steps (3b), (3d)."""
    act = get_activation(activation, "lemma3")
    X, Xc = data.X, data.X_centers
    n, k, G = data.n, W.shape[0], act.Gamma
    eps = data.eps_observed
    dW, nWt = float(np.linalg.norm(W - Wt)), _spec(Wt)
    lhs = jacobian_diff_norm(W, X, Wt, Xc, act)
    second = jacobian_diff_norm(Wt, X, Wt, Xc, act)          # ‖J(W̃,X) − J(W̃,X̃)‖
    D = X - Xc
    return {
        "L3": check_le(lhs, G * math.sqrt(n / k) * (dW + nWt * eps + math.sqrt(k) * eps)),
        "L3 (3b)": check_le(jacobian_diff_norm(W, X, Wt, X, act), G * math.sqrt(n / k) * dW),
        "L3 (3d) Frobenius": check_le(second, G / math.sqrt(k) * (
            nWt * float(np.linalg.norm(D)) + math.sqrt(k) * _spec(D))),
        "L3 (3d) printed spectral": check_le(second, G / math.sqrt(k) * (
            nWt * _spec(D) + math.sqrt(k) * _spec(D))),
        "L3 (3d) final": check_le(second, G * math.sqrt(n) * eps / math.sqrt(k) * (nWt + math.sqrt(k))),
    }


def lemma4(W1, W2, Wt1, Wt2, data: ClusterableData, activation) -> dict:
    """(4) ‖J̄(W₁,W₂,X) − J̄(W̃₁,W̃₂,X̃)‖ ≤ Γ√n((‖W₁−W̃₁‖_F + ‖W₂−W̃₂‖_F)/(2√k) + (c+1)ε).

    c = max(‖W̃₁‖, ‖W̃₂‖)/√k as the proof needs; "L4 (I-15)" uses c from W₁, W₂ (as printed).
    """
    act = get_activation(activation, "lemma4")
    n, k, G = data.n, W1.shape[0], act.Gamma
    eps = data.eps_observed
    A = jac_difference(average_jacobian(W1, W2, data.X), average_jacobian(Wt1, Wt2, data.X_centers))
    lhs = spectral_norm(A, act)
    first = (float(np.linalg.norm(W1 - Wt1)) + float(np.linalg.norm(W2 - Wt2))) / (2 * math.sqrt(k))
    c_t = max(_spec(Wt1), _spec(Wt2)) / math.sqrt(k)
    c_p = max(_spec(W1), _spec(W2)) / math.sqrt(k)
    return {"L4": check_le(lhs, G * math.sqrt(n) * (first + (c_t + 1) * eps)),
            "L4 (I-15)": check_le(lhs, G * math.sqrt(n) * (first + (c_p + 1) * eps))}


# --- E-14 / I-9 and E-36 / I-8 ----------------------------------------------------------------

def lambda_bounds(data: ClusterableData, activation, lam_X: "float | None" = None) -> dict:
    """(E-14) λ(X) ≤ 2Γ² min_{i≠j same cluster} ‖x_i − x_j‖² ≤ 8Γ²ε² (the basis of I-9)."""
    act = get_activation(activation, "lambda_bounds")
    lx = lambda_of(data.X, act) if lam_X is None else lam_X
    X, cl = data.X, data.cluster
    D2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    same = (cl[:, None] == cl[None, :]) & ~np.eye(data.n, dtype=bool)
    out = {"E-14 lambda(X)<=8G^2eps^2": check_le(lx, 8 * act.Gamma**2 * data.eps_observed**2,
                                                rtol=1e-9, atol=1e-13)}
    if same.any():
        out["E-14 lambda(X)<=2G^2min|xi-xj|^2"] = check_le(lx, 2 * act.Gamma**2 * D2[same].min(),
                                                          rtol=1e-9, atol=1e-13)
    return out


def stage2_sigma_min(W0, data: ClusterableData, activation, consts: dict) -> dict:
    """(E-36, F7, I-8) σ_min(J(W₀,X)) ≥ 2α_II = √(c_low nΛ/(2K)), its S₊ analogue, the
    infinite-width limit √λ(X) ≥ 2α_II, and the repaired 2α_II = √(Λ/2)."""
    two_alpha = math.sqrt(consts["c_low"] * data.n * max(consts["Lambda"], 0.0) / (2 * data.K))
    two_alpha_rep = math.sqrt(max(consts["Lambda"], 0.0) / 2)
    s = sigma_min(W0, data.X, activation)
    s_plus = sigma_min(W0, data.X_centers, activation, basis=support_basis(data.cluster))
    return {"F7 sigma_min(J(W0,X))>=2alpha_II": check_ge(s, two_alpha),
            "F7 sigma_min(J(W0,Xc),S+)>=2alpha_II": check_ge(s_plus, two_alpha),
            "F7 wide limit sqrt(lambda(X))>=2alpha_II": check_ge(math.sqrt(max(consts["lambda_X"], 0)),
                                                               two_alpha),
            "F7 repaired sigma_min(J(W0,X))>=sqrt(Lambda/2)": check_ge(s, two_alpha_rep)}
