"""Findings of proofs_check/FINDINGS.md, pinned: each counterexample still fails the printed
statement, and the corrected statement holds on it."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import theorem_lab as tl
from theorem_lab.proofs_check import lemmas_jacobian as lj
from theorem_lab.proofs_check.check import clopper_pearson, frequency_verdict
from theorem_lab.proofs_check.statements import evaluate
from tests.conftest import examples

FINDINGS = Path(__file__).resolve().parents[2] / "proofs_check" / "findings"


def _replay(name):
    rec = json.loads((FINDINGS / f"{name}.json").read_text())["records"][0]
    return rec, evaluate(rec["lemma"], rec["config"])


def test_I8_spec_instance_and_wide_limit():
    """I-8: σ_min(J(W₀,X)) < 2α_II for clusters of 25 points (spec §4 instance); the wide-limit
    ratio 2α_II/√λ(X) is √(n_l/2); the repaired 2α_II = √(Λ/2) and the S₊ version hold."""
    data = tl.make_clusterable(n=100, K=4, d=10, eps=0.1, rho=0.2, seed=0, n_test=0)
    consts = lj.data_constants(data, "erf")
    W0 = np.random.default_rng(0).standard_normal((4000, 10))
    res = lj.stage2_sigma_min(W0, data, "erf", consts)
    printed = res["F7 sigma_min(J(W0,X))>=2alpha_II"]
    assert not printed.holds and printed.ratio > 3
    assert res["F7 wide limit sqrt(lambda(X))>=2alpha_II"].ratio == pytest.approx(math.sqrt(25 / 2), rel=1e-6)
    assert res["F7 repaired sigma_min(J(W0,X))>=sqrt(Lambda/2)"].holds
    assert res["F7 sigma_min(J(W0,Xc),S+)>=2alpha_II"].holds


def test_I8_replay():
    rec, res = _replay("I-8")
    assert not res[rec["statement"]].holds


def test_I4_contraction_fails_on_the_complement_of_S_plus():
    """I-4: ‖(I − ηG̃_t)(f_t − f̃_t)‖ ≤ (1 − ηα²/2)p_t fails with α = σ_min(J̃_t, S₊); non-expansion holds."""
    rec, res = _replay("I-4")
    assert not res[rec["statement"]].holds
    assert res["I-4 repaired: non-expansion <= p_t"].holds
    assert res["I-4 |(I-P)(f_t-f~_t)|/p_t (info)"].ratio > 0.5    # the S₊-complement carries p_t


def test_I6_and_the_base_case_p0():
    """I-6: p_t exceeds (1−2ρ)/4 before T₂; Lemma 8's bound p_t ≤ C·t fails at t = 0 (p₀ > 0)
    while p_t − p₀ ≤ C·t holds."""
    rec, res = _replay("I-6")
    assert not res[rec["statement"]].holds
    rec, res = _replay("I-6-p0")
    chk = res[rec["statement"]]
    assert not chk.holds and chk.note == "worst t=0" and chk.lhs > 0
    assert res["L8 p_t-p_0 bound (repaired base) [hyp fail]"].holds


def test_I13_per_sample_targets():
    rec, res = _replay("I-13")
    assert not res[rec["statement"]].holds
    assert res["L6 (P yhat~)_i y~_i>=1-2rho, t>=T1 [hyp ok]"].holds


def test_I2_c_up():
    rec, res = _replay("I-2")
    assert not res[rec["statement"]].holds
    assert res["L2-i"].holds and res["L2-ii"].holds      # the outer bounds survive


# --- I-5: the sandwich alone does not give 1 − ηα²/2; Lemma 7's structure does (no counterexample)

def test_I5_sandwich_alone_does_not_imply_the_paper_factor():
    """A 2×2 G with uᵀGu = ½‖Jᵀu‖², ‖Gu‖ ≤ β‖Jᵀu‖ and ‖(I − ηG)r‖ > (1 − ηα²/2)‖r‖."""
    alpha, beta = 1.0, 2.0
    eta = 1 / (2 * beta**2)
    b = alpha * math.sqrt(beta**2 - alpha**2 / 4)
    G = alpha**2 / 2 * np.eye(2) + b * np.array([[0.0, -1.0], [1.0, 0.0]])
    r = np.array([1.0, 0.0])
    assert r @ G @ r == pytest.approx(0.5 * alpha**2)                       # sandwich, tight
    assert np.linalg.norm(G @ r) <= beta * alpha + 1e-12                    # ‖Gu‖ ≤ β‖Jᵀu‖
    lhs = np.linalg.norm(r - eta * G @ r)
    assert lhs > 1 - eta * alpha**2 / 2                                    # (a) fails
    assert lhs <= math.sqrt(1 - eta * alpha**2 / 2) + 1e-12                 # (b) holds


@settings(max_examples=examples(60))
@given(st.integers(1, 4), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_I5_paper_factor_holds_under_lemma7_structure(n, extra, seed):
    """G = J̄Jᵀ with ‖J̄ − J‖ ≤ α/2 (α = σ_min(J)) and η = 1/(2β²): (a) holds on every draw."""
    rng = np.random.default_rng(seed)
    p = n + extra
    J = rng.standard_normal((n, p)) * rng.uniform(0.1, 3, size=(n, 1))
    alpha = np.linalg.svd(J, compute_uv=False)[-1]
    D = rng.standard_normal((n, p))
    D *= rng.uniform(0, 1) * (alpha / 2) / np.linalg.norm(D, 2)
    Jb = J + D
    beta = max(np.linalg.norm(J, 2), np.linalg.norm(Jb, 2))
    eta = 1 / (2 * beta**2)
    r = rng.standard_normal(n)
    lhs = np.linalg.norm(r - eta * Jb @ J.T @ r)
    assert lhs <= (1 - eta * alpha**2 / 2) * np.linalg.norm(r) * (1 + 1e-9)


# --- probabilistic statements: frequency vs δ ------------------------------------------------

def test_clopper_pearson_hand_values():
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))
    lo, hi = clopper_pearson(10, 10)
    assert hi == 1 and lo == pytest.approx(0.025 ** (1 / 10))
    assert frequency_verdict(9, 10, 0.1)["verdict"] == "refuted"
    assert frequency_verdict(1, 10, 0.1)["verdict"] == "consistent"


def test_L2_iii_failure_frequency_at_threshold_width():
    """(L2-iii) at k = 20Γ²K log(K/δ)/λ(C): failures over 30 draws of W₀ are consistent with δ."""
    data = tl.make_clusterable(n=12, K=3, d=8, eps=0.2, rho=0.2, seed=3, n_test=0)
    lamC = tl.lambda_of(data.centers, "erf")
    k = 2 * math.ceil(lj.lemma2_width(data.K, lamC, 1.0, 0.1) / 2)
    fails = sum(not lj.lemma2_sigma_min(np.random.default_rng(s).standard_normal((k, 8)), data, "erf",
                                        lamC)["L2-iii"].holds for s in range(30))
    assert frequency_verdict(fails, 30, 0.1)["verdict"] == "consistent"
