"""`theorem-lab constants`: Theorem 1's constants in closed form (pretty and LaTeX) and evaluated.

    theorem-lab constants --n 1000 --clusters 10 --rho 0.3 --delta 0.1 --activation tanh
    theorem-lab constants ... --from-data --d 50 --eps 0.05 --seed 0     (measured Λ, λ(C), c_low, ρ)
    theorem-lab constants ... --schedule linear:start=100,end=5000 --steps 6000

Without --from-data, λ(C) and Λ take their largest possible values (the most favourable to the
theorem): λ(C) ≤ E[φ'(g)²] (equality for orthogonal centres) and Λ ≤ 8Γ²ε² (spec §1.6, I-9);
c_low = 1 (balanced). T₂ comes from --schedule, else from the derived lower bound T₂ ≥ 5√n/(3κ₁(1−2ρ)).
"""

from __future__ import annotations

import math

import numpy as np

from theorem_lab.activations import ACTIVATIONS, get_activation
from theorem_lab.errors import check_choice, check_int, check_real, fail, integer, real, reword
from theorem_lab.output import strict_json

from . import constants as C
from .requirements import schedule_report

_OWNER = "constants"
ACROSS_N_DEFAULT = "100,1000,10000,100000,1000000"     # 10² … 10⁶, the README's table


