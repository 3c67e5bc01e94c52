"""How far a concrete instance is from Theorem 1's hypotheses: the vacuity report.

Given data, an activation, a width k and an α_t schedule, evaluate the theorem's explicit
conditions (spec §2.1, (T1-H6)–(T1-H12), with the constants of ``constants.py``) on the measured
λ(C), Λ = min(λ(C), λ(X)), c_low, ρ and ε, and say which hold: the smallest width the proof asks
for and its binding term, the largest cluster radius it allows, and whether the schedule decays
slowly enough (and where it first does not).
"""

from __future__ import annotations

import math

import numpy as np



class _Constants:
    """``constants`` imported on first use: it needs sympy (about a second to import), and
    ``requirements_line`` (formatting a report, also a cached one) needs none of it."""

    def __getattr__(self, name):
        from . import constants
        return getattr(constants, name)


C = _Constants()

ADAPTIVE = ("α_t = 1 − λ·(training accuracy) is known only along a run, so its decay and "
            "T₂ cannot be checked beforehand")
DELTA = 0.1   # failure probability δ of Theorem 1 used in reports (the theorem holds w.p. ≥ 1 − δ)


def schedule_report(spec, steps: int, vals: dict, reading: str = "A") -> dict:
    """Does α_t meet (T1-H6), (T1-H7), (T1-H8)? Which fails first (smallest t)?

    ``vals`` maps the primitive symbols of ``constants`` to numbers (n, K, ρ, Γ, c_low, λ(C), Λ).
    """
    from theorem_lab.schedules import T2, parse_schedule
    n = int(vals[C.n])
    a = parse_schedule(spec, steps).values(steps)
    t2 = T2(a, n)
    jumps = 2 * math.sqrt(n) * (a[:-1] - a[1:])
    b1 = C.evaluate(C.slow_decay_bound(reading), vals)
    b2 = C.evaluate(C.slow_decay_bound_II, vals)
    T1 = math.ceil(C.evaluate(C.T1_derived(reading), vals))
    req = max(C.evaluate(e, vals) for e in C.alpha_T1_required(reading))
    fails = []
    lim = len(jumps) if t2 is None else t2
    bad1 = np.flatnonzero(jumps[:lim] > b1)
    if bad1.size:
        fails.append((int(bad1[0]), f"T1-H6: 2√n(α_t−α_t+1) = {jumps[bad1[0]]:.3g} > κ₁(1−2ρ) = {b1:.3g}"))
    if t2 is not None:
        bad2 = np.flatnonzero(jumps[t2:] > b2)
        if bad2.size:
            fails.append((int(t2 + bad2[0]), f"T1-H7: 2√n(α_s−α_s+1) = {jumps[t2 + bad2[0]]:.3g} > κ₂(1−2ρ) = {b2:.3g}"))
    aT1 = a[min(T1, steps)]
    if aT1 < req:
        fails.append((min(T1, steps), f"T1-H8: α_T1 = {aT1:.4g} < {req:.6g} (T1 = {T1})"))
    if t2 is None:
        fails.append((steps, f"α_t never drops below 1/(24√n) within {steps} steps: T₂ undefined"))
    fails.sort()
    return {"T2": t2, "C1": float(jumps[:lim].max()) if lim else 0.0, "C1_bound": b1,
            "C2": float(jumps[t2:].max()) if t2 is not None and t2 < len(jumps) else 0.0, "C2_bound": b2,
            "alpha_T1": float(aT1), "alpha_T1_required": req, "T1": T1,
            "meets": not fails, "first_failure": fails[0][1] if fails else None,
            "failures": [f for _, f in fails]}


def instance_values(data, activation, delta: float = DELTA, c3: float = 1.0,
                    c4: float = 1.0) -> "tuple[dict, dict]":
    """{symbol of ``constants``: number} for ``data`` (measured λ(C), Λ, c_low, ρ, ε), and the
    measured constants themselves."""
    from theorem_lab.activations import get_activation
    from .lemmas_jacobian import data_constants

    act = get_activation(activation, "theorem_requirements")
    m = data_constants(data, act)
    vals = {C.n: data.n, C.K: data.K, C.d: data.d, C.rho: m["rho"], C.delta: delta,
            C.Gamma: act.Gamma, C.c_low: m["c_low"], C.lam_C: m["lambda_C"],
            C.Lam: m["Lambda"], C.eps: m["eps_obs"], C.c3: c3, C.c4: c4}
    return vals, m


