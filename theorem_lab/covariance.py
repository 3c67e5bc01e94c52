"""The neural-network covariance Σ(D) of Definition 2 and its eigenvalues (spec §1.6).

    Σ(D) = (DDᵀ) ⊙ E_{g∼N(0,I)}[φ'(Dg) φ'(Dg)ᵀ],   λ(D) = λ_min(Σ(D)),   Λ = min(λ(C), λ(X)).

Entry (i, j) is (d_iᵀd_j)·κ(‖d_i‖, ‖d_j‖, d_iᵀd_j) with κ = E[φ'(u)φ'(w)], (u, w) centred
Gaussian with Var u = ‖d_i‖², Var w = ‖d_j‖², Cov = d_iᵀd_j. How κ is computed:

* erf (φ' = e^{−z²/2}), any norms: κ = 1/√((1 + a²)(1 + b²) − c²)  (Gaussian integral of
  exp(−½ zᵀ(S⁻¹ + I)z)); unit rows give 1/√(4 − c²).
* ReLU (φ' = 1{z > 0}), any norms: κ = (π − arccos(c/(ab)))/(2π) (orthant probability).
* tanh, softplus, unit rows: κ depends on c ∈ [−1, 1] only. A table of κ at ``CHEB_POINTS``
  Chebyshev–Lobatto points, each a 2-D Gauss–Hermite integral with ``GH_NODES`` nodes per
  dimension, is least-squares fitted by a Chebyshev series of degree ``CHEB_DEGREE`` and
  evaluated by Clenshaw (~0.2 s per 10⁶ entries). Evidence (this repo, float64): 200 vs 800 GH
  nodes agree to 3e-15 for tanh (sech² has poles at ±iπ/2, so GH converges slowly: 64 nodes are
  off by 1e-7) and to 5e-16 for softplus; the fitted series matches direct quadrature to 2e-15
  on [−1, 1], endpoints included. κ(c) = Σ_m a_m² cᵐ/m! (a_m = E[φ'(g)He_m(g)]) is C^∞ on
  [−1, 1] and its Chebyshev coefficients fall below 3e-16 by degree 48.
* tanh, softplus, general norms: the same 2-D Gauss–Hermite integral per entry, in chunks, with
  GH_NODES·max(1, ‖d_i‖², ‖d_j‖²) nodes, capped at GH_MAX_NODES (φ'(‖d‖z) has its poles ‖d‖
  times closer to the real axis).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .activations import get_activation
from .backend import like, to_numpy
from .errors import check_array
from .sizes import check_size, eigh_bytes

GH_NODES = 200      # Gauss–Hermite nodes per dimension (see the evidence in the module docstring)
GH_MAX_NODES = 2000 # cap for rows of large norm, which get GH_NODES·‖d‖² nodes
CHEB_POINTS = 257   # Chebyshev–Lobatto points of the κ(c) table
CHEB_DEGREE = 56    # κ's Chebyshev coefficients fall below 3e-16 by degree 48 (tanh), ~30 (softplus)
UNIT_ATOL = 1e-12   # rows with | ‖d_i‖ − 1 | below this use the unit-norm formulas


@lru_cache(maxsize=None)
def _gh(m: int = GH_NODES):
    """Nodes and weights of E_{z∼N(0,1)} (probabilists' Hermite; stable for large m)."""
    from scipy.special import roots_hermitenorm
    z, w = roots_hermitenorm(m)
    return z, w / math.sqrt(2 * math.pi)


def _kappa_quadrature(c, a, b, act, chunk: int = 64) -> np.ndarray:
    """κ(a, b, c) by tensor Gauss–Hermite: u = a z₁, w = (c/a) z₁ + √(b² − c²/a²) z₂."""
    c, a, b = (np.ravel(np.asarray(t, dtype=np.float64)) for t in np.broadcast_arrays(c, a, b))
    rho_b = np.where(a > 0, c / np.where(a > 0, a, 1.0), 0.0)
    s = np.sqrt(np.clip(b * b - rho_b * rho_b, 0.0, None))
    out = np.empty(c.shape)
    for i0 in range(0, c.size, chunk):
        sl = slice(i0, i0 + chunk)
        # φ'(a z) has its singularities at distance δ/a: GH needs ∝ a² nodes for the same accuracy
        scale = max(1.0, float(np.max(a[sl], initial=1.0)), float(np.max(b[sl], initial=1.0)))
        z, w = _gh(min(GH_MAX_NODES, int(math.ceil(GH_NODES * scale * scale))))
        du = act.dphi(a[sl, None] * z) * w                                  # (m_c, m) weighted
        inner = act.dphi(rho_b[sl, None, None] * z[:, None] + s[sl, None, None] * z[None, :])
        out[sl] = np.einsum("pi,pij,j->p", du, inner, w)                    # (m_c,)
    return out


KAPPA_TABLES = "kappa_tables.json"   # package data: the fitted coefficients of tanh and softplus


def kappa_table_key() -> list:
    """What a stored κ table was computed with (a change of any constant recomputes it)."""
    return [GH_NODES, CHEB_POINTS, CHEB_DEGREE]


def fit_kappa_table(name: str) -> np.ndarray:
    """Chebyshev coefficients (degree CHEB_DEGREE) of c ↦ κ(1, 1, c) on [−1, 1], least-squares
    fitted to the Gauss–Hermite table at CHEB_POINTS Chebyshev–Lobatto points. The fit averages
    the quadrature noise (~1e-15 per value) instead of interpolating it. 0.5 s for tanh."""
    from numpy.polynomial import chebyshev
    act = get_activation(name, "infinite_width_gram")
    c = np.cos(np.pi * np.arange(CHEB_POINTS) / (CHEB_POINTS - 1))
    table = _kappa_quadrature(c, np.ones_like(c), np.ones_like(c), act)
    return chebyshev.chebfit(c, table, CHEB_DEGREE)


@lru_cache(maxsize=None)
def _kappa_table(name: str) -> np.ndarray:
    """``fit_kappa_table(name)``, read from the package's ``kappa_tables.json`` when it holds
    this activation for the current constants (scripts/make_kappa_tables.py writes it; a test
    checks it against a fresh fit), else fitted now."""
    import json
    from importlib import resources
    try:
        stored = json.loads(resources.files("theorem_lab").joinpath(KAPPA_TABLES).read_text())
        if stored["key"] == kappa_table_key() and name in stored["tables"]:
            return np.asarray(stored["tables"][name], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return fit_kappa_table(name)


def _kappa_unit(name: str, c: np.ndarray) -> np.ndarray:
    from numpy.polynomial import chebyshev
    return chebyshev.chebval(np.clip(c, -1.0, 1.0), _kappa_table(name))


def dphi_correlation(c, activation, norms_i=None, norms_j=None) -> np.ndarray:
    """κ = E[φ'(u)φ'(w)] for (u, w) centred Gaussian, Var u = a², Var w = b², Cov(u, w) = c.

    ``norms_i``/``norms_j`` (a, b) default to 1 (unit rows). Shapes broadcast.
    """
    act = get_activation(activation, "dphi_correlation")
    c = np.asarray(c, dtype=np.float64)
    unit = norms_i is None and norms_j is None
    a = np.ones_like(c) if norms_i is None else np.broadcast_to(np.asarray(norms_i, float), c.shape)
    b = np.ones_like(c) if norms_j is None else np.broadcast_to(np.asarray(norms_j, float), c.shape)
    if act.name == "erf":
        return 1.0 / np.sqrt((1 + a * a) * (1 + b * b) - c * c)
    if act.name == "relu":
        ab = a * b
        corr = np.where(ab > 0, c / np.where(ab > 0, ab, 1.0), 0.0)
        return (np.pi - np.arccos(np.clip(corr, -1.0, 1.0))) / (2 * np.pi)
    if unit:
        return _kappa_unit(act.name, c)
    return _kappa_quadrature(c, a, b, act).reshape(c.shape)


def _angles(D, block_bytes: int = 2 ** 26) -> np.ndarray:
    """θ_ij = ∠(d_i, d_j) = 2·atan2(‖u_i − u_j‖, ‖u_i + u_j‖), u = d/‖d‖ (zero rows: θ = π/2).

    arccos(d_iᵀd_j/(‖d_i‖‖d_j‖)) loses half the digits near θ = 0 (arccos(1 − 2⁻⁵²) ≈ 2e-8):
    ReLU's κ = (π − θ)/(2π) would then be off by 3e-9 on the diagonal. Row blocks of the (b, n, d)
    differences keep memory bounded.
    """
    norms = np.linalg.norm(D, axis=1, keepdims=True)
    U = np.divide(D, norms, out=np.zeros_like(D), where=norms > 0)
    n, d = U.shape
    theta = np.empty((n, n))
    b = max(1, block_bytes // (8 * max(1, n * d)))
    for i0 in range(0, n, b):
        Ui = U[i0:i0 + b, None, :]                                           # (b, 1, d)
        theta[i0:i0 + b] = 2 * np.arctan2(np.linalg.norm(Ui - U[None], axis=2),
                                          np.linalg.norm(Ui + U[None], axis=2))
    zero = norms[:, 0] == 0
    theta[zero, :] = theta[:, zero] = np.pi / 2
    return theta


def infinite_width_gram(X, activation):
    """Σ(X) ∈ ℝ^{n×n} of Definition 2 (= E_{W₀}[J(W₀,X)J(W₀,X)ᵀ] since ‖v‖₂ = 1; E-3).

    Symmetric positive semi-definite, Σ_ii = ‖x_i‖²·E φ'(‖x_i‖g)². float64 computed on the
    host, returned in X's namespace.
    """
    act = get_activation(activation, "infinite_width_gram")
    check_array("X", X, "infinite_width_gram", ndim=2)
    n = int(X.shape[0])
    check_size("infinite_width_gram", {"n": "X"}, eigh_bytes(n),
               what=f"Σ(X) and its temporaries (n={n})")
    D = to_numpy(X).astype(np.float64)
    norms = np.linalg.norm(D, axis=1)
    G = D @ D.T                                                           # (n, n)
    iu = np.triu_indices(G.shape[0])                                      # κ is symmetric
    if act.name == "relu":
        return like(G * (np.pi - _angles(D)) / (2 * np.pi), X)
    if np.all(np.abs(norms - 1.0) <= UNIT_ATOL):
        k_up = dphi_correlation(np.clip(G[iu], -1.0, 1.0), act)
    else:
        k_up = dphi_correlation(G[iu], act, norms[iu[0]], norms[iu[1]])
    E = np.empty_like(G)
    E[iu] = k_up
    E.T[iu] = k_up
    return like(G * E, X)


def smallest_eigenvalue(S) -> float:
    """λ_min of a symmetric matrix, float64 on the host."""
    S = to_numpy(S).astype(np.float64)
    return float(np.linalg.eigvalsh((S + S.T) / 2)[0])


def lambda_of(D, activation) -> float:
    """λ(D) = λ_min(Σ(D)) (Definition 2), the one definition every caller uses.

    Σ(D) is positive semi-definite, so a negative λ_min (|λ| ~ 1e-16·‖Σ‖, a repeated row) is
    float error and is returned as 0.
    """
    return max(smallest_eigenvalue(infinite_width_gram(D, activation)), 0.0)


def Lambda(X, C, activation) -> dict:
    """λ(X), λ(C) and Λ = min(λ(C), λ(X)) (Definition 2; each λ as ``lambda_of``), host floats."""
    lam_X, lam_C = lambda_of(X, activation), lambda_of(C, activation)
    return {"lambda_X": lam_X, "lambda_C": lam_C, "Lambda": min(lam_X, lam_C)}
