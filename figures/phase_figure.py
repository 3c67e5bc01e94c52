"""Where self-distillation works: heat maps of its final ‖f(W_T, X) − ỹ‖₂ / √n — from the store.

Panel (a), over (T₂, ε): T₂ is the first step with α_t < 1/(24√n) (set by the schedule), ε the
cluster radius. Theorem 1 asks for ε ∝ 1/T₂; FINDINGS.md ("Observations") records failures
starting near ε²·T₂ ≈ const instead. The contour ε²T₂ = c is drawn with c fitted to the cells:
the c that best separates converged cells (‖f − ỹ‖₂ ≤ 10 % of √n, the sweep's verdict
threshold) from the others under the rule "converged iff ε²T₂ ≤ c"; the legend gives c and the
number of cells the rule misclassifies.
Panel (b), over (width k, ρ), where the store varies both.
Cells: the mean over seeds; a hatched cell has no finished run. Only self-distillation runs.
Every other field the sweep varies (the activation, n, the width in panel (a), the steps in
panel (b), …) is held at one value, as in ``t1_figure`` (width and ρ at their largest, others at
their smallest), and the panel's title names it: a cell pools seeds, never settings. In panel
(a) the steps and the schedule are what T₂ is read from, so they vary with it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import slices, style

THRESHOLD = 0.10   # = simulations.sweep.CONVERGED_FRACTION (figures read results only)


PER_RUN = ("method", "seed", "data_seed", "init_seed")   # differ between the seeds of one setting
SETS_T2 = ("steps", "schedule")                        # what a run's T₂ is read from


def held(runs: list, x: str, y: str) -> dict:
    """{field: value}: the slice a panel over (x, y) shows (``slices.held``) among the finished
    self-distillation runs; x, y and the per-run fields are free, and with T₂ on an axis the
    steps and the schedule too (T₂ is read from them)."""
    configs = [r["config"] for r in runs
               if r["method"] == "self-distill" and r["status"] == "finished"]
    return slices.held(configs, {x, y, *PER_RUN, *(SETS_T2 if "T2" in (x, y) else ())})


def cells(runs: list, x: str, y: str, fixed: "dict | None" = None) -> dict:
    """{(x value, y value): [final ‖f − ỹ‖₂/√n of each seed]} of the finished self-distillation
    runs whose config has every field of ``fixed`` at its value; ``x``/``y`` are config fields
    or 'T2' (from the run's summary)."""
    out: dict = {}
    for r in runs:
        if r["method"] != "self-distill" or r["status"] != "finished":
            continue
        if any(r["config"].get(k) != v for k, v in (fixed or {}).items()):
            continue
        s, cfg = r["summary"], r["config"]
        get = lambda name: s.get("T2") if name == "T2" else cfg.get(name)
        xv, yv, l2, sqrt_n = get(x), get(y), s.get("l2_clean"), s.get("sqrt_n")
        if None in (xv, yv, l2, sqrt_n):
            continue
        out.setdefault((float(xv), float(yv)), []).append(l2 / sqrt_n)
    return out


def fit_boundary(grid: dict, power: float = 2.0) -> tuple:
    """(c, misclassified) for the rule "converged iff y^power · x ≤ c" on the cells' means.

    The candidates are the midpoints (geometric) between consecutive values of y^power·x; the
    one with the fewest misclassified cells wins (ties: the smallest c)."""
    pts = sorted((yv ** power * xv, float(np.mean(v)) <= THRESHOLD) for (xv, yv), v in grid.items())
    if not pts:
        return float("nan"), 0
    keys = [p for p, _ in pts]
    candidates = [keys[0] / 2] + [math.sqrt(a * b) for a, b in zip(keys, keys[1:])] + [keys[-1] * 2]
    best = None
    for c in candidates:
        wrong = sum((p <= c) != ok for p, ok in pts)
        if best is None or wrong < best[1]:
            best = (c, wrong)
    return best


def varying(runs: list, name: str) -> int:
    vals = {(r["summary"].get("T2") if name == "T2" else r["config"].get(name))
            for r in runs if r["method"] == "self-distill"}
    return len(vals - {None})


def panels_for(runs: list) -> list:
    """The (x, y) pairs this store can draw: both fields take ≥ 2 values."""
    return [(x, y) for x, y in (("T2", "eps"), ("width", "rho"))
            if varying(runs, x) >= 2 and varying(runs, y) >= 2]


def _edges(values: list, log: bool = True) -> np.ndarray:
    """Cell edges around sorted values: midpoints, on a log axis (positive values) or linear."""
    v = np.log(np.asarray(values, dtype=float)) if log else np.asarray(values, dtype=float)
    half = 0.5 if log else 0.05                      # the half-width of a lone cell
    if len(v) == 1:
        e = np.array([v[0] - half, v[0] + half])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def build(plt, runs: list):
    """The figure (call inside ``style.context()``), or None if no pair of fields varies."""
    pairs = panels_for(runs)
    if not pairs:
        return None
    fig, axes = plt.subplots(1, len(pairs), figsize=style.size("one" if len(pairs) == 1 else "two",
                                                               1, len(pairs)), squeeze=False)
    names = {"T2": r"$T_2$ (first $t$ with $\alpha_t<1/(24\sqrt{n})$)", "eps": style.LABELS["eps"],
             "width": style.LABELS["width"], "rho": style.LABELS["rho"]}
    with_boundary = []
    for ax, (x, y) in zip(axes[0], pairs):
        fixed = held(runs, x, y)
        grid = cells(runs, x, y, fixed)
        xs, ys = sorted({k[0] for k in grid}), sorted({k[1] for k in grid})
        Z = np.full((len(ys), len(xs)), np.nan)
        for (xv, yv), v in grid.items():
            Z[ys.index(yv), xs.index(xv)] = np.mean(v)
        from matplotlib.colors import LogNorm
        finite = Z[np.isfinite(Z)]
        norm = LogNorm(vmin=max(finite.min(), 1e-3), vmax=max(finite.max(), 1.0))
        ax.set_facecolor("0.85")
        ax.patch.set_hatch("///")
        mesh = ax.pcolormesh(_edges(xs), _edges(ys, log=y != "rho"), Z,
                             cmap="cividis", norm=norm, shading="flat")
        ax.set_xscale("log")
        if y != "rho":
            ax.set_yscale("log")
        ax.minorticks_off()                              # ticks at the cells, not between them
        ax.set_xticks(xs, [f"{v:.4g}" for v in xs])
        ax.set_yticks(ys, [f"{v:.4g}" for v in ys])
        for (xv, yv), v in grid.items():
            m = float(np.mean(v))
            ax.annotate(f"{m:.2g}", (xv, yv), ha="center", va="center", fontsize=5.5,
                        color="white" if m < math.sqrt(norm.vmin * norm.vmax) else "black")
        bar = fig.colorbar(mesh, ax=ax, pad=0.02)
        bar.set_label(r"$\|f(W_T,X)-\tilde y\|_2/\sqrt{n}$")
        bar.ax.axhline(THRESHOLD, color="red", lw=1)
        outcomes = {float(np.mean(v)) <= THRESHOLD for v in grid.values()}
        if (x, y) == ("T2", "eps") and len(outcomes) == 1:
            ax.text(0.02, 0.02, "all cells " + ("converged" if True in outcomes else "failed")
                    + ": no boundary in range", transform=ax.transAxes, fontsize=6,
                    bbox=dict(facecolor="white", alpha=0.85, lw=0))
        elif (x, y) == ("T2", "eps"):
            c, wrong = fit_boundary(grid)
            t = np.geomspace(_edges(xs)[0], _edges(xs)[-1], 100)
            ax.plot(t, np.sqrt(c / t), color="red", lw=1.2,
                    label=fr"boundary $\varepsilon^2T_2={c:.3g}$ ({wrong} of {len(grid)} cells "
                          "on the wrong side of it)")
            ax.set_ylim(_edges(ys)[0], _edges(ys)[-1])
            with_boundary.append(ax)
        ax.set_xlabel(names[x])
        ax.set_ylabel(names[y])
        ax.grid(False)
        where = ", ".join(f"{style.LABELS.get(k, k).split(' ')[-1]}={v}" for k, v in fixed.items())
        ax.set_title(f"self-distillation, final residual (threshold {THRESHOLD:g}: red)"
                     + (f"\nat {where}" if where else ""), fontsize=7)
    fig.tight_layout()
    for ax in with_boundary:                             # under the axes: it covers no cell
        style.legend_below(ax, fontsize=6, frameon=False)
    return fig


def phase_figure(store_dir, stem=None) -> list:
    """Draw ``<store_dir>/phase.png/.pdf``; returns the paths ([] if nothing varies)."""
    from .trajectory_figure import load

    runs, _ = load(store_dir, trajectories=False)
    with style.context() as plt:
        fig = build(plt, runs)
        return [] if fig is None else style.save(fig, stem or Path(store_dir) / "phase")
