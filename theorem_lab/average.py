"""Averages of φ' along a segment of weights: the quadrature behind Definition 3 (spec §1.7).

The average Jacobian J̄(W₁, W₂, X) = ∫₀¹ J(W₂ + s(W₁ − W₂), X) ds has the face-splitting form
J̄ = (Φ̄ diag(v)) □ X with the averaged factor

    Φ̄_ih = ∫₀¹ φ'(a_ih + s·t_ih) ds,   a = X W₂ᵀ (n, k),  t = X (W₁ − W₂)ᵀ (n, k).

How many Gauss–Legendre nodes, and why
--------------------------------------
For tanh, softplus and erf, s ↦ φ'(a + s t) is analytic. Map s ∈ [0, 1] to u ∈ [−1, 1]; the
integrand is analytic inside the Bernstein ellipse E_ϱ whose semi-minor axis b = (ϱ − 1/ϱ)/2
keeps |Im z| = |t|·b/2 ≤ δ/2, where δ is the distance of φ' 's nearest complex singularity from
the real axis (tanh: sech² has poles at iπ/2, δ = π/2; softplus: the sigmoid has poles at iπ,
δ = π; erf: e^{−z²/2} is entire and we take δ = 2). On that strip |φ'| ≤ M = 2 (tanh: 1/cos²(π/4);
softplus: 1; erf: e^{1/2}). The q-node Gauss–Legendre error is then at most (Trefethen, ATAP
Thm 19.3, halved for an interval of length 1)

    |error| ≤ (32/15) · M · ϱ^{−2(q−1)} / (ϱ² − 1),  ϱ = b + √(b² + 1),  b = δ/τ,  τ = max |t_ih|,

and for q = 1 (the midpoint rule) |error| ≤ τ²·sup|φ⁽³⁾|/24 ≤ τ²M/(3δ²) (Cauchy estimate).

For one GD step with η = 1/λ_max(J₀J₀ᵀ), τ = η·max_{i,h} |v_h|·|x_iᵀ Σ_j φ'(w_hᵀx_j) r_j x_j|
scales like 1.5/√k and hardly depends on n (measured, tanh, clusterable data: τ = 0.17 at
k = 256; τ = 0.024 at k = 4096 for n = 40, 400 and 1000). At k = 4096 (tanh) the bound gives
1.6e-4 for q = 1 (the midpoint rule), 1.5e-8 for q = 2, 8.5e-13 for q = 3 and 5e-17 for q = 4,
so ``nodes_for`` picks 4 nodes (7 at k = 256). Measured Gram errors against a 64-node reference
(n = 40, k = 4096, tanh): 9e-6, 1e-10, 1e-15 for q = 1, 2, 3, inside the bound (see
tests/kernels/test_algebra.py). Far-apart weights (Lemma 4 with ‖W − W̃‖ large, τ ≈ 1–10)
need 10–120 nodes; ``nodes_for`` picks q from τ so that the bound is below ``tol`` (default
1e-15), capped at ``MAX_NODES``.

ReLU is handled honestly: φ' = 1{z > 0} is piecewise constant in s, quadrature converges only
like 1/q, so Φ̄ is computed in closed form: the length of {s ∈ [0, 1] : a + s t > 0}.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from array_api_compat import array_namespace

from .activations import Activation

MAX_NODES = 256
DEFAULT_TOL = 1e-15
# δ: distance of the nearest singularity of φ' from the real axis (erf: entire, growth-limited)
STRIP_HALF_WIDTH = {"tanh": math.pi / 2, "softplus": math.pi, "erf": 2.0}
STRIP_BOUND_M = 2.0   # sup |φ'| on |Im z| ≤ δ/2 for all three smooth activations


@lru_cache(maxsize=None)
def gauss_legendre01(q: int) -> tuple:
    """(s_j, w_j), j = 1..q: q-node Gauss–Legendre on [0, 1] (exact for degree ≤ 2q − 1)."""
    u, w = np.polynomial.legendre.leggauss(int(q))
    return tuple((0.5 * (u + 1.0)).tolist()), tuple((0.5 * w).tolist())


def gl_error_bound(tau: float, activation: Activation, q: int) -> float:
    """Upper bound on |Φ̄_ih − Q_q| for every entry with |t_ih| ≤ τ (module docstring).

    q ≥ 2: (32/15)·M·ϱ^{−2(q−1)}/(ϱ² − 1) (ATAP Thm 19.3 with q = n + 1 points, halved for an
    interval of length 1). q = 1: the midpoint rule's error f''(ξ)/24 = τ²φ⁽³⁾/24 with the
    Cauchy estimate |φ⁽³⁾| ≤ 2M/(δ/2)², i.e. τ²M/(3δ²).
    """
    if tau == 0.0:
        return 0.0
    delta = STRIP_HALF_WIDTH[activation.name]
    if q == 1:
        return tau * tau * STRIP_BOUND_M / (3 * delta * delta)
    b = delta / tau
    rho = b + math.sqrt(b * b + 1.0)
    log_bound = (math.log(32 / 15 * STRIP_BOUND_M) - 2 * (q - 1) * math.log(rho)
                 - math.log(rho * rho - 1.0))
    return math.exp(log_bound) if log_bound > -700 else 0.0


def nodes_for(tau: float, activation: Activation, tol: float = DEFAULT_TOL) -> int:
    """Smallest q ≤ MAX_NODES with ``gl_error_bound(τ, φ, q) ≤ tol`` (MAX_NODES if none)."""
    for q in range(1, MAX_NODES + 1):
        if gl_error_bound(tau, activation, q) <= tol:
            return q
    return MAX_NODES


def relu_segment_fraction(a, t):
    """|{s ∈ [0, 1] : a + s t > 0}| entrywise: the exact ReLU average of φ' (any namespace)."""
    xp = array_namespace(a)
    safe_t = xp.where(t == 0, xp.ones_like(t), t)
    root = -a / safe_t                                              # where a + s t = 0
    up = xp.clip(1.0 - root, 0.0, 1.0)                               # t > 0: s > root
    down = xp.clip(root, 0.0, 1.0)                                   # t < 0: s < root
    flat = xp.astype(a > 0, a.dtype)                                  # t = 0
    return xp.where(t > 0, up, xp.where(t < 0, down, flat))


def averaged_dphi(a, t, activation: Activation, nodes=None, tol: float = DEFAULT_TOL):
    """Φ̄ = ∫₀¹ φ'(a + s t) ds entrywise, a and t of shape (b, k).

    ``nodes=None``: ReLU in closed form, smooth activations with ``nodes_for(max|t|)`` nodes.
    An integer forces q-node Gauss–Legendre (for ReLU too, then the error is O(1/q)).
    """
    xp = array_namespace(a)
    if nodes is None:
        if activation.name == "relu":
            return relu_segment_fraction(a, t)
        tau = float(xp.max(xp.abs(t))) if t.shape[0] * t.shape[1] else 0.0
        nodes = nodes_for(tau, activation, tol)
    s, w = gauss_legendre01(nodes)
    out = w[0] * activation.dphi(a + s[0] * t)
    for sj, wj in zip(s[1:], w[1:]):
        out = out + wj * activation.dphi(a + sj * t)
    return out
