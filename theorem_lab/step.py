"""One full-batch gradient step of the two-layer network, written once for every backend.

    forward:   Z = X Wᵀ (GEMM 1),  (φ(Z), φ'(Z)),  f = φ(Z) v
    backward:  ∇_W = diag(v) · φ'(Z)ᵀ (r ⊙ X)      (GEMM 2; r scales the small (n, d) side)

Scaling X by r instead of φ'(Z) by r and v saves a pass over the (n, k) matrix.
"""

from __future__ import annotations

from array_api_compat import array_namespace


class GradientStep:
    """Forward and gradient of ½‖f(W, X) − ŷ‖² for fixed X, v and φ.

    ``forward(W)`` returns f(W, X) and keeps φ'(XWᵀ) for the ``gradient(r)`` call that follows.
    """

    def __init__(self, X, v, activation):
        self.X, self.v, self.activation = X, v, activation
        self.xp = array_namespace(X)
        self._dphi = None

    def forward(self, W):
        phi, self._dphi = self.activation.phi_dphi(self.X @ W.T)   # (n, k) each
        return phi @ self.v                                          # (n,)

    def gradient(self, r):
        """∇_W for the residual r = f − ŷ of the last ``forward``; shape (k, d)."""
        return self.v[:, None] * (self._dphi.T @ (r[:, None] * self.X))
