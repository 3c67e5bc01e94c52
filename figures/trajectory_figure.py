"""Trajectories of a stored sweep: one row of three panels per setting — from the store only.

Panels (x: step t; mean over seeds, band mean ± sample sd):
  (a) ℓ2 residuals, log scale: ‖f(W_t, X) − ỹ‖₂ solid (Theorem 1's quantity, spec Q-13) and
      ‖f(W_t, X) − y‖₂ dashed; reference levels in the right margin: ‖ỹ‖₂ = √n, 2ρ√n (where
      GD settles: it fits P_{S₊}y = (1 − 2ρ)ỹ, not ỹ) and 2√#flipped (a network that memorised
      the noise); early stopping ends at its stopping time τ, marked with a dot;
  (b) training accuracy against ỹ (solid) and against y (dashed), test accuracy (dotted);
  (c) the minimum margin min_i ỹ_i f(W_t, x_i) (> 0: every training sign is the clean one).
T₁ (observed: first step with every training sign equal to ỹ's, mean over seeds) is a triangle
on the step axis in the method's colour; T₂ (first t with α_t < 1/(24√n), self-distillation)
a dotted vertical line. A setting is the run config without method, seed and the
method-only fields (self-distillation's schedule and h, early-stop's c), so GD appears beside
every schedule it is compared with.

    python -m theorem_lab.figures.trajectory_figure runs/NAME     # writes runs/NAME/trajectories.png/.pdf
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from . import style

MAX_ROWS = 6
PANEL_IGNORES = ("method", "seed", "data_seed", "init_seed", "schedule", "label_fn", "rho_h",
                 "early_stop_constant")   # early-stop's c: carried by its configs only
SD_FIELDS = ("schedule", "label_fn", "rho_h")
ORDER = tuple(style.METHOD_COLORS)   # self-distill, gd, early-stop
LABEL_PT = 6                         # font size of the reference-level labels


def settings(runs: list) -> dict:
    """{setting key: {curve key: [runs]}}; a curve is (method, self-distillation variant)."""
    out: dict = {}
    for r in runs:
        cfg = r["config"]
        key = tuple(sorted((k, str(v)) for k, v in cfg.items() if k not in PANEL_IGNORES))
        variant = tuple(str(cfg.get(f)) for f in SD_FIELDS) if r["method"] == "self-distill" else ()
        out.setdefault(key, {}).setdefault((r["method"], variant), []).append(r)
    return out


def band(trajs: list, quantity: str):
    """(steps, mean, std) over runs, aligned on step (runs may stop at different steps)."""
    trajs = [t for t in trajs if quantity in t]
    steps = sorted({s for t in trajs for s in t["step"]})
    index = {s: i for i, s in enumerate(steps)}
    M = np.full((len(trajs), len(steps)), np.nan)
    for j, t in enumerate(trajs):
        for s, v in zip(t["step"], t[quantity]):
            M[j, index[s]] = np.nan if v is None else v
    count = np.sum(np.isfinite(M), axis=0)
    total = np.where(np.isfinite(M), M, 0.0).sum(axis=0)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    sq = np.where(np.isfinite(M), (M - mean) ** 2, 0.0).sum(axis=0)
    std = np.where(count > 1, np.sqrt(sq / np.maximum(count - 1, 1)), 0.0)
    return np.array(steps), mean, std


def spread(positions, gap: float, low: float = 0.0, high: float = 1.0) -> list:
    """Move label positions (axes fraction) apart so neighbours are ≥ ``gap`` apart, keeping
    their order and staying in [low, high] where room allows (no overlapping labels)."""
    order = np.argsort(positions, kind="stable")
    p = np.asarray(positions, dtype=float)[order]
    if not len(p):
        return []
    p[0] = max(p[0], low)
    for i in range(1, len(p)):                       # push up
        p[i] = max(p[i], p[i - 1] + gap)
    if p[-1] > high:                                 # then shift down from the top
        p[-1] = high
        for i in range(len(p) - 2, -1, -1):
            p[i] = min(p[i], p[i + 1] - gap)
    out = np.empty_like(p)
    out[order] = p
    return out.tolist()


def _numeric_order(key: tuple) -> list:
    """Sort settings by their config values, numbers as numbers (200 before 1000)."""
    out = []
    for _, v in key:
        try:
            out.append((0, float(v), ""))
        except ValueError:
            out.append((1, 0.0, v))
    return out


def _title(key: tuple, varying: list) -> str:
    cfg = dict(key)
    shown = varying or ["n", "width", "rho", "eps", "activation"]
    names = {"width": "k", "rho": "ρ", "eps": "ε", "clusters": "K", "dim": "d"}
    return ", ".join(f"{names.get(k, k)}={cfg[k]}" for k in shown if k in cfg)


def _mean(values) -> "float | None":
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(xs) / len(xs) if xs else None


def _curves(curves: dict):
    """Curves in a fixed order (self-distill, gd, early-stop), with their colour and label."""
    multi = len({v for (m, v) in curves if m == "self-distill"}) > 1
    ranked = sorted(curves.items(), key=lambda kv: (
        ORDER.index(kv[0][0]) if kv[0][0] in ORDER else len(ORDER), kv[0]))
    for i, ((method, variant), runs) in enumerate(ranked):
        label = style.METHOD_LABELS.get(method, method)
        if multi and variant:
            label += f" [{variant[0]}]"
        ls_shift = i if multi and method == "self-distill" else 0
        yield method, label, style.method_color(method), ls_shift, runs


def load(store_dir, trajectories: bool = True) -> tuple:
    """(finished runs, {run_id: trajectory}) of the store in ``store_dir``."""
    from theorem_lab.simulations.store import ResultStore

    with ResultStore(Path(store_dir), readonly=True) as store:
        runs = [r for r in store.runs() if r["status"] == "finished"]
        trajs = {r["run_id"]: store.trajectory(r["run_id"]) for r in runs} if trajectories else {}
    return runs, trajs


def trajectory_figure(store_dir, stem=None) -> list:
    """Draw the figure for the store in ``store_dir``; returns [png, pdf] paths."""
    runs, trajs = load(store_dir)
    with style.context() as plt:
        return style.save(build(plt, runs, trajs), stem or Path(store_dir) / "trajectories")


def build(plt, runs: list, trajs: dict):
    """The matplotlib figure (call inside ``style.context()``)."""
    groups = settings(runs)
    keys = sorted(groups, key=_numeric_order)[:MAX_ROWS]
    varying = sorted({k for key in groups for k, v in key
                      if len({dict(o).get(k) for o in groups}) > 1})
    rows = max(1, len(keys))
    fig, axes = plt.subplots(rows, 3, figsize=style.size("two", rows, 3), squeeze=False,
                             sharex="row")
    if not keys:
        for ax in axes.flat:
            ax.set_axis_off()
        axes[0, 1].text(0.5, 0.5, "no finished runs", ha="center", va="center",
                        transform=axes[0, 1].transAxes)
    for row, key in zip(axes, keys):
        draw_row(row, groups[key], trajs)
        row[0].set_title(_title(key, varying), loc="left", fontweight="bold")
    for ax in axes[-1]:
        ax.set_xlabel(style.LABELS["step"])
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if keys:
        from matplotlib.lines import Line2D
        handles += [Line2D([], [], color="0.3", ls="-"), Line2D([], [], color="0.3", ls="--"),
                    Line2D([], [], color="0.3", ls=":"),
                    Line2D([], [], color="0.3", marker="^", ls="none", ms=5),
                    Line2D([], [], color="0.4", ls=":", lw=0.9)]
        labels += [r"solid: against $\tilde y$ (clean)", r"dashed: against $y$ (noisy)",
                   "dotted: test accuracy", r"$T_1$ (observed)",
                   r"$T_2$: $\alpha_t<1/(24\sqrt{n})$"]
    if len(groups) > MAX_ROWS:
        fig.suptitle(f"first {MAX_ROWS} of {len(groups)} settings", y=1.06)
    fig.tight_layout(h_pad=1.2, w_pad=1.0)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, 1.0))
    return fig


def draw_row(axes, curves: dict, trajs: dict) -> None:
    """The three panels of one setting: residuals, accuracies, margin (see the module doc)."""
    ax_r, ax_a, ax_m = axes
    refs, T1s, T2s = {}, [], []
    for method, label, color, shift, runs in _curves(curves):
        tr = [trajs[r["run_id"]] for r in runs if trajs[r["run_id"]].get("step")]
        if not tr:
            continue
        dash = style.LINESTYLES[shift % len(style.LINESTYLES)]
        for ax, quantity, ls, lab in ((ax_r, "l2_clean", dash, label), (ax_r, "l2_noisy", "--", None),
                                      (ax_a, "acc_clean", dash, None), (ax_a, "acc_noisy", "--", None),
                                      (ax_a, "test_acc", ":", None), (ax_m, "margin", dash, None)):
            steps, mean, std = band(tr, quantity)
            if not len(steps):
                continue
            ax.plot(steps, mean, color=color, ls=ls, label=lab)
            lo = np.maximum(mean - std, 1e-12) if ax is ax_r else mean - std
            ax.fill_between(steps, lo, mean + std, color=color, alpha=0.18, lw=0)
        if method == "early-stop":
            pts = [(r["summary"].get("step"), r["summary"].get("l2_clean")) for r in runs]
            pts = [p for p in pts if None not in p]
            if pts:
                ax_r.plot(*np.mean(pts, axis=0), "o", color=color, ms=4, zorder=5)
        T1 = _mean(r["summary"].get("T1") for r in runs)
        if T1 is not None:
            T1s.append((T1, color))
        if method == "self-distill":
            T2s.append(_mean(r["summary"].get("T2") for r in runs))
        s = runs[0]["summary"]
        rho = s.get("rho_observed", runs[0]["config"].get("rho"))
        refs.update(sqrt_n=s.get("sqrt_n"), noise=s.get("noise_l2"),
                    gd_level=(2 * rho * s["sqrt_n"]) if s.get("sqrt_n") and rho else None)
    ax_r.set_yscale("log")
    ax_r.set_ylabel(r"$\ell_2$ distance of $f(W_t,X)$")
    ax_a.set_ylabel("accuracy")
    ax_m.set_ylabel(style.LABELS["margin"])
    ax_m.axhline(0.0, color="0.5", lw=0.6)
    ax_a.set_ylim(min(0.45, ax_a.get_ylim()[0]), 1.02)
    _reference_levels(ax_r, refs)
    for ax in axes:
        _mark_times(ax, T1s, [t for t in T2s if t is not None])


def _reference_levels(ax, refs: dict) -> None:
    """Horizontal reference lines, labelled in the right margin without collisions."""
    items = [(refs.get("sqrt_n"), r"$\sqrt{n}$", ":"),
             (refs.get("gd_level"), r"$2\rho\sqrt{n}$", (0, (1, 2))),
             (refs.get("noise"), r"$2\sqrt{\#\mathrm{flip}}$", "-.")]
    items = [it for it in items if it[0]]
    if not items:
        return
    lo, hi = ax.get_ylim()
    hi = max(hi, 1.25 * max(v for v, _, _ in items))
    ax.set_ylim(lo, hi)
    frac = [(math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) for v, _, _ in items]
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72
    gap = 1.6 * LABEL_PT / height_pt        # one label height and some air (tight_layout shrinks)
    for (v, text, ls), y in zip(items, spread(frac, gap=gap)):
        ax.axhline(v, color="0.55", ls=ls, lw=0.8)
        ax.annotate(text, (1.01, y), xycoords="axes fraction", ha="left", va="center",
                    fontsize=LABEL_PT, color="0.35", annotation_clip=False)


def _mark_times(ax, T1s: list, T2s: list) -> None:
    for T1, color in T1s:
        ax.plot([T1], [0.0], marker="^", color=color, ms=5, clip_on=False, zorder=6,
                transform=ax.get_xaxis_transform())
    if T2s:
        T2 = sum(T2s) / len(T2s)
        ax.axvline(T2, color="0.4", ls=":", lw=0.9)
        ax.annotate(r"$T_2$", (T2, 1.0), xycoords=("data", "axes fraction"), ha="center",
                    va="bottom", fontsize=6, color="0.3", annotation_clip=False)


if __name__ == "__main__":  # pragma: no cover
    for p in trajectory_figure(sys.argv[1]):
        print(p)
