"""Figures 2 and 5 of the paper, and AIR mode by mode, reproduced on clusterable data (from
``theorem_lab.simulations.air`` results), in the project's style (``figures/style.py``).

Figure 2: top-K fraction ρ_K(y) of the label vector against the label-noise level (mean ± one
standard deviation over seeds, individual seeds thin). Figure 5: information gain
ρ_K(ŷ_t) − ρ_K(y) over GD steps (mean ± sd band, individual seeds thin). Modes: see
``air_modes_figure``. Each written as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style

COLOR2, COLOR5 = style.PALETTE[5], style.PALETTE[6]     # Okabe-Ito blue, vermillion


def seeds_label(count: int) -> str:
    """The legend entry of the mean line: a single seed has no spread to show."""
    return f"mean ± sd, {count} seeds" if count > 1 else "1 seed (no spread)"


def figure2(result: dict, out, K: int, label: str = "", stem: str = "air_figure2") -> list:
    """ρ_K(y) vs label noise; ``result`` as returned by ``theorem_lab.simulations.air.figure2``."""
    noise, frac = np.asarray(result["noise"]), np.asarray(result["fraction"])
    with style.context() as plt:
        fig, ax = plt.subplots(figsize=style.size("one", 1.1))
        for row in frac:
            ax.plot(noise, row, color=COLOR2, alpha=0.25, lw=0.8)
        ax.errorbar(noise, result["mean"], yerr=result["std"] if len(frac) > 1 else None,
                    color=COLOR2, marker="o",
                    ms=4, capsize=3, lw=1.5, label=seeds_label(frac.shape[0]))
        ax.set_xlabel(r"label noise level $\rho$")
        ax.set_ylabel(rf"$\|P_{{{K}}}\,y\|_2 / \|y\|_2$")
        ax.set_ylim(0, 1.02)
        ax.set_title(label or "Figure 2: label energy in the top-K NTK eigenspace")
        ax.legend()
        return [str(p) for p in style.save(fig, Path(out) / stem)]


def figure5(result: dict, out, K: int, label: str = "", stem: str = "air_figure5") -> list:
    """Information gain ρ_K(ŷ_t) − ρ_K(y) vs step; ``result`` from ``theorem_lab.simulations.air.figure5``."""
    step, gain = np.asarray(result["step"]), np.asarray(result["gain"])
    mean, sd = np.asarray(result["mean"]), np.asarray(result["std"])
    with style.context() as plt:
        fig, ax = plt.subplots(figsize=style.size("one", 1.1))
        for row in gain:
            ax.plot(step, row, color=COLOR5, alpha=0.25, lw=0.8)
        ax.fill_between(step, mean - sd, mean + sd, color=COLOR5, alpha=0.2, lw=0)
        ax.plot(step, mean, color=COLOR5, lw=1.5, label=seeds_label(gain.shape[0]))
        ax.axhline(0.0, color="0.4", lw=0.8, ls="--")
        ax.set_xlabel(style.LABELS["step"])
        ax.set_ylabel(rf"$\rho_{{{K}}}(\hat y_t) - \rho_{{{K}}}(y)$")
        ax.set_title(label or "Figure 5: information gain of self-distillation")
        ax.legend()
        return [str(p) for p in style.save(fig, Path(out) / stem)]


def modes(result: dict, out, stem: str = "air_modes") -> list:
    """AIR mode by mode (``air_modes_figure``) from ``air.modes``'s result."""
    from .air_modes_figure import build
    with style.context() as plt:
        return [str(p) for p in style.save(build(plt, result), Path(out) / stem)]
