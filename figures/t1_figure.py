"""T₁ observed against the T₁ that Theorem 1 asks for, from a stored sweep (issue 13, item 3).

T₁ observed: the first step at which every training sign equals ỹ's (``summary['T1']`` of each
run; mean ± sd over seeds). T₁ of the theorem: every closed-form reading of
``proofs_check.constants.T1_readings`` evaluated on the seed-0 data of the grid point (stored in
``summary.json`` as ``hypotheses['T1_theorem']`` by the sweep). The theorem counts steps of
η = 1/(2Γ²n) (T1-H4) while the runs use their own η, so observed steps are rescaled to the
theorem's step size, T₁·η_run/η_thm (equal time ηt): the comparison is then about the bound,
not about the step size. The gap factor T₁(theorem)/T₁(observed, self-distillation) is written
at the right end of each reading's line.

Panel (a): against the width k, at the largest ρ; panel (b): against ρ, at the largest width. A
panel is drawn where its field takes ≥ 2 values; other fields that vary are held at their first
value (the panel's title says which slice it shows).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import slices, style

METHODS = ("gd", "self-distill")          # drawn in this order: Algorithm 1 on top
MARKERS = {"self-distill": dict(marker="o", ms=3.5), "gd": dict(marker="s", ms=5, mfc="none")}
READING_COLORS = ("#E69F00", "#56B4E9", "#CC79A7", "#000000")   # none of the method colours


def points(runs: list, cells: list) -> list:
    """One record per grid point that has a stored theorem T₁: its config (method-free),
    the theorem's T₁ per reading, and per method the observed T₁ of each seed rescaled to the
    theorem's η (None where the run never had every sign right)."""
    theory = {c["label"]: c["hypotheses"] for c in cells
              if (c.get("hypotheses") or {}).get("T1_theorem")}
    out: dict = {}
    for r in runs:
        hyp = theory.get(r["cell"])
        if hyp is None or r["method"] not in METHODS or r["status"] != "finished":
            continue
        rec = out.setdefault(r["cell"], {"config": {k: v for k, v in r["config"].items()
                                                   if k not in ("method", "seed")},
                                         "theorem": hyp["T1_theorem"], "observed": {}})
        T1, lr = r["summary"].get("T1"), r["summary"].get("lr")
        scaled = None if T1 is None or lr is None else T1 * lr / hyp["eta_theorem"]
        rec["observed"].setdefault(r["method"], []).append(scaled)
    return list(out.values())


def varying(pts: list, field: str) -> list:
    return sorted({p["config"][field] for p in pts if p["config"].get(field) is not None})


def _slice(pts: list, field: str, fixed: dict) -> list:
    """The points along ``field`` with everything else at ``fixed`` (sorted by ``field``)."""
    keep = [p for p in pts if all(p["config"].get(k) == v for k, v in fixed.items())]
    return sorted(keep, key=lambda p: p["config"][field])


def _fixed(pts: list, along: str) -> dict:
    """The slice a panel shows (``slices.held``): every other field that varies held at one value
    (width and ρ at their largest, the theorem's regime and the hardest noise; others at their
    smallest, by value: steps 50 before 100)."""
    return slices.held([p["config"] for p in pts], {along})


def _stats(values: list) -> tuple:
    xs = [v for v in values if v is not None]
    if not xs:
        return float("nan"), 0.0, 0
    return float(np.mean(xs)), float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0, len(xs)


def gaps(pt: dict) -> dict:
    """{reading: T₁(theorem) / mean observed T₁ of self-distillation} (NaN if never reached)."""
    obs, _, count = _stats(pt["observed"].get("self-distill", []))
    return {name: (v / obs if count and obs > 0 else float("nan")) for name, v in pt["theorem"].items()}


def gap_text(g: float) -> str:
    """×5.1·10⁹ (mathtext); '—' where T₁ was never reached."""
    if not math.isfinite(g):
        return "—"
    e = math.floor(math.log10(g))
    return rf"$\times{g:.3g}$" if -1 <= e <= 2 else rf"$\times{g / 10 ** e:.2g}\cdot10^{{{e}}}$"


