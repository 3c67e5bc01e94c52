"""`theorem-lab early-stop-calibration`: fit c in the early-stopping time τ = c·τ₀ (LSO19).

    theorem-lab early-stop-calibration                      # the packaged grid (minutes)
    theorem-lab early-stop-calibration --n 50,100 --clusters 2 --rho 0.3 --eps 0.1 \\
        --width 64 --seeds 2 --steps 1500 --out runs/es_calibration.json

Writes the calibration JSON (grid, fit, per-run rows, the command) to ``--out``. The default
baseline reads the packaged copy ``theorem_lab/early_stop_calibration.json``; to recalibrate it,
pass ``--out theorem_lab/early_stop_calibration.json`` from a checkout.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from theorem_lab.activations import ACTIVATIONS
from theorem_lab.errors import (check_choice, check_int, fail, integer, parse_int, parse_list,
                               parse_real)
from theorem_lab.output import check_output_file, strict_json

from .early_stop_calibration import CalibrationGrid, calibrate

_OWNER = "early-stop-calibration"


def configure(parser) -> None:
    g = CalibrationGrid()
    lst = lambda xs: ",".join(str(x) for x in xs)        # noqa: E731
    parser.add_argument("--n", default=lst(g.n), help=f"training points, a list (default {lst(g.n)})")
    parser.add_argument("--clusters", default=lst(g.K), help=f"K, a list (default {lst(g.K)})")
    parser.add_argument("--rho", default=lst(g.rho), help=f"label noise ρ, a list (default {lst(g.rho)})")
    parser.add_argument("--eps", default=lst(g.eps), help=f"cluster radius ε, a list (default {lst(g.eps)})")
    parser.add_argument("--width", default=lst(g.width), help=f"k, a list (default {lst(g.width)})")
    parser.add_argument("--dim", type=integer, default=g.d, help=f"input dimension (default {g.d})")
    parser.add_argument("--activation", default=g.activation, help=f"activation (default {g.activation})")
    parser.add_argument("--seeds", type=integer, default=g.seeds, help=f"seeds per cell (default {g.seeds})")
    parser.add_argument("--steps", type=integer, default=g.steps, help=f"GD horizon (default {g.steps})")
    parser.add_argument("--out", default="runs/early_stop_calibration.json", help="output JSON file")
    parser.add_argument("--json", action="store_true", help="print the calibration as JSON")


def validated(args) -> CalibrationGrid:
    from theorem_lab.data import check_rho_realisable
    from theorem_lab.sizes import check_size, train_bytes, trajectory_bytes
    ints = lambda opt, low, **kw: tuple(parse_list(getattr(args, opt), "--" + opt, _OWNER,  # noqa: E731
                                                   item=lambda t: parse_int(t, "--" + opt, _OWNER, low=low, **kw)))
    n, K = ints("n", 2), ints("clusters", 2)
    width = ints("width", 2, even=True)
    rho = tuple(parse_list(args.rho, "--rho", _OWNER, item=lambda t: parse_real(
        t, "--rho", _OWNER, low=0.0, high=0.5, high_open=True)))
    eps = tuple(parse_list(args.eps, "--eps", _OWNER, item=lambda t: parse_real(
        t, "--eps", _OWNER, low=0.0, high=2.0, low_open=True)))
    d = check_int("--dim", args.dim, _OWNER, low=2)
    check_choice("--activation", args.activation, _OWNER, ACTIVATIONS)
    seeds = check_int("--seeds", args.seeds, _OWNER, low=1)
    steps = check_int("--steps", args.steps, _OWNER, low=2)
    if min(n) < 2 * min(K) or not any(a >= 2 * b for a in n for b in K):
        raise fail("--n", _OWNER, f"a list with some n >= 2*clusters = {2 * min(K)}", args.n)
    for a in n:
        for b in K:
            if a >= 2 * b:
                for r in rho:
                    check_rho_realisable(r, a, b, "--rho", _OWNER)
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--width", "steps": "--steps"},
               [(b * seeds, fs + [("--seeds", seeds, 2)]) for b, fs in train_bytes(max(n), d, max(width))],
               trajectory_bytes(steps, 1),
               what=f"the largest cell (n={max(n)}, k={max(width)}, {seeds} seeds, {steps} steps)")
    grid = CalibrationGrid(n=n, K=K, rho=rho, eps=eps, width=width, d=d,
                           activation=args.activation, seeds=seeds, steps=steps)
    runs = len(grid.cells()) * seeds
    if runs < 2:            # the fit needs two runs; found out only after training, before
        raise fail("--seeds", _OWNER, f"large enough for at least 2 runs to fit c (the grid has "
                   f"{len(grid.cells())} cell(s) x {seeds} seed(s)); raise --seeds or give more "
                   "values of --n, --width, …", seeds)
    return grid


def _check_replaceable(out: Path) -> None:
    """``--out`` may replace an earlier calibration (rerunning, or the packaged file from a
    checkout), never some other file: it is refused before the runs start."""
    from .early_stop_calibration import FORMAT
    if not out.exists():
        return
    try:
        ok = json.loads(out.read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise fail("--out", _OWNER, f"a new file or an earlier calibration ({FORMAT}); {out} "
                   "exists and is not one: remove it or choose another --out", str(out))


def run(args) -> int:
    from tqdm import tqdm
    grid = validated(args)
    out = check_output_file("--out", args.out, _OWNER)
    _check_replaceable(out)
    command = "theorem-lab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv[1:2] == [_OWNER] else f"theorem-lab {_OWNER} (from Python)"
    bar = tqdm(total=len(grid.cells()) * grid.seeds, file=sys.stderr, leave=False, desc="runs",
               disable=None)
    try:
        record = calibrate(grid, command, progress=lambda: bar.update(1))
    except ValueError as exc:
        bar.close()
        raise fail("--steps", _OWNER, f"long enough for GD to overfit ({exc})", grid.steps) from None
    bar.close()
    with open(out, "w") as fh:
        fh.write(strict_json(record, indent=1) + "\n")
    if args.json:
        print(strict_json(record, indent=1))
        return 0
    f, rg = record["fit"], record["regret"]
    print(f"early-stop calibration: {f['runs_used']} runs fitted ({f['runs_censored']} censored "
          f"of {f['runs_total']}); τ = c·τ₀ with")
    print(f"  c = {f['c']:.3g}  ({100 * f['level']:.0f}% interval {f['c_interval'][0]:.3g} … "
          f"{f['c_interval'][1]:.3g}); sd of log(t*/τ₀) = {f['log_sd']:.3g}; "
          f"t*/τ₀ ranges {f['ratio_min']:.3g} … {f['ratio_max']:.3g}")
    print(f"  free slope: log t* = {f['free_slope']['intercept']:.3g} + "
          f"{f['free_slope']['slope']:.3g}·log τ₀")
    print(f"  mean excess ‖f−ỹ‖₂ over the oracle: {rg['regret_calibrated']:.3g} at c = {f['c']:.3g}, "
          f"{rg['regret_c1']:.3g} at c = 1")
    print(f"written to {out}")
    return 0
