"""`theorem-lab air`: anisotropic information retrieval on clusterable data (issue 4, item 5).

Eigendecomposes the NTK (empirical at initialisation / at step t, or infinite-width Σ(X)) and
reports the fraction of a label vector's norm in the top-K eigenspace, for K = the number of
clusters and for ``--topk``; reproduces Figure 2 (fraction vs label noise) and Figure 5
(information gain of the self-distillation targets), and the principal angles between the
top-K eigenspace and S₊; ``modes`` draws AIR mode by mode (label energy per eigenvector, and the
residual per mode along GD and Algorithm 1 against the frozen-kernel (1 − ηλ_i)^t). Writes ``<out>/air.json`` and the figures (PNG + PDF).

    theorem-lab air --figure 2,5 --seeds 5 --width 1024 --out runs/air
    theorem-lab air --figure none --labels my_labels.npy --step 200 --topk 5,10

Option names agree with ``sweep``: ``--clusters``, ``--dim`` (``--K``, ``--d`` still work) and
``--seeds S`` = seeds 0..S−1; ``--seed-list 0,3,7`` names seeds explicitly. Every option is
checked before any work (bad input: one line naming it, exit 2).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from theorem_lab.activations import ACTIVATIONS
from theorem_lab.errors import (check_choice, check_fits, fail, parse_int, parse_list, parse_real,
                                reword)
from theorem_lab.output import check_output_dir, strict_json

_OWNER = "air"
FIGURES = ("2", "5", "modes", "none")
SIZE_OPTIONS = {"n": "--n", "d": "--dim", "k": "--width"}
SEED_BYTES = 4096    # per seed: its fractions, angles and gains (lists of floats in the summary)


def configure(parser):
    a = parser.add_argument
    a("--n", default="200", help="training points (default 200)")
    a("--clusters", "--K", dest="clusters", default="5", help="clusters K (default 5)")
    a("--dim", "--d", dest="dim", default="20", help="input dimension d (default 20)")
    a("--eps", default="0.3", help="cluster radius ε (default 0.3)")
    a("--width", default="1024", help="hidden width k of the empirical NTK (default 1024)")
    a("--activation", default="tanh", help="tanh, softplus, erf or relu (default tanh)")
    a("--seeds", default=None, metavar="S", help="seeds 0..S-1, as in sweep (default 5)")
    a("--seed-list", default=None, metavar="LIST", help="explicit comma list of seeds (instead of --seeds)")
    a("--topk", default=None, metavar="LIST", help="extra K values for the top-K fraction, comma list")
    a("--ntk", default="empirical", help="'empirical' (J Jᵀ at a step) or 'infinite' (Σ(X))")
    a("--noise", default="0,0.1,0.2,0.3,0.4,0.5", metavar="LIST", help="Figure 2 label-noise levels")
    a("--rho", default="0.3", help="label noise of the Figure 5 runs (default 0.3)")
    a("--iterations", default="1500", help="Figure 5 horizon (default 1500)")
    a("--every", default="50", help="Figure 5: evaluate every this many steps")
    a("--schedule", default="linear", help="α_t schedule of Algorithm 1 (Figure 5)")
    a("--label-fn", default="sign", help="h of Algorithm 1 (Figure 5; default sign = hardmax)")
    a("--lr", default=None, help="step size (default 1/λ_max(J₀J₀ᵀ))")
    a("--figure", default="2,5,modes", metavar="LIST",
      help="comma list of 2, 5 (the paper's figures), modes (AIR mode by mode), or 'none'")
    a("--labels", default=None, help=".npy label vector (length n): report its top-K fraction")
    a("--step", default="0", help="with --labels: GD steps on y before the NTK is taken")
    a("--out", default="runs/air", help="output folder (default runs/air)")
    a("--json", action="store_true", help="print the summary as JSON")


def _seeds(args) -> tuple:
    if args.seed_list is not None:
        seeds = tuple(parse_list(args.seed_list, "--seed-list", _OWNER,
                                 item=lambda t: parse_int(t, "--seed-list", _OWNER, low=0)))
        if args.seeds is not None:     # one of them would be ignored silently
            raise fail("--seeds", _OWNER, "left out when --seed-list names the seeds (give one "
                       "of the two)", args.seeds)
        return seeds
    if args.seeds is None:
        args.seeds = "5"
    if "," in str(args.seeds):
        raise fail("--seeds", _OWNER, "a count S (seeds 0..S-1, as in sweep); name seeds "
                   "explicitly with --seed-list 0,1,2", args.seeds)
    count = parse_int(args.seeds, "--seeds", _OWNER, low=1)
    check_fits("--seeds", count, _OWNER, SEED_BYTES * count, f"the per-seed results of {count} seeds")
    return tuple(range(count))


def validated(args):
    """Every option checked, nothing computed: (AirConfig, Ks, figures, out, labels, step)."""
    from theorem_lab.data import check_rho_realisable
    from theorem_lab.schedules import LABEL_FUNCTIONS, parse_schedule
    from theorem_lab.sizes import check_size, eigh_bytes, gram_bytes, train_bytes, trajectory_bytes
    from theorem_lab.simulations import air

    n = parse_int(args.n, "--n", _OWNER, low=4)
    K = parse_int(args.clusters, "--clusters", _OWNER, low=2)
    if n < 2 * K:
        raise fail("--n", _OWNER, f"an integer >= 2*clusters = {2 * K} (two points per cluster)", n)
    d = parse_int(args.dim, "--dim", _OWNER, low=2)
    eps = parse_real(args.eps, "--eps", _OWNER, low=0.0, high=2.0, low_open=True)
    width = parse_int(args.width, "--width", _OWNER, low=2, even=True)
    activation = check_choice("--activation", args.activation, _OWNER, ACTIVATIONS)
    seeds = _seeds(args)
    ntk = check_choice("--ntk", args.ntk, _OWNER, air.NTK_MODES)
    noise = tuple(parse_list(args.noise, "--noise", _OWNER, item=lambda t: parse_real(
        t, "--noise", _OWNER, low=0.0, high=0.5)))
    rho = check_rho_realisable(parse_real(args.rho, "--rho", _OWNER, low=0.0, high=0.5,
                                          high_open=True), n, K, "--rho", _OWNER)
    iterations = parse_int(args.iterations, "--iterations", _OWNER, low=1)
    check_size(_OWNER, {"steps": "--iterations"}, trajectory_bytes(iterations),
               what=f"the schedule and records of {iterations} iterations")
    every = parse_int(args.every, "--every", _OWNER, low=1)
    try:
        schedule = parse_schedule(args.schedule, iterations).spec
    except Exception as exc:
        raise reword(exc, "--schedule", _OWNER, "a valid α_t spec", args.schedule) from None
    label_fn = check_choice("--label-fn", args.label_fn, _OWNER, LABEL_FUNCTIONS)
    lr = None if args.lr is None else parse_real(args.lr, "--lr", _OWNER, low=0.0, low_open=True)
    figs = parse_list(args.figure, "--figure", _OWNER,
                      item=lambda f: check_choice("--figure", f, _OWNER, FIGURES))
    if "none" in figs and len(figs) > 1:
        raise fail("--figure", _OWNER, "'none' alone, or a comma list of 2, 5 and modes", args.figure)
    figs = [f for f in figs if f != "none"]
    topk = () if args.topk is None else tuple(parse_list(args.topk, "--topk", _OWNER, item=lambda t: (
        parse_int(t, "--topk", _OWNER, low=1, high=n))))
    step = parse_int(args.step, "--step", _OWNER, low=0)
    if step and args.labels is None:
        raise fail("--step", _OWNER, "given only with --labels", step)
    labels = None if args.labels is None else _labels_file(args.labels, n)
    check_size(_OWNER, SIZE_OPTIONS, gram_bytes(n, d, width), eigh_bytes(n), train_bytes(n, d, width),
               what=f"the empirical NTK, its eigenvectors and a GD run (n={n}, dim={d}, width={width})")
    out = check_output_dir("--out", args.out, _OWNER)
    cfg = air.AirConfig(n=n, K=K, d=d, eps=eps, width=width, activation=activation, seeds=seeds,
                        ntk=ntk, noise_levels=noise, rho=rho, iterations=iterations, every=every,
                        schedule=schedule, label_fn=label_fn, lr=lr).validated()
    Ks = (K,) + tuple(k for k in topk if k != K)
    return cfg, Ks, figs, out, labels, step


def _labels_file(path, n: int) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise fail("--labels", _OWNER, f"an existing .npy file of n = {n} numbers", str(path))
    try:
        z = np.load(p, allow_pickle=False).astype(float).ravel()
    except (OSError, ValueError, TypeError) as exc:
        raise fail("--labels", _OWNER, f"a .npy file of n = {n} numbers ({exc})", str(path)) from None
    if z.size != n:
        raise fail("--labels", _OWNER, f"a vector of n = {n} numbers (this file holds {z.size})",
                   str(path))
    if not np.all(np.isfinite(z)):
        raise fail("--labels", _OWNER, f"a vector of finite numbers ({int(np.sum(~np.isfinite(z)))} "
                   "are NaN or infinite)", str(path))
    return z


def _user_labels(cfg, z, step, Ks) -> dict:
    """Top-K fractions of a user label vector, the noisy and the clean labels, first seed."""
    import theorem_lab as tl
    from theorem_lab.simulations import air
    data, net = air._instance(cfg, cfg.seeds[0], cfg.rho)
    W = net.W
    if step:
        lr = cfg.lr or 1.0 / tl.lambda_max(W, data.X, cfg.activation)
        for _ in range(step):
            W = W - lr * net.with_weights(W).gradient(data.X, data.y)
    _, E = air.ntk_eigh(data.X, cfg.activation, W, cfg.ntk)
    return {"step": step, **{f"K={K}": {name: air.topk_fraction(E, vec, K) for name, vec in
            (("labels", z), ("y", data.y), ("y_true", data.y_true))} for K in Ks},
            "angles_to_S+": air.support_angles(E, data.cluster, cfg.K).tolist()}


def run(args) -> int:
    from theorem_lab.simulations import air
    base, Ks, figs, out, labels, step = validated(args)
    summary = {"config": air.config_dict(base), "topk": list(Ks), "figures": {}}
    if labels is not None:
        summary["labels"] = _user_labels(base, labels, step, Ks)
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
    if "modes" in figs:
        r = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in air.modes(base).items()}
        summary["figures"]["modes"] = {**r, "files": args.plots.modes(r, out)}
    (out / "air.json").write_text(strict_json(summary, indent=2))
    if args.json:
        print(strict_json(summary, indent=2))
    else:
        _print(summary, sys.stdout)
        sys.stdout.write(f"  results: {out / 'air.json'}\n")
    return 0


def _print(summary, fh):
    cfg = summary["config"]
    fh.write(f"AIR  n={cfg['n']} K={cfg['K']} d={cfg['d']} eps={cfg['eps']} k={cfg['width']} "
             f"{cfg['activation']} ntk={cfg['ntk']} seeds={cfg['seeds']}\n")
    if "labels" in summary:
        fh.write(f"  labels (after {summary['labels']['step']} steps): " + strict_json(
            {k: v for k, v in summary["labels"].items() if k.startswith("K=")}) + "\n")
    for name, r in summary["figures"].items():
        if name.startswith("figure2"):            # one seed: no spread to print (not ±0.000)
            fh.write(f"  {name}: top-K fraction vs noise " + ", ".join(
                f"{p:g}: {m:.3f}" + (f"±{s:.3f}" if len(cfg["seeds"]) > 1 else "")
                for p, m, s in zip(r["noise"], r["mean"], r["std"]))
                + f"  (decreasing: {r['monotone_decreasing']}); max angle to S+ "
                f"{max(r['max_angle_to_S+']):.3f} rad\n")
        elif name == "modes":
            fh.write(f"  modes: clean-label energy in the top K = {r['K']} modes "
                     f"{sum(r['energy_clean'][:r['K']]):.3f}, noisy {sum(r['energy_noisy'][:r['K']]):.3f}; "
                     "residual² per mode at the end, GD to y / self-distill to ỹ: " + ", ".join(
                         f"i={i}: {g[-1] ** 2:.2g} / {sd[-1] ** 2:.2g}"
                         for i, g, sd in zip(r["shown"], r["gd_noisy"], r["sd_clean"])) + "\n")
        else:
            fh.write(f"  {name}: information gain at t = " + ", ".join(
                f"{int(t)}: {m:+.3f}" for t, m in list(zip(r["step"], r["mean"]))[:: max(1, len(r["step"]) // 6)])
                + f"; share > 0: {r['positive_share']:.2f}\n")
        fh.write(f"    files: {', '.join(r['files'])}\n")
