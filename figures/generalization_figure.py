"""Theorem 2 / I-16 from ``<run>/theorem2.json`` (written by `theorem-lab generalization`).

(a) clean test error E|f(W_T, x) − ỹ|² against n, log–log, one line per (activation, method),
    setting (what the sweep varies beyond n, steps and the method: --width, --rho, …), α schedule
    and steps (line style, in the legend): runs of other lengths stop at other T₂, never averaged;
(b) the norm-based capacity term Γ‖W_T − W₀‖_F/√n of self-distillation against T₂, log–log,
    one line per (activation, n) (colour: activation; line style: n, in the legend), with the slope-1 growth that the proof's bound d_{T₂} = O(√n T₂) allows (I-16) for
    reference. Fitted slopes in the legends, which sit under the panels (no line is covered).
"""

from __future__ import annotations


import numpy as np

from . import style

MARKERS = ("o", "s", "^", "D", "v")


def build(plt, result: dict):
    rows = result["groups"]
    trends = {(t["activation"], t["method"], t.get("setting", "")): t for t in result["trends"]}
    fig, (ax_e, ax_c) = plt.subplots(1, 2, figsize=style.size("two", 1, 2))
    # one series per (activation, setting): a setting is what the sweep varies beyond n, steps
    # and the method (--width, --rho, …), never pooled
    series = sorted({(r["activation"], r.get("setting", "")) for r in rows})
    cap_ns = sorted({r["n"] for r in rows if r["method"] == "self-distill" and r["T2"]
                     and r["capacity"]})      # (b): colour = series, line style = n
    lengths = sorted({r["steps"] for r in rows})      # (a): line style = steps
    for i, (act, setting) in enumerate(series):
        name = act + (f" [{setting}]" if setting else "")
        mine = [r for r in rows if r["activation"] == act and r.get("setting", "") == setting]
        for method in ("self-distill", "gd", "early-stop"):
            sel = [r for r in mine if r["method"] == method and r["test_mse"] is not None]
            t = trends.get((act, method, setting), {}).get("test_mse_vs_n")
            lines = sorted({(r["steps"], str(r["schedule"])) for r in sel})   # never averaged:
            several = len(lines) > len({st for st, _ in lines})      # they stop at other T₂
            label = f"{name}, {method}" + (f" (s={t[0]:.2f})" if t else "")
            for steps, sch in lines:         # schedules told apart where one steps has several
                pts = sorted((r["n"], r["test_mse"]) for r in sel     # one group (seed mean) per n
                             if r["steps"] == steps and str(r["schedule"]) == sch)
                ax_e.plot(*zip(*pts), marker=MARKERS[i % len(MARKERS)],
                          color=style.method_color(method), ms=3.5,
                          label=f"{label} [{sch}]" if several else label,
                          ls=style.LINESTYLES[lengths.index(steps) % len(style.LINESTYLES)])
                label = label if several else None
        sd = [r for r in mine if r["method"] == "self-distill" and r["T2"] and r["capacity"]]
        if sd:
            t = trends.get((act, "self-distill", setting), {}).get("capacity_vs_T2")
            label = name + (f" (s={t[0]:.2f}±{t[1]:.2f} at fixed n)" if t else "")
            for n in sorted({r["n"] for r in sd}):          # one line per n: the T₂ trend at fixed n
                pts = sorted((r["T2"], r["capacity"]) for r in sd if r["n"] == n)
                ax_c.plot(*zip(*pts), marker=MARKERS[i % len(MARKERS)], ms=4, lw=0.8,
                          ls=style.LINESTYLES[cap_ns.index(n) % len(style.LINESTYLES)],
                          color=style.SERIES[i % len(style.SERIES)], label=label)
                label = None
    if len(lengths) > 1:               # which line is which number of steps
        for j, steps in enumerate(lengths):
            ax_e.plot([], [], color="0.3", lw=1, ls=style.LINESTYLES[j % len(style.LINESTYLES)],
                      label=f"steps = {steps}")
    if len(cap_ns) > 1:                # which line is which n (else the lines of one colour are alike)
        for j, n in enumerate(cap_ns):
            ax_c.plot([], [], color="0.3", lw=0.8, ls=style.LINESTYLES[j % len(style.LINESTYLES)],
                      label=f"$n = {n}$")
    T2s = [r["T2"] for r in rows if r["T2"] and r["method"] == "self-distill"]
    caps = [r["capacity"] for r in rows if r["T2"] and r["method"] == "self-distill" and r["capacity"]]
    if T2s and caps:
        t = np.geomspace(min(T2s), max(T2s), 20)
        ax_c.plot(t, min(caps) * t / min(T2s), color="0.5", ls=(0, (10, 4)), lw=1.3,  # long dashes: no n line style
                  label=r"$\propto T_2$ (I-16: the proof allows this)")
    for ax in (ax_e, ax_c):
        ax.set_xscale("log")
        ax.set_yscale("log")
    style.ticks_at(ax_e.xaxis, [r["n"] for r in rows if r["test_mse"] is not None])
    style.ticks_at(ax_c.xaxis, T2s)
    ax_e.set_xlabel(style.LABELS["n"])
    ax_e.set_ylabel(r"test $\mathbb{E}\,|f(W_T,x)-\tilde y|^2$")
    ax_e.set_title("(a) clean test error", loc="left")
    ax_c.set_xlabel(r"$T_2$")
    ax_c.set_ylabel(r"$\Gamma\|W_T-W_0\|_F/\sqrt{n}$")
    ax_c.set_title("(b) norm-based capacity term, self-distillation", loc="left")
    fig.tight_layout()
    for ax in (ax_e, ax_c):            # under the panels: the lines fill both panels' height
        style.legend_below(ax, ncol=2, fontsize=6)
    return fig


def generalization_figure(run_dir, stem=None) -> list:
    return style.save_from_json(build, run_dir, "theorem2", stem)
