"""The issues FINDINGS.md answered last (spec §4: I-1, I-3, I-10, I-12, I-17–I-23), pinned.

Algebraic claims are derived in sympy from the expressions of ``proofs_check.constants``;
numerical ones replay the packaged counterexamples or run a small fixed instance.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import theorem_lab as tl
from theorem_lab.proofs_check import constants as C
from theorem_lab.proofs_check import issues_checks as ic
from theorem_lab.proofs_check.statements import evaluate
from theorem_lab.proofs_check.verdict import VERDICTS

ROOT = Path(__file__).resolve().parents[2]
FINDINGS = ROOT / "proofs_check" / "findings"


def _replay(name):
    rec = json.loads((FINDINGS / f"{name}.json").read_text())["records"][0]
    return rec, evaluate(rec["lemma"], rec["config"])


# --- the table -------------------------------------------------------------------------------

def test_all_23_issues_have_a_verdict_in_code_findings_and_readme():
    ids = [f"I-{i}" for i in range(1, 24)]
    assert list(VERDICTS) == ids
    findings = (ROOT / "proofs_check" / "FINDINGS.md").read_text()
    table = findings.split("## Critical")[0]
    readme = (ROOT / "README.md").read_text()
    for issue, (sev, verdict, pin) in VERDICTS.items():
        row = re.search(rf"^\| {issue} \| (\w+) \| ([^|]+)\|", table, re.M)
        assert row, f"{issue} missing from FINDINGS.md's table"
        assert row.group(1) == sev
        assert verdict.split()[0].lower() in row.group(2).lower()
        assert re.search(rf"^\| {issue} \|", readme, re.M), f"{issue} missing from the README table"



def test_verdict_table_prints_every_verdict_whole():
    import io
    from theorem_lab.proofs_check.verdict_cli import print_verdicts
    out = io.StringIO()
    print_verdicts(out)
    text = out.getvalue()
    for issue, (sev, verdict, pin) in VERDICTS.items():
        assert re.search(rf"^{issue} +{sev} +{re.escape(verdict)}$", text, re.M), issue
        assert f"pinned by: {pin}" in text

# --- I-1, I-3 ----------------------------------------------------------------------------------

def test_I1_the_two_Rs_cannot_be_one_quantity():
    """Definition 1's R bounds ‖x_i‖² = 1; the final proof's R (20) is at least 8K(4c₃√log(8/δ)+13)/Γ
    because Λ ≤ Γ² and c_low ≤ 1, so it exceeds 1 at every instance with Γ = 1."""
    lower = C.R20.subs({C.Lam: C.Gamma**2, C.c_low: 1}) - C.d_T2
    bound = 8 * C.K * (4 * C.c3 * C.Gamma * sp.sqrt(sp.log(8 / C.delta)) + 13) / C.Gamma
    assert sp.simplify(lower - bound) == 0
    assert C.evaluate(bound, {C.K: 2, C.c3: 1, C.Gamma: 1, C.delta: 0.999}) > 200


def test_I3_printed_hypothesis_is_a_shape_error_and_the_corrected_one_holds():
    """J(W,X̃) ∈ ℝ^{n×kd}: 'J v' for v ∈ S₊ ⊂ ℝⁿ is undefined (n ≠ kd); α‖u‖ ≤ ‖Jᵀu‖ ≤ β‖u‖ on S₊
    is meaningful and holds along a centre run with α = min_t σ_min(J̃_t, S₊) > 0."""
    data = tl.make_clusterable(n=6, K=2, d=3, eps=0.2, rho=0.0, seed=0, n_test=0)
    W = np.random.default_rng(0).standard_normal((4, 3))
    act = tl.get_activation("erf")
    v = tl.network.output_layer(4)
    J = (act.dphi(data.X_centers @ W.T) * v)[:, :, None] * data.X_centers[:, None, :]   # (n, k, d)
    J = J.reshape(6, 12)
    u = tl.project_support(np.arange(6.0), data.cluster)
    with pytest.raises(ValueError):
        J @ u                                          # the printed ‖J(W, X̃) v‖, v ∈ S₊
    U = tl.support_basis(data.cluster)
    s = np.linalg.svd(U.T @ J, compute_uv=False)
    lhs = np.linalg.norm(J.T @ u) / np.linalg.norm(u)
    assert s.min() - 1e-12 <= lhs <= np.linalg.norm(J, 2) + 1e-12 <= math.sqrt(6) + 1e-12
    assert s.min() == pytest.approx(tl.sigma_min(W, data.X_centers, "erf", basis=U), rel=1e-9)


# --- I-10, I-12, I-17 (packaged counterexamples) -----------------------------------------------

def test_I10_runs_converge_to_the_ground_truth_not_to_y():
    rec, res = _replay("I-10")
    assert not res[rec["statement"]].holds                  # ‖f_T − y‖ stays large
    assert res["I-10 repaired: ||f_T - y~|| <= 0.1 sqrt(n)"].holds
    noise = res["I-10 ||f_T - y|| / 2sqrt(#corrupted) (info)"]
    assert noise.ratio == pytest.approx(1.0, abs=0.1)      # ‖f_T − y‖ ≈ ‖y − ỹ‖ = 2√#corrupted


def test_I12_projected_bound_holds_unprojected_residual_exceeds_it():
    rec, res = _replay("I-12")
    assert "[hyp ok]" in rec["statement"] and not res[rec["statement"]].holds
    assert res["I-12 max|rbar_t| <= max(|rbar_0|,(1-2rho)/8) [hyp ok]"].holds
    assert res["I-12 max|r^c_t| <= Theta (F1, c3=1) (info)"].holds


def test_I12_hoeffding_and_subgaussian_bounds_on_a_fixed_instance():
    cfg = {"n": 20, "K": 2, "d": 5, "eps": 0.1, "rho": 0.1, "data_seed": 0, "k": 64, "w_seed": 1,
           "activation": "softplus", "draws": 300, "delta": 0.1}
    res = ic.check_I12_init(cfg)
    sub = res["I-12 sub-Gaussian failing draws (count)"]
    assert sub.rhs == 300 and sub.lhs <= 0.025 * 300        # at most δ/4 of the draws
    assert res["I-12 sub-Gaussian ||f(W0,X)|| <= G(sqrt n + ||X|| sqrt(2log(4/delta)))"].holds


def test_I17_modewise_identity_exact_only_for_a_fixed_kernel_and_error_falls_with_width():
    rec, res = _replay("I-17")
    assert not res[rec["statement"]].holds
    assert res["I-17 mode-wise identity, fixed kernel (linearised)"].holds
    data = tl.make_clusterable(n=12, K=2, d=4, eps=0.3, rho=0.0, seed=0, n_test=0)
    rows = ic.modewise_vs_width(data, "erf", [32, 2048], steps=10, seed=0)
    assert rows[1]["error"] < rows[0]["error"] / 4


# --- I-18: the borrowed width thresholds against matrix Chernoff -------------------------------

def test_I18_chernoff_constant_and_the_printed_threshold_suffices():
    t = sp.Rational(1, 2)
    base = sp.exp(-t) / (1 - t) ** (1 - t)                 # Tropp's lower-tail factor at t = 1/2
    assert sp.simplify(sp.log(base) + (1 - sp.log(2)) / 2) == 0
    kk, lam, G, nX, nn, dl = sp.symbols("k lambda Gamma normX2 n delta", positive=True)
    rate = sp.simplify(-sp.log(base))                     # P ≤ n·e^{−rate·kλ/(Γ²‖X‖²)} ≤ δ
    k_star = sp.solve(sp.Eq(sp.log(nn) - rate * kk * lam / (G**2 * nX), sp.log(dl)), kk)[0]
    const = sp.simplify(sp.expand_log(k_star / (G**2 * nX * sp.log(nn / dl) / lam), force=True))
    assert sp.simplify(const - 2 / (1 - sp.log(2))) == 0
    assert float(const) == pytest.approx(ic.CHERNOFF, rel=1e-12)
    assert ic.CHERNOFF == pytest.approx(6.518, abs=1e-3) and 20 > ic.CHERNOFF
    # ‖X‖² ≤ n, so 20Γ²n log(n/δ)/λ ≥ the Chernoff width: Lemma 1(iii)'s threshold suffices
    assert sp.factor((20 * G**2 * nn - const * G**2 * nX).subs(nX, nn) / (G**2 * nn)) > 0


def test_I18_lemma1_holds_at_the_chernoff_width():
    rng = np.random.default_rng(3)
    cfg = ic.sample("I-18", rng)
    fails = sum(not ic.check_I18({**cfg, "w_seed": s})["I-18 L1-iii at the Chernoff width"].holds
                for s in range(30))
    from theorem_lab.proofs_check.check import frequency_verdict
    assert frequency_verdict(fails, 30, cfg["delta"])["verdict"] == "consistent"


# --- I-19, I-21, I-23: algebra ----------------------------------------------------------------

def test_I19_keeping_eta_removes_the_powers_of_n():
    ratio = sp.simplify(C.L8_H2 / C.L8_H2_I19)
    A = (2 + C.L_h) ** 2 * C.T2
    assert sp.simplify(ratio - ((2 * C.Gamma**2 * C.n * A + 1) / (1 + A)) ** 2) == 0
    assert sp.simplify(sp.limit(ratio, C.T2, sp.oo) - 4 * C.Gamma**4 * C.n**2) == 0
    no_n = sp.simplify(C.L8_H2_I19 / (C.Theta**2 / (C.Gamma**2 * C.n)))
    assert C.n not in no_n.free_symbols


def test_I21_stage_two_needs_only_five_sixteenths():
    """F3: (1 − ηα²/2)B + c·ηα²(1−2ρ) ≤ B with B = 5/8(1−2ρ) + 1/24 ⇔ c ≤ 5/16 + 1/(48(1−2ρ))."""
    c, x, r = sp.symbols("c x rho", positive=True)         # x = ηα²
    B = sp.Rational(5, 8) * (1 - 2 * r) + sp.Rational(1, 24)
    c_max = sp.solve(sp.Eq((1 - x / 2) * B + c * x * (1 - 2 * r), B), c)[0]
    assert sp.simplify(c_max - (sp.Rational(5, 16) + 1 / (48 * (1 - 2 * r)))) == 0
    assert sp.limit(c_max, r, 0) > sp.Rational(5, 16) > 10 * sp.Rational(1, 32) - sp.Rational(1, 16)


def test_I23_constant_13_needs_n_at_least_16_and_the_alpha_swap_is_monotone():
    """(19) with ‖r̄ᶜ₀‖ ≤ Θ and β/α_II² = 8KΓ/(c_lowΛ√n) equals (20) with 12 + (4−2ρ)/√n in place
    of 13: ≤ 13 iff n ≥ (4−2ρ)², i.e. n ≥ 16 at ρ = 0."""
    ba = C.beta / C.alpha_II_sq
    lhs = ba * (4 * C.Theta + 8 * sp.sqrt(C.n)) + ba * (4 - 2 * C.rho)
    pref = 8 * C.K * C.Gamma / (C.c_low * C.Lam)
    excess = sp.simplify(lhs / pref - (4 * C.c3 * C.Gamma * sp.sqrt(sp.log(8 / C.delta)) + 12))
    assert sp.simplify(excess - (4 - 2 * C.rho) / sp.sqrt(C.n)) == 0
    assert sp.solve(sp.Eq(excess.subs(C.rho, 0), 1), C.n) == [16]
    assert sp.simplify(C.alpha_I_sq("A") / C.alpha_II_sq - C.lam_C / C.Lam) == 0   # ≥ 1 as Λ ≤ λ(C)


# --- I-20 ---------------------------------------------------------------------------------------

def test_I20_negative_alpha_threshold_and_the_bound_from_the_mean():
    torch = pytest.importorskip("torch")
    from theorem_lab.simulations.cifar.methods import adaptive_alpha
    for lam in (1.4, 1.5, 1.6):
        thr = ic.negative_alpha_threshold(lam)
        accs = torch.tensor([thr - 1e-6, thr + 1e-6], dtype=torch.float64)
        a = adaptive_alpha(accs, lam, clip=False)
        assert a[0] > 0 > a[1]
    # the bound from the mean is attained by a two-point accuracy distribution {1/λ, 1}
    lam, q = 1.5, 0.3
    accs = np.array([1 / lam] * 70 + [1.0] * 30)
    alpha_mean = float(np.mean(1 - lam * accs))
    assert ic.negative_alpha_fraction_lower_bound(alpha_mean, lam) == pytest.approx(q)
    assert ic.negative_alpha_fraction_lower_bound(0.6, lam) == 0.0
