"""Sympy constants of Theorem 1 against hand-evaluated values, and the algebraic findings I-6, I-7, I-9."""

import math

import pytest
import sympy as sp
from hypothesis import given, strategies as st

import theorem_lab.proofs_check.constants as C

BASE = {C.n: 1000, C.K: 10, C.d: 50, C.rho: 0.3, C.delta: 0.1, C.Gamma: 1.0, C.c_low: 1.0,
        C.lam_C: 0.5, C.Lam: 0.02, C.c3: 1.0, C.c4: 1.0, C.T2: 5000, C.eps: 0.05}


def test_kappas_and_T1_constants_by_hand():
    v = BASE
    assert C.evaluate(C.kappa1("A"), v) == pytest.approx(0.5 / (512 * 10))
    assert C.evaluate(C.kappa1("B"), v) == pytest.approx(0.5 / (640 * 10))
    assert C.evaluate(C.kappa2, v) == pytest.approx(0.02 / (512 * 10))
    assert C.evaluate(C.kappa3("A"), v) == pytest.approx(0.5 / (128 * 10))
    log_arg = math.log(math.sqrt(32 * 1000 * math.log(80)) / 0.4)
    assert C.evaluate(C.T1_derived("A"), v) == pytest.approx(64 * 10 / 0.5 * log_arg)
    assert C.evaluate(C.T1_derived("B"), v) == pytest.approx(80 * 10 / 0.5 * log_arg)   # I-11
    assert C.evaluate(C.T1_printed_Lambda, v) == pytest.approx(80 * 10 / 0.02 * log_arg)
    assert C.evaluate(C.eta, v) == pytest.approx(1 / 2000)
    assert C.evaluate(C.alpha_T1_required("A")[1], v) == pytest.approx((7 - 1.8) / (8 - 2.4))


def test_eps_max_is_L8_H1_at_theorem_eta():
    assert sp.simplify(C.eps_max - C.L8_H1) == 0


def test_required_width_against_closed_form():
    """The evaluated (L8-H2) term by hand: 4η²Γ²Θ²n(2β²(2+L_h)²T₂+1)²T₂²."""
    n, rho, T2 = 1000, 0.3, 5000
    Theta = (math.sqrt(math.log(80)) + 1) * math.sqrt(n)
    eta, Lh = 1 / (2 * n), 4 / (1 - 2 * rho)
    hand = 4 * eta**2 * Theta**2 * n * (2 * n * (2 + Lh)**2 * T2 + 1)**2 * T2**2
    name, vals = C.binding_term(C.WIDTH_TERMS, BASE)
    assert vals["L8-H2 (coupling)"] == pytest.approx(hand, rel=1e-12)
    assert name == max(vals, key=vals.get)
    assert vals["F7 (Lemmas 1-2 at W0)"] == pytest.approx(20 * n / 0.02 * math.log(4 * n / 0.1))


def test_I6_conclusion_at_largest_eps_is_not_quarter():
    """Finding I-6: p_{T₂} bound at ε = (L8-H1) equals (1−2ρ)Θ/(1+Θ), not ≤ (1−2ρ)/4."""
    pT2 = (C.p_bound * C.T2).subs(C.eps, C.L8_H1)
    assert sp.simplify(pT2 - (1 - 2 * C.rho) * C.Theta / (1 + C.Theta)) == 0
    v = C.evaluate(pT2, BASE)
    assert v > (1 - 2 * 0.3) / 4        # the counterexample: Θ > 1/3 here
    # the corrected condition (ε divided by 4(1+Θ)/Θ... i.e. 4× smaller and Θ/(1+Θ) ≤ 1) gives ≤ (1−2ρ)/4
    assert C.evaluate((C.p_bound * C.T2).subs(C.eps, C.L8_H1 / 4), BASE) <= (1 - 2 * 0.3) / 4


@given(st.integers(10, 10**6), st.floats(0.0, 0.49))
def test_I7_printed_width_order_fails_near_half(n, rho):
    """Finding I-7: L8-H2 / (n³T₂⁴log(1/δ)/(1−2ρ)²) grows like 1/(n(1−2ρ)²): no constant fixes it."""
    v = {**BASE, C.n: n, C.rho: rho}
    ratio = C.evaluate(C.L8_H2 / C.I7_printed, v)
    ratio_corr = C.evaluate(C.L8_H2 / C.I7_corrected, v)
    v2 = {**v, C.rho: rho + (0.5 - rho) / 2}
    assert C.evaluate(C.L8_H2 / C.I7_printed, v2) > ratio          # grows as ρ → 1/2
    assert C.evaluate(C.L8_H2 / C.I7_corrected, v2) <= ratio_corr * (1 + 1e-9)  # corrected order: bounded


def test_I9_radius_infeasible_when_T1_uses_Lambda():
    """Finding I-9: with T₁ printed with Λ ≤ 8Γ²ε², (L8-H1) forces ε above the sphere's diameter."""
    for n, K, rho in [(100, 2, 0.0), (1000, 10, 0.3), (16, 2, 0.1)]:
        v = {**BASE, C.n: n, C.K: K, C.rho: rho}
        assert C.evaluate(C.I9_eps_min, v) > 2
        assert C.evaluate(C.I9_eps_min_paper, v) > 2


def test_T2_lower_bound_reading_A():
    v = BASE
    assert C.evaluate(C.T2_lower("A"), v) == pytest.approx(5 * math.sqrt(1000) * 512 * 10 / (3 * 0.5 * 0.4))
    assert C.evaluate(C.I8_limit_ratio, {C.K: 4, C.c_low: 1, C.n: 100}) == pytest.approx(math.sqrt(8 / 100))
