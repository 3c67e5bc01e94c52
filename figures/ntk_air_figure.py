"""Figures 2 and 5 of the paper from ``<run>/ntk_air.json`` (written by `cifar ntk-air`).

Figure 2: ρ₅(y) = ‖P₅y‖/‖y‖ against the label-noise level p, for the empirical NTK of the image
network at initialisation and after training (mean ± sd over seeds, error bars). Figure 5: the
information gain ρ₅(ŷ_t) − ρ₅(y) of the self-distillation targets over SGD iterations (mean ± sd
band, seeds thin). When the run was given ``--air RUN``, each figure has a second panel with the
synthetic `theorem-lab air` result (clusterable data, a two-layer network), so the theory's
setting and the paper's sit side by side.
"""

from __future__ import annotations

import numpy as np

from . import style

STAGE_STYLE = {"init": (style.SERIES[1], "-", "o", "at initialisation"),
               "trained": (style.SERIES[4], "--", "s", "after training")}


def _panels(plt, air_part):
    cols = 2 if air_part else 1
    fig, axes = plt.subplots(1, cols, figsize=style.size("two" if cols == 2 else "one", 1, cols),
                             squeeze=False)
    return fig, list(axes[0])


def build_figure2(plt, result: dict):
    air = (result.get("air") or {}).get("figure2")
    fig, axes = _panels(plt, air)
    ax = axes[0]
    noise = np.asarray(result["noise"])
    for stage, r in result["figure2"].items():
        color, ls, marker, label = STAGE_STYLE[stage]
        ax.errorbar(noise, r["mean"], yerr=r["std"], color=color, ls=ls, marker=marker, ms=4,
                    capsize=3, label=f"{label} ({len(result['seeds'])} seeds)")
    c = result["config"]
    ax.set_xlabel("label noise $p$")
    ax.set_ylabel(r"$\rho_5(y)=\|P_5\,y\|_2/\|y\|_2$")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"(a) {c['model']}, binary {c['dataset']}, $n_B$={c['ntk_batch']} "
                 f"[{result['profile']}]", loc="left")
    if air:
        K = result["air"]["K"]
        ax2 = axes[1]
        ax2.errorbar(air["noise"], air["mean"], yerr=air["std"], color=style.SERIES[3], marker="o",
                     ms=4, capsize=3, label="empirical NTK, two-layer net")
        ax2.set_xlabel("label noise $p$")
        ax2.set_ylabel(rf"$\rho_{{{K}}}(y)$")
        ax2.set_ylim(0, 1.02)
        ax2.set_title(f"(b) synthetic: theorem-lab air ($K$={K} clusters)", loc="left")
    fig.tight_layout()
    for a in axes:                       # under the panel: the error bars span 0 to 1
        style.legend_below(a, ncol=2)
    return fig


def build_figure5(plt, result: dict):
    air = (result.get("air") or {}).get("figure5")
    fig, axes = _panels(plt, air)
    ax = axes[0]
    r = result["figure5"]
    step, gain = np.asarray(r["step"]), np.asarray(r["gain"])
    mean, sd = np.asarray(r["mean"]), np.asarray(r["std"])
    color = style.SERIES[3]
    for row in gain:
        ax.plot(step, row, color=color, alpha=0.3, lw=0.7)
    ax.fill_between(step, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    ax.plot(step, mean, color=color, label=f"mean ± sd, {gain.shape[0]} seeds")
    ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel(r"SGD iteration $t$")
    ax.set_ylabel(r"$\rho_5(\hat y_t)-\rho_5(y)$")
    ax.set_title(f"(a) {result['config']['model']}, noise {result['config']['gain_noise']:g} "
                 f"[{result['profile']}]", loc="left")
    ax.legend(loc="best")
    if air:
        K = result["air"]["K"]
        ax2 = axes[1]
        s2, m2, d2 = (np.asarray(air[k]) for k in ("step", "mean", "std"))
        ax2.fill_between(s2, m2 - d2, m2 + d2, color=style.SERIES[1], alpha=0.2, lw=0)
        ax2.plot(s2, m2, color=style.SERIES[1], label="mean ± sd over seeds")
        ax2.axhline(0.0, color="0.4", lw=0.8, ls="--")
        ax2.set_xlabel(r"GD step $t$")
        ax2.set_ylabel(rf"$\rho_{{{K}}}(\hat y_t)-\rho_{{{K}}}(y)$")
        ax2.set_title("(b) synthetic: theorem-lab air", loc="left")
        ax2.legend(loc="best")
    fig.tight_layout()
    return fig


def ntk_air_figure(run_dir, stem=None) -> list:
    """Both figures: ``<run>/ntk_air_figure2`` and ``<run>/ntk_air_figure5`` (PNG + PDF)."""
    from pathlib import Path
    run_dir = Path(run_dir)
    paths = []
    for name, build in (("figure2", build_figure2), ("figure5", build_figure5)):
        target = run_dir / f"ntk_air_{name}" if stem is None else Path(f"{stem}_{name}")
        paths += style.save_from_json(build, run_dir, "ntk_air", target)
    return paths
