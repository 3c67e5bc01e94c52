"""Explicit Jacobians from torch.func.jacrev (float64): the oracle for the kernel algebra (E-1)."""

from __future__ import annotations

import numpy as np
import torch

import theorem_lab as tl


def explicit_jacobian(W, X, activation, v=None) -> np.ndarray:
    """J(W, X) ∈ ℝ^{n×kd} by reverse-mode autodiff of f(W, X) = vᵀφ(WXᵀ) (row-major vec(W))."""
    act = tl.get_activation(activation)
    W_t = torch.as_tensor(np.asarray(W, dtype=np.float64))
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float64))
    k = W_t.shape[0]
    v_t = torch.as_tensor(tl.network.output_layer(k) if v is None else np.asarray(v, dtype=np.float64))

    def f(Wm):
        return act.phi(X_t @ Wm.T) @ v_t                        # (n,)

    J = torch.func.jacrev(f)(W_t)                                # (n, k, d)
    return J.reshape(X_t.shape[0], -1).numpy()


def explicit_average_jacobian(W1, W2, X, activation, nodes: int = 200, v=None) -> np.ndarray:
    """∫₀¹ J(W₂ + s(W₁ − W₂), X) ds by high-node Gauss–Legendre on explicit Jacobians."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    s, w = (u + 1) / 2, w / 2
    W1, W2 = np.asarray(W1, float), np.asarray(W2, float)
    return sum(wj * explicit_jacobian(W2 + sj * (W1 - W2), X, activation, v) for sj, wj in zip(s, w))


def spec(M) -> float:
    return float(np.linalg.norm(M, 2))
