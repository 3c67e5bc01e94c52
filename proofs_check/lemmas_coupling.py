"""Lemma 6 (stage I, centre run), Lemma 8 (coupling, t ≤ T₂), stage II and Theorem 1's
conclusion, on a ``PairedRun`` (spec §3.7–§3.9; E-19..E-40; Issues I-4, I-5, I-6, I-8, I-11, I-13).

Conventions as in ``lemmas_dynamics``: ``hyp: …`` keys are hypotheses, conclusions carry
``[hyp ok]``/``[hyp fail]``; per-step inequalities are reduced to their worst step.
``consts`` is ``lemmas_jacobian.data_constants(data, activation)`` (λ(C), Λ, c_low, ...).
"""

from __future__ import annotations

import math

import numpy as np

from theorem_lab.kernels import (average_jacobian, jac_difference, jacobian_diff_norm, spectral_norm,
                                 support_basis)

from .check import Check, check_le
from .lemmas_dynamics import G_step, _tag, _worst, measured, sigma_min_S
from .runs import PairedRun

ATOL = 1e-10   # absolute slack (relative to the initial residual) for residuals near float zero


def alpha_I(consts: dict, reading: str) -> float:
    """α_I of Lemma 6 under reading A, B or A' (spec §1.10)."""
    c, n, K = consts["c_low"], consts["n"], consts["K"]
    return math.sqrt({"A": c * n * consts["lambda_C"] / (8 * K), "B": c * n * consts["lambda_C"] / (10 * K),
                      "A'": c * n * consts["Lambda"] / (8 * K)}[reading])


def T1_lemma6(eta: float, alpha: float, rbar0: float, rho: float, base: int = 4) -> float:
    """(L6-T1) ⌈log_{1−ηα²/base}((1−2ρ)/(8‖r̄ᶜ₀‖))⌉ (0 if the residual starts small enough)."""
    q = 1 - eta * alpha**2 / base
    target = (1 - 2 * rho) / (8 * rbar0)
    if target >= 1:
        return 0.0
    if q <= 0:
        return 1.0
    return float(math.ceil(math.log(target) / math.log(q))) if q < 1 else math.inf


def C1(run: PairedRun) -> float:
    """C₁ = max_{t<T₂} 2√n(α_t − α_{t+1}) over the horizon."""
    T2 = run.T2 if run.T2 is not None else run.T
    da = run.alpha[:-1] - run.alpha[1:]
    return float(2 * math.sqrt(run.data.n) * da[: max(T2, 1)].max())


def first_stable(ok: np.ndarray) -> "int | None":
    """min{t : ok[t'] for all t' ≥ t} within the horizon (None if ok[-1] is False)."""
    if not ok[-1]:
        return None
    bad = np.flatnonzero(~ok)
    return int(bad[-1] + 1) if bad.size else 0


