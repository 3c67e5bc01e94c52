"""Trajectories of a stored sweep: one row of three panels per setting — from the store only.

Panels (x: step t; mean over seeds, band mean ± sample sd):
  (a) ℓ2 residuals, log scale: ‖f(W_t, X) − ỹ‖₂ solid (Theorem 1's quantity, spec Q-13) and
      ‖f(W_t, X) − y‖₂ dashed; reference levels in the right margin: ‖ỹ‖₂ = √n, 2ρ√n (where
      GD settles: it fits P_{S₊}y = (1 − 2ρ)ỹ, not ỹ) and 2√#flipped (a network that memorised
      the noise); early stopping ends at its stopping time τ, marked with a dot;
  (b) training accuracy against ỹ (solid) and against y (dashed), test accuracy (dotted, with
      hollow markers staggered per method, so it shows where it equals the training accuracy);
  (c) the minimum margin min_i ỹ_i f(W_t, x_i) (> 0: every training sign is the clean one).
T₁ (observed: first step with every training sign equal to ỹ's, mean over seeds) is a triangle
on the step axis in the method's colour; T₂ (first t with α_t < 1/(24√n), self-distillation)
a dotted vertical line. A setting is the run config without method, seed and the
method-only fields (self-distillation's schedule and h, early-stop's c), so GD appears beside
every schedule it is compared with.

At most ``MAX_ROWS`` settings go on one page; the others go on further pages, saved beside the
first as ``trajectories-2.png``, ``trajectories-3.png``, … (``page_stem``), each titled with the
settings it shows and where the rest are. Nothing is left out.

    python -m theorem_lab.figures.trajectory_figure runs/NAME     # writes runs/NAME/trajectories.png/.pdf (+ pages)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from . import style

MAX_ROWS = 6                         # settings (rows) per page: 6 rows fill a page at 7 in wide
PANEL_IGNORES = ("method", "seed", "data_seed", "init_seed", "schedule", "label_fn", "rho_h",
                 "early_stop_constant")   # early-stop's c: carried by its configs only
SD_FIELDS = ("schedule", "label_fn", "rho_h")
ORDER = tuple(style.METHOD_COLORS)   # self-distill, gd, early-stop
# test accuracy often equals the training accuracy (1.0): hollow markers keep it visible there
TEST_MARKER = {"marker": "o", "ms": 3, "mfc": "white", "mew": 0.8}
LABEL_PT = 6                         # font size of the reference-level labels
LABEL_AIR_PT = 3.0                   # space between two stacked reference-level labels


def settings(runs: list) -> dict:
    """{setting key: {curve key: [runs]}}; a curve is (method, self-distillation variant)."""
    out: dict = {}
    for r in runs:
        cfg = r["config"]
        key = tuple(sorted((k, str(v)) for k, v in cfg.items() if k not in PANEL_IGNORES))
        variant = tuple(str(cfg.get(f)) for f in SD_FIELDS) if r["method"] == "self-distill" else ()
        out.setdefault(key, {}).setdefault((r["method"], variant), []).append(r)
    return out


def page_keys(runs: list, per_page: int = MAX_ROWS) -> list:
    """The setting keys of ``runs`` in display order, cut into pages of at most ``per_page``;
    one (empty) page when there is no finished run."""
    keys = sorted(settings(runs), key=_numeric_order)
    return [keys[i:i + per_page] for i in range(0, len(keys), per_page)] or [[]]


def page_stem(stem, page: int) -> Path:
    """Page ``page`` (1-based) of the figure at ``stem``: ``stem`` itself, then ``stem-2``, …"""
    stem = Path(stem)
    return stem if page == 1 else stem.with_name(f"{stem.name}-{page}")


def page_title(page: int, sizes: list, name: str = "trajectories", ext: str = "png") -> str:
    """The title of page ``page`` (1-based), e.g. 'settings 1–6 of 18 (page 1 of 3); the rest in
    trajectories-2.png, trajectories-3.png'; '' when one page holds every setting.
    ``sizes``: settings per page; ``name``, ``ext``: how the pages are saved."""
    if len(sizes) < 2:
        return ""
    first, total = sum(sizes[:page - 1]) + 1, sum(sizes)
    last = first + sizes[page - 1] - 1
    shown = f"setting {first}" if first == last else f"settings {first}–{last}"
    others = ", ".join(f"{page_stem(name, i).name}.{ext}" for i in range(1, len(sizes) + 1)
                       if i != page)
    rest = "the rest" if page == 1 else "the others"
    return f"{shown} of {total} (page {page} of {len(sizes)}); {rest} in {others}"


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


def trajectory_figure(store_dir, stem=None, formats=("png", "pdf")) -> list:
    """Draw every page of the figure for the store in ``store_dir``; returns the paths
    ([png, pdf] of page 1, then of page 2, …)."""
    runs, trajs = load(store_dir)
    stem = Path(stem or Path(store_dir) / "trajectories")
    paths = []
    with style.context() as plt:
        for page, fig in enumerate(build_pages(plt, runs, trajs, stem.name, formats[0]), 1):
            paths += style.save(fig, page_stem(stem, page), formats)
    return paths


def page_paths(store_dir, name: str = "trajectories", ext: str = "png") -> list:
    """The files every page of the figure of ``store_dir`` is saved in (drawn or not)."""
    runs, _ = load(store_dir, trajectories=False)
    count = len(page_keys(runs))
    return [Path(f"{page_stem(Path(store_dir) / name, i)}.{ext}") for i in range(1, count + 1)]


def build_pages(plt, runs: list, trajs: dict, name: str = "trajectories", ext: str = "png") -> list:
    """Every page of the figure, in order (call inside ``style.context()``); ``name`` and ``ext``:
    the file names the pages are saved as, for their titles."""
    return [build(plt, runs, trajs, page, name, ext) for page in range(1, len(page_keys(runs)) + 1)]


def build(plt, runs: list, trajs: dict, page: int = 1, name: str = "trajectories",
          ext: str = "png"):
    """Page ``page`` (1-based) of the figure (call inside ``style.context()``)."""
    groups = settings(runs)
    pages = page_keys(runs)
    keys = pages[page - 1]
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
    labelled = []
    for row, key in zip(axes, keys):
        labelled.append((row[0], draw_row(row, groups[key], trajs)))
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
                    Line2D([], [], color="0.3", ls=":", **TEST_MARKER),
                    Line2D([], [], color="0.3", marker="^", ls="none", ms=5),
                    Line2D([], [], color="0.4", ls=":", lw=0.9)]
        labels += [r"solid: against $\tilde y$ (clean)", r"dashed: against $y$ (noisy)",
                   "dotted, ○: test accuracy", r"$T_1$ (observed)",
                   r"$T_2$: $\alpha_t<1/(24\sqrt{n})$"]
    fig.tight_layout(h_pad=1.2, w_pad=1.0)
    for ax, texts in labelled:                   # the panel heights are final now
        _stack_labels(ax, texts)
    title = page_title(page, [len(p) for p in pages], name, ext)
    if handles:                                  # the page's title heads its legend
        fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, 1.0),
                   title=title or None, title_fontproperties={"weight": "bold", "size": 8})
    elif title:
        fig.suptitle(title, y=1.02)
    return fig


def draw_row(axes, curves: dict, trajs: dict) -> list:
    """The three panels of one setting: residuals, accuracies, margin (see the module doc).
    Returns the reference-level labels of the residual panel [(text, axes fraction of its level)],
    which ``_stack_labels`` spaces once the layout is final."""
    ax_r, ax_a, ax_m = axes
    refs, T1s, T2s = {}, [], []
    for i, (method, label, color, shift, runs) in enumerate(_curves(curves)):
        tr = [trajs[r["run_id"]] for r in runs if trajs[r["run_id"]].get("step")]
        if not tr:
            continue
        dash = style.LINESTYLES[shift % len(style.LINESTYLES)]
        test_marks = dict(TEST_MARKER, markevery=(0.04 + 0.09 * i, 0.3), zorder=3)
        for ax, quantity, ls, lab in ((ax_r, "l2_clean", dash, label), (ax_r, "l2_noisy", "--", None),
                                      (ax_a, "acc_clean", dash, None), (ax_a, "acc_noisy", "--", None),
                                      (ax_a, "test_acc", ":", None), (ax_m, "margin", dash, None)):
            steps, mean, std = band(tr, quantity)
            if not len(steps):
                continue
            marks = test_marks if quantity == "test_acc" and np.isfinite(mean).any() else {}
            ax.plot(steps, mean, color=color, ls=ls, label=lab, **marks)
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
    labels = _reference_levels(ax_r, refs)
    for ax in axes:
        _mark_times(ax, T1s, [t for t in T2s if t is not None])
    return labels


def _reference_levels(ax, refs: dict) -> list:
    """Horizontal reference lines, labelled in the right margin at their levels; returns
    [(label, axes fraction of its level)] for ``_stack_labels``."""
    items = [(refs.get("sqrt_n"), r"$\sqrt{n}$", ":"),
             (refs.get("gd_level"), r"$2\rho\sqrt{n}$", (0, (1, 2))),
             (refs.get("noise"), r"$2\sqrt{\#\mathrm{flipped}}$", "-.")]
    items = [it for it in items if it[0]]
    if not items:
        return []
    lo, hi = ax.get_ylim()
    hi = max(hi, 1.25 * max(v for v, _, _ in items))
    ax.set_ylim(lo, hi)
    out = []
    for v, text, ls in items:
        frac = (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        ax.axhline(v, color="0.55", ls=ls, lw=0.8)
        out.append((ax.text(1.01, frac, text, transform=ax.transAxes, ha="left", va="center",
                            fontsize=LABEL_PT, color="0.35", clip_on=False), frac))
    return out


def _stack_labels(ax, labelled: list) -> None:
    """Move the margin labels apart by their drawn height plus ``LABEL_AIR_PT`` (measured, so
    tall labels such as 2√#flipped do not touch √n), keeping their order; call after the
    layout (the gap is a fraction of the panel's final height)."""
    if not labelled:
        return
    renderer = ax.figure.canvas.get_renderer()
    tall = max(t.get_window_extent(renderer).height for t, _ in labelled) / ax.bbox.height
    gap = tall + LABEL_AIR_PT * ax.figure.dpi / 72 / ax.bbox.height            # axes fraction
    for (t, _), y in zip(labelled, spread([f for _, f in labelled], gap=gap)):
        t.set_y(y)


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
