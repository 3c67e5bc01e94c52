"""The vacuity picture from ``<run>/width_search.json`` (written by `theorem-lab width-search`).

(a) width against n, log–log: the smallest width at which Algorithm 1 reaches ‖f − ỹ‖₂ ≤ 0.1√n
    on every seed (measured), against the width Theorem 1 asks for on the same data — at the
    schedule's T₂, and per reading of the constants at the earliest T₂ that reading admits;
(b) radius against n (only when the search varied ε): the largest ε of the list at which a
    width works, against the ε the theorem allows (on the data of the list's smallest ε).
Each line's power law n^b is fitted in log–log (``simulations.fits.fit_power_law``) and its
exponent with the 95 % interval is in the legend. One row of panels per ρ; panel (a) uses the
smallest ε searched. Open markers are bounds, not values (left out of the fits): ▽ the smallest
width tried already works (k ≤ k_min), △ none up to k_max works, or the largest ε tried works.
"none at n = …" in a legend: no value there (the theorem's is not evaluable where the measured
Λ is 0 or T₂ is undefined; no ε of the list works).
Searches with other settings (K, d, steps, seeds, k range, …) written into the same folder are
kept in ``width_search.json`` but not drawn on the same lines: the figure shows the instances of
the latest search's setting (the file's last instance) and says how many others it left out.
"""

from __future__ import annotations

import json

from . import style

EMPIRICAL = ("#000000", "-", "o")
THIS_T2 = ("#0072B2", "--", "s")
READING_STYLES = (("#E69F00", ":", "D"), ("#009E73", "-.", "X"), ("#CC79A7", (0, (5, 1)), "p"),
                  ("#D55E00", (0, (3, 1, 1, 1)), "P"))


def exponent_label(fit: dict) -> str:
    """'b = 1.23 [1.10, 1.36]' (the exponent of n and its 95 % interval), 'b = 1.23 (2 points)',
    or why there is no fit."""
    b = fit["exponent"]
    if b != b:                                          # NaN: fewer than two values
        return "no fit (fewer than 2 values)" if fit["points"] else "bounds only, no fit"
    if fit["low"] == fit["low"]:
        return f"b = {b:.2f} [{fit['low']:.2f}, {fit['high']:.2f}]"
    return f"b = {b:.2f} ({fit['points']} points, no interval)"


BOUND_LABELS = {"v": "an upper bound: the smallest width tried works",
                "^": "a lower bound: beyond the range tried"}


AXES = ("n", "rho", "eps")            # what the figure's lines and rows run over


def setting(instance: dict) -> str:
    """The instance's config but n, ρ and ε: instances of one setting may share a line."""
    return json.dumps({k: v for k, v in instance["config"].items() if k not in AXES}, sort_keys=True)


def latest_setting(instances: list) -> list:
    """The instances of the last instance's setting (the latest search), in their order."""
    return [r for r in instances if setting(r) == setting(instances[-1])] if instances else []


def groups(instances: list) -> dict:
    """{ρ: {n: [instances sorted by ε]}}."""
    out: dict = {}
    for r in instances:
        c = r["config"]
        out.setdefault(c["rho"], {}).setdefault(c["n"], []).append(r)
    for by_n in out.values():
        for rs in by_n.values():
            rs.sort(key=lambda r: r["config"]["eps"])
    return {rho: dict(sorted(by_n.items())) for rho, by_n in sorted(out.items())}


def width_series(by_n: dict) -> dict:
    """{label: (ns, values, bounds)} of panel (a) at the smallest ε: the empirical width
    (``bounds``: '' a value, 'v' ≤ k_min, '^' > k_max), the theorem's at the schedule's T₂ and
    per reading."""
    ns = list(by_n)
    first = [rs[0] for rs in by_n.values()]
    emp, bounds = [], []
    for r in first:
        w, c = r["empirical_width"], r["config"]
        emp.append(c["k_max"] if w is None else w)
        bounds.append("^" if w is None else ("v" if w <= c["k_min"] else ""))
    out = {"smallest working $k$ (measured)": (ns, emp, bounds),
           "Thm 1, this schedule's $T_2$": (ns, [r["theorem_width"] for r in first], None)}
    for reading in dict.fromkeys(k for r in first for k in r["readings"]):
        out[f"Thm 1, reading {reading}, earliest $T_2$"] = (
            ns, [r["readings"].get(reading, {}).get("width_required") for r in first], None)
    return out