def theorem_requirements(data, activation, width: int, schedule, steps: int,
                         delta: float = DELTA, reading: str = "A", c3: float = 1.0,
                         c4: float = 1.0) -> dict:
    """Theorem 1's explicit conditions evaluated on ``data`` (measured constants) and compared
    with the run's width k, radius ε and schedule. Free constants c₃ = c₄ = 1 (constants.py)."""
    from theorem_lab.schedules import parse_schedule
    vals, m = instance_values(data, activation, delta, c3, c4)
    adaptive = parse_schedule(schedule, steps).adaptive      # α_t from the run's accuracy
    sched = schedule_report(schedule, steps, vals, reading) if m["Lambda"] > 0 and not adaptive else None
    out = {"not_evaluable": (ADAPTIVE if adaptive else None),"lambda_C": m["lambda_C"], "Lambda": m["Lambda"], "c_low": m["c_low"],
           "eps": m["eps_obs"], "width": int(width), "delta": delta, "reading": reading,
           "schedule_meets": None if sched is None else sched["meets"],
           "schedule_first_failure": None if sched is None else sched["first_failure"],
           "T2": None if sched is None else sched["T2"], "width_required": None,
           "T1_theorem": ({name: C.evaluate(e, vals) for name, e in C.T1_readings().items()}
                          if m["Lambda"] > 0 else None),
           "eta_theorem": C.evaluate(C.eta, vals),          # (T1-H4) η = 1/(2Γ²n)
           "width_binding_term": None, "eps_max": None}
    if m["Lambda"] <= 0 or sched is None or sched["T2"] is None:
        return out          # Λ = 0, T₂ undefined or an adaptive α_t: no finite requirement
    vals[C.T2] = sched["T2"]
    name, terms = C.binding_term(C.WIDTH_TERMS, vals)
    out.update(width_required=terms[name], width_binding_term=name,
               eps_max=C.evaluate(C.eps_max, vals))
    return out


def reading_requirements(data, activation, schedule, steps: int, delta: float = DELTA,
                         c3: float = 1.0, c4: float = 1.0) -> dict:
    """Per reading of ``constants.READINGS``: the width k and radius ε Theorem 1 asks for on
    ``data`` at the *earliest T₂ that reading admits*, T₂ = ⌈5√n/(3κ₁(1−2ρ))⌉ (``T2_lower``:
    a schedule meeting (T1-H6) cannot fall below 1/(24√n) sooner), and whether ``schedule``
    meets the slow-decay conditions under it (None for an adaptive α_t). The width and radius at a given schedule's T₂
    (``theorem_requirements``) do not depend on the reading; these do, through κ₁.
    {reading: {'T2', 'width_required', 'width_binding_term', 'eps_max', 'schedule_meets'}}
    (None values where Λ = 0)."""
    from theorem_lab.schedules import parse_schedule
    vals, m = instance_values(data, activation, delta, c3, c4)
    adaptive = parse_schedule(schedule, steps).adaptive      # its decay is known only along a run
    out = {}
    for reading in C.READINGS:
        row = {"T2": None, "width_required": None, "width_binding_term": None, "eps_max": None,
               "schedule_meets": None}
        if m["Lambda"] > 0:
            at = {**vals, C.T2: math.ceil(C.evaluate(C.T2_lower(reading), vals))}
            name, terms = C.binding_term(C.WIDTH_TERMS, at)
            row.update(T2=int(at[C.T2]), width_required=terms[name], width_binding_term=name,
                       eps_max=C.evaluate(C.eps_max, at),
                       schedule_meets=None if adaptive else
                       schedule_report(schedule, steps, vals, reading)["meets"])
        out[reading] = row
    return out


def requirements_line(req: dict) -> str:
    """One line for a report: the run against the theorem's width, radius and schedule conditions."""
    if "error" in req:
        return f"Theorem 1's hypotheses: not evaluated ({req['error']})"
    if req.get("not_evaluable"):
        return f"Theorem 1's hypotheses: not evaluable here ({req['not_evaluable']})"
    if req["width_binding_term"] is None:           # say which of the two it is
        why = (f"the measured Λ = {req['Lambda']:.3g} is not positive" if not req["Lambda"] > 0
               else "α_t never falls below 1/(24√n) within the run's steps, so T₂ is undefined")
        return f"Theorem 1's hypotheses: not evaluable here ({why})"
    k_ok = req["width"] >= req["width_required"]
    e_ok = req["eps"] <= req["eps_max"]
    sched = ("meets the slow-decay conditions" if req["schedule_meets"]
             else f"fails them ({req['schedule_first_failure']})")
    return (f"Theorem 1's hypotheses (δ = {req['delta']:g}, measured Λ = {req['Lambda']:.3g}): "
            f"width k = {req['width']} {'≥' if k_ok else '<'} {req['width_required']:.3g} required "
            f"({req['width_binding_term']} binds); ε = {req['eps']:.3g} {'≤' if e_ok else '>'} "
            f"{req['eps_max']:.3g} allowed; the schedule {sched}")
