"""Calibrating the early-stopping baseline: the constant c in τ = c·τ₀ (issue 14, item 4).

τ₀ = K/(η n λ(C)) · log(Γ√(n log(1/δ))/(1 − 2ρ)) is Li, Soltanolkotabi & Oymak's (2019) stopping
time recalled with its absolute constant set to 1 (``theorem_lab.train.lso_tau0``). Here plain GD
on the noisy labels runs over a grid of (n, K, ρ, ε, width) × seeds, and each run's *oracle*
stopping step t* = argmin_t ‖f(W_t, X) − ỹ‖₂ (the engine's best clean-ℓ2 step, ``RunInfo.oracle``)
is set against its τ₀. The fit is least squares in log space with the slope fixed at 1,

    log t* = log c + log τ₀ + e,      ĉ = exp(mean(log t* − log τ₀)),

with a 95 % t-interval for log c and the spread (sd and range of log(t*/τ₀)). The free-slope fit
log t* = a + b log τ₀ is reported beside it: b far from 1 says the proportional form itself is off.
Runs whose oracle is the last step (GD had not yet started to overfit: t* is censored) are left
out of the fit and counted.

The result is the packaged ``theorem_lab/early_stop_calibration.json``, which the ``early-stop``
method reads by default (``train.calibrated_early_stop_constant``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import product
from typing import Callable, Optional

import numpy as np

FORMAT = "theorem-lab-early-stop-calibration/1"


@dataclass(frozen=True)
class CalibrationGrid:
    """The (n, K, ρ, ε, width) grid × seeds of the calibration (the defaults: 288 runs, minutes)."""

    n: tuple = (50, 100, 200, 400)
    K: tuple = (2, 4, 8)
    rho: tuple = (0.1, 0.3)
    eps: tuple = (0.05, 0.2)
    width: tuple = (64, 256, 1024)
    d: int = 10
    activation: str = "tanh"
    seeds: int = 2
    steps: int = 2000                  # GD horizon; a run with t* = steps is censored

    def cells(self) -> list:
        return [dict(n=n, K=K, rho=r, eps=e, width=k)
                for n, K, r, e, k in product(self.n, self.K, self.rho, self.eps, self.width)
                if n >= 2 * K]


def measure(grid: CalibrationGrid, progress: Optional[Callable[[], None]] = None) -> list:
    """One row per (cell, seed): τ₀, the oracle step t*, and ‖f − ỹ‖₂ at t* and along GD."""
    import theorem_lab as tl
    from theorem_lab.network import init_seed
    from theorem_lab.train import lso_tau0, train_many

    rows = []
    for cell in grid.cells():
        datas = [tl.make_clusterable(n=cell["n"], K=cell["K"], d=grid.d, eps=cell["eps"],
                                     rho=cell["rho"], seed=s, n_test=0) for s in range(grid.seeds)]
        nets = [tl.TwoLayerNet.init(d=grid.d, k=cell["width"], activation=grid.activation,
                                    seed=init_seed(s)) for s in range(grid.seeds)]
        trajs = train_many(datas, nets, method="gd", steps=grid.steps, log_every=1)
        for s, (data, net, traj) in enumerate(zip(datas, nets, trajs)):
            info = traj.info
            tau0 = lso_tau0(data, net.activation.Gamma, info.lr, info.lambda_C)
            rows.append({**cell, "seed": s, "status": info.status, "tau0": tau0,
                         "oracle_step": int(info.oracle["step"]),
                         "censored": int(info.oracle["step"]) >= info.steps_done,
                         "l2_oracle": info.oracle["l2_clean"],
                         "l2_clean": [float(x) for x in traj.l2_clean]})
            if progress is not None:
                progress()
    return rows


def fit_constant(rows: list, level: float = 0.95) -> dict:
    """ĉ of τ = c·τ₀ by log-space least squares (slope 1), its interval and spread; also the
    free-slope fit. Rows that are censored, diverged or have no τ₀ are left out (counted)."""
    from scipy import stats
    used = [r for r in rows if not r["censored"] and r["tau0"] and r["status"] == "finished"
            and r["oracle_step"] > 0]
    if len(used) < 2:
        raise ValueError(f"fit_constant needs at least 2 uncensored runs; got {len(used)} of "
                         f"{len(rows)}. Raise the grid's steps.")
    lt = np.log([r["tau0"] for r in used])
    lo = np.log([r["oracle_step"] for r in used])
    z = lo - lt
    m, sd = float(z.mean()), float(z.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(z) - 1)) * sd / math.sqrt(len(z))
    slope, intercept = np.polyfit(lt, lo, 1) if np.ptp(lt) > 0 else (math.nan, math.nan)
    return {"c": math.exp(m), "log_c": m, "log_sd": sd, "level": level,
            "c_interval": [math.exp(m - half), math.exp(m + half)],
            "ratio_min": float(np.exp(z.min())), "ratio_max": float(np.exp(z.max())),
            "ratio_quartiles": [float(q) for q in np.exp(np.quantile(z, [0.25, 0.5, 0.75]))],
            "free_slope": {"slope": float(slope), "intercept": float(intercept)},
            "runs_used": len(used), "runs_censored": sum(bool(r["censored"]) for r in rows),
            "runs_total": len(rows)}


def stopping_regret(rows: list, c: float) -> dict:
    """Mean ‖f(W_τ) − ỹ‖₂ − ‖f(W_{t*}) − ỹ‖₂ (the price of not knowing t*) at τ = ⌈c·τ₀⌉ and at
    τ = ⌈τ₀⌉, over the uncensored rows (in-sample for the fitted c)."""
    def at(r, cc):
        t = min(max(1, math.ceil(cc * r["tau0"])), len(r["l2_clean"]) - 1)
        return r["l2_clean"][t] - r["l2_oracle"]
    used = [r for r in rows if not r["censored"] and r["tau0"] and r["status"] == "finished"]
    return {"c": c, "regret_calibrated": float(np.mean([at(r, c) for r in used])),
            "regret_c1": float(np.mean([at(r, 1.0) for r in used])), "runs": len(used)}


def calibrate(grid: CalibrationGrid, command: str, progress=None) -> dict:
    """The calibration record: grid, per-run rows (without the curves), fit, regret, command."""
    rows = measure(grid, progress)
    fit = fit_constant(rows)
    regret = stopping_regret(rows, fit["c"])
    slim = [{k: v for k, v in r.items() if k != "l2_clean"} for r in rows]
    return {"format": FORMAT, "grid": asdict(grid), "fit": fit, "regret": regret,
            "rows": slim, "command": command}