def configure(parser) -> None:
    parser.add_argument("--n", type=integer, default=1000, help="training points")
    parser.add_argument("--clusters", type=integer, default=10, help="K")
    parser.add_argument("--dim", "--d", dest="d", type=integer, default=50, help="input dimension d")
    parser.add_argument("--rho", type=real, default=0.3, help="label-noise level ρ < 1/2")
    parser.add_argument("--delta", type=real, default=0.1, help="failure probability δ")
    parser.add_argument("--eps", type=real, default=0.05, help="cluster radius ε")
    parser.add_argument("--activation", default="tanh", choices=ACTIVATIONS)
    parser.add_argument("--c-low", type=real, default=1.0, help="balance constant c_low")
    parser.add_argument("--lambda-C", type=real, default=None, help="λ(C) (default: its upper bound)")
    parser.add_argument("--Lambda", type=real, default=None, help="Λ (default: its upper bound 8Γ²ε²)")
    parser.add_argument("--c3", type=real, default=1.0, help="Hoeffding constant c₃ (free, F1)")
    parser.add_argument("--c4", type=real, default=1.0, help="Bernstein constant c₄ (free, F9)")
    parser.add_argument("--reading", default="A", choices=C.READINGS + ("repaired",),
                        help="α_I reading (spec §1.10), or 'repaired': every repair of FINDINGS.md")
    parser.add_argument("--across-n", default=None,
                        help="with --reading repaired: n values of its table (default "
                        f"{ACROSS_N_DEFAULT})")
    parser.add_argument("--width-search", default=None,
                        help="with --reading repaired: a width-search result at this instance "
                        "(its --out folder, the width_search.json there, or its --json output) to "
                        "print beside the repaired width")
    parser.add_argument("--from-data", action="store_true", help="measure Λ, λ(C), c_low, ρ, ε on generated data")
    parser.add_argument("--seed", type=integer, default=0, help="data seed (with --from-data)")
    parser.add_argument("--schedule", default=None, help="α_t spec; checks the slow-decay conditions")
    parser.add_argument("--steps", type=integer, default=100000, help="schedule horizon")
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of pretty forms")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def resolve_values(args) -> "tuple[dict, dict]":
    """{sympy symbol: number} for the instance, and a dict of notes on where each came from."""
    n = check_int("--n", args.n, _OWNER, low=2)
    K = check_int("--clusters", args.clusters, _OWNER, low=2)
    if n < 2 * K:
        raise fail("--n", _OWNER, f"an integer >= 2*clusters = {2 * K} (two points per cluster)", n)
    d = check_int("--dim", args.d, _OWNER, low=2)
    rho = check_real("--rho", args.rho, _OWNER, low=0.0, high=0.5, high_open=True)
    delta = check_real("--delta", args.delta, _OWNER, low=0.0, high=1.0, low_open=True, high_open=True)
    eps = check_real("--eps", args.eps, _OWNER, low=0.0, high=2.0, low_open=True)
    act = get_activation(check_choice("--activation", args.activation, _OWNER, ACTIVATIONS), _OWNER)
    c3 = check_real("--c3", args.c3, _OWNER, low=0.0, low_open=True)
    c4 = check_real("--c4", args.c4, _OWNER, low=0.0, low_open=True)
    seed = check_int("--seed", args.seed, _OWNER, low=0)
    G = act.Gamma
    notes = {}
    c_low = check_real("--c-low", args.c_low, _OWNER, low=0.0, high=1.0, low_open=True)
    if args.from_data:
        for opt, given in (("--lambda-C", args.lambda_C), ("--Lambda", args.Lambda)):
            if given is not None:    # it would be replaced by the measured value, silently
                raise fail(opt, _OWNER, "left out with --from-data (which measures it)", given)
        from theorem_lab.data import check_rho_realisable, make_clusterable
        from theorem_lab.sizes import check_size, eigh_bytes
        from .lemmas_jacobian import data_constants
        check_rho_realisable(rho, n, K, "--rho", _OWNER)
        check_size(_OWNER, {"n": "--n"}, eigh_bytes(n), [(8 * n * d, [("--dim", d, 50)])],
                   what=f"Σ(X) and its spectrum (n={n})")
        data = make_clusterable(n=n, K=K, d=d, eps=eps, rho=rho, seed=seed, n_test=0)
        m = data_constants(data, act)
        lamC, Lam, c_low, rho, eps = m["lambda_C"], m["Lambda"], m["c_low"], m["rho"], m["eps_obs"]
        if not Lam > 0:      # Σ(X) singular to rounding: T₁ and the widths have no value
            raise fail("--from-data", _OWNER, f"given data whose measured Λ = min(λ(C), λ(X)) is > 0 "
                       f"(measured λ(C) = {lamC:.3g}, λ(X) = {m['lambda_X']:.3g} at n={n}, "
                       f"clusters={K}, dim={d}, eps={args.eps:g}); raise --eps or --dim, lower --n, "
                       "or leave --from-data out and give --Lambda", True)
        notes["source"] = f"measured on make_clusterable(n={n}, K={K}, d={d}, eps={args.eps}, seed={seed})"
    else:
        from theorem_lab.covariance import dphi_correlation
        lamC_max = float(dphi_correlation(np.array(1.0), act))
        lamC = lamC_max if args.lambda_C is None else check_real("--lambda-C", args.lambda_C, _OWNER, low=0.0, low_open=True)
        Lam = min(lamC, 8 * G**2 * eps**2) if args.Lambda is None else check_real("--Lambda", args.Lambda, _OWNER, low=0.0, low_open=True)
        notes["source"] = ("upper bounds: λ(C) ≤ E[φ'(g)²], Λ ≤ min(λ(C), 8Γ²ε²) (most favourable)"
                           if args.lambda_C is None and args.Lambda is None else "given")
    vals = {C.n: n, C.K: K, C.d: d, C.rho: rho, C.delta: delta, C.Gamma: G, C.c_low: c_low,
            C.lam_C: lamC, C.Lam: Lam, C.eps: eps, C.c3: c3, C.c4: c4}
    return vals, notes