def lemma6(run: PairedRun, consts: dict, alpha: "float | None" = None) -> dict:
    """Stage I on the centre run with α = ``alpha`` (default: measured min_t σ_min(J̃_t, S₊))."""
    n, eta, rho, Lh = run.data.n, run.eta, run.rho_h, run.L_h
    G = run.activation.Gamma
    beta, L = G * math.sqrt(n), G * math.sqrt(n / run.k)
    m = measured(run)
    a = m["alpha_c"] if alpha is None else alpha
    rb = np.linalg.norm(run.rbar_c, axis=1)                         # (T+1,) ‖r̄ᶜ_t‖
    T, c1 = run.T, C1(run)
    T1 = T1_lemma6(eta, a, rb[0], rho)
    ytil = run.data.y_true
    hyp = {"hyp: L6-H1 alpha<=min sigma_min(J~,S+)": check_le(a, m["alpha_c"]),
           "hyp: L6-H2 C1<=eta a^2(1-2rho)/32": check_le(c1, eta * a**2 * (1 - 2 * rho) / 32),
           "hyp: eta<=alpha/(L beta Theta)": check_le(eta, a / (L * beta * m["Theta_bar"]))}
    pre = [t for t in range(min(int(min(T1, T)), T))]
    hyp["hyp: L6-H3 alpha_t>=1-a^2/(4b^2Lh), t<T1"] = check_le(
        max([1 - run.alpha[t] for t in pre], default=0.0), a**2 / (4 * beta**2 * Lh))
    if T1 <= T:
        hyp["hyp: L6-H4 alpha_T1>=(7-6rho)/(8-8rho)"] = check_le(
            (7 - 6 * rho) / (8 * (1 - rho)), run.alpha[int(T1)])
    ok = all(c.holds for c in hyp.values()) and T1 <= T
    tag = _tag(ok)
    out = dict(hyp)
    step = np.linalg.norm((run.Wc[1:] - run.Wc[:-1]).reshape(T, -1), axis=1)
    out["L6 (6) |dW~|<=eta beta |rbar|"] = _worst([(t, check_le(step[t], eta * beta * rb[t]))
                                                     for t in range(T)])
    e20i, e20ii, e21 = [], [], []
    for t in range(T):
        contr = float(np.linalg.norm(run.rbar_c[t] + run.fc[t + 1] - run.fc[t]))   # ‖(I−ηG_t) r̄_t‖
        h0, h1 = run.h(run.fc[t]), run.h(run.fc[t + 1])
        da = run.alpha[t] - run.alpha[t + 1]
        e20i.append((t, check_le(rb[t + 1], contr + (1 - run.alpha[t]) * np.linalg.norm(h0 - h1)
                                 + da * np.linalg.norm(run.data.y - h1), atol=ATOL * rb[0])))
        e20ii.append((t, check_le(rb[t + 1], contr + (1 - run.alpha[t]) * eta * Lh * beta**2 * rb[t]
                                  + 2 * math.sqrt(n) * da, atol=ATOL * rb[0])))
        rate = 1 - eta * a**2 / (4 if t < T1 else 2)
        e21.append((t, check_le(rb[t + 1], rate * rb[t] + c1, atol=ATOL * rb[0])))
    out["L6 (8)-(9) E-20(i)"] = _worst(e20i)
    out["L6 (10) E-20(ii)"] = _worst(e20ii)
    out[f"L6 (11) E-21 {tag}"] = _worst(e21)
    # T₁: observed vs Lemma 6 (both bases) vs the theorem's formulas (E-22, I-11)
    sign_ok = np.all(np.sign(run.fc) == ytil, axis=1)
    T1_obs = first_stable(sign_ok)
    if T1_obs is not None:
        out[f"L6 T1_obs<=T1 (base 1-eta a^2/4) {tag}"] = check_le(T1_obs, T1)
        out[f"L6 T1_obs<=T1 (base 1-eta a^2/2) {tag}"] = check_le(T1_obs, T1_lemma6(eta, a, rb[0], rho, 2))
    if ok:
        after = range(int(T1), T + 1)
        marg = (run.fc * ytil).min(axis=1)
        proj = np.stack([np.bincount(run.data.cluster, weights=y) / run.data.cluster_sizes
                         for y in run.yhat_c])[:, run.data.cluster]            # P_{S₊} ŷᶜ_t
        out[f"L6-C2 |rbar_t|<=(1-2rho)/4, t>=T1 {tag}"] = _worst(
            [(t, check_le(rb[t], (1 - 2 * rho) / 4)) for t in after])
        out[f"L6-C2 h(f~_t)=y~, t>=T1 {tag}"] = _worst(
            [(t, check_le(np.sum(run.h(run.fc[t]) != ytil), 0)) for t in after])
        out[f"L6-C3 margin_T1>=(1-2rho)/2 {tag}"] = check_le((1 - 2 * rho) / 2, marg[int(T1)])
        if T1 < T:
            out[f"L6-C3 margin_t>=3(1-2rho)/4, t>T1 {tag}"] = _worst(
                [(t, check_le(0.75 * (1 - 2 * rho), marg[t])) for t in range(int(T1) + 1, T + 1)])
        out[f"L6 (P yhat~)_i y~_i>=1-2rho, t>=T1 {tag}"] = _worst(
            [(t, check_le(1 - 2 * rho, (proj[t] * ytil).min())) for t in after])
        out[f"I-13 per-sample yhat~_i y~_i>=1-2rho, t>=T1 {tag}"] = _worst(
            [(t, check_le(1 - 2 * rho, (run.yhat_c[t] * ytil).min())) for t in after])
    path = float(step.sum())
    out[f"L6-C4 path<=beta/a^2(4|r0|+8sqrt n) {tag}"] = check_le(path, beta / a**2 * (4 * rb[0] + 8 * math.sqrt(n)))
    out[f"L6-C4 sum|rbar|<=(4|r0|+8sqrt n)/(eta a^2) {tag}"] = check_le(
        rb[:-1].sum(), (4 * rb[0] + 8 * math.sqrt(n)) / (eta * a**2))
    return out


