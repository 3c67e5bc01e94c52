"""Theorem 1 with every repair FINDINGS.md establishes: the ``repaired`` reading of the constants.

Each repair names its finding (``REPAIRS``); every expression below is composed from the primitive
symbols of ``constants`` as the corrected proof composes it (η = 1/(2β²), β = Γ√n, L = Γ√n/√k,
L_h = 4/(1−2ρ), Θ of F1 bounds every residual, M of F9):

  I-11  T₁'s constant re-derived under reading A (α_I² = c_low nλ(C)/(8K)), and its log argument
        8‖r̄ᶜ₀‖/(1−2ρ) with ‖r̄ᶜ₀‖ ≤ Θ (F1's bound, which includes the labels' √n) instead of
        the printed Γ√(32n log(8/δ))/(1−2ρ).
  I-5   only (1 − ηα²/4) is proven for the non-symmetric G_t: stage I needs 1 − α_t ≤ α²/(8β²L_h)
        (κ₃ halves), contracts at 1 − ηα²/8 (T₁ doubles: 8/(ηα²)), and the slow decay needs
        C₁ ≤ ηα²(1−2ρ)/64 (κ₁ halves). Stage II's C₂ ≤ ηα²(1−2ρ)/32 still suffices (I-21).
        Path lengths double: Σ_t ‖r̄ᶜ_t‖ ≤ 8(Θ + 2√n)/(ηα_I²), Σ_{s≥T₂} ‖r_s‖ ≤ 4(‖r_{T₂}‖ + 1/12)/(ηα_II²).
  I-8   α_II² = Λ/8 (Lemma 1(iii) gives σ_min(J(W₀,X)) ≥ √(λ(X)/2) ≥ 2α_II, nothing more).
  I-4   p_t is only non-expanded by I − ηG̃_t, so for t < T₁ the h-term grows it by
        (1 + ηα_I²/8)^{T₁} ≤ e^{ηα_I²T₁/8} = 8Θ/(1−2ρ) (with the repaired T₁).
  I-6   the conclusion needs p_{T₂} ≤ (1−2ρ)/4 (the missing factor 4), and p₀ = ‖f(W₀,X) − f(W₀,X̃)‖
        > 0 enters the induction; p₀ ≤ Θε (a sub-Gaussian bound of Θ's shape, same free c₃):
        8Θ/(1−2ρ) · (Θε + 4ηβ(2+L_h)ΘMΓ√n ε T₂) ≤ (1−2ρ)/4.
  I-7   the width condition is the exact expression, not the printed order n³T₂⁴log(1/δ)/(1−2ρ)²:
        L·d_{T₂} ≤ MΓ√nε with d_{T₂} ≤ ηT₂(2MΓΘ√nε + β(1+L_h)(1−2ρ)/4) (the repaired p_t ≤ (1−2ρ)/4).

The width terms: F7 (Lemma 1 at W₀, with λ(X) ≥ Λ), F5 (η = 1/(2β²) ≤ α_II/(LβΘ) ⇔ k ≥ Θ²/(4α_II²)),
the coupling (L8-H2 repaired) and (21) RL ≤ α_II with the repaired R.
"""

from __future__ import annotations

import sympy as sp

from . import constants as C
from .constants import K, L_h, M, Theta, beta, c_low, delta, eps, eta, lam_C, Lam, n, rho, Gamma, T2

# repair -> (finding id in FINDINGS.md, what changes)
REPAIRS = {
    "T1 constant and log argument": ("I-11", "T1 = (4/(eta alpha_I^2)) log(8 Theta/(1-2rho)) under reading A"),
    "contraction 1 - eta alpha^2/4": ("I-5", "kappa_3, kappa_1 halve; T1 and the path lengths double"),
    "alpha_II^2 = Lambda/8": ("I-8", "stage-II constants use Lambda/8 instead of c_low n Lambda/(8K)"),
    "p_t non-expansion for t < T1": ("I-4", "epsilon-condition divided by 8 Theta/(1-2rho)"),
    "p_T2 <= (1-2rho)/4 and p_0 term": ("I-6", "factor 4 in the epsilon-condition; p_0 <= Theta eps added"),
    "exact width condition": ("I-7", "the coupling width is the exact expression (no O-form)"),
}

