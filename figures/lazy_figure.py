"""Lazy training from ``<run>/lazy.json`` (written by `theorem-lab lazy`).

(a) ‖W_t − W₀‖_F against step, one line per width k;
(b) σ_min(J(W_t, X̃), S₊)/σ_min(J(W₀, X̃), S₊) against step (Lemma 2's quantity, relative to
    its start: lazy training keeps it near 1);
(c) the relative movement ‖W_T − W₀‖_F/‖W₀‖_F against k, log–log, with the fitted exponent and
    the k^{-1/2} reference line.
"""

from __future__ import annotations


import numpy as np

from . import style


def build(plt, result: dict):
    fig, (ax_d, ax_s, ax_k) = plt.subplots(1, 3, figsize=style.size("two", 1, 3))
    widths = result["widths"]
    for i, r in enumerate(widths):
        color = style.SERIES[i % len(style.SERIES)]
        ls = style.LINESTYLES[i % len(style.LINESTYLES)]
        ax_d.plot(r["step"], r["dist_init"], color=color, ls=ls, label=f"k = {r['width']}")
        sig = np.asarray(r["sigma_min_S"])
        ax_s.plot(r["tracked_step"], sig / sig[0], color=color, ls=ls, marker=".", ms=3)
    s = result["scaling"]
    ks = np.array([r["width"] for r in widths], dtype=float)
    rel = np.asarray(s["relative_move"])
    ax_k.plot(ks, rel, "o", color="#0072B2", ms=4, label="measured")
    if "exponent" in s:
        grid = np.geomspace(ks.min(), ks.max(), 20)
        se = fr"\pm{s['exponent_se']:.2f}" if np.isfinite(s["exponent_se"]) else ""
        ax_k.plot(grid, np.exp(s["intercept"]) * grid ** s["exponent"], color="#0072B2", lw=1,
                  label=fr"fit $k^{{{s['exponent']:.2f}{se}}}$")
    ax_k.plot(ks, rel[0] * (ks / ks[0]) ** -0.5, color="0.5", ls=":", label=r"$\propto k^{-1/2}$")
    ax_d.set_xlabel(style.LABELS["step"])
    ax_d.set_ylabel(style.LABELS["dist_init"])
    ax_d.legend(fontsize=6)
    ax_s.set_xlabel(style.LABELS["step"])
    ax_s.set_ylabel(r"$\sigma_{\min}(J_t,S_+)\,/\,\sigma_{\min}(J_0,S_+)$")
    ax_s.axhline(1.0, color="0.5", lw=0.6)
    ax_k.set_xscale("log")
    ax_k.set_yscale("log")
    style.ticks_at(ax_k.xaxis, ks, most=len(ks))     # every width run, as a plain number
    ax_k.set_xlabel(style.LABELS["width"])
    ax_k.set_ylabel(r"$\|W_T-W_0\|_F/\|W_0\|_F$")
    ax_k.legend(fontsize=6)
    for ax, t in zip((ax_d, ax_s, ax_k), ("(a) distance from init", r"(b) $J_t=J(W_t,\tilde X)$ on $S_+$",
                                          "(c) relative movement")):
        ax.set_title(t, loc="left")
    fig.tight_layout()
    return fig


def lazy_figure(run_dir, stem=None) -> list:
    return style.save_from_json(build, run_dir, "lazy", stem)