def lemma8(run: PairedRun, consts: dict) -> dict:
    """Coupling of the X-run and the centre run for t ≤ T₂ (L8-a..h, E-25..E-31, I-4, I-6)."""
    n, eta, rho, Lh, k = run.data.n, run.eta, run.rho_h, run.L_h, run.k
    G = run.activation.Gamma
    m = measured(run)
    beta, L, eps, M, Th = m["beta"], m["L"], m["eps"], m["M"], m["Theta"]
    T2 = run.T2 if run.T2 is not None else run.T
    T2 = min(T2, run.T)
    p, d = run.p, run.dist
    aII = math.sqrt(consts["c_low"] * n * consts["Lambda"] / (8 * consts["K"]))
    H1 = (1 - 2 * rho) / (4 * M * eta * beta * (2 + Lh) * G * math.sqrt(n) * T2 * (1 + Th))
    H2 = 4 * eta**2 * G**2 * Th**2 * n * (2 * beta**2 * (2 + Lh)**2 * T2 + 1)**2 * T2**2
    out = {"hyp: L8-H1 eps": check_le(eps, H1), "hyp: L8-H2 k": check_le(H2, k)}
    tag = _tag(out["hyp: L8-H1 eps"].holds and out["hyp: L8-H2 k"].holds)
    act, X, Xc = run.activation, run.data.X, run.data.X_centers
    Us = support_basis(run.data.cluster)
    P = Us @ Us.T
    rows = {key: [] for key in ("a", "b", "c", "d", "e_thy", "e_meas", "e_one", "perp", "f", "h_pre", "h_post", "p", "p0", "dd", "g")}
    sign_ok = np.all(np.sign(run.fc) == run.data.y_true, axis=1)
    T1 = first_stable(sign_ok[: T2 + 1]) if T2 >= 0 else None
    for t in range(T2 + 1):
        rows["a"].append((t, check_le(jacobian_diff_norm(run.W[t], X, run.Wc[t], Xc, act, v=run.v),
                                      L * d[t] + M * G * math.sqrt(n) * eps)))
        rows["f"].append((t, check_le(np.linalg.norm(run.r[t]), Th + (1 + Lh) * p[t])))
        slope = 4 * eta * beta * (2 + Lh) * Th * M * G * math.sqrt(n) * eps
        rows["p"].append((t, check_le(p[t], slope * t)))
        rows["p0"].append((t, check_le(p[t] - p[0], slope * t, atol=1e-12)))
        rows["dd"].append((t, check_le(d[t], 2 * eta * M * G * Th * math.sqrt(n)
                                       * (2 * beta**2 * (2 + Lh)**2 * T2 + 1) * eps * t)))
        rows["g"].append((t, check_le(p[t], (1 - 2 * rho) / 4)))
        if t >= run.T or t >= T2:
            continue
        Jb = jac_difference(average_jacobian(run.W[t + 1], run.W[t], X),
                            average_jacobian(run.Wc[t + 1], run.Wc[t], Xc))
        rows["b"].append((t, check_le(spectral_norm(Jb, act, v=run.v),
                                      L * (d[t] + d[t + 1]) / 2 + M * G * math.sqrt(n) * eps)))
        rows["c"].append((t, check_le(d[t + 1], d[t] + eta * (L * Th * d[t] + M * G * Th * math.sqrt(n) * eps
                                                              + beta * (1 + Lh) * p[t]))))
        Gt = G_step(run, t, "c")
        diff = run.f[t] - run.fc[t]
        contr = float(np.linalg.norm(diff - eta * Gt @ diff))
        pert = eta * beta * np.linalg.norm(run.r[t]) * (L * (3 * d[t] + d[t + 1]) / 2 + 2 * M * G * math.sqrt(n) * eps)
        rows["d"].append((t, check_le(p[t + 1], contr + eta * np.linalg.norm(Gt @ (run.yhat[t] - run.yhat_c[t])) + pert)))
        a_meas = sigma_min_S(run, t, "c")
        rows["e_thy"].append((t, check_le(contr, (1 - eta * aII**2 / 2) * p[t])))
        rows["e_meas"].append((t, check_le(contr, (1 - eta * a_meas**2 / 2) * p[t])))
        rows["e_one"].append((t, check_le(contr, p[t])))
        rows["perp"].append((t, Check(float(np.linalg.norm(diff - P @ diff)), p[t],
                                      float(np.linalg.norm(diff - P @ diff) / p[t]) if p[t] > 0 else 0.0, True)))
        h = check_le(p[t + 1], p[t] + eta * beta * (Th + (1 + Lh) * p[t])
                     * (L * (3 * d[t] + d[t + 1]) / 2 + 2 * M * G * math.sqrt(n) * eps))
        rows["h_pre" if (T1 is None or t < T1) else "h_post"].append((t, h))
    names = {"a": "L8-a |J_t-J~_t|", "b": "L8-b |Jbar-Jbar~|", "c": "L8-c d_{t+1}", "d": "L8-d p_{t+1}",
             "e_thy": "I-4 L8-e contraction, alpha_II", "e_meas": "I-4 L8-e contraction, alpha=sigma_min(J~_t,S+)",
             "e_one": "I-4 repaired: non-expansion <= p_t",
             "perp": "I-4 |(I-P)(f_t-f~_t)|/p_t (info)", "f": "L8-f |r_t|", "h_pre": "L8-h p_{t+1}, t<T1",
             "h_post": "L8-h p_{t+1}, t>=T1", "p": f"L8 p_t bound {tag}",
             "p0": f"L8 p_t-p_0 bound (repaired base) {tag}", "dd": f"L8 d_t bound {tag}",
             "g": f"I-6 L8-g p_t<=(1-2rho)/4 {tag}"}
    for key, lst in rows.items():
        if lst:
            out[names[key]] = _worst(lst)
    return out