alpha_I_sq = c_low * n * lam_C / (8 * K)               # reading A (I-11)
alpha_II_sq = Lam / 8                                  # I-8
kappa1 = sp.simplify(eta * alpha_I_sq / 64)            # I-5: C₁ ≤ κ₁(1−2ρ)
kappa2 = sp.simplify(eta * alpha_II_sq / 32)           # C₂ ≤ κ₂(1−2ρ) (still sufficient, I-21)
kappa3 = sp.simplify(alpha_I_sq / (8 * beta**2 * L_h) / (1 - 2 * rho))   # I-5: α_{T₁} ≥ 1 − κ₃(1−2ρ)
T1 = 8 / (eta * alpha_I_sq) * sp.log(8 * Theta / (1 - 2 * rho))           # I-5 + I-11
T2_lower = 5 * sp.sqrt(n) / (3 * kappa1 * (1 - 2 * rho))                  # derived, as in constants
growth_I4 = 8 * Theta / (1 - 2 * rho)                  # e^{ηα_I²T₁/8} with the repaired T₁
p_slope = 4 * eta * beta * (2 + L_h) * Theta * M * Gamma * sp.sqrt(n)     # p_t − p₀ ≤ p_slope·ε·t
eps_max = sp.simplify((1 - 2 * rho) / 4 / (growth_I4 * (Theta + p_slope * T2)))   # I-4 + I-6
d_T2 = eta * T2 * (2 * M * Gamma * Theta * sp.sqrt(n) * eps + beta * (1 + L_h) * (1 - 2 * rho) / 4)
width_coupling = (d_T2 / (M * eps))**2                 # L·d_{T₂} ≤ MΓ√nε (I-7: exact)
path_I = 8 * beta * (Theta + 2 * sp.sqrt(n)) / alpha_I_sq                 # I-5: doubled stage-I path
path_II = 4 * beta / alpha_II_sq * ((1 - 2 * rho) / 2 + sp.Rational(1, 8))  # I-5, I-8
R = path_I + d_T2 + path_II                            # (19) repaired
WIDTH_TERMS = {
    "F7 (Lemma 1 at W0)": 20 * Gamma**2 * n / Lam * sp.log(4 * n / delta),
    "F5 (step size)": Theta**2 / (4 * alpha_II_sq),
    "L8-H2 (coupling, repaired)": width_coupling,
    "(21) R-ball (repaired)": Gamma**2 * n * R**2 / alpha_II_sq,
}

# I-9 with the repairs: if T₁ used Λ ≤ 8Γ²ε² (reading A'), T₂ ≥ T₁ and ε ≤ eps_max force
# ε ≥ I9_eps_min (> 2 for every instance: tests/proofs/test_repaired.py).
T1_Lambda = 8 / (eta * c_low * n * Lam / (8 * K)) * sp.log(8 * Theta / (1 - 2 * rho))
I9_eps_min = (T1_Lambda.subs(Lam, 8 * Gamma**2 * eps**2) * eps**2) * 32 * Theta * p_slope / (1 - 2 * rho)**2


def evaluate_instance(vals: dict) -> dict:
    """The repaired theorem at ``vals`` ({symbol: number}, T₂ included or taken from the derived
    lower bound): T₁, T₂, the largest radius ε*, and the smallest width at ε = min(ε_given, ε*)
    with Λ = min(Λ_given, 8Γ²ε²) (the most favourable Λ the radius allows)."""
    v = dict(vals)
    if C.T2 not in v:
        v[C.T2] = float(sp.ceiling(sp.N(T2_lower.subs(v))))
    e_star = C.evaluate(eps_max, v)
    e = min(float(v.get(C.eps, e_star)), e_star)
    v[C.eps] = e
    v[C.Lam] = min(float(v[C.Lam]), 8 * float(v[C.Gamma])**2 * e**2, float(v[C.lam_C]))
    name, terms = C.binding_term(WIDTH_TERMS, v)
    return {"T1": C.evaluate(T1, v), "T2": float(v[C.T2]), "eps_max": e_star, "eps_used": e,
            "Lambda_used": v[C.Lam], "width": terms[name], "width_binding_term": name,
            "width_terms": terms, "satisfiable": e_star > 0}


def evaluate_printed(vals: dict, reading: str = "A") -> dict:
    """The printed theorem (``constants``) by the same procedure, for the side-by-side table."""
    v = dict(vals)
    if C.T2 not in v:
        v[C.T2] = float(sp.ceiling(sp.N(C.T2_lower(reading).subs(v))))
    e_star = C.evaluate(C.eps_max, v)
    e = min(float(v.get(C.eps, e_star)), e_star)
    v[C.eps] = e
    v[C.Lam] = min(float(v[C.Lam]), 8 * float(v[C.Gamma])**2 * e**2, float(v[C.lam_C]))
    name, terms = C.binding_term(C.WIDTH_TERMS, v)
    return {"T1": C.evaluate(C.T1_derived(reading), v), "T2": float(v[C.T2]), "eps_max": e_star,
            "eps_used": e, "Lambda_used": v[C.Lam], "width": terms[name],
            "width_binding_term": name, "width_terms": terms}
