"""Σ(X) of Definition 2: structure, closed forms vs quadrature, Monte Carlo (E-3), and the
empirical J₀J₀ᵀ converging to it like k^(-1/2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

import theorem_lab as tl
from theorem_lab import covariance as cv
from theorem_lab import kernels as kn
from tests.conftest import examples

ACTS = ("tanh", "softplus", "erf", "relu")


def expected_diag(a: float, act) -> float:
    """‖x‖² E φ'(‖x‖ g)², by adaptive 1-D quadrature (independent of the module's GH/Chebyshev)."""
    if act == "relu":
        return a * a / 2                                               # P(g > 0) = 1/2
    dphi = tl.get_activation(act).dphi
    f = lambda z: float(dphi(np.array([a * z]))[0]) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return a * a * integrate.quad(f, -np.inf, np.inf, epsabs=1e-15, epsrel=1e-13, limit=200)[0]


@settings(max_examples=examples(12))
@given(st.sampled_from(ACTS), st.integers(2, 9), st.integers(1, 5), st.booleans(),
       st.integers(0, 10**6))
def test_sigma_is_symmetric_psd_with_the_expected_diagonal(act, n, d, unit, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    if not unit:
        X *= rng.uniform(0.5, 1.5, (n, 1))
    S = cv.infinite_width_gram(X, act)
    assert np.array_equal(S, S.T)
    assert np.linalg.eigvalsh(S)[0] >= -1e-12 * np.max(np.diag(S))
    for i in range(n):
        a = float(np.linalg.norm(X[i]))
        assert abs(S[i, i] - expected_diag(a, act)) <= 1e-12 * max(1.0, a * a)
    assert cv.lambda_of(X, act) <= np.min(np.diag(S)) + 1e-15


def test_unit_rows_table_matches_direct_quadrature():
    c = np.concatenate([np.linspace(-1, 1, 41), 1 - np.logspace(-9, -1, 9)])
    one = np.ones_like(c)
    for act in ("tanh", "softplus"):
        ref = cv._kappa_quadrature(c, one, one, tl.get_activation(act))
        assert np.max(np.abs(cv.dphi_correlation(c, act) - ref)) < 5e-15


def test_closed_forms_match_quadrature_for_general_norms():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.2, 2.0, 30), rng.uniform(0.2, 2.0, 30)
    c = a * b * rng.uniform(-1, 1, 30)
    for act in ("erf", "relu"):
        closed = cv.dphi_correlation(c, act, a, b)
        quad = cv._kappa_quadrature(c, a, b, tl.get_activation(act))
        tol = 1e-13 if act == "erf" else 2e-2          # GH on a step function is only O(1/m)
        assert np.max(np.abs(closed - quad)) < tol
    # the unit-row erf formula of the spec (§1.6)
    cc = np.linspace(-1, 1, 11)
    assert np.allclose(cv.dphi_correlation(cc, "erf"), 1 / np.sqrt(4 - cc**2), rtol=0, atol=1e-15)


@pytest.mark.parametrize("act", ACTS)
def test_monte_carlo_matches_sigma(act):
    """E-3 by direct sampling of g ∼ N(0, I): every entry within 6 standard errors."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 3))
    X[:3] /= np.linalg.norm(X[:3], axis=1, keepdims=True)      # mixed unit / non-unit rows
    m = 200_000
    F = tl.get_activation(act).dphi(X @ rng.standard_normal((3, m)))        # (n, m)
    samples = (F[:, None, :] * F[None, :, :]) * (X @ X.T)[:, :, None]      # (n, n, m)
    mean, se = samples.mean(axis=2), samples.std(axis=2) / math.sqrt(m)
    S = cv.infinite_width_gram(X, act)
    assert np.all(np.abs(mean - S) <= 6 * se + 1e-12)


def test_empirical_ntk_converges_to_sigma_like_inverse_sqrt_width():
    """E_W₀‖J₀J₀ᵀ − Σ(X)‖_F ∝ k^(-1/2): the fitted log-log slope is −1/2 ± 0.1."""
    data = tl.make_clusterable(n=24, K=3, d=6, eps=0.3, rho=0.1, seed=3, n_test=0)
    S = cv.infinite_width_gram(data.X, "tanh")
    widths = np.array([32, 128, 512, 2048, 8192])
    errs = []
    for k in widths:
        e = [np.linalg.norm(kn.jacobian_gram(np.random.default_rng(s).standard_normal((k, 6)),
                                             data.X, "tanh") - S) for s in range(12)]
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(widths), np.log(errs), 1)[0]
    assert -0.6 < slope < -0.4, slope


def test_lambda_helpers_and_the_clustered_bound():
    """Λ = min(λ(C), λ(X)); λ(X) ≤ 2Γ² min_{same cluster} ‖x_i − x_j‖² (spec §1.6, E-14)."""
    data = tl.make_clusterable(n=40, K=4, d=8, eps=0.2, rho=0.1, seed=0, n_test=0)
    out = cv.Lambda(data.X, data.centers, "erf")
    assert out["Lambda"] == min(out["lambda_X"], out["lambda_C"])
    D = np.linalg.norm(data.X[:, None] - data.X[None], axis=2)
    same = (data.cluster[:, None] == data.cluster[None]) & ~np.eye(40, dtype=bool)
    assert 0 < out["lambda_X"] <= 2 * np.min(D[same]) ** 2


def test_the_packaged_kappa_tables_equal_a_fresh_fit():
    """kappa_tables.json (package data, read instead of 0.5 s of quadrature per process) holds
    what fit_kappa_table computes now, for the current constants."""
    import json
    from importlib import resources

    from theorem_lab import covariance
    stored = json.loads(resources.files("theorem_lab").joinpath(covariance.KAPPA_TABLES).read_text())
    assert stored["key"] == covariance.kappa_table_key()
    for name in ("tanh", "softplus"):
        fresh = covariance.fit_kappa_table(name)
        np.testing.assert_allclose(stored["tables"][name], fresh, rtol=0, atol=1e-15, err_msg=name)
        np.testing.assert_array_equal(covariance._kappa_table(name), stored["tables"][name])
