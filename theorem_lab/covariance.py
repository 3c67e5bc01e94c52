"""The neural-network covariance Σ(D) of Definition 2 and its eigenvalues (spec §1.6).

    Σ(D) = (DDᵀ) ⊙ E_{g∼N(0,I)}[φ'(Dg) φ'(Dg)ᵀ],   λ(D) = λ_min(Σ(D)),   Λ = min(λ(C), λ(X)).

Entry (i, j) depends only on ‖d_i‖, ‖d_j‖ and c = d_iᵀd_j: it is a 2-D Gaussian integral.
Closed forms for unit rows: erf (φ' = e^{−z²/2}) gives E = 1/√(4 − c²); ReLU gives
E = (π − arccos c)/(2π). tanh and softplus use tensor Gauss–Hermite quadrature.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import get_activation
from .backend import like, to_numpy

GH_NODES = 64  # Gauss–Hermite nodes per dimension; φ' is smooth and bounded, 64 gives ~1e-13


def _gh():
    z, w = np.polynomial.hermite_e.hermegauss(GH_NODES)   # weight e^{−z²/2}
    return z, w / math.sqrt(2 * math.pi)


def dphi_correlation(c: np.ndarray, activation, norms_i=None, norms_j=None) -> np.ndarray:
    """E[φ'(u)φ'(w)] for (u, w) centred Gaussian with Var u = a², Var w = b², Cov = c."""
    act = get_activation(activation, "dphi_correlation")
    c = np.asarray(c, dtype=np.float64)
    a = np.ones_like(c) if norms_i is None else np.broadcast_to(norms_i, c.shape)
    b = np.ones_like(c) if norms_j is None else np.broadcast_to(norms_j, c.shape)
    unit = norms_i is None and norms_j is None
    if unit and act.name == "erf":
        return 1.0 / np.sqrt(4.0 - np.clip(c, -1, 1) ** 2)
    if unit and act.name == "relu":
        return (np.pi - np.arccos(np.clip(c, -1, 1))) / (2 * np.pi)
    z, w = _gh()
    # u = a·z1, w = (c/a)·z1 + sqrt(b² − c²/a²)·z2 ; z1, z2 independent standard normal
    rho_b = np.where(a > 0, c / np.where(a > 0, a, 1), 0.0)
    s = np.sqrt(np.clip(b * b - rho_b * rho_b, 0, None))
    out = np.zeros(c.shape)
    du = act.dphi(a[..., None] * z)                                           # (..., m)
    for j, (zj, wj) in enumerate(zip(z, w)):
        out += wj * np.sum(w * du * act.dphi(rho_b[..., None] * z + (s * zj)[..., None]), axis=-1)
    return out


def infinite_width_gram(X, activation):
    """Σ(X) ∈ ℝ^{n×n} of Definition 2 (= E_{W₀}[J(W₀,X)J(W₀,X)ᵀ] since ‖v‖₂ = 1)."""
    D = to_numpy(X).astype(np.float64)
    norms = np.linalg.norm(D, axis=1)
    G = D @ D.T
    if np.allclose(norms, 1.0, atol=1e-12):
        E = dphi_correlation(np.clip(G, -1.0, 1.0), activation)
    else:
        E = dphi_correlation(G, activation, norms[:, None], norms[None, :])
    return like(G * E, X)


def smallest_eigenvalue(S) -> float:
    """λ_min of a symmetric matrix, float64 on the host."""
    S = to_numpy(S).astype(np.float64)
    return float(np.linalg.eigvalsh((S + S.T) / 2)[0])
