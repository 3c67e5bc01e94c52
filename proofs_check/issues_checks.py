"""Numerical checks of the spec's issues that FINDINGS.md had not answered (spec §4; issue 14).

Each ``check_<issue>(cfg)`` rebuilds its objects from a JSON configuration and returns
``{statement: Check}`` like the lemma checkers (``statements.evaluate``), so a violation can be
saved and replayed (``theorem-lab check --replay I-10``); ``sample(issue, rng)`` draws a valid
configuration. Statements named ``printed`` test the paper as printed, ``repaired`` the corrected
form; ``(info)`` rows are measurements, not claims.

    I-10  the conclusion's target: along Algorithm 1, ‖f(W_T,X) − ỹ‖ → small, ‖f(W_T,X) − y‖ does not
    I-12  Θ: max_t ‖r̄ᶜ_t‖ ≤ max(‖r̄ᶜ₀‖, (1−2ρ)/8) (the joint induction), and the unprojected ‖rᶜ_t‖
          that Lemma 8 needs; ‖f(W₀,X)‖₂ against the Hoeffding form c₃Γ√(n log(8/δ)) and a
          sub-Gaussian (Gaussian-concentration) bound Γ√n + Γ‖X‖√(2 log(4/δ))
    I-17  the mode-wise identity ⟨u_{t+1}−y, e_i⟩ = (1−ηλ_i)⟨u_t−y, e_i⟩ along GD (e_i, λ_i of Ĥ₀)
    I-18  Lemma 1(iii) at the matrix-Chernoff width k = CHERNOFF·Γ²‖X‖² log(n/δ)/λ(X)
    I-19  Lemma 8's d_t bound with the η it drops kept
"""

from __future__ import annotations

import math

import numpy as np

from theorem_lab.activations import get_activation
from theorem_lab.covariance import lambda_of
from theorem_lab.kernels import jacobian_gram, sigma_min
from theorem_lab.network import TwoLayerNet, output_layer
from theorem_lab.train import train

from . import lemmas_coupling as lc
from .check import Check, check_identity, check_le
from .lemmas_dynamics import _tag, measured
from .lemmas_jacobian import data_constants
from .runs import paired_run
from .statements import _base, _data, _sample_prob
from .statements import sample as lemma_sample

ISSUES = ("I-10", "I-12", "I-12-init", "I-17", "I-18", "I-19")
ACTS = ("erf", "tanh", "softplus")
# Matrix Chernoff (Tropp 2012, Thm 5.1.1) at t = 1/2: P(λ_min(JJᵀ) ≤ λ/2) ≤ n·e^{−(1−ln 2)/2 · kλ/(Γ²‖X‖²)},
# so k ≥ CHERNOFF·Γ²‖X‖² log(n/δ)/λ suffices (tests/proofs/test_issues.py derives it in sympy).
CHERNOFF = 2.0 / (1.0 - math.log(2.0))          # 6.518…
TOL_FRACTION = 0.1                               # "converged": ‖·‖₂ ≤ 0.1·√n (the sweep's rule)


def _W0(cfg: dict) -> np.ndarray:
    return np.random.default_rng(cfg["w_seed"]).standard_normal((cfg["k"], cfg["d"]))


# --- I-10: Theorem 1's conclusion is about ỹ, not y ------------------------------------------

def check_I10(cfg: dict) -> dict:
    """Algorithm 1 (lr auto, linear α_t) to the horizon: ‖f − y‖ vs ‖f − ỹ‖ (spec I-10, E-40)."""
    data = _data(cfg)
    net = TwoLayerNet(W=_W0(cfg), v=output_layer(cfg["k"]), activation=get_activation(cfg["activation"]))
    traj = train(data, net, method="self-distill", steps=cfg["steps"], schedule=cfg["schedule"],
                 log_every=cfg["steps"])
    tol = TOL_FRACTION * math.sqrt(data.n)
    noise = 2 * math.sqrt(int(data.corrupted.sum()))
    fin = traj.final
    return {"I-10 printed: ||f_T - y|| <= 0.1 sqrt(n)": check_le(fin["l2_noisy"], tol),
            "I-10 repaired: ||f_T - y~|| <= 0.1 sqrt(n)": check_le(fin["l2_clean"], tol),
            "I-10 ||f_T - y|| / 2sqrt(#corrupted) (info)": check_le(fin["l2_noisy"], noise)}


