"""Theorem 1's constants as sympy expressions, composed along the proof (spec §1.10, §2.1, §3.9).

Every hypothesis and conclusion of Theorem 1, Lemma 6 and Lemma 8 that carries a constant is an
expression in the primitive symbols below; derived quantities are substituted, never re-typed
(η and α into T₁, T₁ into the slow-decay bounds, Θ and M into the ε- and k-conditions, ...).

Where the OCR'd paper admits several readings (spec §2.1 Table T1-const) each is a separate
expression, keyed by reading:

    A   α_I² = c_low n λ(C)/(8K)     (preferred; consistent with (20), (21), Lemma 2)
    B   α_I² = c_low n λ(C)/(10K)    (explains the printed constant 80 in T₁)
    A'  Reading A with Λ in place of λ(C)  (the paper's "can simply be replaced")

Constants the proofs leave unnamed are free symbols: c₃ (Hoeffding, F1) and c₄ (Bernstein, F9).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

# --- primitive symbols (spec §0.3) -------------------------------------------------------------
n, K, d, k = sp.symbols("n K d k", positive=True)
eps = sp.Symbol("varepsilon", positive=True)
rho = sp.Symbol("rho", nonnegative=True)
delta = sp.Symbol("delta", positive=True)
Gamma = sp.Symbol("Gamma", positive=True)
c_low = sp.Symbol("c_low", positive=True)
Lam = sp.Symbol("Lambda", positive=True)            # Λ = min(λ(C), λ(X))
lam_C = sp.Symbol("lambda_C", positive=True)        # λ(C)
lam_X = sp.Symbol("lambda_X", positive=True)        # λ(X)
T2 = sp.Symbol("T_2", positive=True)                # inf{t : α_t < 1/(24√n)} (schedule-dependent)
c3, c4 = sp.symbols("c_3 c_4", positive=True)       # free absolute constants (F1, F9)
r0 = sp.Symbol("rbar_0", positive=True)             # ‖r̄ᶜ₀‖₂, measured (Lemma 6's T₁)

READINGS = ("A", "B", "A'")

# --- derived constants (spec §1.10, Table T1-const) ---------------------------------------------
beta = Gamma * sp.sqrt(n)                            # β = Γ√n
L = Gamma * sp.sqrt(n) / sp.sqrt(k)                  # L = Γ√n/√k (Lemma 1(i))
L_h = 4 / (1 - 2 * rho)                              # Lipschitz constant of h (§1.4)
eta = 1 / (2 * Gamma**2 * n)                         # (T1-H4) η = 1/(2β²)
Theta = (c3 * Gamma * sp.sqrt(sp.log(8 / delta)) + 1) * sp.sqrt(n)   # F1
M = sp.sqrt(d + c4 * sp.log(8 / delta)) + 2          # F9: M = c + 1


def alpha_I_sq(reading: str = "A"):
    """α_I² of Lemma 6 under ``reading`` (spec §1.10)."""
    return {"A": c_low * n * lam_C / (8 * K), "B": c_low * n * lam_C / (10 * K),
            "A'": c_low * n * Lam / (8 * K)}[reading]


alpha_II_sq = c_low * n * Lam / (8 * K)              # stage II / Lemma 8 (spec §1.10)
alpha_II_sq_repaired = Lam / 8                       # the I-8 repair: 2α_II = √(Λ/2)


def kappa1(reading: str = "A"):
    """(T1-H6) C₁ ≤ κ₁(1−2ρ), κ₁ = ηα_I²/32."""
    return sp.simplify(eta * alpha_I_sq(reading) / 32)


kappa2 = sp.simplify(eta * alpha_II_sq / 32)         # (T1-H7)


def kappa3(reading: str = "A"):
    """(T1-H8) first entry 1 − κ₃(1−2ρ) = 1 − α_I²/(4β²L_h)."""
    return sp.simplify(alpha_I_sq(reading) / (4 * beta**2 * L_h) / (1 - 2 * rho))


def alpha_T1_required(reading: str = "A"):
    """(T1-H8) α_{T₁} ≥ max(1 − κ₃(1−2ρ), (7−6ρ)/(8(1−ρ))): the two entries, in that order."""
    return (1 - kappa3(reading) * (1 - 2 * rho), (7 - 6 * rho) / (8 * (1 - rho)))


def slow_decay_bound(reading: str = "A"):
    """(L6-H2) C₁ ≤ ηα²(1−2ρ)/32 (stage I) under ``reading``."""
    return kappa1(reading) * (1 - 2 * rho)


slow_decay_bound_II = kappa2 * (1 - 2 * rho)         # (T1-H7) C₂ bound

# --- T₁ variants (spec (T1-H9), (L6-T1), F13, I-11) ---------------------------------------------
_log_arg = Gamma * sp.sqrt(32 * n * sp.log(8 / delta)) / (1 - 2 * rho)
T1_printed_Lambda = 80 * Gamma**2 * K / (c_low * Lam) * sp.log(_log_arg)     # theorem text
T1_printed_lamC = 80 * Gamma**2 * K / (c_low * lam_C) * sp.log(_log_arg)     # appendix text


def T1_derived(reading: str = "A"):
    """F13: (4/(ηα²)) log(8‖r̄ᶜ₀‖/(1−2ρ)) with ‖r̄ᶜ₀‖ ≤ Γ√(n log(8/δ)/2): 64 (A), 80 (B)."""
    return sp.simplify(4 / (eta * alpha_I_sq(reading))) * sp.log(_log_arg)


def T1_readings() -> dict:
    """Every closed-form T₁ that the readings give, keyed by the label figures and tables use:
    the theorem's printed form with Λ, the appendix's with λ(C) (= reading B's derivation),
    and the derivations under readings A and A′ (64 in place of 80; I-11)."""
    return {"printed (Λ)": T1_printed_Lambda, "printed (λ(C)) = B": T1_printed_lamC,
            "derived A": T1_derived("A"), "derived A′": T1_derived("A'")}


def T1_lemma6(reading: str = "A", base: str = "quarter"):
    """(L6-T1) log_{1−ηα²/q}((1−2ρ)/(8‖r̄ᶜ₀‖)), q = 4 ('quarter', preferred) or 2 ('half')."""
    q = 4 if base == "quarter" else 2
    return sp.log((1 - 2 * rho) / (8 * r0)) / sp.log(1 - eta * alpha_I_sq(reading) / q)


def T2_lower(reading: str = "A"):
    """Derived: T₂ ≥ 2√n(7/8 − 1/24)/C₁ ≥ 5√n/(3κ₁(1−2ρ))."""
    return 5 * sp.sqrt(n) / (3 * kappa1(reading) * (1 - 2 * rho))


# --- Lemma 8 and the final proof ------------------------------------------------------------------
L8_H1 = (1 - 2 * rho) / (4 * M * eta * beta * (2 + L_h) * Gamma * sp.sqrt(n) * T2 * (1 + Theta))
L8_H2 = 4 * eta**2 * Gamma**2 * Theta**2 * n * (2 * beta**2 * (2 + L_h)**2 * T2 + 1)**2 * T2**2
L8_H2_I19 = Theta**2 / (Gamma**2 * n) * (1 + (2 + L_h)**2 * T2)**2 * T2**2    # keeping the η
eps_max = (1 - 2 * rho) / (2 * M * (2 + L_h) * T2 * (1 + Theta))   # F10: (L8-H1) with η = 1/(2β²)
p_bound = 4 * eta * beta * (2 + L_h) * Theta * M * Gamma * sp.sqrt(n) * eps   # × t
d_bound = 2 * eta * M * Gamma * Theta * sp.sqrt(n) * (2 * beta**2 * (2 + L_h)**2 * T2 + 1) * eps  # × t
d_T2 = d_bound.subs(eps, eps_max) * T2                # (22)-(25) at the largest admissible ε
R20 = 8 * K * Gamma / (c_low * Lam) * (4 * c3 * Gamma * sp.sqrt(sp.log(8 / delta)) + 13) + d_T2

# width terms (T1-H12), the explicit forms the proof produces
WIDTH_TERMS = {
    "F7 (Lemmas 1-2 at W0)": 20 * Gamma**2 * n / Lam * sp.log(4 * n / delta),
    "F5 (step size)": 2 * n * (c3 * Gamma * sp.sqrt(sp.log(8 / delta)) + 1)**2 * K / (c_low * Lam),
    "L8-H2 (coupling)": L8_H2.subs(T2, T2),
    "(21) R-ball": 8 * K * Gamma**2 * R20**2 / (c_low * Lam),
}
# the paper's O(·) forms with every hidden constant set to 1 (for comparison only)
WIDTH_PRINTED = {
    "K^3/(c_low^3 Lambda^3) log(1/delta)": K**3 / (c_low**3 * Lam**3) * sp.log(1 / delta),
    "n K T2^2/(c_low Lambda)": n * K * T2**2 / (c_low * Lam),
    "n^3 T2^4 log(1/delta)/(1-2rho)^2": n**3 * T2**4 * sp.log(1 / delta) / (1 - 2 * rho)**2,
    "n/Lambda log(n/delta)": n / Lam * sp.log(n / delta),
}

# I-7: L8-H2 exact vs the printed order and the corrected order
I7_printed = n**3 * T2**4 * sp.log(1 / delta) / (1 - 2 * rho)**2
I7_corrected = n**2 * T2**4 * sp.log(1 / delta) / (1 - 2 * rho)**4

# I-8: the wide-limit ratio σ_min(J(W₀,X)) / (2α_II) with Λ = λ(X)
I8_limit_ratio = sp.sqrt(2 * K / (c_low * n))

# I-9: with T₁ printed with Λ and Λ ≤ 8Γ²ε², (L8-H1) at T₂ ≥ T₁ forces ε ≥ this:
I9_eps_min = (sp.simplify(T1_printed_Lambda.subs(Lam, 8 * Gamma**2 * eps**2) * eps**2)
              * 2 * M * (2 + L_h) * (1 + Theta) / (1 - 2 * rho))
I9_eps_min_paper = 336 * K * sp.sqrt(n) / ((1 - 2 * rho)**2 * c_low)       # spec's lower bound

# Theorem 2: only the legible factor; the rest is a named unknown (I-16)
rate_lost = sp.Symbol("rate_lost", positive=True)
theorem2_rhs = (1 + K * Gamma**2 / (c_low * Lam)) * rate_lost


@dataclass(frozen=True)
class Quantity:
    """One named expression with its LaTeX form and (once evaluated) its value."""

    name: str
    expr: sp.Expr
    value: "float | None" = None

    @property
    def latex(self) -> str:
        return sp.latex(self.expr)

    @property
    def pretty(self) -> str:
        return sp.pretty(self.expr, use_unicode=True)


def evaluate(expr, values: dict) -> float:
    """Numerical value of ``expr`` at ``values`` ({symbol: number}); NaN if a symbol is missing."""
    v = sp.sympify(expr).subs(values)
    if v.free_symbols:
        return float("nan")
    return float(sp.N(v, 30))


def binding_term(terms: dict, values: dict) -> "tuple[str, dict]":
    """The term of a max(·) that binds at ``values``, and every term's value."""
    vals = {name: evaluate(e, values) for name, e in terms.items()}
    return max(vals, key=lambda nm: vals[nm]), vals