def eps_series(by_n: dict) -> dict:
    """{label: (ns, values, bounds)} of panel (b): the largest working ε of each n ('^' when
    it is the largest tried), and the ε allowed; {} when no n searched two radii."""
    if max(len(rs) for rs in by_n.values()) < 2:
        return {}
    ns, emp, bounds = [], [], []
    for n, rs in by_n.items():
        works = [r["config"]["eps"] for r in rs if r["empirical_width"] is not None]
        if works:
            ns.append(n)
            emp.append(max(works))
            bounds.append("^" if max(works) == rs[-1]["config"]["eps"] else "")
    first = [rs[0] for rs in by_n.values()]
    all_ns = list(by_n)
    out = {r"largest working $\varepsilon$ (measured)": (ns, emp, bounds),
           "Thm 1, this schedule's $T_2$": (all_ns, [r["theorem"]["eps_max"] for r in first], None)}
    for reading in dict.fromkeys(k for r in first for k in r["readings"]):
        out[f"Thm 1, reading {reading}, earliest $T_2$"] = (
            all_ns, [r["readings"].get(reading, {}).get("eps_max") for r in first], None)
    return out


def _draw(ax, series: dict) -> None:
    from theorem_lab.simulations.fits import fit_power_law
    styles = [EMPIRICAL, THIS_T2] + list(READING_STYLES)
    for i, (label, (ns, values, bounds)) in enumerate(series.items()):
        color, ls, marker = styles[i % len(styles)]
        pts = [(n, v) for n, v in zip(ns, values) if v is not None]
        exact = [(n, v) for j, (n, v) in enumerate(zip(ns, values))
                 if v is not None and not (bounds and bounds[j])]
        fit = fit_power_law([n for n, _ in exact], [v for _, v in exact])
        missing = [str(n) for n, v in zip(ns, values) if v is None]
        note = f"; none at n = {', '.join(missing)}" if missing else ""
        ax.plot([n for n, _ in pts], [v for _, v in pts], color=color, ls=ls, marker=marker,
                ms=3.5, label=f"{label}: {exponent_label(fit)}{note}")
        for b in sorted(set(bounds or []) - {""}):
            at = [(n, v) for n, v, bb in zip(ns, values, bounds) if bb == b and v is not None]
            ax.scatter([n for n, _ in at], [v for _, v in at], marker=b, s=40, zorder=3,
                       facecolors="white", edgecolors=color, label=BOUND_LABELS[b])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ns = sorted({n for _, (xs, _, _) in series.items() for n in xs})
    ax.minorticks_off()
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xlabel(r"training points $n$")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.22), fontsize=5.5, frameon=False,
              handlelength=2.6, title=r"fits $\propto n^b$: $b$ [95% interval]",
              title_fontsize=5.5, alignment="left")


def build(plt, result: dict):
    """The figure (call inside ``style.context()``), or None when no instance is stored."""
    shown = latest_setting(result["instances"])
    by_rho = groups(shown)
    if not by_rho:
        return None
    left_out = len(result["instances"]) - len(shown)
    with_eps = any(eps_series(by_n) for by_n in by_rho.values())
    cols = 2 if with_eps else 1
    width = style.ONE_COLUMN * cols
    fig, axes = plt.subplots(len(by_rho), cols, squeeze=False,
                             figsize=(width, len(by_rho) * 3.6))
    for row, (rho, by_n) in zip(axes, by_rho.items()):
        eps0 = next(iter(by_n.values()))[0]["config"]["eps"]
        _draw(row[0], width_series(by_n))
        row[0].set_ylabel(style.LABELS["width"])
        row[0].set_title(fr"(a) width, $\rho={rho:g}$, $\varepsilon={eps0:g}$", loc="left")
        if with_eps:
            series = eps_series(by_n)
            if series:
                _draw(row[1], series)
                row[1].set_ylabel(style.LABELS["eps"])
                row[1].set_title(fr"(b) cluster radius, $\rho={rho:g}$", loc="left")
            else:
                row[1].set_visible(False)
    if left_out:
        c = shown[-1]["config"]
        fig.suptitle(f"K={c.get('K')}, d={c.get('d')}, steps={c.get('steps')}, seeds={c.get('seeds')} "
                     f"\n(the latest search; {left_out} instance(s) of other settings in this folder "
                     "not drawn)", fontsize=6)
    fig.tight_layout()
    return fig


def vacuity_figure(run_dir, stem=None) -> list:
    """Draw ``<run_dir>/vacuity.png/.pdf`` from ``<run_dir>/width_search.json``."""
    from pathlib import Path
    return style.save_from_json(build, run_dir, "width_search", stem or Path(run_dir) / "vacuity")
