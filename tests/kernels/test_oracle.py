"""Every kernel function equals the same quantity from an explicit torch.func Jacobian (E-1, E-2,
E-4, E-8), float64, relative error 1e-10; hypothesis over shapes, activations and subspaces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theorem_lab as tl
from theorem_lab import kernels as kn
from tests.kernels.oracle import explicit_average_jacobian, explicit_jacobian, spec
from tests.strategies import kernel_instances
from tests.conftest import examples

RTOL = 1e-10


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@settings(max_examples=examples(20))
@given(kernel_instances())
def test_jacobian_gram_and_cross_gram_match_explicit(inst):
    W1, W2, X1, X2, act = inst["W1"], inst["W2"], inst["X1"], inst["X2"], inst["activation"]
    J1, J2 = explicit_jacobian(W1, X1, act), explicit_jacobian(W2, X2, act)
    assert rel(kn.jacobian_gram(W1, X1, act), J1 @ J1.T) < RTOL
    assert rel(kn.jacobian_gram(W1, X1, act, W2=W2), J1 @ explicit_jacobian(W2, X1, act).T) < RTOL
    assert rel(kn.cross_gram(W1, X1, W2, X2, act), J1 @ J2.T) < RTOL


@settings(max_examples=examples(20))
@given(kernel_instances())
def test_norms_match_explicit(inst):
    W1, W2, X1, X2, act = inst["W1"], inst["W2"], inst["X1"], inst["X2"], inst["activation"]
    J1, J2 = explicit_jacobian(W1, X1, act), explicit_jacobian(W2, X2, act)
    assert abs(kn.jacobian_norm(W1, X1, act) - spec(J1)) <= RTOL * spec(J1)
    ref = spec(J1 - J2)
    assert abs(kn.jacobian_diff_norm(W1, X1, W2, X2, act) - ref) <= RTOL * ref
    J12 = explicit_jacobian(W2, X1, act)                       # same data, different weights
    ref = spec(J1 - J12)
    assert abs(kn.jacobian_diff_norm(W1, X1, W2, X1, act) - ref) <= RTOL * ref


@settings(max_examples=examples(15))
@given(kernel_instances(), st.integers(0, 3))
def test_sigma_min_on_subspace_matches_explicit(inst, extra):
    W, X, act, basis = inst["W1"], inst["X1"], inst["activation"], inst["basis"]
    # σ_min comes from λ_min of the Gram, whose error is relative to λ_max = σ_max²: compare
    # squares (a σ_min near 0 is only known to ~√ε·σ_max, a property of any Gram method).
    J = explicit_jacobian(W, X, act)
    sv = np.linalg.svd(J, compute_uv=False)
    smin = sv[J.shape[0] - 1] if J.shape[0] <= J.shape[1] else 0.0
    assert abs(kn.sigma_min(W, X, act) ** 2 - smin ** 2) <= RTOL * sv[0] ** 2
    # Definition 5 / E-8: σ_dim S(Uᵀ J), independent of the (orthonormalised) spanning set
    U, _ = np.linalg.qr(basis)
    svU = np.linalg.svd(U.T @ J, compute_uv=False)
    ref = svU[-1] if U.shape[1] <= J.shape[1] else 0.0
    mixed = basis @ np.random.default_rng(extra).standard_normal((basis.shape[1],) * 2)
    for B in (basis, mixed):
        assert abs(kn.sigma_min(W, X, act, basis=B) ** 2 - ref ** 2) <= RTOL * sv[0] ** 2


@settings(max_examples=examples(10))
@given(kernel_instances(smooth_only=True))
def test_average_jacobian_and_its_algebra_match_explicit(inst):
    W1, W2, X1, X2, act = inst["W1"], inst["W2"], inst["X1"], inst["X2"], inst["activation"]
    Jbar = explicit_average_jacobian(W1, W2, X1, act)
    J2 = explicit_jacobian(W2, X2, act)
    A = kn.average_jacobian(W1, W2, X1)
    assert rel(kn.gram(A, A, act), Jbar @ Jbar.T) < RTOL
    assert rel(kn.gram(A, kn.as_sum(W2, X2), act), Jbar @ J2.T) < RTOL
    D = kn.jac_difference(A, kn.as_sum(W2, X2))
    assert abs(kn.spectral_norm(D, act) - spec(Jbar - J2)) <= RTOL * spec(Jbar - J2)
    # E-4: f(W1) − f(W2) = J̄ vec(W1 − W2)
    net = tl.TwoLayerNet.init(d=X1.shape[1], k=W1.shape[0], activation=act)
    df = net.with_weights(W1).forward(X1) - net.with_weights(W2).forward(X1)
    assert rel(Jbar @ (W1 - W2).ravel(), df) < 1e-9


def test_relu_average_jacobian_is_exact_closed_form():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((7, 3))
    W1, W2 = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    # E-4 holds exactly for ReLU with the closed-form average (quadrature could not do this)
    net = tl.TwoLayerNet.init(d=3, k=6, activation="relu")
    A = kn.average_jacobian(W1, W2, X)
    G = kn.gram(A, kn.as_sum(W1, X), "relu")
    df = net.with_weights(W1).forward(X) - net.with_weights(W2).forward(X)
    # J̄ vec(Δ) through the factor: Φ̄ diag(v) (XΔᵀ) summed over hidden units
    from theorem_lab.average import relu_segment_fraction
    a, t = X @ W2.T, X @ (W1 - W2).T
    Jbar_delta = np.sum(relu_segment_fraction(a, t) * net.v * t, axis=1)
    assert rel(Jbar_delta, df) < 1e-12
    # and the Gram agrees with an explicit dense midpoint rule with many nodes, to O(1/q)
    Jbar = explicit_average_jacobian(W1, W2, X, "relu", nodes=400)
    J1 = explicit_jacobian(W1, X, "relu")
    assert rel(G, Jbar @ J1.T) < 2e-2
    assert G.shape == (7, 7)


@pytest.mark.parametrize("xp_name_", ["numpy", "torch"])
def test_results_stay_in_the_input_namespace(xp_name_):
    from tests.conftest import as_namespace
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    G = kn.jacobian_gram(as_namespace(W, xp_name_), as_namespace(X, xp_name_), "tanh")
    assert type(G).__module__.split(".")[0] == xp_name_
    assert rel(np.asarray(tl.to_numpy(G)), kn.jacobian_gram(W, X, "tanh")) < 1e-13
