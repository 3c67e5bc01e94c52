"""Residuals against step, one curve per method, bands over seeds — from a results store only.

One panel per setting (the run config without method, seed and the self-distillation-only
fields schedule/label_fn/rho_h, so GD appears beside every schedule it is compared with).
Solid: ‖f(W_t, X) − ỹ‖₂ (Theorem 1's quantity, spec Q-13); dashed: ‖f(W_t, X) − y‖₂.
Lines are means over seeds, bands mean ± sample std. Reference lines: ‖ỹ‖₂ = √n and
2√#flipped (the ‖f − ỹ‖₂ of a network that has memorised the noise). Early stopping ends at
its stopping time τ, marked with a dot. Log y axis.

    python -m theorem_lab.figures.trajectory_figure runs/NAME     # writes runs/NAME/trajectories.png/.pdf
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from . import style

MAX_PANELS = 12
PANEL_IGNORES = ("method", "seed", "data_seed", "init_seed", "schedule", "label_fn", "rho_h")
SD_FIELDS = ("schedule", "label_fn", "rho_h")


def _panels(runs: list) -> dict:
    """{panel key: {curve key: [runs]}}; a curve is (method, self-distillation variant)."""
    panels: dict = {}
    for r in runs:
        cfg = r["config"]
        key = tuple(sorted((k, str(v)) for k, v in cfg.items() if k not in PANEL_IGNORES))
        variant = tuple(str(cfg.get(f)) for f in SD_FIELDS) if r["method"] == "self-distill" else ()
        panels.setdefault(key, {}).setdefault((r["method"], variant), []).append(r)
    return panels


def _band(trajs: list, quantity: str):
    """(steps, mean, std) over runs, aligned on step (runs may stop at different steps)."""
    steps = sorted({s for t in trajs for s in t["step"]})
    index = {s: i for i, s in enumerate(steps)}
    M = np.full((len(trajs), len(steps)), np.nan)
    for j, t in enumerate(trajs):
        for s, v in zip(t["step"], t[quantity]):
            M[j, index[s]] = v
    count = np.sum(np.isfinite(M), axis=0)
    total = np.where(np.isfinite(M), M, 0.0).sum(axis=0)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    sq = np.where(np.isfinite(M), (M - mean) ** 2, 0.0).sum(axis=0)
    std = np.where(count > 1, np.sqrt(sq / np.maximum(count - 1, 1)), 0.0)
    return np.array(steps), mean, std


def _numeric_order(key: tuple) -> list:
    """Sort panels by their config values, numbers as numbers (200 before 1000)."""
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


def trajectory_figure(store_dir, stem=None) -> list:
    """Draw the figure for the store in ``store_dir``; returns [png, pdf] paths."""
    from theorem_lab.simulations.store import ResultStore

    store_dir = Path(store_dir)
    with ResultStore(store_dir, readonly=True) as store:
        runs = [r for r in store.runs() if r["status"] == "finished"]
        trajs = {r["run_id"]: store.trajectory(r["run_id"]) for r in runs}
    panels = _panels(runs)
    keys = sorted(panels, key=_numeric_order)[:MAX_PANELS]
    varying = sorted({k for key in panels for k, v in key
                      if len({dict(o).get(k) for o in panels}) > 1})
    cols = min(3, max(1, len(keys)))
    rows = max(1, math.ceil(len(keys) / cols))
    with style.context() as plt:
        fig, axes = plt.subplots(rows, cols, figsize=style.size("one" if cols == 1 else "two",
                                                                rows, cols),
                                 squeeze=False, sharey=True)
        for ax in axes.flat[len(keys):]:
            ax.set_visible(False)
        for ax, key in zip(axes.flat, keys):
            _draw_panel(ax, panels[key], trajs)
            ax.set_title(_title(key, varying))
        for ax in axes[-1]:
            ax.set_xlabel(style.LABELS["step"])
        for ax in axes[:, 0]:
            ax.set_ylabel("ℓ2 residual")
        handles, labels = axes.flat[0].get_legend_handles_labels()
        if not keys:
            axes.flat[0].text(0.5, 0.5, "no finished runs", ha="center", va="center",
                              transform=axes.flat[0].transAxes)
        if len(panels) > MAX_PANELS:
            fig.suptitle(f"first {MAX_PANELS} of {len(panels)} settings")
        fig.legend(handles, labels, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout()
        return style.save(fig, stem or store_dir / "trajectories")


def _draw_panel(ax, curves: dict, trajs: dict):
    multi_variant = len({v for (m, v) in curves if m == "self-distill"}) > 1
    refs = {}
    order = list(style.METHOD_COLORS)
    for (method, variant), runs in sorted(curves.items(), key=lambda kv: (
            order.index(kv[0][0]) if kv[0][0] in order else len(order), kv[0])):
        color = style.method_color(method)
        label = style.METHOD_LABELS.get(method, method)
        if multi_variant and variant:
            label += f" [{variant[0]}]"
        tr = [trajs[r["run_id"]] for r in runs if trajs[r["run_id"]].get("step")]
        if not tr:
            continue
        for quantity, ls in (("l2_clean", "-"), ("l2_noisy", "--")):
            steps, mean, std = _band(tr, quantity)
            ax.plot(steps, mean, color=color, ls=ls, label=label if ls == "-" else None)
            ax.fill_between(steps, np.maximum(mean - std, 1e-12), mean + std, color=color,
                            alpha=0.2, lw=0)
        if method == "early-stop":
            taus = [r["summary"].get("step") for r in runs]
            vals = [r["summary"].get("l2_clean") for r in runs]
            pts = [(t, v) for t, v in zip(taus, vals) if t is not None and v is not None]
            if pts:
                ax.plot(*np.mean(pts, axis=0), "o", color=color, ms=4)
        s = runs[0]["summary"]
        refs.update(sqrt_n=s.get("sqrt_n"), noise=s.get("noise_l2"))
    below = (refs.get("sqrt_n") or 0) < (refs.get("noise") or 0)   # label the lower line below it
    for key, text, ls in (("sqrt_n", r"$\|\tilde y\|_2=\sqrt{n}$", ":"),
                          ("noise", r"$2\sqrt{\#\mathrm{flipped}}$", "-.")):
        if refs.get(key):
            low = below == (key == "sqrt_n")
            ax.axhline(refs[key], color="0.5", ls=ls, lw=0.8)
            ax.annotate(text, (0.98, refs[key]), xycoords=("axes fraction", "data"), ha="right",
                        va="top" if low else "bottom", fontsize=6, color="0.4")
    ax.set_yscale("log")
    ax.plot([], [], color="0.3", ls="-", label=style.LABELS["l2_clean"])
    ax.plot([], [], color="0.3", ls="--", label=style.LABELS["l2_noisy"])


if __name__ == "__main__":  # pragma: no cover
    for p in trajectory_figure(sys.argv[1]):
        print(p)