def quantities(vals: dict, reading: str) -> list:
    """[(name, expr, value)] for every quantity, T₂ already in ``vals``."""
    q = [("eta", C.eta), ("beta", C.beta), ("L_h", C.L_h), ("alpha_I^2", C.alpha_I_sq(reading)),
         ("alpha_II^2", C.alpha_II_sq), ("kappa_1", C.kappa1(reading)), ("kappa_2", C.kappa2),
         ("kappa_3", C.kappa3(reading)),
         ("alpha_T1 >= (entry 1)", C.alpha_T1_required(reading)[0]),
         ("alpha_T1 >= (entry 2)", C.alpha_T1_required(reading)[1]),
         ("T1 printed (Lambda)", C.T1_printed_Lambda), ("T1 printed (lambda(C))", C.T1_printed_lamC),
         (f"T1 derived (reading {reading})", C.T1_derived(reading)),
         ("T2 lower bound (derived)", C.T2_lower(reading)), ("Theta", C.Theta), ("M", C.M),
         ("eps_max (F10)", C.eps_max), ("I-9 eps_min if T1 uses Lambda", C.I9_eps_min),
         ("I-8 wide-limit sigma_min/(2 alpha_II)", C.I8_limit_ratio),
         ("L8-H2 exact", C.L8_H2), ("I-7 printed n^3T2^4log/(1-2rho)^2", C.I7_printed),
         ("I-7 corrected n^2T2^4log/(1-2rho)^4", C.I7_corrected)]
    q += [(f"width {k}", e) for k, e in C.WIDTH_TERMS.items()]
    return [(name, e, C.evaluate(e, vals)) for name, e in q]


def run(args) -> int:
    import sympy as sp
    steps = check_int("--steps", args.steps, _OWNER, low=1)
    if args.schedule is not None:
        from theorem_lab.errors import check_fits
        check_fits("--steps", steps, _OWNER, 6 * 8.0 * (steps + 1),
                   f"the schedule's α_t and its differences over {steps} steps")
        from theorem_lab.schedules import parse_schedule
        try:
            parse_schedule(args.schedule, steps)
        except ValueError as exc:
            raise reword(exc, "--schedule", _OWNER, "a valid α_t spec", args.schedule) from None
    vals, notes = resolve_values(args)
    for opt, given in (("--width-search", args.width_search), ("--across-n", args.across_n)):
        if given is not None and args.reading != "repaired":      # it would be ignored
            raise fail(opt, _OWNER, "given only with --reading repaired (the only reading that "
                       "uses it)", given)
    if args.reading == "repaired":
        return run_repaired(args, vals, notes, steps)
    sched = schedule_report(args.schedule, steps, vals, args.reading) if args.schedule else None
    if sched and sched["T2"] is not None:
        vals[C.T2], notes["T2"] = sched["T2"], f"from the schedule {args.schedule}"
    else:
        vals[C.T2] = math.ceil(C.evaluate(C.T2_lower(args.reading), vals))
        notes["T2"] = "the derived lower bound 5√n/(3κ₁(1−2ρ)) (no schedule given)"
    rows = quantities(vals, args.reading)
    w_name, w_vals = C.binding_term(C.WIDTH_TERMS, vals)
    p_name, p_vals = C.binding_term(C.WIDTH_PRINTED, vals)
    a1, a2 = (C.evaluate(e, vals) for e in C.alpha_T1_required(args.reading))
    summary = {"inputs": {str(k): float(v) for k, v in vals.items()}, "notes": notes,
               "quantities": {name: value for name, _, value in rows},
               "width_required": w_vals[w_name], "width_binding_term": w_name,
               "width_printed_binding_term": p_name, "eps_max": C.evaluate(C.eps_max, vals),
               "alpha_T1_binding": "entry 1 (1-kappa3(1-2rho))" if a1 >= a2 else "entry 2 ((7-6rho)/(8-8rho))",
               "schedule": sched}
    if args.json:
        print(strict_json(summary, indent=1))
        return 0
    for k, v in notes.items():
        print(f"# {k}: {v}")
    print("# inputs: " + ", ".join(f"{k}={float(v):.6g}" for k, v in vals.items()))
    for name, e, value in rows:
        form = sp.latex(e) if args.latex else sp.pretty(e, use_unicode=True)
        print(f"\n{name} = {value:.6g}\n{form}")
    print(f"\nsmallest width k = {w_vals[w_name]:.4g}; binding term: {w_name}")
    print("  terms: " + ", ".join(f"{k}={v:.3g}" for k, v in w_vals.items()))
    print(f"  printed O-form binding term (constants 1): {p_name}")
    print(f"largest radius eps = {summary['eps_max']:.4g} (F10, with T2 = {vals[C.T2]})")
    print(f"alpha_T1 requirement binds at {summary['alpha_T1_binding']}: max({a1:.6g}, {a2:.6g})")
    if sched:
        print(f"schedule {args.schedule}: " + ("meets the slow-decay conditions" if sched["meets"]
                                               else f"fails first: {sched['first_failure']}"))
    return 0


