"""AIR mode by mode: where the labels' energy sits in the NTK's eigenbasis, and how fast GD and
self-distillation fit each mode (Section 2.3 of the paper; Arora et al. 2019) — from air.json.

Panel (a): (e_iᵀỹ)²/n (clean) and (e_iᵀy)²/n (noisy) against the mode index i (λ₁ ≥ λ₂ ≥ …),
with λ_i/λ₁; the clean labels sit in the top K modes (S₊), the noise spreads over all of them.
Panel (b): GD on y, the residual per mode (e_iᵀ(f(W_t,X) − y))² (solid) against the frozen-kernel
prediction (1 − ηλ_i)^{2t}(e_iᵀ(f₀ − y))² (dotted): top modes are fitted first, the noise in the
small-λ modes last — the picture behind early stopping.
Panel (c): the residual to the clean labels per mode, (e_iᵀ(f(W_t,X) − ỹ))², self-distillation
(solid) and GD (dashed).
"""

from __future__ import annotations

import numpy as np

from . import style

FLOOR = 1e-8     # squared projections below this are drawn at the axis' bottom (log scale)


def _sq(values) -> np.ndarray:
    return np.maximum(np.asarray(values, dtype=np.float64) ** 2, FLOOR)


def build(plt, result: dict):
    """The figure (inside ``style.context()``) from ``result = air.json['figures']['modes']``."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=style.size("two", 1.35, 3))
    lam = np.asarray(result["lam"])
    i = np.arange(1, len(lam) + 1)
    a.plot(i, np.maximum(result["energy_clean"], FLOOR), color=style.METHOD_COLORS["self-distill"],
           marker=".", ms=3, lw=1, label=r"clean $\tilde y$")
    a.plot(i, np.maximum(result["energy_noisy"], FLOOR), color=style.METHOD_COLORS["gd"],
           ls="--", marker=".", ms=3, lw=1, label=rf"noisy $y$ ($\rho={result['rho']:.2g}$)")
    a.plot(i, np.maximum(lam / lam[0], FLOOR), color="0.45", ls=":", lw=1, label=r"$\lambda_i/\lambda_1$")
    a.axvline(result["K"], color="0.6", lw=0.8)
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_ylim(FLOOR * 10, 2)
    a.set_xlabel(r"mode $i$ ($\lambda_1\geq\lambda_2\geq\dots$)")
    a.set_ylabel(r"$(e_i^\top z)^2/n$")
    a.set_title(f"(a) label energy per mode (grey: $i=K={result['K']}$)")
    t = np.asarray(result["step"])
    shown = result["shown"]
    for j, mode in enumerate(shown):
        color = style.SERIES[j % len(style.SERIES)]
        label = rf"$i={mode}$, $\eta\lambda_i={result['lr'] * lam[mode - 1]:.2g}$"
        b.plot(t, _sq(result["gd_noisy"][j]), color=color, label=label)
        b.plot(t, _sq(result["gd_predicted"][j]), color=color, ls=":", lw=1)
        c.plot(t, _sq(result["sd_clean"][j]), color=color)
        c.plot(t, _sq(result["gd_clean"][j]), color=color, ls="--", lw=1)
    for ax in (b, c):
        ax.set_yscale("log")
        ax.set_ylim(FLOOR * 0.5, None)
        ax.set_xlabel(style.LABELS["step"])
    b.set_ylabel(r"$(e_i^\top(f(W_t,X)-y))^2$")
    b.set_title(r"(b) GD on $y$; dotted: frozen kernel")
    c.set_ylabel(r"$(e_i^\top(f(W_t,X)-\tilde y))^2$")
    c.set_title("(c) to $\\tilde y$: Alg. 1 solid, GD dashed")
    fig.suptitle(f"AIR mode by mode (n={result['n']}, seed {result['seed']}, {result['ntk']} NTK "
                 rf"at $W_0$; Algorithm 1: $\alpha_t$ = {result['schedule']})", fontsize=7)
    fig.tight_layout()
    # the legends go under the panels, where they cover no data: (a)'s inside its panel hid the
    # energies of modes 6-15; the modes' legend under (b) and (c), whose lines it names
    style.legend_below(a, ncol=2, fontsize=6)
    _legend_under(fig, (b, c), *b.get_legend_handles_labels(), ncol=3, fontsize=6)
    return fig


def _legend_under(fig, axes, handles, labels, ncol, pad_pt=4.0, **kwargs):
    """A figure legend centred under ``axes`` (side by side) and their tick and axis labels,
    with columns dropped while it is wider than they are together."""
    renderer = fig.canvas.get_renderer()
    bottom = min(min(ax.bbox.y0, ax.xaxis.get_tightbbox(renderer).y0) for ax in axes)
    left, right = min(ax.bbox.x0 for ax in axes), max(ax.bbox.x1 for ax in axes)
    anchor = ((left + right) / 2 / fig.bbox.width,
              (bottom - pad_pt * fig.dpi / 72) / fig.bbox.height)
    while True:
        legend = fig.legend(handles, labels, loc="upper center", bbox_to_anchor=anchor, ncol=ncol,
                            **kwargs)
        if ncol == 1 or legend.get_window_extent(renderer).width <= right - left:
            return legend
        legend.remove()
        ncol -= 1


def modes_figure(run_dir, stem=None) -> list:
    """Redraw ``<run_dir>/air_modes.png/.pdf`` from ``<run_dir>/air.json``."""
    import json
    from pathlib import Path

    result = json.loads((Path(run_dir) / "air.json").read_text())["figures"]["modes"]
    with style.context() as plt:
        return style.save(build(plt, result), stem or Path(run_dir) / "air_modes")