# --- I-12: Θ ----------------------------------------------------------------------------------

def check_I12(cfg: dict) -> dict:
    """On the paired run of Lemma 6's sampler: the joint-induction bound on r̄ᶜ, and whether it
    (or F1's Θ) bounds the unprojected rᶜ that Lemma 8 uses."""
    data, act = _data(cfg), cfg["activation"]
    run = paired_run(data, _W0(cfg), act, steps=cfg["steps"], schedule=cfg["schedule"])
    consts = data_constants(data, act)
    hyps = {k: v for k, v in lc.lemma6(run, consts).items()
            if k.startswith("hyp:") and ("H2" in k or "H3" in k or "eta" in k)}
    tag = _tag(all(c.holds for c in hyps.values()))
    rb = np.linalg.norm(run.rbar_c, axis=1)
    rc = np.linalg.norm(run.rc, axis=1)
    bound = max(rb[0], (1 - 2 * data.rho) / 8)
    Gam, delta = run.activation.Gamma, cfg.get("delta", 0.1)
    theta_F1 = (Gam * math.sqrt(math.log(8 / delta)) + 1) * math.sqrt(data.n)      # c₃ = 1
    return {**hyps,
            f"I-12 max|rbar_t| <= max(|rbar_0|,(1-2rho)/8) {tag}": check_le(rb.max(), bound),
            f"I-12 max|r^c_t| (unprojected) <= max(|rbar_0|,(1-2rho)/8) {tag}": check_le(rc.max(), bound),
            "I-12 max|r^c_t| <= Theta (F1, c3=1) (info)": check_le(rc.max(), theta_F1)}


def check_I12_init(cfg: dict) -> dict:
    """‖f(W₀,X)‖₂ over ``draws`` independent W₀: the worst draw against the Hoeffding form
    Γ√(n log(8/δ)) (c₃ = 1) and the sub-Gaussian bound Γ√n + Γ‖X‖√(2 log(4/δ)), both at level
    δ/4 (F1's budget). The verdict counts the failing draws (frequency rows)."""
    data, act = _data(cfg), cfg["activation"]
    a = get_activation(act)
    v = output_layer(cfg["k"])
    rng = np.random.default_rng(cfg["w_seed"])
    norms = np.array([np.linalg.norm(TwoLayerNet(W=rng.standard_normal((cfg["k"], data.d)), v=v,
                                                 activation=a).forward(data.X))
                      for _ in range(cfg["draws"])])
    G, n, delta = a.Gamma, data.n, cfg["delta"]
    hoeff = G * math.sqrt(n * math.log(8 / delta))
    subg = G * math.sqrt(n) + G * np.linalg.norm(data.X, 2) * math.sqrt(2 * math.log(4 / delta))
    top, m = float(norms.max()), cfg["draws"]
    out = {}
    for name, bound in (("Hoeffding ||f(W0,X)|| <= G sqrt(n log(8/delta))", hoeff),
                        ("sub-Gaussian ||f(W0,X)|| <= G(sqrt n + ||X|| sqrt(2log(4/delta)))", subg)):
        fails = int((norms > bound).sum())
        out[f"I-12 {name}"] = Check(top, float(bound), top / float(bound), fails == 0,
                                    f"worst of {m} draws; {fails} fail")
        out[f"I-12 {name.split()[0]} failing draws (count)"] = Check(fails, m, fails / m, True)
    return out


# --- I-17: the mode-wise identity of §2.3 -----------------------------------------------------

