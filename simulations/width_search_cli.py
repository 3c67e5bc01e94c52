"""`theorem-lab width-search`: the smallest width at which Algorithm 1 works vs Theorem 1's width."""

from __future__ import annotations

import sys

from theorem_lab.output import strict_json

from .width_search import WidthSearch, search


def configure(parser) -> None:
    d = WidthSearch()
    parser.add_argument("--n", type=int, default=d.n, help=f"training points (default {d.n})")
    parser.add_argument("--clusters", type=int, default=d.K, help=f"clusters K (default {d.K})")
    parser.add_argument("--dim", type=int, default=d.d, help=f"input dimension (default {d.d})")
    parser.add_argument("--eps", type=float, default=d.eps, help=f"cluster radius ε (default {d.eps})")
    parser.add_argument("--rho", type=float, default=d.rho, help=f"label noise ρ (default {d.rho})")
    parser.add_argument("--activation", default=d.activation, help="tanh, softplus, erf or relu")
    parser.add_argument("--steps", type=int, default=d.steps, help=f"GD steps (default {d.steps})")
    parser.add_argument("--schedule", default=d.schedule, help="α_t spec (default linear)")
    parser.add_argument("--k-min", type=int, default=d.k_min, help=f"smallest width (default {d.k_min})")
    parser.add_argument("--k-max", type=int, default=d.k_max, help=f"largest width (default {d.k_max})")
    parser.add_argument("--seeds", type=int, default=d.seeds, help=f"seeds per width (default {d.seeds})")
    parser.add_argument("--fraction", type=float, default=d.fraction,
                        help="success: ‖f−ỹ‖₂ ≤ fraction·√n (default 0.1)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


_OWNER = "width-search"
# WidthSearch field -> the option as typed (validation names what the user wrote)
OPTION_NAMES = {"n": "--n", "K": "--clusters", "d": "--dim", "eps": "--eps", "rho": "--rho",
                "activation": "--activation", "steps": "--steps", "schedule": "--schedule",
                "k_min": "--k-min", "k_max": "--k-max", "seeds": "--seeds",
                "fraction": "--fraction"}


def validated(args) -> WidthSearch:
    from theorem_lab.sizes import check_size, train_bytes, trajectory_bytes
    cfg = WidthSearch(n=args.n, K=args.clusters, d=args.dim, eps=args.eps, rho=args.rho,
                      activation=args.activation, steps=args.steps, schedule=args.schedule,
                      k_min=args.k_min, k_max=args.k_max, seeds=args.seeds,
                      fraction=args.fraction).validated(OPTION_NAMES)
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--k-max", "n_test": "--n", "steps": "--steps"},
               train_bytes(cfg.n, cfg.d, cfg.k_max), trajectory_bytes(cfg.steps),
               [(8 * 4 * cfg.n * cfg.d * cfg.seeds, [("--seeds", cfg.seeds, 3)])],  # one data set per seed
               what=f"the widest run (n={cfg.n}, dim={cfg.d}, k-max={cfg.k_max})")
    return cfg


def run(args) -> int:
    from tqdm import tqdm

    cfg = validated(args)
    bar = tqdm(total=len(cfg.widths()) * cfg.seeds, file=sys.stderr, desc="runs", leave=False)
    result = search(cfg, progress=lambda k, s: bar.update(1))
    bar.close()
    if args.json:
        print(strict_json(result, indent=1))
        return 0
    print(f"width search: n={cfg.n} K={cfg.K} d={cfg.d} ε={cfg.eps:g} ρ={cfg.rho:g} "
          f"{cfg.activation} steps={cfg.steps} schedule={cfg.schedule}, {cfg.seeds} seed(s); "
          f"success = ‖f−ỹ‖₂ ≤ {result['threshold']:.3g}")
    for row in result["rows"]:
        errs = ", ".join(f"{e:.3g}" for e in row["l2_clean"])
        print(f"  k = {row['width']:>6}  ‖f−ỹ‖₂ = {errs}  {'ok' if row['success'] else '—'}")
    emp, thy = result["empirical_width"], result["theorem_width"]
    print(("self-distillation works from k = %d on" % emp) if emp else
          f"self-distillation did not work at k_max = {cfg.k_max}", end="")
    if thy is None:
        print("; Theorem 1's width is not evaluable here (T₂ undefined or Λ = 0)")
    else:
        gap = f" ({thy / emp:.2g}× larger)" if emp else ""
        print(f"; Theorem 1 asks for k ≥ {thy:.3g}{gap}, {result['theorem_binding_term']} binding")
    return 0
