"""`theorem-lab width-search`: the smallest width at which Algorithm 1 works vs Theorem 1's width.

    theorem-lab width-search                                   # the headline instance
    theorem-lab width-search --n 250,500,1000,2000 --rho 0.1,0.3 --eps 0.05,0.2 --out runs/ws

``--n``, ``--rho`` and ``--eps`` take comma lists; every (n, ρ, ε) is searched. Every run is
stored in ``--out`` (default ``runs/width-search-<hash>``, from the instances, so re-running the
same command resumes it and recomputes nothing); ``width_search.json`` there holds the table and
``vacuity.png/.pdf`` the figure (drawn by the composition root unless ``--no-figure``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from theorem_lab.errors import integer, parse_int, parse_list, parse_real, real
from theorem_lab.output import check_output_dir, strict_json

from .width_search import WidthSearch, instances, search_all

_OWNER = "width-search"


def configure(parser) -> None:
    d = WidthSearch()
    parser.add_argument("--n", default=str(d.n), metavar="LIST",
                        help=f"training points, a comma list (default {d.n})")
    parser.add_argument("--clusters", type=integer, default=d.K, help=f"clusters K (default {d.K})")
    parser.add_argument("--dim", type=integer, default=d.d, help=f"input dimension (default {d.d})")
    parser.add_argument("--eps", default=f"{d.eps:g}", metavar="LIST",
                        help=f"cluster radius ε, a comma list (default {d.eps})")
    parser.add_argument("--rho", default=f"{d.rho:g}", metavar="LIST",
                        help=f"label noise ρ, a comma list (default {d.rho})")
    parser.add_argument("--activation", default=d.activation, help="tanh, softplus, erf or relu")
    parser.add_argument("--steps", type=integer, default=d.steps, help=f"GD steps (default {d.steps})")
    parser.add_argument("--schedule", default=d.schedule, help="α_t spec (default linear)")
    parser.add_argument("--k-min", type=integer, default=d.k_min, help=f"smallest width (default {d.k_min})")
    parser.add_argument("--k-max", type=integer, default=d.k_max, help=f"largest width (default {d.k_max})")
    parser.add_argument("--seeds", type=integer, default=d.seeds, help=f"seeds per width (default {d.seeds})")
    parser.add_argument("--fraction", type=real, default=d.fraction,
                        help="success: ‖f−ỹ‖₂ ≤ fraction·√n (default 0.1)")
    parser.add_argument("--out", default=None,
                        help="results directory (default runs/width-search-<hash of the instances>)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-figure", action="store_true", help="skip the vacuity figure")


# WidthSearch field -> the option as typed (validation names what the user wrote)
OPTION_NAMES = {"n": "--n", "K": "--clusters", "d": "--dim", "eps": "--eps", "rho": "--rho",
                "activation": "--activation", "steps": "--steps", "schedule": "--schedule",
                "k_min": "--k-min", "k_max": "--k-max", "seeds": "--seeds",
                "fraction": "--fraction"}


def validated(args) -> list:
    """Every instance checked (and its memory estimated) before any work."""
    from theorem_lab.sizes import check_size, train_bytes, trajectory_bytes
    ns = parse_list(args.n, "--n", _OWNER, item=lambda t: parse_int(t, "--n", _OWNER, low=2))
    rhos = parse_list(args.rho, "--rho", _OWNER, item=lambda t: parse_real(
        t, "--rho", _OWNER, low=0.0, high=0.5, high_open=True))
    epss = parse_list(args.eps, "--eps", _OWNER, item=lambda t: parse_real(
        t, "--eps", _OWNER, low=0.0, high=2.0, low_open=True))
    base = WidthSearch(n=ns[0], K=args.clusters, d=args.dim, eps=epss[0], rho=rhos[0],
                       activation=args.activation, steps=args.steps, schedule=args.schedule,
                       k_min=args.k_min, k_max=args.k_max, seeds=args.seeds, fraction=args.fraction)
    cfgs = [c.validated(OPTION_NAMES) for c in instances(base, ns, rhos, epss)]
    widest = max(cfgs, key=lambda c: c.n)
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--k-max", "n_test": "--n", "steps": "--steps"},
               train_bytes(widest.n, widest.d, widest.k_max), trajectory_bytes(widest.steps),
               [(8 * 4 * widest.n * widest.d * widest.seeds, [("--seeds", widest.seeds, 3)])],
               what=f"the widest run (n={widest.n}, dim={widest.d}, k-max={widest.k_max})")
    return cfgs


def default_out(cfgs: list) -> Path:
    from .grid import config_hash
    from dataclasses import asdict
    return Path("runs") / ("width-search-" + config_hash([asdict(c) for c in cfgs])[:8])


def run(args) -> int:
    from tqdm import tqdm

    from .lock import StoreLock

    cfgs = validated(args)
    out = check_output_dir("--out", default_out(cfgs) if args.out is None else args.out, _OWNER)
    total = sum(len(c.widths()) * c.seeds for c in cfgs)
    with StoreLock(out, "--out", _OWNER):                   # one writer per store
        bar = tqdm(total=total, file=sys.stderr, desc="runs", leave=False, disable=None)
        results = search_all(cfgs, out, on_runs=bar.update)
        bar.close()
    args.run = str(out)                # where the composition root draws the vacuity figure
    if args.json:
        print(strict_json(results[0] if len(results) == 1 else {"out": str(out), "instances": results},
                          indent=1))
        return 0
    for cfg, result in zip(cfgs, results):
        print_instance(cfg, result)
    if len(results) > 1:
        print_table(results)
    print(f"results: {out}")
    return 0


def print_instance(cfg: WidthSearch, result: dict) -> None:
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
        why = result["theorem"].get("not_evaluable") or "T₂ undefined or Λ = 0"
        print(f"; Theorem 1's width is not evaluable here ({why})")
    else:
        gap = f" ({thy / emp:.2g}× larger)" if emp else ""
        print(f"; Theorem 1 asks for k ≥ {thy:.3g}{gap}, {result['theorem_binding_term']} binding")
    readings = result["readings"]
    print("  at the earliest T₂ each reading admits: " + "; ".join(
        f"{r}: T₂ = {v['T2']}, k ≥ {v['width_required']:.3g}, ε ≤ {v['eps_max']:.3g}"
        for r, v in readings.items() if v["width_required"] is not None))


def print_table(results: list) -> None:
    readings = list(dict.fromkeys(k for r in results for k in r["readings"]))
    head = ["n", "ρ", "ε", "k works from", "k Thm 1 (this T₂)"] + [f"k Thm 1 ({r})" for r in readings]
    rows = [head]
    for r in results:
        c = r["config"]
        g = lambda v: "—" if v is None else f"{v:.3g}"          # noqa: E731
        rows.append([str(c["n"]), f"{c['rho']:g}", f"{c['eps']:g}",
                     "—" if r["empirical_width"] is None else str(r["empirical_width"]),
                     g(r["theorem_width"])] + [g(r["readings"].get(k, {}).get("width_required"))
                                                for k in readings])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    print()
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