def modewise_errors(data, W0, activation, steps: int, lr: "float | None" = None) -> dict:
    """Plain GD on y from W₀; per step, max_i |⟨u_{t+1}−y, e_i⟩ − (1−ηλ_i)⟨u_t−y, e_i⟩| / ‖u_t−y‖
    for (λ_i, e_i) of Ĥ₀ = J(W₀)J(W₀)ᵀ ('nonlinear'), and the same on the linearised model
    u_{t+1} = u_t − ηĤ₀(u_t − y), where the kernel is fixed ('fixed kernel': exact)."""
    act = get_activation(activation)
    net = TwoLayerNet(W=np.asarray(W0, dtype=np.float64), v=output_layer(W0.shape[0]), activation=act)
    X, y = data.X, data.y.astype(np.float64)
    H0 = np.asarray(jacobian_gram(net.W, X, act), dtype=np.float64)          # (n, n) Ĥ₀
    lam, E = np.linalg.eigh(H0)
    eta = 1.0 / lam[-1] if lr is None else lr
    W, u_lin = net.W.copy(), net.forward(X)
    err, err_lin = [], []
    for _ in range(steps):
        u = net.with_weights(W).forward(X)
        W = W - eta * net.with_weights(W).gradient(X, y)
        u1 = net.with_weights(W).forward(X)
        r, r1 = u - y, u1 - y
        err.append(np.max(np.abs(E.T @ r1 - (1 - eta * lam) * (E.T @ r))) / np.linalg.norm(r))
        rl = u_lin - y
        u_lin = u_lin - eta * H0 @ rl
        err_lin.append(np.max(np.abs(E.T @ (u_lin - y) - (1 - eta * lam) * (E.T @ rl)))
                       / np.linalg.norm(rl))
    return {"nonlinear": np.array(err), "fixed kernel": np.array(err_lin), "lr": eta}


def check_I17(cfg: dict) -> dict:
    data = _data(cfg)
    e = modewise_errors(data, _W0(cfg), cfg["activation"], cfg["steps"])
    return {"I-17 mode-wise identity along GD (printed, exact)": check_identity(e["nonlinear"].max(), 1.0),
            "I-17 mode-wise identity, fixed kernel (linearised)": check_identity(e["fixed kernel"].max(), 1.0),
            "I-17 mode-wise error at k (info)": Check(float(e["nonlinear"].max()), 1.0,
                                                      float(e["nonlinear"].max()), True, f"k={cfg['k']}")}


def modewise_vs_width(data, activation, widths, steps: int, seed: int = 0, draws: int = 1) -> list:
    """max_t mode-wise error for each width over ``draws`` W₀ draws: the I-17 table
    (``error`` is the geometric mean over the draws, ``errors`` each draw's)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in widths:
        errs = [float(modewise_errors(data, rng.standard_normal((k, data.d)), activation,
                                      steps)["nonlinear"].max()) for _ in range(draws)]
        out.append({"k": k, "error": float(np.exp(np.mean(np.log(errs)))), "errors": errs})
    return out


# --- I-18: Lemma 1(iii) at the Chernoff width -------------------------------------------------

def chernoff_width(n: int, lam_X: float, Gamma: float, delta: float, normX_sq: float) -> float:
    """k ≥ CHERNOFF·Γ²‖X‖² log(n/δ)/λ(X): matrix Chernoff's sufficient width for (L1-iii)."""
    return CHERNOFF * Gamma**2 * normX_sq * math.log(n / delta) / lam_X


def check_I18(cfg: dict) -> dict:
    """One W₀ draw at the Chernoff width (cfg['k']): σ_min(J(W₀,X)) ≥ √(λ(X)/2)? (probabilistic)."""
    data, act = _data(cfg), cfg["activation"]
    lam = lambda_of(data.X, act)
    s = sigma_min(_W0(cfg), data.X, act)
    return {"I-18 L1-iii at the Chernoff width": check_le(math.sqrt(lam / 2), s),
            "I-18 Chernoff width / printed width 20 G^2 n log(n/delta)/lambda (info)":
            check_le(cfg["k"], 20 * data.n * math.log(data.n / cfg["delta"]) / lam)}


# --- I-19: Lemma 8's d_t bound with η kept ----------------------------------------------------

