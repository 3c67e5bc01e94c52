"""`theorem-lab lazy`: ‖W_t − W₀‖_F and σ_min(J(W_t, X̃), S₊) along self-distillation at several
widths, and the fitted k-exponent of the relative movement (Lemmas 1–2 and 6: lazy training).

    theorem-lab lazy --width 64,256,1024,4096 --out runs/lazy    # lazy.json, lazy.png/.pdf
"""

from __future__ import annotations

import json
import sys

from theorem_lab.activations import ACTIVATIONS
from theorem_lab.errors import (check_choice, check_int, check_real, fail, integer, parse_int,
                               parse_list, real)
from theorem_lab.output import check_output_dir

_OWNER = "lazy"


def configure(parser) -> None:
    a = parser.add_argument
    a("--width", default="64,256,1024,4096", help="comma list of even widths k (default 64,256,1024,4096)")
    a("--n", type=integer, default=200, help="training points (default 200)")
    a("--clusters", type=integer, default=4, help="K (default 4)")
    a("--dim", type=integer, default=20, help="input dimension d (default 20)")
    a("--eps", type=real, default=0.1, help="cluster radius ε (default 0.1)")
    a("--rho", type=real, default=0.3, help="label noise ρ (default 0.3)")
    a("--activation", default="tanh", help="tanh, softplus, erf or relu (default tanh)")
    a("--steps", type=integer, default=400, help="GD steps (default 400)")
    a("--track-every", type=integer, default=20, help="σ_min(J, S₊) every this many steps (default 20)")
    a("--seed", type=integer, default=0, help="data and W₀ seed (default 0)")
    a("--out", default="runs/lazy", help="output directory (default runs/lazy)")
    a("--no-figure", action="store_true", help="skip lazy.png/.pdf")


def _widths(text: str) -> tuple:
    ks = parse_list(text, "--width", _OWNER,
                    lambda t: parse_int(t, "--width", _OWNER, low=2, even=True))
    if len(ks) < 2:
        raise fail("--width", _OWNER, "a comma list of at least two even integers >= 2", text)
    return tuple(sorted(ks))


def run(args) -> int:
    from .lazy import LazyConfig, run as run_lazy

    from theorem_lab.data import check_rho_realisable
    n = check_int("--n", args.n, _OWNER, low=2)
    K = check_int("--clusters", args.clusters, _OWNER, low=2)     # as make_clusterable needs
    if n < 2 * K:
        raise fail("--n", _OWNER, f"an integer >= 2*clusters = {2 * K} (two points per cluster)", n)
    rho = check_real("--rho", args.rho, _OWNER, low=0.0, high=0.5, high_open=True)
    cfg = LazyConfig(widths=_widths(args.width), n=n, clusters=K,
                     dim=check_int("--dim", args.dim, _OWNER, low=2),
                     eps=check_real("--eps", args.eps, _OWNER, low=0.0, high=2.0, low_open=True),
                     rho=check_rho_realisable(rho, n, K, "--rho", _OWNER),
                     activation=check_choice("--activation", args.activation, _OWNER, ACTIVATIONS),
                     steps=check_int("--steps", args.steps, _OWNER, low=1),
                     schedule="linear", track_every=check_int("--track-every", args.track_every, _OWNER, low=1),
                     seed=check_int("--seed", args.seed, _OWNER, low=0))
    from theorem_lab.sizes import check_size, eigh_bytes, train_bytes, trajectory_bytes
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--width", "steps": "--steps"},
               train_bytes(cfg.n, cfg.dim, max(cfg.widths)), trajectory_bytes(cfg.steps),
               eigh_bytes(cfg.n), what=f"the widest run (n={cfg.n}, k={max(cfg.widths)})")
    out = check_output_dir("--out", args.out, _OWNER)
    args.run = str(out)                                  # where the root draws the figure
    result = run_lazy(cfg, progress=lambda k: sys.stderr.write(f"lazy: width {k} done\n"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "lazy.json").write_text(json.dumps(result, indent=1))
    s = result["scaling"]
    print(f"{'width k':>8s}  {'‖W_T−W₀‖_F':>11s}  {'/‖W₀‖_F':>9s}  {'max |Δσ_min(J,S₊)|/σ_min(0)':>28s}  ‖f−ỹ‖₂")
    for r, rel, dsig in zip(result["widths"], s["relative_move"], s["sigma_change"]):
        print(f"{r['width']:8d}  {r['dist_init'][-1]:11.4g}  {rel:9.3g}  {dsig:28.3g}  {r['l2_clean'][-1]:.3g}")
    if "exponent" in s:
        se = f" ± {s['exponent_se']:.3f}" if s["exponent_se"] == s["exponent_se"] else " (2 widths: no error bar)"
        print(f"‖W_T−W₀‖_F/‖W₀‖_F ∝ k^s, s = {s['exponent']:.3f}{se} "
              f"(lazy training predicts −1/2); results: {out / 'lazy.json'}")
    return 0
