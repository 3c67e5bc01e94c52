"""Chunking, S₊, σ_min on subspaces, E-6, and the Gauss–Legendre node count for a GD step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theorem_lab as tl
from theorem_lab import average, kernels as kn
from tests.strategies import kernel_instances
from tests.conftest import examples


@settings(max_examples=examples(15))
@given(kernel_instances(), st.integers(1, 4))
def test_chunked_equals_unchunked(inst, block):
    W1, W2, X1, X2, act = inst["W1"], inst["W2"], inst["X1"], inst["X2"], inst["activation"]
    A = kn.jac_difference(kn.as_sum(W1, X1), kn.average_jacobian(W1, W2, X2))
    B = kn.as_sum(W2, X2)
    for L, R in ((A, A), (A, B), (B, B)):
        full = kn.gram(L, R, act, block=10**6)
        chunked = kn.gram(L, R, act, block=block)
        assert np.max(np.abs(full - chunked)) <= 1e-13 * max(1.0, np.max(np.abs(full)))
    assert np.array_equal(kn.jacobian_gram(W1, X1, act, block=block),
                          kn.jacobian_gram(W1, X1, act, block=block).T)


def test_lanczos_path_equals_dense(monkeypatch):
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.standard_normal((30, 4)), rng.standard_normal((16, 4)), rng.standard_normal((16, 4))
    Xt = X + 0.01 * rng.standard_normal(X.shape)
    dense = [kn.jacobian_norm(W1, X, "tanh"), kn.jacobian_diff_norm(W1, X, W2, Xt, "tanh")]
    monkeypatch.setattr(kn, "EIGH_MAX_N", 5)
    lanczos = [kn.jacobian_norm(W1, X, "tanh"), kn.jacobian_diff_norm(W1, X, W2, Xt, "tanh")]
    assert np.allclose(dense, lanczos, rtol=1e-10, atol=0)


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40))
def test_support_basis_is_an_orthonormal_basis_of_S_plus(labels):
    cluster = np.unique(labels, return_inverse=True)[1]             # clusters 0..K-1, all nonempty
    U = kn.support_basis(cluster)
    K = cluster.max() + 1
    assert U.shape == (len(labels), K)
    assert np.allclose(U.T @ U, np.eye(K), atol=1e-14)
    P = U @ U.T                                                      # = Σ_l 1_l 1_lᵀ / n_l
    same = cluster[:, None] == cluster[None, :]
    assert np.allclose(P, same / np.bincount(cluster)[cluster][None, :], atol=1e-14)
    u = np.random.default_rng(len(labels)).standard_normal(len(labels))
    assert np.allclose(kn.project_support(u, cluster), P @ u, atol=1e-13)


@settings(max_examples=examples(15))
@given(kernel_instances())
def test_sigma_min_on_a_subspace_is_at_least_sigma_min_overall(inst):
    W, X, act, basis = inst["W1"], inst["X1"], inst["activation"], inst["basis"]
    s_all, s_sub = kn.sigma_min(W, X, act), kn.sigma_min(W, X, act, basis=basis)
    scale = kn.jacobian_norm(W, X, act) ** 2
    assert s_sub ** 2 >= s_all ** 2 - 1e-12 * scale
    assert s_sub <= kn.jacobian_norm(W, X, act) * (1 + 1e-12)


@settings(max_examples=examples(10))
@given(st.integers(0, 10**6), st.sampled_from(["tanh", "erf", "relu"]))
def test_centre_jacobian_lives_in_S_plus(seed, act):
    """E-6: (I − P_S₊) J(W, X̃) = 0, seen through the Gram; support_gram = Uᵀ J̃J̃ᵀ U exactly."""
    data = tl.make_clusterable(n=30, K=3, d=5, eps=0.2, rho=0.1, seed=seed % 1000, n_test=0)
    W = np.random.default_rng(seed).standard_normal((12, 5))
    U = kn.support_basis(data.cluster)
    G = kn.jacobian_gram(W, data.X_centers, act)
    Q = np.eye(30) - U @ U.T
    assert np.max(np.abs(Q @ G)) <= 1e-13 * np.max(np.abs(G))
    assert np.allclose(kn.support_gram(W, data.X_centers, U, act), U.T @ G @ U, rtol=0,
                       atol=1e-13 * np.max(np.abs(G)))


def gd_step(data, net, lr):
    W1 = net.W - lr * net.gradient(data.X, data.y)
    return W1


@pytest.mark.parametrize("act", ["tanh", "softplus", "erf"])
def test_gauss_legendre_nodes_for_a_gd_step(act):
    """For one GD step at k = 4096 (τ = max|x·ΔW_h| ≈ 0.024) the midpoint rule is ~1e-5
    accurate, two nodes ~1e-10, three ~1e-15; the error of q nodes stays below
    ``gl_error_bound`` and the default node count reaches round-off."""
    data = tl.make_clusterable(n=40, K=4, d=10, eps=0.2, rho=0.2, seed=1, n_test=0)
    net = tl.TwoLayerNet.init(d=10, k=4096, activation=act, seed=2)
    lr = 1.0 / kn.lambda_max(net.W, data.X, act)
    W1 = gd_step(data, net, lr)
    tau = float(np.max(np.abs(data.X @ (W1 - net.W).T)))
    assert tau < 0.05
    ref = kn.gram(kn.average_jacobian(W1, net.W, data.X, nodes=64),
                  kn.as_sum(net.W, data.X), act)                       # H_t of §1.11 (E-43)
    errs = []
    for q in (1, 2, 3):
        Gq = kn.gram(kn.average_jacobian(W1, net.W, data.X, nodes=q), kn.as_sum(net.W, data.X), act)
        errs.append(np.max(np.abs(Gq - ref)) / np.max(np.abs(ref)))
        # entrywise factor bound → Gram bound: |ΔG_ij| ≤ bound · Σ_h v_h² |φ'|·|x_iᵀx_j| ≤ bound
        assert errs[-1] <= average.gl_error_bound(tau, tl.get_activation(act), q) / np.max(np.abs(ref)) + 1e-15
    assert errs[0] < 1e-4 and errs[1] < 1e-9 and errs[2] < 1e-13
    assert errs[0] > errs[1] > errs[2]
    assert average.nodes_for(tau, tl.get_activation(act)) <= 4
    auto = kn.gram(kn.average_jacobian(W1, net.W, data.X), kn.as_sum(net.W, data.X), act)
    assert np.max(np.abs(auto - ref)) <= 1e-13 * np.max(np.abs(ref))


def test_far_apart_weights_need_more_nodes_and_get_them():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 3)); X /= np.linalg.norm(X, axis=1, keepdims=True)
    W1, W2 = rng.standard_normal((10, 3)), rng.standard_normal((10, 3))
    act = tl.get_activation("tanh")
    tau = float(np.max(np.abs(X @ (W1 - W2).T)))
    assert average.nodes_for(tau, act) > 10
    ref = kn.gram(kn.average_jacobian(W1, W2, X, nodes=200), kn.as_sum(W2, X), act)
    auto = kn.gram(kn.average_jacobian(W1, W2, X), kn.as_sum(W2, X), act)
    two = kn.gram(kn.average_jacobian(W1, W2, X, nodes=2), kn.as_sum(W2, X), act)
    assert np.max(np.abs(auto - ref)) <= 1e-13 * np.max(np.abs(ref))
    assert np.max(np.abs(two - ref)) > 1e-6 * np.max(np.abs(ref))


def test_relu_average_converges_only_like_one_over_q_with_quadrature():
    rng = np.random.default_rng(2)
    a, t = rng.standard_normal((50, 40)), rng.standard_normal((50, 40))
    relu = tl.get_activation("relu")
    exact = average.averaged_dphi(a, t, relu)
    errs = [np.max(np.abs(average.averaged_dphi(a, t, relu, nodes=q) - exact)) for q in (4, 16, 64)]
    assert errs[2] > 1e-4                        # no spectral convergence: why ReLU is closed-form
    assert errs[0] > errs[2]


@settings(max_examples=examples(10))
@given(st.integers(0, 10**6))
def test_projection_of_noisy_labels_on_S_plus(seed):
    """E-7: (P_S₊ y)_i = (1 − 2ρ_l) ỹ_(l) for i in cluster l."""
    data = tl.make_clusterable(n=60, K=4, d=5, eps=0.2, rho=0.3, seed=seed % 5000, n_test=0)
    expected = (1 - 2 * data.rho_per_cluster[data.cluster]) * data.y_true
    assert np.allclose(kn.project_support(data.y, data.cluster), expected, atol=1e-14)


@pytest.mark.slow
def test_n20000_k4096_gram_fits_in_4_gib():
    """The issue's size: the chunked Gram's peak resident memory stays below 4 GiB."""
    import subprocess
    import sys
    code = (
        "import numpy as np; from theorem_lab import kernels as kn\n"
        "rng = np.random.default_rng(0); X = rng.standard_normal((20000, 50))\n"
        "X /= np.linalg.norm(X, axis=1, keepdims=True); W = rng.standard_normal((4096, 50))\n"
        "G = kn.jacobian_gram(W, X, 'tanh')\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) * 1024 < 4 * 2**30
