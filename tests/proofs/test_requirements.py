"""The vacuity report: Theorem 1's explicit conditions evaluated on a concrete instance."""

import math

import pytest

import theorem_lab as tl
from theorem_lab.proofs_check import constants as C
from theorem_lab.proofs_check.requirements import requirements_line, theorem_requirements


@pytest.fixture(scope="module")
def small():
    data = tl.make_clusterable(n=40, K=4, d=8, eps=0.05, rho=0.3, seed=0, n_test=0)
    return data, theorem_requirements(data, "tanh", 128, "linear:end=150", 300)


def test_the_radius_bound_is_F10_by_hand(small):
    """ε_max = (1−2ρ)/(2M(2+L_h)T₂(1+Θ)), M = √(d + c₄log(8/δ)) + 2, Θ = (c₃Γ√log(8/δ) + 1)√n."""
    data, req = small
    rho, n, d, T2, delta = data.rho, data.n, data.d, req["T2"], req["delta"]
    M = math.sqrt(d + math.log(8 / delta)) + 2
    Theta = (math.sqrt(math.log(8 / delta)) + 1) * math.sqrt(n)
    L_h = 4 / (1 - 2 * rho)
    assert T2 == math.ceil(150 * (1 - 1 / (24 * math.sqrt(n))))
    assert req["eps_max"] == pytest.approx((1 - 2 * rho) / (2 * M * (2 + L_h) * T2 * (1 + Theta)),
                                           rel=1e-12)


def test_the_required_width_is_the_largest_term(small):
    data, req = small
    assert req["width_binding_term"] in C.WIDTH_TERMS
    vals = {C.n: data.n, C.K: data.K, C.d: data.d, C.rho: data.rho, C.delta: req["delta"],
            C.Gamma: 1.0, C.c_low: req["c_low"], C.lam_C: req["lambda_C"], C.Lam: req["Lambda"],
            C.eps: req["eps"], C.c3: 1.0, C.c4: 1.0, C.T2: req["T2"]}
    terms = {name: C.evaluate(e, vals) for name, e in C.WIDTH_TERMS.items()}
    assert req["width_required"] == pytest.approx(max(terms.values()), rel=1e-12)
    # the 'F7' term by hand: 20Γ²n log(4n/δ)/Λ
    assert terms["F7 (Lemmas 1-2 at W0)"] == pytest.approx(
        20 * data.n * math.log(4 * data.n / req["delta"]) / req["Lambda"], rel=1e-12)


def test_a_small_run_is_far_outside_the_hypotheses(small):
    _, req = small
    assert req["Lambda"] <= 8 * req["eps"] ** 2                  # E-14 (I-9)
    assert req["width"] < req["width_required"] and req["eps"] > req["eps_max"]
    assert req["schedule_meets"] is False and req["schedule_first_failure"].startswith("T1-H6")
    line = requirements_line(req)
    assert "width k = 128 <" in line and "allowed" in line and "fails them (T1-H6" in line


def test_undefined_T2_is_reported_not_guessed():
    data = tl.make_clusterable(n=40, K=4, d=8, eps=0.05, rho=0.3, seed=0, n_test=0)
    req = theorem_requirements(data, "tanh", 128, "constant:value=1", 300)
    assert req["T2"] is None and req["width_required"] is None
    assert "not evaluable" in requirements_line(req)
    assert "not evaluated (boom)" in requirements_line({"error": "boom"})


def test_not_evaluable_names_its_one_reason():
    """The line said "Λ = 0 or α_t never falls below 1/(24√n)" for both cases; a constant α_t
    on data with Λ > 0 is the second only, a Λ of 0 the first only."""
    data = tl.make_clusterable(n=40, K=4, d=8, eps=0.05, rho=0.3, seed=0, n_test=0)
    req = theorem_requirements(data, "tanh", 128, "constant:value=0.5", 300)
    assert req["Lambda"] > 0
    line = requirements_line(req)
    assert "T₂ is undefined" in line and "Λ" not in line
    line = requirements_line({**req, "Lambda": 0.0})
    assert "Λ = 0 is not positive" in line and "T₂" not in line


def test_the_theorem_T1_of_every_reading_is_stored_by_hand(small):
    """T₁ = c·Γ²K/(c_low·λ) · log(Γ√(32 n log(8/δ))/(1−2ρ)) with (c, λ) = (80, Λ) printed,
    (80, λ(C)) appendix = reading B, (64, λ(C)) reading A, (64, Λ) reading A′ (I-11)."""
    data, req = small
    log_arg = math.log(math.sqrt(32 * data.n * math.log(8 / req["delta"])) / (1 - 2 * data.rho))
    base = data.K / req["c_low"] * log_arg
    want = {"printed (Λ)": 80 * base / req["Lambda"], "printed (λ(C)) = B": 80 * base / req["lambda_C"],
            "derived A": 64 * base / req["lambda_C"], "derived A′": 64 * base / req["Lambda"]}
    assert req["T1_theorem"] == pytest.approx(want, rel=1e-12)
    assert req["eta_theorem"] == pytest.approx(1 / (2 * data.n), rel=1e-12)     # (T1-H4), Γ = 1


def test_an_adaptive_schedule_is_reported_not_evaluable_not_a_crash():
    data = tl.make_clusterable(n=40, K=4, d=8, eps=0.05, rho=0.3, seed=0, n_test=0)
    req = theorem_requirements(data, "tanh", 128, "adaptive:lam=1", 300)
    assert req["schedule_meets"] is None and req["T2"] is None and req["width_required"] is None
    assert req["T1_theorem"]["derived A"] > 0                  # T₁ does not depend on α_t
    line = requirements_line(req)
    assert "not evaluable" in line and "accuracy" in line
