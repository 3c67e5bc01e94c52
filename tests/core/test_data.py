"""make_clusterable: Definition 1's invariants for every valid configuration, exact flips,
determinism by seed, and one clear error per invalid parameter."""

import numpy as np
import pytest
from hypothesis import given

import theorem_lab as tl
from tests.strategies import data_configs


@given(data_configs())
def test_definition_1_invariants(cfg):
    data = tl.make_clusterable(**cfg)
    n, K, d, eps = cfg["n"], cfg["K"], cfg["d"], cfg["eps"]
    assert data.X.shape == (n, d) and data.centers.shape == (K, d)
    # unit-norm inputs and centres
    np.testing.assert_allclose(np.linalg.norm(data.X, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(data.centers, axis=1), 1.0, atol=1e-12)
    # every point within ε of its centre; X_centers is the centre of each point's cluster
    assert np.all(np.linalg.norm(data.X - data.X_centers, axis=1) <= eps + 1e-12)
    assert np.array_equal(data.X_centers, data.centers[data.cluster])
    # balanced: sizes differ by at most one; c_low as reported
    sizes = data.cluster_sizes
    assert sizes.sum() == n and sizes.max() - sizes.min() <= 1
    assert data.c_low == pytest.approx(K * sizes.min() / n)
    # ground truth constant on each cluster, both labels present
    for l in range(K):
        assert np.all(data.y_true[data.cluster == l] == data.center_labels[l])
    assert set(np.unique(data.y_true)) == {-1.0, 1.0}
    # exactly round(ρ·n_l) flips per cluster, realised ρ_l < 1/2
    for l in range(K):
        members = data.cluster == l
        assert data.corrupted[members].sum() == round(cfg["rho"] * sizes[l])
    assert np.array_equal(data.corrupted, data.y != data.y_true)
    assert data.rho < 0.5
    # test points: same clusters, clean labels, within ε
    assert data.X_test.shape == (cfg["n_test"], d)
    assert np.array_equal(data.y_test, data.center_labels[data.cluster_test])
    if cfg["n_test"]:
        assert np.all(np.linalg.norm(data.X_test - data.centers[data.cluster_test], axis=1) <= eps + 1e-12)


@given(data_configs())
def test_fully_determined_by_seed(cfg):
    a, b = tl.make_clusterable(**cfg), tl.make_clusterable(**cfg)
    for field in ("X", "y", "y_true", "cluster", "centers", "X_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    c = tl.make_clusterable(**{**cfg, "seed": cfg["seed"] + 1})
    assert not np.array_equal(a.X, c.X)


def test_per_cluster_rho_list():
    data = tl.make_clusterable(n=100, K=4, d=5, eps=0.1, rho=[0.0, 0.1, 0.2, 0.4], seed=3)
    # n_l = 25: round(2.5) = 2 (Python rounds half to even, as documented), round(5) = 5, round(10) = 10
    np.testing.assert_allclose(data.rho_per_cluster, [0.0, 0.08, 0.2, 0.4])
    assert data.rho == pytest.approx(0.4)


def test_min_separation_is_met():
    data = tl.make_clusterable(n=40, K=4, d=10, eps=0.1, rho=0.2, seed=0, min_separation=1.2)
    C = data.centers
    dist = np.linalg.norm(C[:, None] - C[None], axis=-1)[np.triu_indices(4, 1)]
    assert dist.min() >= 1.2


@pytest.mark.parametrize("kwargs, name", [
    (dict(rho=0.5), "rho"), (dict(rho=-0.1), "rho"), (dict(rho=[0.1, 0.2]), "rho"),
    (dict(rho=[0.1, 0.6, 0.1, 0.1]), "rho"), (dict(rho=float("nan")), "rho"),
    (dict(n=5), "n"), (dict(n=1), "n"), (dict(n=10.5), "n"), (dict(K=1), "K"), (dict(d=1), "d"),
    (dict(eps=0.0), "eps"), (dict(eps=-1), "eps"), (dict(eps=2.5), "eps"), (dict(seed=-1), "seed"),
    (dict(n_test=-3), "n_test"), (dict(min_separation=3.0), "min_separation"),
    (dict(min_separation=1.99, K=8, d=2), "min_separation"),
    (dict(n=8, rho=0.3), "rho"),  # n_l = 2: one flip is half the cluster
])
def test_invalid_parameters_are_named(kwargs, name):
    base = dict(n=40, K=4, d=5, eps=0.1, rho=0.2, seed=0)
    with pytest.raises(tl.ParameterError, match=f"'{name}' parameter of make_clusterable"):
        tl.make_clusterable(**{**base, **kwargs})