def _panel(ax, pts: list, field: str, fixed: dict) -> None:
    from .trajectory_figure import spread

    ax.set_yscale("log")
    line = _slice(pts, field, fixed)
    xs = [p["config"][field] for p in line]
    readings = list(line[0]["theorem"])
    for i, name in enumerate(readings):
        ys = [p["theorem"][name] for p in line]
        ax.plot(xs, ys, color=READING_COLORS[i % len(READING_COLORS)],
                ls=style.LINESTYLES[i % len(style.LINESTYLES)], marker=".", ms=3,
                label=f"theorem, {name}")
    for method in METHODS:
        st = [_stats(p["observed"].get(method, [])) for p in line]
        if not any(c for _, _, c in st):
            continue
        m = np.array([s[0] for s in st])
        sd = np.array([s[1] for s in st])
        ax.errorbar(xs, m, yerr=sd, color=style.method_color(method), capsize=2, lw=1.3,
                    ls="-" if method == "self-distill" else "--", **MARKERS[method],
                    label="observed, " + style.METHOD_LABELS[method])
        missing = [x for x, (_, _, c) in zip(xs, st) if c == 0]
        if missing:
            ax.plot(missing, [0.0] * len(missing), "x", color=style.method_color(method), ms=5,
                    clip_on=False, transform=ax.get_xaxis_transform(),   # y: the axis' bottom
                    label=f"{style.METHOD_LABELS[method]}: T₁ not reached")
    if field == "width":
        ax.set_xscale("log", base=2)
    ax.set_xlabel(style.LABELS[field])
    ax.set_ylabel(r"$T_1$ [steps of $\eta=1/(2\Gamma^2 n)$]")
    # gap factors at the right end, spread apart in log-axis fraction
    lo, hi = (math.log10(v) for v in ax.get_ylim())
    end = gaps(line[-1])
    pos = [(math.log10(line[-1]["theorem"][n]) - lo) / (hi - lo) for n in readings]
    for name, y in zip(readings, spread(pos, 0.09)):
        g = end[name]
        ax.annotate(gap_text(g), xy=(1.01, y), xycoords="axes fraction", fontsize=6, va="center",
                    color=READING_COLORS[readings.index(name) % len(READING_COLORS)])
    where = ", ".join(f"{style.LABELS.get(k, k).split(' ')[-1]}={v}" for k, v in fixed.items())
    ax.set_title(f"against {style.LABELS[field].split(' ')[-1]}" + (f" at {where}" if where else ""),
                 fontsize=7)


def build(plt, runs: list, cells: list):
    """The figure (inside ``style.context()``), or None when neither width nor ρ varies or the
    store has no theorem T₁ (a sweep made before it was stored)."""
    pts = points(runs, cells)
    fields = [f for f in ("width", "rho") if len(varying(pts, f)) >= 2]
    if not pts or not fields:
        return None
    fig, axes = plt.subplots(1, len(fields), figsize=style.size("two" if len(fields) == 2 else "one",
                                                                 1.25, len(fields)), squeeze=False)
    for ax, field in zip(axes[0], fields):
        _panel(ax, pts, field, _fixed(pts, field))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=6, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(r"$T_1$: first step with every sign $=\tilde y$ (observed, rescaled to the "
                 r"theorem's $\eta$) vs Theorem 1's $T_1$; $\times$: gap factor", fontsize=7)
    fig.tight_layout(rect=(0, 0.16, 0.96, 1))
    return fig


def load_cells(store_dir) -> list:
    """The cells of ``<store_dir>/summary.json`` (with their theorem T₁); [] without one."""
    summary = Path(store_dir) / "summary.json"
    return json.loads(summary.read_text())["cells"] if summary.is_file() else []


def load(store_dir) -> tuple:
    """(finished runs, summary cells) of a stored sweep."""
    from .trajectory_figure import load as load_runs

    runs, _ = load_runs(store_dir, trajectories=False)
    return runs, load_cells(store_dir)


def t1_figure(store_dir, stem=None) -> list:
    """Draw ``<store_dir>/t1.png/.pdf``; returns the paths ([] if it does not apply)."""
    runs, cells = load(store_dir)
    with style.context() as plt:
        fig = build(plt, runs, cells)
        return [] if fig is None else style.save(fig, stem or Path(store_dir) / "t1")