WIDTH_SEARCH_COMMAND = ("theorem-lab width-search --n {n} --clusters {K} --dim {d} --eps {eps} "
                        "--rho {rho} --activation {act} --json > width_search.json")


# the instance keys a width-search result must share with constants' instance to stand beside it
_WS_KEYS = (("n", "--n"), ("K", "--clusters"), ("d", "--dim"), ("eps", "--eps"), ("rho", "--rho"),
            ("activation", "--activation"))


def _width_search(path, instance: dict) -> dict:
    """The width-search result (``--json`` output, one instance or a list, or the
    ``width_search.json`` that width-search keeps in its ``--out`` folder, or that folder) whose
    instance is ``instance`` ({"n": …, "K": …, …}; keys a result's config lacks are not compared);
    of several (searches with other steps or seeds written into one folder), the latest."""
    import json
    from pathlib import Path
    src = Path(path) / "width_search.json" if Path(path).is_dir() else Path(path)
    try:
        with open(src) as fh:
            blob = json.load(fh)
        found = [{"empirical_width": b["empirical_width"], "config": b["config"]}
                 for b in (blob["instances"] if "instances" in blob else [blob])]
        for b in found:
            b["config"].get("n")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise fail("--width-search", _OWNER, "a width-search result: its --out folder, the "
                   "width_search.json there, or what 'theorem-lab width-search --json' prints "
                   f"(reading it failed: {type(exc).__name__}: {exc})", path) from None

    def same(cfg):
        return all(cfg[k] == v if isinstance(v, str) else math.isclose(float(cfg[k]), v)
                   for k, v in instance.items() if k in cfg)

    for b in reversed(found):     # the latest search at this instance (the file keeps them all)
        if same(b["config"]):
            return b
    held = "; ".join(", ".join(f"{k}={b['config'][k]}" for k, _ in _WS_KEYS if k in b["config"])
                     for b in found)
    wanted = ", ".join(f"{opt} {instance[k]}" for k, opt in _WS_KEYS)
    raise fail("--width-search", _OWNER, f"a width-search result at this instance ({wanted}); "
               f"the file holds {held}: run width-search at this instance or pass its options",
               str(path))


