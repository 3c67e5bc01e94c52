"""`theorem-lab air`: anisotropic information retrieval on clusterable data (issue 4, item 5).

Eigendecomposes the NTK (empirical at initialisation / at step t, or infinite-width Σ(X)) and
reports the fraction of a label vector's norm in the top-K eigenspace, for K = the number of
clusters and for ``--topk``; reproduces Figure 2 (fraction vs label noise) and Figure 5
(information gain of the self-distillation targets), and the principal angles between the
top-K eigenspace and S₊. Writes ``<out>/air.json`` and the figures (PNG + PDF).

    theorem-lab air --figure 2,5 --seeds 0,1,2,3,4 --width 1024 --out runs/air
    theorem-lab air --figure none --labels my_labels.npy --step 200 --topk 5,10
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from theorem_lab.errors import ParameterError, check_choice, check_int, check_writable_dir, fail

_OWNER = "air"
FIGURES = ("2", "5", "none")


def _ints(text, name):
    try:
        return tuple(int(s) for s in str(text).split(",") if s.strip())
    except ValueError:
        raise fail(name, _OWNER, "a comma list of integers", text) from None


def _floats(text, name):
    try:
        return tuple(float(s) for s in str(text).split(",") if s.strip())
    except ValueError:
        raise fail(name, _OWNER, "a comma list of numbers", text) from None


def configure(parser):
    a = parser.add_argument
    a("--n", type=int, default=200, help="training points (default 200)")
    a("--K", type=int, default=5, help="clusters (default 5)")
    a("--d", type=int, default=20, help="input dimension (default 20)")
    a("--eps", type=float, default=0.3, help="cluster radius ε (default 0.3)")
    a("--width", type=int, default=1024, help="hidden width k of the empirical NTK (default 1024)")
    a("--activation", default="tanh", help="tanh, softplus, erf or relu (default tanh)")
    a("--seeds", default="0,1,2,3,4", help="comma list of seeds (default 0..4)")
    a("--topk", default="", help="extra K values for the top-K fraction, comma list (default: none)")
    a("--ntk", default="empirical", help="'empirical' (J Jᵀ at a step) or 'infinite' (Σ(X))")
    a("--noise", default="0,0.1,0.2,0.3,0.4,0.5", help="Figure 2 label-noise levels")
    a("--rho", type=float, default=0.3, help="label noise of the Figure 5 runs (default 0.3)")
    a("--iterations", type=int, default=1500, help="Figure 5 horizon (default 1500)")
    a("--every", type=int, default=50, help="Figure 5: evaluate every this many steps")
    a("--schedule", default="linear", help="α_t schedule of Algorithm 1 (Figure 5)")
    a("--label-fn", default="sign", help="h of Algorithm 1 (Figure 5; default sign = hardmax)")
    a("--lr", type=float, default=None, help="step size (default 1/λ_max(J₀J₀ᵀ))")
    a("--figure", default="2,5", help="which reproductions: comma list of 2, 5, or 'none'")
    a("--labels", default=None, help=".npy label vector (length n): report its top-K fraction")
    a("--step", type=int, default=0, help="with --labels: GD steps on y before the NTK is taken")
    a("--out", default="runs/air", help="output folder (default runs/air)")
    a("--json", action="store_true", help="print the summary as JSON")


def _user_labels(args, cfg, Ks) -> dict:
    """Top-K fractions of a user label vector, the noisy and the clean labels, first seed."""
    import theorem_lab as tl
    from theorem_lab.simulations import air
    path = Path(args.labels)
    if not path.exists():
        raise ParameterError(f"The 'labels' parameter of air must be an existing .npy file of "
                             f"{cfg.n} numbers. Got {args.labels!r} instead.")
    try:
        z = np.load(path).astype(float).ravel()
    except (OSError, ValueError) as exc:
        raise fail("labels", _OWNER, f"a .npy file of {cfg.n} numbers ({exc})", args.labels) from None
    if z.size != cfg.n:
        raise fail("labels", _OWNER, f"a vector of n = {cfg.n} numbers", f"{z.size} numbers")
    data, net = air._instance(cfg, cfg.seeds[0], cfg.rho)
    W = net.W
    if args.step:
        lr = cfg.lr or 1.0 / tl.lambda_max(W, data.X, cfg.activation)
        for _ in range(check_int("step", args.step, _OWNER, low=0)):
            W = W - lr * net.with_weights(W).gradient(data.X, data.y)
    _, E = air.ntk_eigh(data.X, cfg.activation, W, cfg.ntk)
    return {"step": args.step, **{f"K={K}": {name: air.topk_fraction(E, vec, K) for name, vec in
            (("labels", z), ("y", data.y), ("y_true", data.y_true))} for K in Ks},
            "angles_to_S+": air.support_angles(E, data.cluster, cfg.K).tolist()}


def run(args) -> int:
    from theorem_lab.simulations import air
    figs = [check_choice("figure", f, _OWNER, FIGURES) for f in str(args.figure).split(",") if f]
    figs = [f for f in figs if f != "none"]
    base = air.AirConfig(n=args.n, K=args.K, d=args.d, eps=args.eps, width=args.width,
                         activation=args.activation, seeds=_ints(args.seeds, "seeds"),
                         ntk=args.ntk, noise_levels=_floats(args.noise, "noise"), rho=args.rho,
                         iterations=args.iterations, every=args.every, schedule=args.schedule,
                         label_fn=args.label_fn, lr=args.lr).validated()
    Ks = (base.K,) + tuple(K for K in _ints(args.topk, "topk") if K != base.K)
    out = Path(args.out)
    check_writable_dir("out", out, _OWNER)
    summary = {"config": air.config_dict(base), "topk": list(Ks), "figures": {}}
    if args.labels:
        summary["labels"] = _user_labels(args, base, Ks)
    for K in Ks:
        cfg = air.AirConfig(**{**base.__dict__, "topk": K}).validated()
        tag = "" if K == base.K else f"_top{K}"
        if "2" in figs:
            r = air.figure2(cfg)
            paths = args.plots.figure2(r, out, K, stem=f"air_figure2{tag}")
            summary["figures"][f"figure2{tag}"] = {
                "noise": r["noise"].tolist(), "mean": r["mean"].tolist(), "std": r["std"].tolist(),
                "monotone_decreasing": bool(np.all(np.diff(r["mean"]) < 0)),
                "max_angle_to_S+": r["max_angle"].tolist(), "files": paths}
        if "5" in figs:
            r = air.figure5(cfg)
            paths = args.plots.figure5(r, out, K, stem=f"air_figure5{tag}")
            summary["figures"][f"figure5{tag}"] = {
                "step": r["step"].tolist(), "mean": r["mean"].tolist(), "std": r["std"].tolist(),
                "positive_share": r["positive_share"],
                "max_angle_to_S+_mean": r["max_angle"].mean(axis=0).tolist(), "files": paths}
    out.mkdir(parents=True, exist_ok=True)
    (out / "air.json").write_text(json.dumps(summary, indent=2))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(summary, sys.stdout)
        sys.stdout.write(f"  results: {out / 'air.json'}\n")
    return 0


def _print(summary, fh):
    cfg = summary["config"]
    fh.write(f"AIR  n={cfg['n']} K={cfg['K']} d={cfg['d']} eps={cfg['eps']} k={cfg['width']} "
             f"{cfg['activation']} ntk={cfg['ntk']} seeds={cfg['seeds']}\n")
    if "labels" in summary:
        fh.write(f"  labels (after {summary['labels']['step']} steps): " + json.dumps(
            {k: v for k, v in summary["labels"].items() if k.startswith("K=")}) + "\n")
    for name, r in summary["figures"].items():
        if name.startswith("figure2"):
            fh.write(f"  {name}: top-K fraction vs noise " + ", ".join(
                f"{p:g}: {m:.3f}±{s:.3f}" for p, m, s in zip(r["noise"], r["mean"], r["std"]))
                + f"  (decreasing: {r['monotone_decreasing']}); max angle to S+ "
                f"{max(r['max_angle_to_S+']):.3f} rad\n")
        else:
            fh.write(f"  {name}: information gain at t = " + ", ".join(
                f"{int(t)}: {m:+.3f}" for t, m in list(zip(r["step"], r["mean"]))[:: max(1, len(r["step"]) // 6)])
                + f"; share > 0: {r['positive_share']:.2f}\n")
        fh.write(f"    files: {', '.join(r['files'])}\n")