def stage2(run: PairedRun, consts: dict) -> dict:
    """F3/F4 for s ≥ T₂ (E-33, E-34): the contraction with α_II (I-8), its repair and measured α."""
    n, eta, rho = run.data.n, run.eta, run.rho_h
    T2 = run.T2
    if T2 is None or T2 >= run.T:
        return {}
    aII = math.sqrt(consts["c_low"] * n * consts["Lambda"] / (8 * consts["K"]))
    a_rep = math.sqrt(consts["Lambda"] / 8)
    rn = np.linalg.norm(run.r, axis=1)
    da = run.alpha[T2:-1] - run.alpha[T2 + 1:]
    C2 = float(2 * math.sqrt(n) * da.max())
    hyp = {"hyp: T1-H7 C2<=eta aII^2(1-2rho)/32": check_le(C2, eta * aII**2 * (1 - 2 * rho) / 32),
           "hyp: F2 |r_T2|<=(1-2rho)/2+1/24": check_le(rn[T2], (1 - 2 * rho) / 2 + 1 / 24),
           # F3 is an induction from s = T₂: its base case is F2's sign claim h(f(W_T₂,X)) = ỹ
           # (established in the paper by Lemmas 6 and 8), not only F2's residual bound
           "hyp: F2 h(f_T2)=y~": check_le(np.sum(run.h(run.f[T2]) != run.data.y_true), 0)}
    tag = _tag(all(c.holds for c in hyp.values()))
    rows = {"thy": [], "rep": [], "meas": [], "op": [], "res": [], "sign": [], "marg": []}
    for s in range(T2, run.T):
        forcing = 2 * math.sqrt(n) * (run.alpha[s] - run.alpha[s + 1])
        a_m = sigma_min_S(run, s, "x")
        rows["thy"].append((s, check_le(rn[s + 1], (1 - eta * aII**2 / 2) * rn[s] + forcing)))
        rows["rep"].append((s, check_le(rn[s + 1], (1 - eta * a_rep**2 / 2) * rn[s] + forcing)))
        rows["meas"].append((s, check_le(rn[s + 1], (1 - eta * a_m**2 / 2) * rn[s] + forcing)))
        Gs = G_step(run, s, "x")
        rows["op"].append((s, check_le(np.linalg.norm(np.eye(n) - eta * Gs, 2), 1 - eta * aII**2 / 2)))
    for s in range(T2, run.T + 1):
        rows["res"].append((s, check_le(rn[s], 5 / 8 * (1 - 2 * rho) + 1 / 24)))
        rows["sign"].append((s, check_le(np.sum(run.h(run.f[s]) != run.data.y_true), 0)))
        rows["marg"].append((s, check_le((1 - 2 * rho) / 4, (run.f[s] * run.data.y_true).min())))
    names = {"thy": "F4 |r_s+1|<=(1-eta aII^2/2)|r_s|+.. (I-8)", "rep": "F4 repaired aII^2=Lambda/8",
             "meas": "F4 measured alpha", "op": "F4 operator |I-eta G_s|<=1-eta aII^2/2 (I-8)",
             "res": f"F3 |r_s|<=5/8(1-2rho)+1/24 {tag}", "sign": f"F3 h(f_s)=y~ {tag}",
             "marg": f"F3 margin>=(1-2rho)/4 {tag}"}
    return {**hyp, **{names[k]: _worst(v) for k, v in rows.items() if v}}


def theorem1(run: PairedRun, baseline: "PairedRun | None" = None) -> dict:
    """E-40: e_T = ‖f(W_T,X) − ỹ‖ at the horizon against its start and against plain GD's limit
    2√#corrupted; sign correctness from the observed T₁ on."""
    e = np.linalg.norm(run.f - run.data.y_true, axis=1)
    out = {"T1 e_T<=e_0": check_le(e[-1], e[0]),
           "T1 e_T<=2sqrt(#corrupted) (GD limit)": check_le(e[-1], 2 * math.sqrt(run.data.corrupted.sum()))}
    if baseline is not None:
        eb = np.linalg.norm(baseline.f - baseline.data.y_true, axis=1)
        out["T1 e_T<=e_T(GD)"] = check_le(e[-1], eb[-1])
    return out