def run_repaired(args, vals: dict, notes: dict, steps: int) -> int:
    """``--reading repaired``: the corrected theorem's width and radius at the instance and across
    n, beside the printed reading (A) and the empirical width (a stored width-search)."""
    from theorem_lab.errors import parse_int, parse_list
    from . import repaired as R
    across = parse_list(ACROSS_N_DEFAULT if args.across_n is None else args.across_n, "--across-n", _OWNER,
                        item=lambda t: parse_int(t, "--across-n", _OWNER, low=4, high=10**9))
    ws = None
    if args.width_search is not None:
        ws = _width_search(args.width_search, {
            "n": int(vals[C.n]), "K": int(vals[C.K]), "d": int(vals[C.d]), "eps": float(args.eps),
            "rho": float(args.rho), "activation": args.activation})
    if args.schedule:
        sched = schedule_report(args.schedule, steps, vals, "A")
        if sched["T2"] is not None:
            vals[C.T2], notes["T2"] = sched["T2"], f"from the schedule {args.schedule}"
    if C.T2 not in vals:
        notes["T2"] = "each reading's derived lower bound 5√n/(3κ₁(1−2ρ)) (no schedule given)"
    notes["across n"] = "only n varies: λ(C), c_low, ρ, δ, K, d and Γ are the instance's"
    rows = []
    for n_ in [int(vals[C.n])] + sorted(m for m in across if m != int(vals[C.n])):
        if n_ < 2 * int(vals[C.K]):
            continue
        v = {**vals, C.n: n_}
        if "from the schedule" not in notes.get("T2", ""):
            v.pop(C.T2, None)
        rows.append({"n": n_, "repaired": R.evaluate_instance(v), "printed": R.evaluate_printed(v, "A")})
    summary = {"inputs": {str(k): float(x) for k, x in vals.items()}, "notes": notes,
               "repairs": {name: fid for name, (fid, _) in R.REPAIRS.items()}, "rows": rows,
               "satisfiable_every_n": all(r["repaired"]["satisfiable"] for r in rows),
               "I9_eps_min_if_T1_uses_Lambda": C.evaluate(R.I9_eps_min, vals),
               "width_search": ws}
    if args.json:
        print(strict_json(summary, indent=1))
        return 0
    for k, v in notes.items():
        print(f"# {k}: {v}")
    print("# repairs (each from its finding in proofs_check/FINDINGS.md):")
    for name, (fid, what) in R.REPAIRS.items():
        print(f"#   {fid:5s} {name}: {what}")
    head = rows[0]
    print(f"\nheadline instance n={head['n']}: repaired T1 = {head['repaired']['T1']:.4g} "
          f"(printed, reading A: {head['printed']['T1']:.4g}), T2 = {head['repaired']['T2']:.4g} "
          f"(printed: {head['printed']['T2']:.4g})")
    given = float(vals[C.eps])
    e_star = head["repaired"]["eps_max"]
    print(f"  largest radius eps* = {e_star:.3g} (printed: {head['printed']['eps_max']:.3g}); the "
          f"instance's eps = {given:g} is {'inside' if given <= e_star else 'outside'} the repaired theorem")
    print(f"  smallest width at eps = min(eps, eps*): k = {head['repaired']['width']:.3g} "
          f"({head['repaired']['width_binding_term']}); printed: {head['printed']['width']:.3g} "
          f"({head['printed']['width_binding_term']})")
    if ws is not None:
        emp = ws["empirical_width"]
        print(f"  empirically (width-search {args.width_search}): " +
              (f"k = {emp} suffices" if emp else "no tested width worked") +
              f" at n={ws['config']['n']}, eps={ws['config']['eps']}")
    else:
        print("  empirical width: run " + WIDTH_SEARCH_COMMAND.format(
            n=int(vals[C.n]), K=int(vals[C.K]), d=int(vals[C.d]), eps=given, rho=float(vals[C.rho]),
            act=args.activation) + " and pass --width-search width_search.json")
    print("\nacross n (both readings at eps = eps*, Lambda = min(lambda(C), 8 Gamma^2 eps*^2), "
          "T2 = each one's lower bound):")
    print(f"{'n':>8s} {'eps* repaired':>14s} {'eps* printed':>13s} {'k repaired':>11s} "
          f"{'k printed':>10s}  binding (repaired)")
    for r in sorted(rows, key=lambda r: r["n"]):
        print(f"{r['n']:8d} {r['repaired']['eps_max']:14.3g} {r['printed']['eps_max']:13.3g} "
              f"{r['repaired']['width']:11.3g} {r['printed']['width']:10.3g}  "
              f"{r['repaired']['width_binding_term']}")
    print("\nsatisfiable at every n (T1 with lambda(C), reading A): "
          + ("yes: eps* > 0 and every width term finite" if summary["satisfiable_every_n"] else "no"))
    print(f"with T1 using Lambda (reading A'), the repaired hypotheses force eps >= "
          f"{summary['I9_eps_min_if_T1_uses_Lambda']:.3g} > 2: unsatisfiable at every n (I-9)")
    return 0
