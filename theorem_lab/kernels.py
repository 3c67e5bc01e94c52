"""Jacobian algebra without the Jacobian (spec §1.5, §1.8, §1.9).

J(W, X) ∈ ℝ^{n×kd} has row i equal to (v ⊙ φ'(W x_i)) ⊗ x_i (row-major vec(W)). It is never
formed: every product the theory needs is n×n algebra through the Khatri–Rao identity

    J(W₁, X) J(W₂, X)ᵀ = (φ'(XW₁ᵀ) diag(v)² φ'(XW₂ᵀ)ᵀ) ⊙ (XXᵀ).

Functions take arrays of any namespace and return the same namespace.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

from .activations import get_activation
from .backend import like, to_numpy
from .network import output_layer


def jacobian_gram(W, X, activation, W2=None, v=None):
    """J(W, X) J(W2, X)ᵀ ∈ ℝ^{n×n} (W2 = W by default), never materialising J.

    ``v`` defaults to the paper's ±1/√k output layer, for which diag(v)² = I/k.
    """
    xp = array_namespace(X)
    act = get_activation(activation, "jacobian_gram")
    W = like(W, X)
    k = W.shape[0]
    v2 = like(output_layer(k) if v is None else to_numpy(v), X) ** 2          # (k,)
    A = act.dphi(X @ W.T)                                                        # (n, k)
    B = A if W2 is None else act.dphi(X @ like(W2, X).T)                         # (n, k)
    return ((A * v2) @ B.T) * (X @ X.T)                                          # (n, n)


def support_basis(cluster) -> np.ndarray:
    """Orthonormal basis U ∈ ℝ^{n×K} of S₊ (Definition 4): column l is 1_{I_l}/√n_l."""
    cluster = np.asarray(to_numpy(cluster)).astype(int)
    K = int(cluster.max()) + 1
    U = np.zeros((cluster.size, K))
    U[np.arange(cluster.size), cluster] = 1.0
    return U / np.sqrt(U.sum(axis=0))


def project_support(u, cluster):
    """P_{S₊} u: replace every entry by the mean of its cluster (spec §1.8)."""
    xp = array_namespace(u)
    c = np.asarray(to_numpy(cluster)).astype(int)
    un = to_numpy(u).astype(float)
    means = np.bincount(c, weights=un) / np.bincount(c)
    return like(means[c], u)


def sigma_min(W, X, activation, basis=None, v=None) -> float:
    """σ_min(J(W, X)), or σ_min(J, S) = min over unit u ∈ span(basis) of ‖Jᵀu‖ (Definition 5).

    Computed as √λ_min(Uᵀ J Jᵀ U) with U an orthonormal basis of span(``basis``) (the columns
    are orthonormalised here, so any spanning set may be passed). float64 on the host.
    """
    G = to_numpy(jacobian_gram(W, X, activation, v=v)).astype(np.float64)
    if basis is not None:
        U, _ = np.linalg.qr(np.asarray(to_numpy(basis), dtype=np.float64))
        G = U.T @ G @ U
    lam = np.linalg.eigvalsh((G + G.T) / 2)[0]
    return float(np.sqrt(max(lam, 0.0)))


def lambda_max(W, X, activation, v=None, iters: int = 200, rtol: float = 1e-7) -> float:
    """λ_max(J(W, X) J(W, X)ᵀ) by power iteration with J and Jᵀ products (2 GEMMs each).

    Memory O(nk): works where the n×n Gram matrix would not fit. Converges from below; the
    relative change between iterations is below ``rtol`` on return.
    """
    xp = array_namespace(X)
    act = get_activation(activation, "lambda_max")
    W = like(W, X)
    v = like(output_layer(W.shape[0]) if v is None else to_numpy(v), X)
    A = act.dphi(X @ W.T) * v                                        # (n, k): φ'(XWᵀ) diag(v)
    u = like(np.random.default_rng(0).standard_normal(X.shape[0]), X)
    lam = 0.0
    for _ in range(iters):
        u = u / xp.linalg.vector_norm(u)
        JTu = A.T @ (u[:, None] * X)                                  # (k, d) = Jᵀu reshaped
        JJTu = xp.sum(A * (X @ JTu.T), axis=1)                        # (n,)
        new = float(xp.sum(u * JJTu))
        u = JJTu
        if abs(new - lam) <= rtol * abs(new):
            return new
        lam = new
    return lam


def track_spectrum(W, X, X_centers, U, activation, v=None) -> dict:
    """The training-time spectral quantities of Theorem 1 at weights W (issue: track_every).

    sigma_min_S+ : σ_min(J(W, X̃), S₊) with U an orthonormal basis of S₊ (Lemma 2, L6-H1)
    lambda_min   : λ_min(J(W, X) J(W, X)ᵀ)  (= σ_min(J)², stage II / I-8)
    top_eig_i    : the K largest eigenvalues of the empirical NTK J(W, X)J(W, X)ᵀ, i = 1..K
    """
    Uh = to_numpy(U).astype(np.float64)
    Gc = to_numpy(jacobian_gram(W, X_centers, activation, v=v)).astype(np.float64)
    G = to_numpy(jacobian_gram(W, X, activation, v=v)).astype(np.float64)
    ev = np.linalg.eigvalsh((G + G.T) / 2)
    out = {"sigma_min_S+": float(np.sqrt(max(np.linalg.eigvalsh(Uh.T @ Gc @ Uh)[0], 0.0))),
           "lambda_min": float(ev[0])}
    out.update({f"top_eig_{i + 1}": float(e) for i, e in enumerate(ev[::-1][: Uh.shape[1]])})
    return out
