"""Figures 2 and 5 of the paper, reproduced on clusterable data (from ``theorem_lab.simulations.air`` results).

Figure 2: top-K fraction ρ_K(y) of the label vector against the label-noise level (mean ± one
standard deviation over seeds). Figure 5: information gain ρ_K(ŷ_t) − ρ_K(y) over GD steps
(mean ± sd band, individual seeds thin). Both written as PNG and PDF; colours from the
Okabe–Ito colour-blind-safe palette (``theorem_lab.figures.style`` is used when it exists).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    try:                                                    # the shared style, when it exists
        from theorem_lab.figures import style
        if hasattr(style, "apply"):
            style.apply()
    except ImportError:
        plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                             "savefig.dpi": 200, "figure.dpi": 100})
    return plt


def _save(fig, out: Path, stem: str) -> list:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    for p in paths:
        fig.savefig(p, bbox_inches="tight")
    return [str(p) for p in paths]


def figure2(result: dict, out, K: int, label: str = "", stem: str = "air_figure2") -> list:
    """ρ_K(y) vs label noise; ``result`` as returned by ``theorem_lab.simulations.air.figure2``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.4, 2.6))
    noise, frac = np.asarray(result["noise"]), np.asarray(result["fraction"])
    for row in frac:
        ax.plot(noise, row, color=OKABE_ITO[0], alpha=0.25, lw=0.8)
    ax.errorbar(noise, result["mean"], yerr=result["std"], color=OKABE_ITO[0], marker="o",
                ms=4, capsize=3, lw=1.5, label=f"mean ± sd, {frac.shape[0]} seeds")
    ax.set_xlabel("label noise level")
    ax.set_ylabel(rf"$\|P_{{{K}}}\,y\|_2 / \|y\|_2$")
    ax.set_ylim(0, 1.02)
    ax.set_title(label or "Figure 2: label energy in the top-K NTK eigenspace", fontsize=8)
    ax.legend(frameon=False, fontsize=7)
    paths = _save(fig, Path(out), stem)
    plt.close(fig)
    return paths


def figure5(result: dict, out, K: int, label: str = "", stem: str = "air_figure5") -> list:
    """Information gain ρ_K(ŷ_t) − ρ_K(y) vs step; ``result`` from ``theorem_lab.simulations.air.figure5``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.4, 2.6))
    step, gain = np.asarray(result["step"]), np.asarray(result["gain"])
    mean, sd = np.asarray(result["mean"]), np.asarray(result["std"])
    for row in gain:
        ax.plot(step, row, color=OKABE_ITO[1], alpha=0.25, lw=0.8)
    ax.fill_between(step, mean - sd, mean + sd, color=OKABE_ITO[1], alpha=0.2, lw=0)
    ax.plot(step, mean, color=OKABE_ITO[1], lw=1.5, label=f"mean ± sd, {gain.shape[0]} seeds")
    ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(rf"$\rho_{{{K}}}(\hat y_t) - \rho_{{{K}}}(y)$")
    ax.set_title(label or "Figure 5: information gain of self-distillation", fontsize=8)
    ax.legend(frameon=False, fontsize=7)
    paths = _save(fig, Path(out), stem)
    plt.close(fig)
    return paths


def modes(result: dict, out, stem: str = "air_modes") -> list:
    """AIR mode by mode (``theorem_lab.figures.air_modes_figure``) from ``air.modes``'s result."""
    from . import style
    from .air_modes_figure import build
    with style.context() as plt:
        return [str(p) for p in style.save(build(plt, result), Path(out) / stem)]
