"""The width-k two-layer network f(W, x) = vᵀφ(Wx) of the paper (spec §1.3).

W ∈ ℝ^{k×d} is trained; v ∈ ℝ^k is fixed with k/2 entries +1/√k and k/2 entries −1/√k, so
‖v‖₂ = 1 and E f(W₀, x) = 0. The loss is the MSE ½‖f(W, X) − ŷ‖₂², whose gradient is

    ∇_W = diag(v) · (φ'(XWᵀ) ⊙ r)ᵀ X,     r = f(W, X) − ŷ,

two GEMMs (XWᵀ forward, (φ'·r)ᵀX backward) plus elementwise work on the (n, k) matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from array_api_compat import array_namespace

from .activations import Activation, get_activation
from .backend import like
from .errors import check_int
from .sizes import check_size

_OWNER = "TwoLayerNet.init"


INIT_STREAM = 1   # SeedSequence([seed, INIT_STREAM]) -> the W₀ seed of seed index s


def init_seed(seed: int) -> int:
    """The W₀ seed of seed index s, the one rule every experiment uses (sweep, air, width-search).

    Seed s fixes the data (``make_clusterable(seed=s)``) and, through this independent
    ``SeedSequence`` stream, W₀ (``TwoLayerNet.init(seed=init_seed(s))``): ``default_rng(s)`` in
    both places would draw W₀'s first K rows from the very Gaussian vectors that became the
    cluster centres, correlating the first K neurons with the data.
    """
    return int(np.random.SeedSequence([int(seed), INIT_STREAM]).generate_state(1)[0])


def output_layer(k: int) -> np.ndarray:
    """v = (+1/√k, …, +1/√k, −1/√k, …, −1/√k): half each, the paper's fixed output layer."""
    return np.concatenate([np.ones(k // 2), -np.ones(k // 2)]) / np.sqrt(k)


@dataclass(frozen=True)
class TwoLayerNet:
    W: np.ndarray           # (k, d) hidden weights; any array namespace
    v: np.ndarray           # (k,) fixed output weights ±1/√k
    activation: Activation

    @classmethod
    def init(cls, d: int, k: int, activation: "str | Activation" = "tanh", seed: int = 0) -> "TwoLayerNet":
        """W₀ with i.i.d. N(0, 1) entries (float64, numpy), v as in ``output_layer``."""
        d = check_int("d", d, _OWNER, low=1)
        k = check_int("k", k, _OWNER, low=2, even=True)
        seed = check_int("seed", seed, _OWNER, low=0)
        act = get_activation(activation, _OWNER)
        check_size(_OWNER, {}, [(8 * k * (d + 1), [("k", k, 4096), ("d", d, 50)])],
                   what=f"W₀ and v (k={k}, d={d}, float64)")
        W = np.random.default_rng(seed).standard_normal((k, d))
        return cls(W=W, v=output_layer(k), activation=act)

    @property
    def k(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]

    def with_weights(self, W) -> "TwoLayerNet":
        return replace(self, W=W)

    def forward(self, X):
        """f(W, X) ∈ ℝⁿ, in X's namespace."""
        W, v = like(self.W, X), like(self.v, X)
        return self.activation.phi(X @ W.T) @ v          # (n, k) @ (k,) -> (n,)

    def gradient(self, X, labels):
        """∇_W ½‖f(W, X) − labels‖₂² ∈ ℝ^{k×d}, analytic, in X's namespace."""
        W, v = like(self.W, X), like(self.v, X)
        phi, dphi = self.activation.phi_dphi(X @ W.T)    # (n, k) each
        r = phi @ v - like(labels, X)                     # (n,)
        return v[:, None] * (dphi.T @ (r[:, None] * X))   # (k, n) @ (n, d) -> (k, d)

    def loss(self, X, labels) -> float:
        r = self.forward(X) - like(labels, X)
        return 0.5 * float(array_namespace(r).sum(r * r))
