"""Hypothesis strategies shared by the whole suite (one place, as array-api-tests does).

Each strategy draws *valid* configurations; tests of invalid input build their own values.
Add new strategies at the end of the file, one block per area.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

import theorem_lab as tl

SMOOTH_ACTIVATIONS = ("tanh", "softplus", "erf")


@st.composite
def data_configs(draw, max_n: int = 120, max_K: int = 6, max_d: int = 12):
    """Keyword arguments for ``make_clusterable`` that it must accept."""
    K = draw(st.integers(2, max_K))
    n = draw(st.integers(2 * K, max(2 * K, max_n)))
    d = draw(st.integers(2, max_d))
    eps = draw(st.floats(1e-3, 2.0))
    n_min = n // K
    # round(rho * n_l) / n_l < 1/2 for the smallest cluster size n_min and the largest n_min + 1
    rho = draw(st.floats(0.0, 0.49))
    assume(all(round(rho * m) / m < 0.5 for m in (n_min, n_min + 1)))
    seed = draw(st.integers(0, 2**31 - 1))
    n_test = draw(st.integers(0, 50))
    return dict(n=n, K=K, d=d, eps=eps, rho=rho, seed=seed, n_test=n_test)


@st.composite
def small_problems(draw, activations=SMOOTH_ACTIVATIONS, max_n: int = 40, max_k: int = 64):
    """(data, net): a small clusterable set and a matching network, for exact-algebra tests."""
    cfg = draw(data_configs(max_n=max_n, max_K=4, max_d=8))
    data = tl.make_clusterable(**cfg)
    k = 2 * draw(st.integers(1, max_k // 2))
    net = tl.TwoLayerNet.init(d=cfg["d"], k=k, activation=draw(st.sampled_from(activations)),
                              seed=draw(st.integers(0, 2**31 - 1)))
    return data, net


# --- kernels (issue 4): small instances for the Jacobian-algebra oracle -----------------------
@st.composite
def kernel_instances(draw, smooth_only: bool = False):
    """Two weight matrices, two data matrices of n rows (the second a perturbation of the first,
    as the centres are of the data), an activation and a random subspace basis (n, m)."""
    import numpy as np

    n = draw(st.integers(1, 7))
    d = draw(st.integers(1, 4))
    k = 2 * draw(st.integers(1, 4))
    acts = SMOOTH_ACTIVATIONS if smooth_only else SMOOTH_ACTIVATIONS + ("relu",)
    act = draw(st.sampled_from(acts))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    X1 = rng.standard_normal((n, d))
    X1 /= np.linalg.norm(X1, axis=1, keepdims=True)
    scale = draw(st.sampled_from([1e-3, 0.1, 1.0]))
    W1 = rng.standard_normal((k, d))
    m = draw(st.integers(1, n))
    return dict(W1=W1, W2=W1 + scale * rng.standard_normal((k, d)),
                X1=X1, X2=X1 + scale * rng.standard_normal((n, d)),
                activation=act, basis=rng.standard_normal((n, m)))


# --- proofs_check: configurations for the lemma checkers (proofs_check/statements.py) --------------

class DrawRng:
    """The part of ``numpy.random.Generator`` the statement sampler uses, with every number
    drawn by hypothesis: each parameter of a configuration (n, K, d, ε, ρ, k, seeds, schedule) is
    its own draw, so a failure shrinks to a small readable configuration, not just another seed."""

    def __init__(self, draw):
        self.draw = draw

    def integers(self, low, high=None):
        low, high = (0, low) if high is None else (low, high)
        return self.draw(st.integers(int(low), int(high) - 1))

    def uniform(self, low=0.0, high=1.0):
        if low >= high:
            return float(low)
        return self.draw(st.floats(float(low), float(high), exclude_max=True))

    def random(self):
        return self.uniform(0.0, 1.0)

    def choice(self, seq):
        return self.draw(st.sampled_from(list(seq)))


@st.composite
def lemma_configs(draw, lemma: str):
    """A configuration that ``theorem_lab.proofs_check.statements.evaluate(lemma, cfg)`` accepts:
    the statement sampler, every parameter drawn by hypothesis (``DrawRng``)."""
    from theorem_lab.proofs_check.statements import sample
    return sample(lemma, DrawRng(draw))


@st.composite
def weight_pairs(draw, max_k: int = 64, max_d: int = 8):
    """(W, W̃): two k×d weight matrices, W̃ a perturbation of W of relative size in [1e-3, 3]."""
    import numpy as np
    k = 2 * draw(st.integers(1, max_k // 2))
    d = draw(st.integers(2, max_d))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    W = rng.standard_normal((k, d))
    return W, W + draw(st.floats(1e-3, 3.0)) * rng.standard_normal((k, d))


# --- sweep (issue 3): resolved run configurations for run_id hashing ---------------------------

@st.composite
def run_configs(draw):
    """A ``theorem_lab.simulations.grid.RunConfig`` as a dict, every field drawn from its valid range."""
    from theorem_lab.simulations.grid import RunConfig, init_seed
    seed = draw(st.integers(0, 2**31 - 1))
    K = draw(st.integers(2, 20))
    return RunConfig(
        n=draw(st.integers(2 * K, 5000)), clusters=K, dim=draw(st.integers(2, 200)),
        eps=draw(st.floats(1e-4, 2.0)), rho=draw(st.floats(0.0, 0.49)),
        n_test=draw(st.integers(0, 2000)), min_separation=draw(st.floats(0.0, 2.0)),
        width=2 * draw(st.integers(1, 8192)),
        activation=draw(st.sampled_from(("tanh", "softplus", "erf", "relu"))),
        method=draw(st.sampled_from(("self-distill", "gd", "early-stop"))),
        steps=draw(st.integers(1, 10**5)),
        lr=draw(st.one_of(st.sampled_from(("auto", "theorem")), st.floats(1e-6, 10.0))),
        schedule=draw(st.sampled_from(("linear:end=300,start=0", "exponential:tau=50",
                                       "constant:value=1"))),
        label_fn=draw(st.sampled_from(("clipped", "sign", "identity", None))),
        rho_h=draw(st.one_of(st.none(), st.floats(0.0, 0.49))),
        log_every=draw(st.integers(1, 100)),
        backend=draw(st.sampled_from(("numpy", "torch", "cupy"))),
        device=draw(st.sampled_from(("cpu", "cuda"))),
        dtype=draw(st.sampled_from(("float64", "float32"))),
        seed=seed, data_seed=seed, init_seed=init_seed(seed)).as_dict()


# --- step (theorem_lab.step.GradientStep): shapes for the fast paths ---------------------------
@st.composite
def step_problems(draw, max_n: int = 70, max_d: int = 8, max_k: int = 64):
    """Arrays for one GD step: X (n, d), W (k, d) with a random scale (0.1 to 6: from linear to
    saturated units), v ±1/√k, labels y (n,), plus the fast path's tuning knobs: ``block_rows``
    (None or 1..n+3, so n is often not a multiple of it) and ``threads`` (1..3)."""
    import numpy as np
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    k = 2 * draw(st.integers(1, max_k // 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    X = rng.standard_normal((n, d))
    X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    W = draw(st.floats(0.1, 6.0)) * rng.standard_normal((k, d))
    return dict(X=X, W=W, v=tl.network.output_layer(k), y=rng.standard_normal(n),
                block_rows=draw(st.none() | st.integers(1, n + 3)),
                threads=draw(st.integers(1, 3)))