def check_I19(cfg: dict) -> dict:
    """d_t ≤ 2ηMΓΘ√n(1 + 2ηβ²(2+L_h)²T₂)εt (η kept) and the printed (1 + 2β²(2+L_h)²T₂), on the
    paired run of Lemma 8's sampler with measured Θ, M, ε (the hypotheses L8-H1/H2 fail on every
    affordable run, so both rows are [hyp fail])."""
    data, act = _data(cfg), cfg["activation"]
    run = paired_run(data, _W0(cfg), act, steps=cfg["steps"], schedule=cfg["schedule"])
    m = measured(run)
    n, eta, Lh, G = data.n, run.eta, run.L_h, run.activation.Gamma
    T2 = run.T2 if run.T2 is not None else run.T
    base = 2 * eta * m["M"] * G * m["Theta"] * math.sqrt(n) * m["eps"]
    kept = base * (1 + 2 * eta * m["beta"]**2 * (2 + Lh)**2 * T2)
    printed = base * (1 + 2 * m["beta"]**2 * (2 + Lh)**2 * T2)
    ts = range(1, min(T2, run.T) + 1)
    worst = lambda per: max((check_le(run.dist[t], per * t) for t in ts), key=lambda c: c.ratio)  # noqa: E731
    return {"I-19 d_t bound, eta kept [hyp fail]": worst(kept),
            "I-19 d_t bound, printed (eta dropped) [hyp fail]": worst(printed),
            "I-19 printed / kept increment (info)": Check(printed, kept, printed / kept, True)}


CHECKS = {"I-10": check_I10, "I-12": check_I12, "I-12-init": check_I12_init, "I-17": check_I17,
          "I-18": check_I18, "I-19": check_I19}


def evaluate(issue: str, cfg: dict) -> dict:
    return CHECKS[issue](cfg)


# --- samplers ---------------------------------------------------------------------------------

def sample(issue: str, rng) -> dict:
    """A random valid configuration for ``issue`` (small: seconds each on one core)."""
    if issue == "I-10":
        cfg = _base(rng, max_n=60, max_K=4, max_d=10, k_range=(128, 512), eps_range=(0.02, 0.1))
        cfg["n"] = max(cfg["n"], 4 * cfg["K"])          # n_l ≥ 4: a flip is possible with ρ_l < 1/2
        return {**cfg, "rho": _realisable(cfg, rng), "activation": "tanh", "steps": 600,
                "schedule": "linear"}
    if issue == "I-12":
        return lemma_sample("6", rng)
    if issue == "I-12-init":
        cfg = _base(rng, max_n=40, max_K=4, max_d=10, k_range=(16, 256))
        return {**cfg, "activation": str(rng.choice(ACTS)), "draws": 200, "delta": 0.1}
    if issue == "I-17":
        cfg = _base(rng, max_n=30, max_K=3, max_d=8, k_range=(32, 2048), eps_range=(0.1, 0.5))
        return {**cfg, "steps": 20}
    if issue == "I-18":
        cfg = _sample_prob(rng, "L1-iii")
        data = _data(cfg)
        lam = lambda_of(data.X, cfg["activation"])
        k = chernoff_width(data.n, lam, 1.0, cfg["delta"], np.linalg.norm(data.X, 2) ** 2)
        return {**cfg, "k": 2 * math.ceil(k / 2)}
    if issue == "I-19":
        return lemma_sample("8", rng)
    raise KeyError(issue)


def _realisable(cfg: dict, rng) -> float:
    """A ρ with at least one flipped label per cluster and every realised ρ_l < 1/2."""
    m = cfg["n"] // cfg["K"]
    for _ in range(50):
        rho = round(float(rng.uniform(0.1, 0.4)), 4)
        if all(1 <= round(rho * s) < s / 2 for s in (m, m + 1)):
            return rho
    return cfg["rho"]


# --- I-20: the experiments' α_t = 1 − λ·acc ---------------------------------------------------

def negative_alpha_threshold(lam: float) -> float:
    """α_t = 1 − λ·acc_t < 0 iff the batch accuracy acc_t exceeds 1/λ (spec §1.4, I-20)."""
    return 1.0 / lam


def negative_alpha_fraction_lower_bound(alpha_mean: float, lam: float) -> float:
    """A lower bound on the fraction of steps with α_t < 0 from the mean ᾱ alone (λ > 1):
    acc_t ≤ 1 gives mean(acc) ≤ 1/λ + (1 − 1/λ)·q with q the fraction above 1/λ, and
    mean(acc) = (1 − ᾱ)/λ, so q ≥ −ᾱ/(λ − 1) (0 when ᾱ ≥ 0)."""
    return max(0.0, -alpha_mean / (lam - 1.0))
